//! Probing: DNS, TCP, TLS and HTTP against one target. Observes and records facts and timings;
//! never decides pass or fail (that is `checks`). A probe's result is an [`Observation`].

pub mod acm;
pub mod aws;
// The single-flight cache serves the ACM and AWS lookups only.
#[cfg(feature = "aws")]
pub(crate) mod cache;
pub mod certinfo;
pub mod descriptors;
pub mod dns;
mod dns_direct;
pub mod dns_memo;
pub mod dns_mux;
mod dns_refusal;
pub mod echo_reply;
pub mod egress;
pub mod enrich;
pub mod headers;
pub mod http;
pub mod nonce;
pub mod run;
pub mod served_chains;
pub mod tls;
pub mod tls_scan;
pub mod warm;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use thin_vec::ThinVec;

pub use dns::{DnsFailure, DnsObservation};
pub use http::{HttpFailure, HttpObservation};
pub use run::{ProbeSettings, Prober};
pub use tls::{TlsFailure, TlsObservation};

/// Everything one probe of one target saw. The status store keeps one per target: the lists
/// most targets leave empty (load balancer names, ACM, TLS scans) are `ThinVec`s, 8 bytes
/// each, which keeps an `Outcome` in the allocator's 320-byte class (a compile-time assertion
/// below).
#[derive(Debug, Clone)]
pub struct Observation {
    /// Wall-clock time the probe started.
    pub started_at: SystemTime,
    /// Resolution of the friendly name.
    pub dns: DnsObservation,
    /// Resolution of each expected load balancer hostname (for `dns_alias`).
    pub lb_dns: ThinVec<DnsObservation>,
    /// One entry per resolved address, in resolution order.
    pub endpoints: Vec<EndpointObservation>,
    /// Whether the overall deadline cut the probe short.
    pub deadline_exceeded: bool,
    /// Wall time of the whole probe.
    pub duration: Duration,
    /// What ACM says of each expected ACM certificate (filled by the ACM lookup when enabled).
    pub acm: ThinVec<AcmObservation>,
    /// The prober's own egress IP, when known (for `client_ip`).
    pub egress_ip: Option<Result<IpAddr, Box<egress::EgressError>>>,
    /// What elbv2 and Route 53 say of the target's load balancer and record (AWS enricher;
    /// `None` when the AWS lookups are off). Boxed: 160 bytes that most observations (every one
    /// with the lookups off) would carry empty, in every outcome the status store keeps.
    pub aws: Option<Box<aws::AwsObservation>>,
    /// The last finished TLS scan of each address (filled by the TLS scan enricher; an address
    /// not scanned yet has none).
    pub tls_scans: ThinVec<std::sync::Arc<tls_scan::TlsScan>>,
}

impl Observation {
    /// What a probe knows once the friendly name is resolved: the DNS answer, nothing else yet.
    pub fn from_dns(started_at: SystemTime, dns: DnsObservation) -> Self {
        Observation {
            started_at,
            dns,
            lb_dns: ThinVec::new(),
            endpoints: Vec::new(),
            deadline_exceeded: false,
            duration: Duration::ZERO,
            acm: ThinVec::new(),
            egress_ip: None,
            aws: None,
            tls_scans: ThinVec::new(),
        }
    }
}

/// What happened at one resolved address.
#[derive(Debug, Clone)]
pub struct EndpointObservation {
    /// The address and port connected to.
    pub address: SocketAddr,
    /// TCP connect time, or why it failed.
    pub connect: Result<Duration, ConnectFailure>,
    /// The TLS handshake (absent when TCP failed).
    pub tls: Option<TlsObservation>,
    /// The HTTP exchange over the TLS connection (absent when TLS failed).
    pub http: Option<HttpObservation>,
}

// The status store keeps one per address of every target: 320 bytes is an allocator size class
// of its own (mimalloc's; 352 took the 384 class). The nonce is kept as bytes, and failures and
// the request path as boxed strings, for that.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<EndpointObservation>() <= 320);

/// Why a TCP connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectFailure {
    /// The peer answered with RST (nothing listens).
    #[error("connection refused")]
    Refused,
    /// No answer within the connect timeout.
    #[error("connect timed out after {0:?}")]
    Timeout(Duration),
    /// The probe's overall deadline passed before connecting.
    #[error("probe deadline exceeded before connecting")]
    Deadline,
    /// This process ran out of file descriptors (EMFILE/ENFILE): edgewatch's trouble, not the
    /// target's (see [`descriptors`]).
    #[error("edgewatch is out of file descriptors: {0}")]
    NoDescriptors(Box<str>),
    /// Any other socket error (no route to host, network unreachable, ...).
    #[error("connect failed: {0}")]
    Other(Box<str>),
}

impl ConnectFailure {
    /// Stable short name for metric labels and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectFailure::Refused => "connection_refused",
            ConnectFailure::Timeout(_) => "connect_timeout",
            ConnectFailure::Deadline => "deadline_exceeded",
            ConnectFailure::NoDescriptors(_) => "no_descriptors",
            ConnectFailure::Other(_) => "connect_error",
        }
    }
}

/// What ACM answered for one ARN (filled by the `acm` module; absent when not configured).
#[derive(Debug, Clone)]
pub struct AcmObservation {
    /// The ARN asked about.
    pub arn: String,
    /// ACM's answer, or why it could not be had.
    pub result: Result<AcmCertificate, acm::AcmError>,
}

/// The facts ACM gives about one certificate.
#[derive(Debug, Clone, Default)]
pub struct AcmCertificate {
    /// SHA-256 of the certificate's DER (from `GetCertificate`).
    pub sha256: Option<[u8; 32]>,
    /// Subject of the certificate, for messages.
    pub subject: Option<String>,
    /// Serial for messages: lowercase hex read from the certificate body (the form the served
    /// leaf is shown in), else as `DescribeCertificate` reports it (whose format varies).
    pub serial: Option<String>,
    /// `NotAfter`, Unix seconds (from the certificate body, else `DescribeCertificate`).
    pub not_after: Option<i64>,
    /// `Status`: `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, ...
    pub status: Option<String>,
    /// `Type`: `AMAZON_ISSUED`, `IMPORTED`, `PRIVATE`.
    pub cert_type: Option<String>,
    /// `RenewalSummary.RenewalStatus`, when ACM has one.
    pub renewal_status: Option<String>,
    /// `RenewalSummary.RenewalStatusReason` or the failure reason, when present.
    pub renewal_reason: Option<String>,
    /// `InUseBy`: ARNs of the load balancers / listeners using it.
    pub in_use_by: Vec<String>,
    /// Domain validations still open: the renewal's when ACM reports a renewal, else the
    /// certificate's own (only those not yet `SUCCESS`). Tells an SRE which record to restore.
    pub pending_validations: Vec<AcmDomainValidation>,
}

/// One domain ACM is still validating, and the DNS record it expects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcmDomainValidation {
    /// The domain being validated.
    pub domain: String,
    /// `ValidationStatus`: `PENDING_VALIDATION`, `FAILED`, ...
    pub status: Option<String>,
    /// The DNS record ACM expects (`name`, `type`, `value`), for DNS validation.
    pub record: Option<(String, String, String)>,
}

//! The config file's shape, exactly as written by users (serde, unknown fields rejected).
//! `config/edgewatch.yaml` documents every field; keep the two in step.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::values;

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// How often each target is probed.
    #[serde(deserialize_with = "values::duration")]
    pub interval: Option<Duration>,
    /// Most probes in flight at once (default: sized from the targets, see `run::settings`).
    #[serde(deserialize_with = "values::count")]
    pub concurrency: Option<u64>,
    /// Address of the metrics / health server.
    #[serde(deserialize_with = "values::listen")]
    pub listen: Option<SocketAddr>,
    /// DNS resolution.
    pub resolver: ResolverSection,
    /// Per-phase timeouts.
    pub timeouts: TimeoutSection,
    /// Local address probes connect from.
    #[serde(deserialize_with = "values::ip")]
    pub source_ip: Option<IpAddr>,
    /// TLS settings.
    pub tls: TlsSection,
    /// Certificate settings.
    pub cert: CertSection,
    /// Defaults for the backend request.
    pub backend: BackendSection,
    /// ACM lookups for `cert_expected` / `acm_status`.
    pub acm: AcmSection,
    /// AWS API lookups (load balancer, listeners, target groups, Route 53).
    pub aws: AwsSection,
    /// The client-IP check.
    pub client_ip: ClientIpSection,
    /// Posting alerts to Alertmanager.
    pub alertmanager: AlertmanagerSection,
    /// Kubernetes Service discovery.
    pub kubernetes: KubernetesSection,
    /// Sharing the fleet between replicas through Kubernetes Leases.
    pub shard: ShardSection,
    /// Where this replica probes from (a label on every series); empty: one vantage point.
    pub vantage: Option<String>,
    /// Static targets.
    pub targets: Vec<TargetEntry>,
}

/// `shard:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ShardSection {
    /// Share the targets with the other replicas of the same vantage point.
    pub enabled: Option<bool>,
    /// Namespace of the Leases (default: the pod's own).
    pub namespace: Option<String>,
    /// How long a replica's Lease lasts unrenewed (default: a third of the shortest probe
    /// interval, at least 5 s).
    #[serde(with = "humantime_serde")]
    pub lease_duration: Option<Duration>,
}

/// `resolver:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverSection {
    /// `ip:port` nameservers; empty: the system's.
    #[serde(deserialize_with = "values::nameservers")]
    pub nameservers: Vec<SocketAddr>,
    /// Per-query timeout.
    #[serde(deserialize_with = "values::duration")]
    pub timeout: Option<Duration>,
    /// Cache answers for their TTL.
    pub cache: Option<bool>,
}

/// `timeouts:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutSection {
    /// TCP connect.
    #[serde(deserialize_with = "values::duration")]
    pub connect: Option<Duration>,
    /// TLS handshake.
    #[serde(deserialize_with = "values::duration")]
    pub tls: Option<Duration>,
    /// HTTP request.
    #[serde(deserialize_with = "values::duration")]
    pub http: Option<Duration>,
    /// Whole probe.
    #[serde(deserialize_with = "values::duration")]
    pub probe: Option<Duration>,
}

/// `tls:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Lowest acceptable protocol: `"1.2"` or `"1.3"`.
    pub min_version: Option<String>,
    /// Extra trusted CA certificates (PEM), besides Mozilla's roots.
    pub ca_file: Option<PathBuf>,
    /// Scan what each listener accepts (`tls_policy`); default true.
    pub scan: Option<bool>,
    /// How often each address is scanned again (default 1h; sooner when its leaf changes).
    #[serde(deserialize_with = "values::duration")]
    pub scan_interval: Option<Duration>,
    /// Deadline of one scan of one address (default 30s).
    #[serde(deserialize_with = "values::duration")]
    pub scan_deadline: Option<Duration>,
    /// Accepting an older version fails `tls_policy` (`"1.0"` to `"1.3"`, default `"1.2"`).
    pub min_accepted_version: Option<String>,
    /// Accepting a suite without forward secrecy or with CBC fails `tls_policy` (default true).
    pub forbid_weak_ciphers: Option<bool>,
}

/// `cert:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CertSection {
    /// Fewer days left fails `cert_expiry`.
    #[serde(deserialize_with = "values::count")]
    pub min_days_left: Option<u64>,
}

/// `backend:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BackendSection {
    /// Default request path.
    pub path: Option<String>,
    /// Default accepted statuses, e.g. `200-399`.
    pub expect_status: Option<String>,
}

/// `acm:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AcmSection {
    /// Ask ACM about expected ARNs.
    pub enabled: Option<bool>,
    /// When ACM cannot be asked, fail `cert_expected` instead of skipping it.
    pub required: Option<bool>,
    /// How long ACM answers are reused.
    #[serde(deserialize_with = "values::duration")]
    pub cache_ttl: Option<Duration>,
}

/// `aws:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSection {
    /// Ask the AWS APIs about each Service's load balancer (also turns on the ACM lookups).
    pub enabled: Option<bool>,
    /// When the AWS APIs cannot be asked, fail the AWS checks instead of skipping them.
    pub required: Option<bool>,
    /// Only load balancers tagged `elbv2.k8s.aws/cluster: <cluster_name>` are considered.
    pub cluster_name: Option<String>,
    /// How long AWS answers are reused.
    #[serde(deserialize_with = "values::duration")]
    pub cache_ttl: Option<Duration>,
}

/// `client_ip:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ClientIpSection {
    /// The prober's egress IP, when known (skips the reflector).
    #[serde(deserialize_with = "values::ip")]
    pub egress_ip: Option<IpAddr>,
    /// URL answering with the caller's IP (default `https://checkip.amazonaws.com`).
    pub reflector_url: Option<String>,
    /// How long a reflected IP is reused.
    #[serde(deserialize_with = "values::duration")]
    pub cache_ttl: Option<Duration>,
}

/// `alertmanager:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerSection {
    /// Base URL, e.g. `http://alertmanager:9093`; unset: no alerts are posted.
    pub url: Option<String>,
    /// How often firing alerts are re-posted.
    #[serde(deserialize_with = "values::duration")]
    pub resend_interval: Option<Duration>,
}

/// `kubernetes:`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesSection {
    /// Discover targets from Services.
    pub enabled: Option<bool>,
    /// Namespaces to watch; empty: all.
    pub namespaces: Vec<String>,
    /// Label selector, e.g. `team=edge`.
    pub selector: Option<String>,
    /// Post Kubernetes Events on check state changes.
    pub events: Option<bool>,
}

/// One entry of `targets:`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TargetEntry {
    /// Display name (default `host:port`).
    pub name: Option<String>,
    /// The friendly name: `host`, `host:port` or `https://host[:port][/path]`.
    pub host: String,
    /// Port (default 443, or the one in `host`).
    #[serde(deserialize_with = "values::port")]
    pub port: Option<u16>,
    /// Load balancer hostname(s) the name must lead to.
    pub lb_hostname: Option<OneOrMany>,
    /// Backend request path.
    pub path: Option<String>,
    /// Accepted statuses.
    pub expect_status: Option<String>,
    /// Per-target interval.
    #[serde(deserialize_with = "values::duration")]
    pub interval: Option<Duration>,
    /// The certificate the endpoint should serve.
    pub expected_cert: Option<ExpectedCertEntry>,
    /// Client-IP check mode: `auto` (default), `off`, `echo`, `json_pointer:/origin`,
    /// `header:X-Client-IP`.
    pub client_ip: Option<String>,
    /// The identity `edgewatch echo` must report (anchored regex, e.g. `prod/myapp-.*`).
    pub backend_identity: Option<String>,
    /// The ELB security policy the listener should enforce, e.g.
    /// `ELBSecurityPolicy-TLS13-1-2-Res-2021-06` (judged by `tls_policy`).
    pub tls_policy: Option<String>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `expected_cert:`: any listed form may be given; the leaf must match one of them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ExpectedCertEntry {
    /// SHA-256 of the leaf DER (hex, colons allowed).
    pub sha256: Option<OneOrMany>,
    /// SHA-256 of the leaf's SubjectPublicKeyInfo.
    pub spki_sha256: Option<OneOrMany>,
    /// Leaf serial (hex, colons allowed).
    pub serial: Option<OneOrMany>,
    /// ACM certificate ARN(s).
    pub acm_arn: Option<OneOrMany>,
}

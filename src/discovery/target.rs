//! `Target`: one friendly name on one TLS port, and everything edgewatch expects of it.
//!
//! Every source of targets (static config, `--target` flags, Kubernetes discovery) produces this
//! one type; the probe, the judges and the exporters never ask where a target came from except to
//! label it. A `Target` is plain data: building one does no I/O.

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use thin_vec::ThinVec;

/// One endpoint to verify: `hostname:port` reached the way a client would, plus expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Unique, stable name: the `target` label and the key of the target set.
    pub name: Arc<str>,
    /// The friendly DNS name: what is resolved, sent as SNI and as the HTTP `Host`.
    pub hostname: String,
    /// TLS port (443 on an NLB listener).
    pub port: u16,
    /// Where the target came from; gives the `namespace` / `service` labels.
    pub source: TargetSource,
    /// Load balancer hostnames the friendly name must lead to (`dns_alias`); empty: not known.
    pub lb_hostnames: ThinVec<String>,
    /// The certificate(s) the endpoint should serve (`cert_expected`); empty: no expectation.
    pub expected_certs: ThinVec<ExpectedCert>,
    /// What the request to the backend is and what answer counts as healthy.
    pub backend: BackendSpec,
    /// Probe interval override; `None` uses the global interval.
    pub interval: Option<Duration>,
    /// Problems found while building this target (e.g. a malformed annotation): the `config`
    /// check fails with these, and the target is still probed with what could be understood.
    pub config_problems: ThinVec<String>,
    /// Facts about how the target was built that a reader should know (e.g. "no friendly name:
    /// probing the load balancer hostname itself"); shown in the `config` check's reason.
    pub notes: ThinVec<String>,
    /// Why there is nothing to probe yet (e.g. the load balancer is not provisioned): when set,
    /// the probe is skipped and the `lb_provisioned` check fails with this reason.
    pub not_ready: Option<Box<str>>,
    /// Whether `client_ip` is judged, and how the backend's answer is read.
    pub client_ip: ClientIpSpec,
    /// The identity the backend should echo (`backend_identity`): an anchored regular
    /// expression, e.g. `prod/myapp-.*`, compiled; `None` skips the check. Behind an `Arc`:
    /// 8 bytes in every target, and copies of a target share the compiled pattern.
    pub expected_identity: Option<Arc<super::identity_pattern::IdentityPattern>>,
    /// The ELB security policy the listener should enforce (`tls_policy`): the Service's
    /// `aws-load-balancer-ssl-negotiation-policy` annotation or a static target's `tls_policy:`;
    /// `None`: not named (judged against the floor rules only).
    pub tls_policy: Option<Box<str>>,
    /// What the Service declares about its AWS load balancer (`lb_*` checks); `None` for targets
    /// that did not come from a Service. Boxed: 128 bytes that a static target would carry
    /// empty, in every target of a fleet of 100,000.
    pub lb_intent: Option<Box<super::lb_intent::LbIntent>>,
}

/// Where a target came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetSource {
    /// The config file's `targets:` list.
    Config,
    /// A `--target` command-line flag.
    Flag,
    /// A Kubernetes Service.
    Kubernetes {
        /// The Service's namespace.
        namespace: Box<str>,
        /// The Service's name.
        service: Box<str>,
    },
}

impl TargetSource {
    /// The Kubernetes namespace, or "" for static targets (a label value).
    pub fn namespace(&self) -> &str {
        match self {
            TargetSource::Kubernetes { namespace, .. } => namespace,
            _ => "",
        }
    }

    /// The Kubernetes Service name, or "" for static targets (a label value).
    pub fn service(&self) -> &str {
        match self {
            TargetSource::Kubernetes { service, .. } => service,
            _ => "",
        }
    }

    /// Short name of the kind of source: `config`, `flag`, `kubernetes`.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSource::Config => "config",
            TargetSource::Flag => "flag",
            TargetSource::Kubernetes { .. } => "kubernetes",
        }
    }
}

/// One acceptable certificate. A target may list several (any match passes): an ACM ARN list,
/// or a pin plus its successor during a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExpectedCert {
    /// SHA-256 of the leaf's DER encoding (32 bytes).
    Sha256([u8; 32]),
    /// SHA-256 of the leaf's SubjectPublicKeyInfo DER (survives re-issuance with the same key).
    SpkiSha256([u8; 32]),
    /// The leaf's serial number, as lowercase hex without separators or leading zeros.
    Serial(String),
    /// An ACM certificate ARN: the certificate is fetched from ACM and compared by SHA-256.
    AcmArn(String),
}

impl fmt::Display for ExpectedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedCert::Sha256(d) => write!(f, "sha256:{}", hex::encode(d)),
            ExpectedCert::SpkiSha256(d) => write!(f, "spki-sha256:{}", hex::encode(d)),
            ExpectedCert::Serial(s) => write!(f, "serial:{s}"),
            ExpectedCert::AcmArn(a) => write!(f, "{a}"),
        }
    }
}

/// The request sent through to the backend and what counts as a healthy answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Request path, starting with `/`.
    pub path: Box<str>,
    /// Accepted HTTP status ranges (default 200-399).
    pub expect_status: StatusRanges,
}

impl Default for BackendSpec {
    fn default() -> Self {
        BackendSpec {
            path: "/".into(),
            expect_status: StatusRanges::default(),
        }
    }
}

/// A set of inclusive HTTP status ranges, e.g. `200-299,301`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(pub ThinVec<RangeInclusive<u16>>);

impl Default for StatusRanges {
    fn default() -> Self {
        StatusRanges(thin_vec::thin_vec![200..=399])
    }
}

impl StatusRanges {
    /// Whether `status` is accepted.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|r| r.contains(&status))
    }

    /// Parses `200-399`, `200,301-302`: comma-separated codes or inclusive ranges of 100..=599.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim(), hi.trim()),
                None => (part, part),
            };
            let parse = |s: &str| -> Result<u16, String> {
                s.parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| format!("`{s}` is not an HTTP status code (100-599)"))
            };
            let (lo, hi) = (parse(lo)?, parse(hi)?);
            if lo > hi {
                return Err(format!("range `{part}` is empty"));
            }
            ranges.push(lo..=hi);
        }
        Ok(StatusRanges(ranges.into()))
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| {
                if r.start() == r.end() {
                    r.start().to_string()
                } else {
                    format!("{}-{}", r.start(), r.end())
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// How the `client_ip` check reads the backend's answer. `Off` skips the check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientIpSpec {
    /// Judged as [`ClientIpSpec::Echo`] when the backend answers as `edgewatch echo` (its
    /// marker header), skipped otherwise: on by default wherever the backend is an echo.
    #[default]
    Auto,
    /// The check is skipped.
    Off,
    /// The backend is `edgewatch echo` (JSON with `client_ip` and the echoed nonce).
    Echo,
    /// A third-party echo: a JSON pointer into the body, e.g. `/origin` for httpbin's `/ip`.
    JsonPointer(Box<str>),
    /// A response header that carries the client IP the backend saw.
    Header(Box<str>),
}

/// A DNS name as edgewatch compares and labels it: lower case, without the trailing dot. The
/// one normaliser for hostnames from flags, config, annotations and Service status.
pub fn normalise_hostname(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Normalises a user-written serial (`01:AB:cd`, `0x1abcd`) to [`serial_hex`]'s form.
pub fn normalise_serial(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':' && *c != ' ')
        .collect::<String>()
        .to_ascii_lowercase();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = cleaned.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
}

impl Target {
    /// A target with default expectations for `hostname:port`, named `hostname:port`.
    pub fn new(hostname: impl Into<String>, port: u16, source: TargetSource) -> Self {
        let hostname = normalise_hostname(&hostname.into());
        // `[::1]:443`, not the ambiguous `::1:443`.
        let name = if hostname.contains(':') {
            format!("[{hostname}]:{port}")
        } else {
            format!("{hostname}:{port}")
        };
        Target {
            name: name.into(),
            hostname,
            port,
            source,
            lb_hostnames: ThinVec::new(),
            expected_certs: ThinVec::new(),
            backend: BackendSpec::default(),
            interval: None,
            config_problems: ThinVec::new(),
            notes: ThinVec::new(),
            not_ready: None,
            client_ip: ClientIpSpec::Auto,
            expected_identity: None,
            tls_policy: None,
            lb_intent: None,
        }
    }
}

// Shared by the scheduler and every outcome of the target: 240 bytes and the `Arc`'s 16 fill
// the allocator's 256-byte class (mimalloc's next is 320). For that, the lists most targets
// leave empty (and the status ranges) are `ThinVec`s, 8 bytes each, and the texts set once (a
// Service's namespace and name, the request path, the policy, the client IP's pointer or
// header, why it is not ready) boxed `str`s, 16 bytes, not a `String`'s 24. 296 took the 320
// class: 6 MB more at 100,000 targets.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Target>() <= 240);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges_parse_codes_and_ranges() {
        let r = StatusRanges::parse("200-299, 301").unwrap();
        assert!(r.contains(200) && r.contains(299) && r.contains(301));
        assert!(!r.contains(300) && !r.contains(503));
        assert_eq!(r.to_string(), "200-299,301");
    }

    #[test]
    fn status_ranges_reject_garbage_and_empty_ranges() {
        assert!(StatusRanges::parse("abc").unwrap_err().contains("`abc`"));
        assert!(StatusRanges::parse("700").is_err());
        assert!(
            StatusRanges::parse("399-200")
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn an_ipv6_target_is_named_with_brackets() {
        assert_eq!(
            Target::new("::1", 18700, TargetSource::Flag).name.as_ref(),
            "[::1]:18700"
        );
    }

    #[test]
    fn new_target_normalises_hostname_and_names_itself() {
        let t = Target::new("TLS-Demo.Example.com.", 443, TargetSource::Flag);
        assert_eq!(t.hostname, "tls-demo.example.com");
        assert_eq!(&*t.name, "tls-demo.example.com:443");
    }
}

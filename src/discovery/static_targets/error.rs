//! Why a target spec (a config entry, a `--target` flag, an annotation value) was refused.
//! The texts are what users read after `file: field: `; values are echoed shortened (a 50 MB
//! hostname must not make a 50 MB error line) and with control characters escaped.

use crate::config::Excerpt;

/// One refused value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A URL scheme other than `https://`.
    #[error("scheme `{}://` is not supported; use https:// or a bare host", Excerpt(.0))]
    Scheme(String),
    /// A path given without `https://`.
    #[error("`{}`: a path needs the https:// form", Excerpt(.0))]
    PathNeedsScheme(String),
    /// The port in `host:port` is not 1-65535.
    #[error("`{}` is not a port number (1-65535)", Excerpt(.0))]
    Port(String),
    /// `[v6` without the closing bracket.
    #[error("`{}`: `[` without a closing `]`", Excerpt(.0))]
    UnclosedBracket(String),
    /// `[...]` holding something other than an IPv6 address.
    #[error("`{}` is not an IPv6 address", Excerpt(.0))]
    NotIpv6(String),
    /// Something other than `:port` after `[v6]`.
    #[error("`{}`: expected `:port` after `]`", Excerpt(.0))]
    AfterBracket(String),
    /// An unbracketed IPv6 address followed by what looks like a port.
    #[error("`{}`: write an IPv6 address with a port as [address]:port", Excerpt(.0))]
    Ipv6NeedsBrackets(String),
    /// `port:` is 0.
    #[error("must be 1-65535")]
    PortZero,
    /// Not a DNS name.
    #[error("`{}` is not a valid DNS name", Excerpt(.0))]
    Hostname(String),
    /// Not a request path.
    #[error("`{}` is not a request path (must start with `/`, no spaces)", Excerpt(.0))]
    Path(String),
    /// Not an accepted-status list.
    #[error("{0}")]
    Status(String),
    /// `name:` is blank.
    #[error("must not be empty")]
    EmptyName,
    /// `interval:` is zero.
    #[error("must be greater than zero")]
    ZeroInterval,
    /// Not a client-IP mode.
    #[error(
        "`{}` is not a client-IP mode (auto, off, echo, json_pointer:/path, header:NAME)",
        Excerpt(.0)
    )]
    ClientIp(String),
    /// `backend_identity` is not a regular expression.
    #[error("`{}` is not a regular expression ({why})", Excerpt(.pattern))]
    Pattern {
        /// The pattern as written.
        pattern: String,
        /// regex's reason, one line.
        why: String,
    },
    /// A digest that is not hex.
    #[error("`{}` is not hex", Excerpt(.0))]
    NotHex(String),
    /// A digest of the wrong length.
    #[error("`{}` is not 32 bytes (64 hex digits)", Excerpt(.0))]
    DigestLength(String),
    /// A serial that is not hex.
    #[error("`{}` is not a hex serial", Excerpt(.0))]
    Serial(String),
    /// Not an ACM certificate ARN.
    #[error(
        "`{}` is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
        Excerpt(.0)
    )]
    AcmArn(String),
    /// Not an ELB security policy name.
    #[error(
        "`{}` is not an ELB security policy name (e.g. ELBSecurityPolicy-TLS13-1-2-Res-2021-06)",
        Excerpt(.0)
    )]
    TlsPolicy(String),
    /// `expected_cert:` lists nothing.
    #[error("names no certificate (sha256, spki_sha256, serial or acm_arn)")]
    NoExpectedCert,
}

impl SpecError {
    /// A stable short name of the kind (for JSON and logs).
    pub fn as_str(&self) -> &'static str {
        match self {
            SpecError::Scheme(_) => "scheme",
            SpecError::PathNeedsScheme(_) => "path_needs_scheme",
            SpecError::Port(_) | SpecError::PortZero => "port",
            SpecError::UnclosedBracket(_)
            | SpecError::NotIpv6(_)
            | SpecError::AfterBracket(_)
            | SpecError::Ipv6NeedsBrackets(_) => "ipv6",
            SpecError::TlsPolicy(_) => "tls_policy",
            SpecError::Hostname(_) => "hostname",
            SpecError::Path(_) => "path",
            SpecError::Status(_) => "expect_status",
            SpecError::EmptyName => "name",
            SpecError::ZeroInterval => "interval",
            SpecError::ClientIp(_) => "client_ip",
            SpecError::Pattern { .. } => "backend_identity",
            SpecError::NotHex(_) | SpecError::DigestLength(_) => "digest",
            SpecError::Serial(_) => "serial",
            SpecError::AcmArn(_) => "acm_arn",
            SpecError::NoExpectedCert => "expected_cert",
        }
    }
}

/// A refused config file entry: which field (suffix after `targets[i]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {source}")]
pub struct EntryError {
    /// The field suffix, e.g. `.expected_cert.sha256`.
    pub field: &'static str,
    /// What is wrong with its value.
    #[source]
    pub source: SpecError,
}

/// Tags a value error with the entry field it came from.
pub(super) fn at(field: &'static str) -> impl Fn(SpecError) -> EntryError {
    move |source| EntryError { field, source }
}

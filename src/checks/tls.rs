//! `tls_handshake`: TCP connect and the TLS handshake succeed, at no less than `tls.min_version`.

use super::{CheckName, CheckResult, JudgeContext};
use crate::probe::EndpointObservation;

/// A TLS protocol version rustls can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// Parses `1.2`, `1.3`, `TLSv1.2`, `TLS1.3`, and rustls's `TLSv1_3` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase().replace('_', ".");
        let t = t.trim_start_matches("tlsv").trim_start_matches("tls");
        match t {
            "1.2" => Some(TlsVersion::Tls12),
            "1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    /// `TLSv1.2` / `TLSv1.3`, as rustls names them.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// Judges connect + handshake at one address.
pub fn judge_endpoint(endpoint: &EndpointObservation, ctx: &JudgeContext) -> Option<CheckResult> {
    let check = CheckName::TlsHandshake;
    let ip = endpoint.address.ip();
    let result = match (&endpoint.connect, &endpoint.tls) {
        (Err(failure), _) => CheckResult::fail(
            check,
            failure.as_str(),
            format!("TCP connect to {} failed: {failure}", endpoint.address),
        ),
        (Ok(_), None) => CheckResult::fail(check, "error", "no TLS handshake was attempted"),
        (Ok(_), Some(tls)) => match &tls.failure {
            Some(failure) => CheckResult::fail(check, failure.as_str(), failure.to_string()),
            None => {
                let version = tls.version.as_deref().unwrap_or("unknown");
                let cipher = tls.cipher.as_deref().unwrap_or("unknown");
                match TlsVersion::parse(version) {
                    Some(v) if v >= ctx.min_tls_version => {
                        CheckResult::pass(check, format!("{version} with {cipher}"))
                    }
                    _ => CheckResult::fail(
                        check,
                        "old_version",
                        format!(
                            "negotiated {version}, below the minimum {}",
                            ctx.min_tls_version.as_str()
                        ),
                    ),
                }
            }
        },
    };
    Some(result.at(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_the_usual_spellings() {
        assert_eq!(TlsVersion::parse("1.2"), Some(TlsVersion::Tls12));
        assert_eq!(TlsVersion::parse("TLSv1.3"), Some(TlsVersion::Tls13));
        assert_eq!(TlsVersion::parse("tls1.3"), Some(TlsVersion::Tls13));
        // What rustls's ProtocolVersion::as_str() returns, i.e. what the probe records.
        assert_eq!(TlsVersion::parse("TLSv1_3"), Some(TlsVersion::Tls13));
        assert_eq!(TlsVersion::parse("TLSv1_2"), Some(TlsVersion::Tls12));
        assert_eq!(TlsVersion::parse("1.1"), None);
        assert!(TlsVersion::Tls13 > TlsVersion::Tls12);
    }
}

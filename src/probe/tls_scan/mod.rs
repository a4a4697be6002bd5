//! The TLS scan: what a listener accepts from the outside, the way testssl.sh finds out. One
//! hand-built ClientHello per question (one protocol version; one suite), a ServerHello meaning
//! accepted and an alert or a close meaning refused; no handshake is ever finished. It observes
//! only: `checks::tls_policy` judges the result against the listener's security policy.
//!
//! The scan runs beside the normal probe, never on its per-interval path (see [`enricher`]).

pub mod client_hello;
pub mod enricher;
pub mod response;
pub mod scan;
pub mod settings;
pub mod suites;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use enricher::TlsScanEnricher;
pub use scan::{ScanSettings, scan};
pub use settings::TlsScanSettings;
pub use suites::{Auth, SUITES, Suite};

/// A TLS protocol version, TLS 1.0 to 1.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsProtocol {
    /// TLS 1.0 (RFC 2246).
    Tls10,
    /// TLS 1.1 (RFC 4346).
    Tls11,
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsProtocol {
    /// Every version, oldest first.
    pub const ALL: [TlsProtocol; 4] = [Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];

    /// The wire code (`0x0301` for TLS 1.0 ... `0x0304` for TLS 1.3).
    pub fn wire(self) -> u16 {
        match self {
            Self::Tls10 => 0x0301,
            Self::Tls11 => 0x0302,
            Self::Tls12 => 0x0303,
            Self::Tls13 => 0x0304,
        }
    }

    /// The version with this wire code, if it is one of the four.
    pub fn from_wire(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.wire() == code)
    }

    /// `TLSv1.0` ... `TLSv1.3` (how the normal probe spells the negotiated version).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls10 => "TLSv1.0",
            Self::Tls11 => "TLSv1.1",
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        }
    }

    /// Parses `1.0` ... `1.3`, `TLSv1.2`, `TLS1.3`, `TLSv1_3` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase().replace('_', ".");
        let t = t.trim_start_matches("tlsv").trim_start_matches("tls");
        Self::ALL.into_iter().find(|v| &v.as_str()[4..] == t)
    }
}

/// One accepted (version, suite) pair: a ServerHello that picked them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Accepted {
    /// The version the server picked.
    pub version: TlsProtocol,
    /// The suite the server picked.
    pub suite: &'static Suite,
}

/// What one scan of one address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsScan {
    /// The address scanned.
    pub address: SocketAddr,
    /// When the scan started (wall clock).
    pub scanned_at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Versions the server accepted, oldest first.
    pub versions: Vec<TlsProtocol>,
    /// Every accepted (version, suite) pair seen, in scan order, without repeats.
    pub accepted: Vec<Accepted>,
    /// Connections made.
    pub connections: u32,
    /// Why the scan stopped before asking everything; `None` when it is complete.
    pub failure: Option<ScanFailure>,
}

impl TlsScan {
    /// The accepted suites, in catalogue order, without repeats.
    pub fn suites(&self) -> Vec<&'static Suite> {
        SUITES
            .iter()
            .filter(|s| self.accepted.iter().any(|a| a.suite == *s))
            .collect()
    }

    /// Whether the server accepted `version`.
    pub fn accepts(&self, version: TlsProtocol) -> bool {
        self.versions.contains(&version)
    }
}

/// Why a scan stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanFailure {
    /// A TCP connection failed (refused, timed out or another socket error).
    #[error("connect failed: {0}")]
    Connect(String),
    /// The server did not answer a ClientHello within the TLS timeout.
    #[error("no answer to a ClientHello within {0:?}")]
    Timeout(Duration),
    /// The server answered with something that is not TLS.
    #[error("the answer is not TLS: {0}")]
    NotTls(&'static str),
    /// The scan's own deadline passed.
    #[error("the scan's deadline of {0:?} passed")]
    Deadline(Duration),
}

impl ScanFailure {
    /// Stable short name for JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanFailure::Connect(_) => "connect_error",
            ScanFailure::Timeout(_) => "timeout",
            ScanFailure::NotTls(_) => "not_tls",
            ScanFailure::Deadline(_) => "deadline_exceeded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_round_trip_their_wire_codes() {
        assert_eq!(TlsProtocol::parse("1.0"), Some(TlsProtocol::Tls10));
        assert_eq!(TlsProtocol::parse("TLSv1.1"), Some(TlsProtocol::Tls11));
        assert_eq!(TlsProtocol::parse("tls1_3"), Some(TlsProtocol::Tls13));
        assert_eq!(TlsProtocol::parse("1.4"), None);
        assert_eq!(TlsProtocol::parse("SSLv3"), None);
        for v in TlsProtocol::ALL {
            assert_eq!(TlsProtocol::from_wire(v.wire()), Some(v));
        }
        assert!(TlsProtocol::Tls10 < TlsProtocol::Tls13);
    }
}

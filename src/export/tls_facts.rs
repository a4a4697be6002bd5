//! The TLS scan in the `--once` report: JSON facts (when, what was accepted) and one text line
//! per scanned address. Reads the observation only.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::export::report::json::KindDetail;
use crate::probe::tls_scan::TlsScan;
use crate::timefmt::millis;

/// One scan as JSON: when it ran, how long, and the accepted versions, suites and pairs.
pub struct ScanJson<'a>(pub &'a TlsScan);

impl Serialize for ScanJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let scan = self.0;
        let failure = scan.failure.as_ref().map(|f| KindDetail {
            kind: f.as_str(),
            detail: f.to_string(),
        });
        let versions: Vec<&str> = scan.versions.iter().map(|v| v.as_str()).collect();
        let suites: Vec<&str> = scan.suites().iter().map(|s| s.name).collect();
        let accepted: Vec<Accepted> = scan
            .accepted
            .iter()
            .map(|a| Accepted {
                version: a.version.as_str(),
                cipher: a.suite.name,
            })
            .collect();
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("address", &scan.address.ip().to_string())?;
        m.serialize_entry("port", &scan.address.port())?;
        let at = humantime::format_rfc3339_seconds(scan.scanned_at).to_string();
        m.serialize_entry("scanned_at", &at)?;
        m.serialize_entry("duration_ms", &millis(scan.duration))?;
        m.serialize_entry("connections", &scan.connections)?;
        m.serialize_entry("complete", &scan.failure.is_none())?;
        m.serialize_entry("failure", &failure)?;
        m.serialize_entry("accepted_versions", &versions)?;
        m.serialize_entry("accepted_suites", &suites)?;
        m.serialize_entry("accepted", &accepted)?;
        m.end()
    }
}

/// One accepted (version, cipher suite) pair.
#[derive(Serialize)]
struct Accepted {
    version: &'static str,
    cipher: &'static str,
}

/// One scan as a report line: `192.0.2.10      scan: accepts TLSv1.2, TLSv1.3 (5 suites)`.
pub fn scan_line(scan: &TlsScan) -> String {
    let versions: Vec<&str> = scan.versions.iter().map(|v| v.as_str()).collect();
    let accepts = if versions.is_empty() {
        "accepts nothing offered".to_string()
    } else {
        format!(
            "accepts {} ({} suites)",
            versions.join(", "),
            scan.suites().len()
        )
    };
    let stopped = scan
        .failure
        .as_ref()
        .map(|f| format!(", stopped early: {f}"))
        .unwrap_or_default();
    format!(
        "{:<15} scan: {accepts}{stopped}, {:.0} ms",
        scan.address.ip().to_string(),
        millis(scan.duration)
    )
}

//! The TLS scan in the `--once` report: JSON facts (when, what was accepted) and one text line
//! per scanned address. Reads the observation only.

use serde_json::{Value, json};

use crate::probe::tls_scan::TlsScan;
use crate::timefmt::millis;

/// One scan as JSON: when it ran, how long, and the accepted versions, suites and pairs.
pub fn scan_json(scan: &TlsScan) -> Value {
    json!({
        "address": scan.address.ip().to_string(),
        "port": scan.address.port(),
        "scanned_at": humantime::format_rfc3339_seconds(scan.scanned_at).to_string(),
        "duration_ms": millis(scan.duration),
        "connections": scan.connections,
        "complete": scan.failure.is_none(),
        "failure": scan.failure.as_ref().map(|f| json!({"kind": f.as_str(), "detail": f.to_string()})),
        "accepted_versions": scan.versions.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "accepted_suites": scan.suites().iter().map(|s| s.name).collect::<Vec<_>>(),
        "accepted": scan.accepted.iter().map(|a| json!({
            "version": a.version.as_str(),
            "cipher": a.suite.name,
        })).collect::<Vec<_>>(),
    })
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

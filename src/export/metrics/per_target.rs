//! The per-target series (check results, probe success and time, phase durations, served
//! certificates' and ACM's notAfter), kept compactly and written straight into the text exposition.
//!
//! Why not `GaugeVec`s: each child of one holds its own copy of the descriptor (name, help,
//! label names) and every label pair as owned strings, about 1 KB a series; a target has ~16
//! series, so 10,000 targets cost ~160 MB, and `Registry::gather` copies every series again on
//! each scrape. Here a target's series are one small struct, replaced whole by each outcome
//! (so a series the outcome no longer has is gone), and a scrape writes text directly.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::text_line::Line;
use crate::checks::CheckName;

/// One target's series as of its last outcome.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Series {
    /// `namespace="..."`, escaped.
    ns: String,
    /// `service="...",target="..."`, escaped.
    svc_target: String,
    /// `edgewatch_probe_success`.
    pub success: f64,
    /// `edgewatch_probe_last_timestamp_seconds`.
    pub timestamp: f64,
    /// `edgewatch_check_success`: (address, check, passed). 19 bytes an entry (a target has
    /// a dozen), where an `f64` value and the name as `&str` took 48.
    pub checks: Vec<(Address, CheckName, bool)>,
    /// `edgewatch_check_failure_info`: (address, check, reason).
    pub failures: Vec<(Address, CheckName, &'static str)>,
    /// `edgewatch_probe_phase_seconds`: (phase, seconds).
    pub phases: Vec<(&'static str, f64)>,
    /// `edgewatch_cert_not_after_timestamp_seconds`: (address, Unix seconds).
    pub certs: Vec<(Address, f64)>,
    /// `edgewatch_acm_cert_not_after_timestamp_seconds`: (ARN, Unix seconds).
    pub acm: Vec<(String, f64)>,
    /// `edgewatch_tls_accepted_info`: (address, version, cipher) the last TLS scan saw accepted.
    pub tls_accepted: Vec<(Address, &'static str, &'static str)>,
    /// `edgewatch_tls_version_info`: (address, version, cipher) the probe's handshake negotiated.
    pub tls_version: Vec<(Address, Cow<'static, str>, Cow<'static, str>)>,
}

impl Series {
    /// Empty series of the target with these `target`, `namespace`, `service` label values.
    pub fn new(ids: &[String; 3]) -> Self {
        Series {
            ns: format!("namespace=\"{}\"", escape(&ids[1])),
            svc_target: format!(
                "service=\"{}\",target=\"{}\"",
                escape(&ids[2]),
                escape(&ids[0])
            ),
            ..Default::default()
        }
    }
}

impl Series {
    /// Empties the lists for the next outcome, keeping their allocations and the labels.
    fn clear(&mut self) {
        self.checks.clear();
        self.failures.clear();
        self.phases.clear();
        self.certs.clear();
        self.acm.clear();
        self.tls_accepted.clear();
        self.tls_version.clear();
    }
}

/// The `address` label: an IP address, or empty for target-level checks. Kept as the address
/// itself (no string per series) and written as text only when scraped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(pub Option<IpAddr>);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => Ok(()),
        }
    }
}

/// Every target's series, by target name. A hash map: each outcome looks its target up on the
/// probe path, and a B-tree's dozens of string comparisons through cold memory cost more there
/// (about 1 % of a probe's CPU at 10,000 targets) than one hash; a scrape sorts the names once.
#[derive(Default)]
pub struct PerTarget {
    targets: Mutex<HashMap<Arc<str>, Series>>,
}

/// (name, help, whether a target has a series of it, writer of one target's lines).
type Family = (
    &'static str,
    &'static str,
    fn(&Series) -> bool,
    fn(&Series, &str, &mut String),
);

/// The families, in name order. Labels in name order too; a line is written with plain
/// appends (see [`super::text_line`]).
const FAMILIES: [Family; 9] = [
    (
        "edgewatch_acm_cert_not_after_timestamp_seconds",
        "notAfter of the expected ACM certificate, as ACM reports it.",
        |s| !s.acm.is_empty(),
        |s, name, out| {
            for (arn, v) in &s.acm {
                Line::start(out, name)
                    .label("arn", &escape(arn))
                    .labels(&s.ns)
                    .labels(&s.svc_target)
                    .value(*v);
            }
        },
    ),
    (
        "edgewatch_cert_not_after_timestamp_seconds",
        "notAfter of the leaf served at each address (Unix seconds).",
        |s| !s.certs.is_empty(),
        |s, name, out| {
            for (a, v) in &s.certs {
                Line::start(out, name)
                    .address(*a)
                    .labels(&s.ns)
                    .labels(&s.svc_target)
                    .value(*v);
            }
        },
    ),
    (
        "edgewatch_check_failure_info",
        "1 while a check fails, with its reason code.",
        |s| !s.failures.is_empty(),
        |s, name, out| {
            for (a, c, r) in &s.failures {
                Line::start(out, name)
                    .address(*a)
                    .label("check", c.as_str())
                    .labels(&s.ns)
                    .label("reason", r)
                    .labels(&s.svc_target)
                    .value(1.0);
            }
        },
    ),
    (
        "edgewatch_check_success",
        "1 if the check passed on the last probe, 0 if it failed; absent when skipped.",
        |s| !s.checks.is_empty(),
        |s, name, out| {
            for (a, c, passed) in &s.checks {
                Line::start(out, name)
                    .address(*a)
                    .label("check", c.as_str())
                    .labels(&s.ns)
                    .labels(&s.svc_target)
                    .value(if *passed { 1.0 } else { 0.0 });
            }
        },
    ),
    (
        "edgewatch_probe_last_timestamp_seconds",
        "When the last probe of the target finished (Unix seconds).",
        |_| true,
        |s, name, out| {
            Line::start(out, name)
                .labels(&s.ns)
                .labels(&s.svc_target)
                .value(s.timestamp);
        },
    ),
    (
        "edgewatch_probe_phase_seconds",
        "Duration of each phase of the last probe (slowest address).",
        |s| !s.phases.is_empty(),
        |s, name, out| {
            for (p, v) in &s.phases {
                Line::start(out, name)
                    .labels(&s.ns)
                    .label("phase", p)
                    .labels(&s.svc_target)
                    .value(*v);
            }
        },
    ),
    (
        "edgewatch_probe_success",
        "1 if no check failed on the last probe of the target.",
        |_| true,
        |s, name, out| {
            Line::start(out, name)
                .labels(&s.ns)
                .labels(&s.svc_target)
                .value(s.success);
        },
    ),
    (
        "edgewatch_tls_accepted_info",
        "1 for each TLS version and cipher suite (AWS policy names) the last scan of the address saw accepted.",
        |s| !s.tls_accepted.is_empty(),
        |s, name, out| {
            for (a, v, c) in &s.tls_accepted {
                Line::start(out, name)
                    .address(*a)
                    .label("cipher", c)
                    .labels(&s.ns)
                    .labels(&s.svc_target)
                    .label("version", v)
                    .value(1.0);
            }
        },
    ),
    (
        "edgewatch_tls_version_info",
        "1 for the TLS version and cipher suite the probe's handshake negotiated at the address.",
        |s| !s.tls_version.is_empty(),
        |s, name, out| {
            for (a, v, c) in &s.tls_version {
                Line::start(out, name)
                    .address(*a)
                    .label("cipher", &escape(c))
                    .labels(&s.ns)
                    .labels(&s.svc_target)
                    .label("version", &escape(v))
                    .value(1.0);
            }
        },
    ),
];

impl PerTarget {
    /// Replaces the series of the target named `name`; returns the ones it had.
    #[cfg(test)]
    pub fn replace(&self, name: &str, series: Series) -> Option<Series> {
        let mut targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        match targets.get_mut(name) {
            Some(slot) => Some(std::mem::replace(slot, series)),
            None => {
                targets.insert(Arc::from(name), series);
                None
            }
        }
    }

    /// Rewrites the series of the target named `name` with `fill`, in place when the target
    /// has series (their lists emptied first, their allocations kept), else on `new()`.
    pub fn update(&self, name: &str, new: impl FnOnce() -> Series, fill: impl FnOnce(&mut Series)) {
        let mut targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        match targets.get_mut(name) {
            Some(series) => {
                series.clear();
                fill(series);
            }
            None => {
                let mut series = new();
                fill(&mut series);
                targets.insert(Arc::from(name), series);
            }
        }
    }

    /// Removes the series of the target named `name`; returns them.
    pub fn remove(&self, name: &str) -> Option<Series> {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
    }

    /// Appends the text exposition of every family that has a series.
    pub fn render(&self, out: &mut String) {
        let mut cursor = Cursor::default();
        while self.render_chunk(&mut cursor, out, usize::MAX) {}
    }

    /// Appends the next lines of the exposition, at most `max_targets` targets' worth, so a
    /// scrape of a large fleet streams instead of building one big buffer (and never holds
    /// the lock for long). Targets are written in name order, as of the scrape's first chunk
    /// (a target added since waits for the next scrape, one removed is left out). Returns false
    /// once everything has been written.
    pub fn render_chunk(&self, cursor: &mut Cursor, out: &mut String, max_targets: usize) -> bool {
        let targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        let names = cursor.names.get_or_insert_with(|| {
            let mut names: Vec<Arc<str>> = targets.keys().cloned().collect();
            names.sort_unstable();
            names
        });
        while let Some((name, help, has, write)) = FAMILIES.get(cursor.family).copied() {
            if cursor.next == 0 {
                if !targets.values().any(has) {
                    cursor.family += 1;
                    continue;
                }
                for piece in ["# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n"] {
                    out.push_str(piece);
                }
            }
            let mut written = 0;
            while let Some(target) = names.get(cursor.next) {
                if written == max_targets {
                    return true;
                }
                if let Some(s) = targets.get(target) {
                    write(s, name, out);
                }
                cursor.next += 1;
                written += 1;
            }
            cursor.family += 1;
            cursor.next = 0;
            if max_targets != usize::MAX {
                return true;
            }
        }
        false
    }
}

/// Where a chunked render stands: the target names (sorted, taken at the first chunk), the
/// family being written and the next target's place among the names.
#[derive(Debug, Default)]
pub struct Cursor {
    names: Option<Vec<Arc<str>>>,
    family: usize,
    next: usize,
}

/// Escapes a label value as the text format requires (`\`, newline, `"`).
fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '\n', '"']) {
        return v.into();
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '"' => s.push_str("\\\""),
            c => s.push(c),
        }
    }
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_labels_sorted_by_name() {
        let store = PerTarget::default();
        let mut s = Series::new(&["a\"b".into(), "ns".into(), "svc\\x".into()]);
        s.phases.push(("dns", 0.5));
        store.replace("t", s);
        let mut out = String::new();
        store.render(&mut out);
        assert!(
            out.contains(
                r#"edgewatch_probe_phase_seconds{namespace="ns",phase="dns",service="svc\\x",target="a\"b"} 0.5"#
            ),
            "{out}"
        );
        assert!(!out.contains("edgewatch_check_success"), "{out}");
    }

    #[test]
    fn tls_info_series_carry_address_version_and_cipher() {
        let store = PerTarget::default();
        let mut s = Series::new(&["t".into(), "ns".into(), "svc".into()]);
        let a = Address(Some([192, 0, 2, 10].into()));
        s.tls_accepted.push((a, "TLSv1.0", "AES128-SHA"));
        s.tls_version
            .push((a, "TLSv1.3".into(), "TLS13_AES_128_GCM_SHA256".into()));
        store.replace("t", s);
        let mut out = String::new();
        store.render(&mut out);
        assert!(out.contains(r#"edgewatch_tls_accepted_info{address="192.0.2.10",cipher="AES128-SHA",namespace="ns",service="svc",target="t",version="TLSv1.0"} 1"#), "{out}");
        assert!(out.contains(r#"edgewatch_tls_version_info{address="192.0.2.10",cipher="TLS13_AES_128_GCM_SHA256",namespace="ns",service="svc",target="t",version="TLSv1.3"} 1"#), "{out}");
    }

    #[test]
    fn chunked_render_writes_the_same_text_as_one_render() {
        let store = PerTarget::default();
        for i in 0..7 {
            let mut s = Series::new(&[format!("t{i}"), "ns".into(), "svc".into()]);
            s.checks
                .push((Address(Some([127, 0, 0, 1].into())), CheckName::Dns, true));
            if i % 3 == 0 {
                s.failures
                    .push((Address(None), CheckName::Backend, "bad_status"));
            }
            store.replace(&format!("t{i}"), s);
        }
        let mut whole = String::new();
        store.render(&mut whole);
        let (mut chunked, mut cursor, mut chunks) = (String::new(), Cursor::default(), 0);
        while store.render_chunk(&mut cursor, &mut chunked, 2) {
            chunks += 1;
        }
        assert_eq!(chunked, whole);
        assert!(chunks > 4, "{chunks} chunks");
        assert_eq!(whole.matches("# TYPE").count(), 4, "{whole}");
    }
}

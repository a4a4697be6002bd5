//! The per-target series (check results, probe success and time, phase durations, served
//! certificates' and ACM's notAfter, TLS versions and ciphers), written straight into the text
//! exposition from each target's last outcome as the status store keeps it.
//!
//! Why not `GaugeVec`s: each child of one holds its own copy of the descriptor (name, help,
//! label names) and every label pair as owned strings, about 1 KB a series; a target has ~16
//! series, so 10,000 targets cost ~160 MB, and `Registry::gather` copies every series again on
//! each scrape. Why not a compact copy of the series either: the status store keeps every
//! target's last outcome anyway, and a copy of its series beside it (label text and a dozen
//! small lists) was another ~1.4 KB a target, 140 MB at 100,000 targets. A scrape reads each
//! family's lines off the outcome itself, so a series the last outcome no longer has is gone.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::text_line::Line;
use crate::checks::Status;
use crate::discovery::target::Target;
use crate::export::latest::LatestOutcomes;
use crate::pipeline::outcome::Outcome;
use crate::probe::Observation;

/// The `address` label: an IP address, or empty for target-level checks. Kept as the address
/// itself and written as text only when scraped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(pub Option<IpAddr>);

/// One target as a scrape writes it: its last outcome and when that was recorded.
pub struct Row {
    name: Arc<str>,
    outcome: Arc<Outcome>,
    /// `edgewatch_probe_last_timestamp_seconds`.
    finished_at: f64,
}

impl Row {
    /// The row of the target `name`'s `outcome`, recorded at `finished_at`.
    pub fn new(name: Arc<str>, outcome: Arc<Outcome>, finished_at: SystemTime) -> Self {
        let finished_at = finished_at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Row {
            name,
            outcome,
            finished_at,
        }
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn observation(&self) -> Option<&Observation> {
        self.outcome.observation.as_ref()
    }
}

/// A target's identity labels, escaped (borrowed unless a value needs escaping).
struct Ids<'a> {
    namespace: Cow<'a, str>,
    service: Cow<'a, str>,
    target: Cow<'a, str>,
}

impl<'a> Ids<'a> {
    fn of(t: &'a Target) -> Self {
        Ids {
            namespace: escape(t.source.namespace()),
            service: escape(t.source.service()),
            target: escape(&t.name),
        }
    }
}

/// The label writers a family's lines share: `namespace`, and `service` with `target`, placed
/// where name order puts them.
trait TargetLabels: Sized {
    fn namespace(self, ids: &Ids<'_>) -> Self;
    fn service_target(self, ids: &Ids<'_>) -> Self;
}

impl TargetLabels for Line<'_> {
    fn namespace(self, ids: &Ids<'_>) -> Self {
        self.label("namespace", &ids.namespace)
    }

    fn service_target(self, ids: &Ids<'_>) -> Self {
        self.label("service", &ids.service)
            .label("target", &ids.target)
    }
}

/// The per-target series: the status store's outcomes, read at scrape time.
pub struct PerTarget {
    store: Arc<LatestOutcomes>,
}

/// (name, help, whether a target has a series of it, writer of one target's lines).
type Family = (
    &'static str,
    &'static str,
    fn(&Row) -> bool,
    fn(&Row, &Ids<'_>, &str, &mut String),
);

/// The ACM certificates ACM answered for, with their notAfter.
fn acm_not_after(row: &Row) -> impl Iterator<Item = (&str, i64)> {
    let acm = row.observation().map_or(&[][..], |o| &o.acm[..]);
    acm.iter().filter_map(|a| match &a.result {
        Ok(c) => c.not_after.map(|n| (a.arn.as_str(), n)),
        Err(_) => None,
    })
}

/// The notAfter of the leaf served at each address.
fn leaf_not_after(row: &Row) -> impl Iterator<Item = (Address, i64)> {
    let endpoints = row.observation().map_or(&[][..], |o| &o.endpoints[..]);
    endpoints.iter().filter_map(|e| {
        let leaf = e.tls.as_ref().and_then(|t| t.leaf_facts())?;
        Some((Address(Some(e.address.ip())), leaf.not_after))
    })
}

/// The (address, version, cipher) the probe's own handshake negotiated.
fn negotiated(row: &Row) -> impl Iterator<Item = (Address, &str, &str)> {
    let endpoints = row.observation().map_or(&[][..], |o| &o.endpoints[..]);
    endpoints.iter().filter_map(|e| match e.tls.as_ref() {
        Some(t) => match (&t.version, &t.cipher) {
            (Some(v), Some(c)) => Some((Address(Some(e.address.ip())), &**v, &**c)),
            _ => None,
        },
        None => None,
    })
}

/// The (address, version, cipher) each address's last TLS scan saw accepted.
fn scan_accepted(row: &Row) -> impl Iterator<Item = (Address, &'static str, &'static str)> {
    let scans = row.observation().map_or(&[][..], |o| &o.tls_scans[..]);
    scans.iter().flat_map(|scan| {
        let address = Address(Some(scan.address.ip()));
        scan.accepted
            .iter()
            .map(move |a| (address, a.version.as_str(), a.suite.name))
    })
}

/// The families, in name order. Labels in name order too; a line is written with plain
/// appends (see [`super::text_line`]).
const FAMILIES: [Family; 9] = [
    (
        "edgewatch_acm_cert_not_after_timestamp_seconds",
        "notAfter of the expected ACM certificate, as ACM reports it.",
        |r| acm_not_after(r).next().is_some(),
        |r, ids, name, out| {
            for (arn, v) in acm_not_after(r) {
                Line::start(out, name)
                    .label("arn", &escape(arn))
                    .namespace(ids)
                    .service_target(ids)
                    .value(v as f64);
            }
        },
    ),
    (
        "edgewatch_cert_not_after_timestamp_seconds",
        "notAfter of the leaf served at each address (Unix seconds).",
        |r| leaf_not_after(r).next().is_some(),
        |r, ids, name, out| {
            for (a, v) in leaf_not_after(r) {
                Line::start(out, name)
                    .address(a)
                    .namespace(ids)
                    .service_target(ids)
                    .value(v as f64);
            }
        },
    ),
    (
        "edgewatch_check_failure_info",
        "1 while a check fails, with its reason code.",
        |r| r.outcome.results.iter().any(|c| c.status == Status::Fail),
        |r, ids, name, out| {
            for c in r
                .outcome
                .results
                .iter()
                .filter(|c| c.status == Status::Fail)
            {
                Line::start(out, name)
                    .address(Address(c.address))
                    .label("check", c.check.as_str())
                    .namespace(ids)
                    .label("reason", c.reason_code())
                    .service_target(ids)
                    .value(1.0);
            }
        },
    ),
    (
        "edgewatch_check_success",
        "1 if the check passed on the last probe, 0 if it failed; absent when skipped.",
        |r| r.outcome.results.iter().any(|c| c.status != Status::Skip),
        |r, ids, name, out| {
            for c in r
                .outcome
                .results
                .iter()
                .filter(|c| c.status != Status::Skip)
            {
                Line::start(out, name)
                    .address(Address(c.address))
                    .label("check", c.check.as_str())
                    .namespace(ids)
                    .service_target(ids)
                    .value(if c.status == Status::Pass { 1.0 } else { 0.0 });
            }
        },
    ),
    (
        "edgewatch_probe_last_timestamp_seconds",
        "When the last probe of the target finished (Unix seconds).",
        |_| true,
        |r, ids, name, out| {
            Line::start(out, name)
                .namespace(ids)
                .service_target(ids)
                .value(r.finished_at);
        },
    ),
    (
        "edgewatch_probe_phase_seconds",
        "Duration of each phase of the last probe (slowest address).",
        |r| r.observation().is_some(),
        |r, ids, name, out| {
            let Some(obs) = r.observation() else { return };
            phase_durations(obs, |phase, v| {
                Line::start(out, name)
                    .namespace(ids)
                    .label("phase", phase)
                    .service_target(ids)
                    .value(v);
            });
        },
    ),
    (
        "edgewatch_probe_success",
        "1 if no check failed on the last probe of the target.",
        |_| true,
        |r, ids, name, out| {
            Line::start(out, name)
                .namespace(ids)
                .service_target(ids)
                .value(if r.outcome.ok() { 1.0 } else { 0.0 });
        },
    ),
    (
        "edgewatch_tls_accepted_info",
        "1 for each TLS version and cipher suite (AWS policy names) the last scan of the address saw accepted.",
        |r| scan_accepted(r).next().is_some(),
        |r, ids, name, out| {
            for (a, v, c) in scan_accepted(r) {
                Line::start(out, name)
                    .address(a)
                    .label("cipher", c)
                    .namespace(ids)
                    .service_target(ids)
                    .label("version", v)
                    .value(1.0);
            }
        },
    ),
    (
        "edgewatch_tls_version_info",
        "1 for the TLS version and cipher suite the probe's handshake negotiated at the address.",
        |r| negotiated(r).next().is_some(),
        |r, ids, name, out| {
            for (a, v, c) in negotiated(r) {
                Line::start(out, name)
                    .address(a)
                    .label("cipher", &escape(c))
                    .namespace(ids)
                    .service_target(ids)
                    .label("version", &escape(v))
                    .value(1.0);
            }
        },
    ),
];

/// (phase, seconds) of a probe, to `each`: DNS, the slowest address for connect, TLS and HTTP,
/// and the whole probe.
pub fn phase_durations(obs: &Observation, mut each: impl FnMut(&'static str, f64)) {
    each("dns", obs.dns.duration.as_secs_f64());
    let slowest = |f: &dyn Fn(&crate::probe::EndpointObservation) -> Option<f64>| {
        obs.endpoints
            .iter()
            .filter_map(f)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    if let Some(v) = slowest(&|e| e.connect.as_ref().ok().map(|d| d.as_secs_f64())) {
        each("connect", v);
    }
    if let Some(v) = slowest(&|e| e.tls.as_ref().map(|t| t.duration.as_secs_f64())) {
        each("tls", v);
    }
    if let Some(v) = slowest(&|e| e.http.as_ref().map(|h| h.duration.as_secs_f64())) {
        each("http", v);
    }
    each("total", obs.duration.as_secs_f64());
}

impl PerTarget {
    /// The series of the outcomes in `store`.
    pub fn new(store: Arc<LatestOutcomes>) -> Self {
        PerTarget { store }
    }

    /// The store the series are read from.
    pub fn store(&self) -> &Arc<LatestOutcomes> {
        &self.store
    }

    /// Appends the text exposition of every family that has a series.
    pub fn render(&self, out: &mut String) {
        let mut cursor = Cursor::default();
        while self.render_chunk(&mut cursor, out, usize::MAX) {}
    }

    /// Appends the next lines of the exposition, at most `max_targets` targets' worth, so a
    /// scrape of a large fleet streams instead of building one big buffer. The targets and
    /// their outcomes are those of the store when the first chunk is written, in name order:
    /// the store's lock is held only to take that list (outcomes are shared, not copied), and
    /// every family of one scrape shows the same probe of a target.
    /// Returns false once everything has been written.
    pub fn render_chunk(&self, cursor: &mut Cursor, out: &mut String, max_targets: usize) -> bool {
        let rows = cursor.rows.get_or_insert_with(|| self.store.rows());
        while let Some((name, help, has, write)) = FAMILIES.get(cursor.family).copied() {
            let mut written = 0;
            while let Some(row) = rows.get(cursor.next) {
                if written == max_targets {
                    return true;
                }
                // The family's head goes before its first line; a family no target has is
                // left out. Found on the way, not by a pass over every target first: a scrape
                // of 100,000 targets does no long step between two chunks.
                if !cursor.family_started && has(row) {
                    for piece in ["# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n"] {
                        out.push_str(piece);
                    }
                    cursor.family_started = true;
                }
                if cursor.family_started {
                    write(row, &Ids::of(&row.outcome.target), name, out);
                }
                cursor.next += 1;
                written += 1;
            }
            cursor.family += 1;
            cursor.next = 0;
            cursor.family_started = false;
            if max_targets != usize::MAX {
                return true;
            }
        }
        false
    }
}

/// Where a chunked render stands: the targets (in name order, taken at the first chunk), the
/// family being written and the next target's place among them.
#[derive(Default)]
pub struct Cursor {
    rows: Option<Vec<Row>>,
    family: usize,
    next: usize,
    /// Whether the family's head is written (a target before `next` has a series of it).
    family_started: bool,
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
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;
    use crate::checks::{CheckName, CheckResult};
    use crate::discovery::target::TargetSource;
    use crate::probe::tls::TlsObservation;
    use crate::probe::tls_scan::{Accepted, TlsProtocol, TlsScan, suites};
    use crate::probe::{DnsObservation, EndpointObservation};

    /// An outcome of target `name` in `ns`/`svc`: one address, its handshake, its last scan.
    fn outcome(name: &str, ns: &str, svc: &str, failing: bool) -> Outcome {
        let address: SocketAddr = "192.0.2.10:443".parse().unwrap();
        let source = TargetSource::Kubernetes {
            namespace: ns.into(),
            service: svc.into(),
        };
        let mut obs = Observation::from_dns(
            SystemTime::now(),
            DnsObservation {
                name: name.into(),
                cname_chain: vec![],
                addresses: vec![address.ip()],
                nameservers: Arc::from([]),
                failure: None,
                duration: Duration::from_millis(500),
            },
        );
        obs.endpoints.push(EndpointObservation {
            address,
            connect: Ok(Duration::from_millis(1)),
            tls: Some(TlsObservation {
                version: Some("TLSv1.3".into()),
                cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
                duration: Duration::from_millis(2),
                ..TlsObservation::before_handshake()
            }),
            http: None,
        });
        obs.tls_scans.push(Arc::new(TlsScan {
            address,
            scanned_at: SystemTime::now(),
            duration: Duration::from_millis(3),
            versions: vec![TlsProtocol::Tls10],
            accepted: vec![Accepted {
                version: TlsProtocol::Tls10,
                suite: suites::by_name("AES128-SHA").unwrap(),
            }],
            connections: 1,
            failure: None,
        }));
        let ip = address.ip();
        let backend = if failing {
            CheckResult::fail(CheckName::Backend, "bad_status", "GET / answered 503")
        } else {
            CheckResult::pass(CheckName::Backend, "GET / answered 200")
        };
        Outcome {
            target: Arc::new(Target::new(name, 443, source)),
            observation: Some(obs),
            results: vec![
                CheckResult::pass(CheckName::Dns, "resolves"),
                backend.at(ip),
                CheckResult::skip(CheckName::CertExpected, "no_expectation", "none").at(ip),
            ]
            .into(),
        }
    }

    fn rendered(store: &Arc<LatestOutcomes>) -> String {
        let mut out = String::new();
        PerTarget::new(store.clone()).render(&mut out);
        out
    }

    #[test]
    fn label_values_are_escaped_and_labels_sorted_by_name() {
        let store = Arc::new(LatestOutcomes::new());
        store.record(&outcome("a\"b", "ns", "svc\\x", false), SystemTime::now());
        let out = rendered(&store);
        assert!(
            out.contains(
                r#"edgewatch_probe_phase_seconds{namespace="ns",phase="dns",service="svc\\x",target="a\"b:443"} 0.5"#
            ),
            "{out}"
        );
        assert!(
            !out.contains("edgewatch_check_failure_info"),
            "no failing check, no family: {out}"
        );
        assert!(
            !out.contains("check=\"cert_expected\""),
            "a skipped check has no series: {out}"
        );
    }

    #[test]
    fn tls_info_series_carry_address_version_and_cipher() {
        let store = Arc::new(LatestOutcomes::new());
        store.record(&outcome("t", "ns", "svc", false), SystemTime::now());
        let out = rendered(&store);
        assert!(out.contains(r#"edgewatch_tls_accepted_info{address="192.0.2.10",cipher="AES128-SHA",namespace="ns",service="svc",target="t:443",version="TLSv1.0"} 1"#), "{out}");
        assert!(out.contains(r#"edgewatch_tls_version_info{address="192.0.2.10",cipher="TLS13_AES_128_GCM_SHA256",namespace="ns",service="svc",target="t:443",version="TLSv1.3"} 1"#), "{out}");
    }

    #[test]
    fn chunked_render_writes_the_same_text_as_one_render() {
        let store = Arc::new(LatestOutcomes::new());
        for i in 0..7 {
            let o = outcome(&format!("t{i}"), "ns", "svc", i % 3 == 0);
            store.record(&o, SystemTime::now());
        }
        let whole = rendered(&store);
        let per_target = PerTarget::new(store);
        let (mut chunked, mut cursor, mut chunks) = (String::new(), Cursor::default(), 0);
        while per_target.render_chunk(&mut cursor, &mut chunked, 2) {
            chunks += 1;
        }
        assert_eq!(chunked, whole);
        assert!(chunks > 4, "{chunks} chunks");
        // Every family but ACM's and the served leaf's (no certificate was parsed).
        assert_eq!(whole.matches("# TYPE").count(), 7, "{whole}");
        assert_eq!(
            whole.matches("edgewatch_check_failure_info{").count(),
            3,
            "t0, t3, t6 fail: {whole}"
        );
    }

    #[test]
    fn a_scrape_writes_the_targets_as_they_were_at_its_first_chunk() {
        let store = Arc::new(LatestOutcomes::new());
        store.record(&outcome("t1", "ns", "svc", false), SystemTime::now());
        let per_target = PerTarget::new(store.clone());
        let (mut out, mut cursor) = (String::new(), Cursor::default());
        assert!(per_target.render_chunk(&mut cursor, &mut out, 1));
        // Mid-scrape: t1 starts failing and t2 appears; this scrape still shows t1 passing.
        store.record(&outcome("t1", "ns", "svc", true), SystemTime::now());
        store.record(&outcome("t2", "ns", "svc", false), SystemTime::now());
        while per_target.render_chunk(&mut cursor, &mut out, 1) {}
        assert!(!out.contains("t2:443"), "{out}");
        assert!(!out.contains("edgewatch_check_failure_info"), "{out}");
        assert!(
            rendered(&store).contains("edgewatch_check_failure_info{"),
            "the next scrape shows both changes"
        );
    }
}

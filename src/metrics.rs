//! Prometheus metrics: registered once when the daemon starts, written from outcomes, and removed
//! per target when the target goes away. Label values come only from bounded sets: target
//! identity, addresses, check names and reason codes; never a formatted error message.
//! README's "Metrics" table documents every series; keep the two in step.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::certinfo;
use crate::checks::Status;
use crate::outcome::Outcome;
use crate::target::Target;

const TARGET_LABELS: [&str; 3] = ["target", "namespace", "service"];

/// Every edgewatch metric, and what series each target has (so they can be removed).
pub struct Metrics {
    registry: Registry,
    check_success: GaugeVec,
    check_failure: GaugeVec,
    probe_success: GaugeVec,
    probe_timestamp: GaugeVec,
    phase_seconds: GaugeVec,
    duration: HistogramVec,
    cert_not_after: GaugeVec,
    /// `edgewatch_acm_cert_not_after_timestamp_seconds{target,namespace,service,arn}`.
    pub acm_not_after: GaugeVec,
    probes_total: IntCounterVec,
    check_failures_total: IntCounterVec,
    /// Probes that started later than scheduled (by more than the tolerance).
    pub late_probes: IntCounter,
    /// How late probes start versus their schedule.
    pub schedule_lag: Histogram,
    /// Targets currently known, by source kind.
    pub targets: IntGaugeVec,
    /// 1 once a discovery source has listed everything once.
    pub discovery_synced: IntGaugeVec,
    /// Discovery errors (watch failures, relists) by source and reason.
    pub discovery_errors: IntCounterVec,
    /// ACM API calls by result.
    pub acm_requests: IntCounterVec,
    /// Alertmanager posts by result.
    pub alertmanager_posts: IntCounterVec,
    series: Mutex<HashMap<String, TargetSeries>>,
}

/// The label sets one target currently has, per metric.
#[derive(Default)]
struct TargetSeries {
    ids: [String; 3],
    checks: HashSet<[String; 2]>,
    failures: HashSet<[String; 3]>,
    certs: HashSet<String>,
    arns: HashSet<String>,
    phases: HashSet<&'static str>,
}

fn gauge(registry: &Registry, name: &str, help: &str, extra: &[&str]) -> GaugeVec {
    let labels: Vec<&str> = TARGET_LABELS.iter().chain(extra).copied().collect();
    let g = GaugeVec::new(Opts::new(name, help), &labels).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let r = Registry::new();
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "edgewatch_probe_duration_seconds",
                "Probe phase durations across all targets.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
            ]),
            &["phase"],
        )
        .expect("valid metric");
        r.register(Box::new(duration.clone()))
            .expect("registered once");
        let schedule_lag = Histogram::with_opts(
            HistogramOpts::new(
                "edgewatch_probe_schedule_lag_seconds",
                "How late probes start versus their schedule.",
            )
            .buckets(vec![0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 30.0]),
        )
        .expect("valid metric");
        r.register(Box::new(schedule_lag.clone()))
            .expect("registered once");
        let late_probes = IntCounter::new(
            "edgewatch_probes_late_total",
            "Probes that started more than 1s (or 10% of the interval) late.",
        )
        .expect("valid metric");
        r.register(Box::new(late_probes.clone()))
            .expect("registered once");
        let targets = IntGaugeVec::new(
            Opts::new("edgewatch_targets", "Targets being probed, by source."),
            &["source"],
        )
        .expect("valid metric");
        r.register(Box::new(targets.clone()))
            .expect("registered once");
        let discovery_synced = IntGaugeVec::new(
            Opts::new(
                "edgewatch_discovery_synced",
                "1 when the discovery source has completed a full list.",
            ),
            &["source"],
        )
        .expect("valid metric");
        r.register(Box::new(discovery_synced.clone()))
            .expect("registered once");
        let build_info = GaugeVec::new(
            Opts::new("edgewatch_build_info", "Build information; always 1."),
            &["version"],
        )
        .expect("valid metric");
        r.register(Box::new(build_info.clone()))
            .expect("registered once");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        Metrics {
            check_success: gauge(
                &r,
                "edgewatch_check_success",
                "1 if the check passed on the last probe, 0 if it failed; absent when skipped.",
                &["address", "check"],
            ),
            check_failure: gauge(
                &r,
                "edgewatch_check_failure_info",
                "1 while a check fails, with its reason code.",
                &["address", "check", "reason"],
            ),
            probe_success: gauge(
                &r,
                "edgewatch_probe_success",
                "1 if no check failed on the last probe of the target.",
                &[],
            ),
            probe_timestamp: gauge(
                &r,
                "edgewatch_probe_last_timestamp_seconds",
                "When the last probe of the target finished (Unix seconds).",
                &[],
            ),
            phase_seconds: gauge(
                &r,
                "edgewatch_probe_phase_seconds",
                "Duration of each phase of the last probe (slowest address).",
                &["phase"],
            ),
            cert_not_after: gauge(
                &r,
                "edgewatch_cert_not_after_timestamp_seconds",
                "notAfter of the leaf served at each address (Unix seconds).",
                &["address"],
            ),
            acm_not_after: gauge(
                &r,
                "edgewatch_acm_cert_not_after_timestamp_seconds",
                "notAfter of the expected ACM certificate, as ACM reports it.",
                &["arn"],
            ),
            probes_total: counter(
                &r,
                "edgewatch_probes_total",
                "Probes completed, by result.",
                &["result"],
            ),
            check_failures_total: counter(
                &r,
                "edgewatch_check_failures_total",
                "Failed check results, by check and reason code.",
                &["check", "reason"],
            ),
            discovery_errors: counter(
                &r,
                "edgewatch_discovery_errors_total",
                "Discovery errors, by source and reason.",
                &["source", "reason"],
            ),
            acm_requests: counter(
                &r,
                "edgewatch_acm_requests_total",
                "ACM API calls, by operation and result.",
                &["operation", "result"],
            ),
            alertmanager_posts: counter(
                &r,
                "edgewatch_alertmanager_posts_total",
                "Alert batches posted to Alertmanager, by result.",
                &["result"],
            ),
            duration,
            late_probes,
            schedule_lag,
            targets,
            discovery_synced,
            registry: r,
            series: Mutex::new(HashMap::new()),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).unwrap_or_default()
    }

    /// The registry, for components that register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Writes one outcome's series, removing the target's series that this outcome no longer has.
    pub fn record(&self, outcome: &Outcome) {
        let t = &outcome.target;
        let ids = target_ids(t);
        let id: [&str; 3] = [&ids[0], &ids[1], &ids[2]];
        let mut now = TargetSeries {
            ids: ids.clone(),
            ..Default::default()
        };

        for r in &outcome.results {
            let address = r.address.map(|a| a.to_string()).unwrap_or_default();
            let check = r.check.as_str();
            match r.status {
                Status::Skip => continue,
                Status::Pass => {}
                Status::Fail => {
                    self.check_failures_total
                        .with_label_values(&[check, r.reason_code])
                        .inc();
                    self.check_failure
                        .with_label_values(&[id[0], id[1], id[2], &address, check, r.reason_code])
                        .set(1.0);
                    now.failures.insert([
                        address.clone(),
                        check.to_string(),
                        r.reason_code.to_string(),
                    ]);
                }
            }
            let value = if r.status == Status::Pass { 1.0 } else { 0.0 };
            self.check_success
                .with_label_values(&[id[0], id[1], id[2], &address, check])
                .set(value);
            now.checks.insert([address, check.to_string()]);
        }
        let ok = outcome.ok();
        self.probe_success
            .with_label_values(&id)
            .set(if ok { 1.0 } else { 0.0 });
        self.probes_total
            .with_label_values(&[if ok { "success" } else { "failure" }])
            .inc();
        let finished = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.probe_timestamp.with_label_values(&id).set(finished);

        if let Some(obs) = &outcome.observation {
            for e in &obs.endpoints {
                if let Some(leaf) = e
                    .tls
                    .as_ref()
                    .and_then(|t| t.chain.first())
                    .and_then(|d| certinfo::parse(d).ok())
                {
                    let address = e.address.ip().to_string();
                    self.cert_not_after
                        .with_label_values(&[id[0], id[1], id[2], &address])
                        .set(leaf.not_after as f64);
                    now.certs.insert(address);
                }
            }
            for (phase, secs) in phase_durations(obs) {
                self.duration.with_label_values(&[phase]).observe(secs);
                self.phase_seconds
                    .with_label_values(&[id[0], id[1], id[2], phase])
                    .set(secs);
                now.phases.insert(phase);
            }
            for a in &obs.acm {
                if let Ok(Some(not_after)) = a.result.as_ref().map(|c| c.not_after) {
                    self.acm_not_after
                        .with_label_values(&[id[0], id[1], id[2], &a.arn])
                        .set(not_after as f64);
                    now.arns.insert(a.arn.clone());
                }
            }
        }
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(before) = series.insert(t.name.clone(), now) {
            let now = &series[&t.name];
            self.remove_stale(&before, now);
        }
    }

    /// Removes every series of the target named `name`.
    pub fn forget(&self, name: &str) {
        let removed = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        if let Some(before) = removed {
            let empty = TargetSeries {
                ids: before.ids.clone(),
                ..Default::default()
            };
            self.remove_stale(&before, &empty);
            let id: [&str; 3] = [&before.ids[0], &before.ids[1], &before.ids[2]];
            let _ = self.probe_success.remove_label_values(&id);
            let _ = self.probe_timestamp.remove_label_values(&id);
        }
    }

    fn remove_stale(&self, before: &TargetSeries, now: &TargetSeries) {
        let i = &before.ids;
        for [a, c] in before.checks.difference(&now.checks) {
            let _ = self
                .check_success
                .remove_label_values(&[&i[0], &i[1], &i[2], a, c]);
        }
        for [a, c, r] in before.failures.difference(&now.failures) {
            let _ = self
                .check_failure
                .remove_label_values(&[&i[0], &i[1], &i[2], a, c, r]);
        }
        for a in before.certs.difference(&now.certs) {
            let _ = self
                .cert_not_after
                .remove_label_values(&[&i[0], &i[1], &i[2], a]);
        }
        for arn in before.arns.difference(&now.arns) {
            let _ = self
                .acm_not_after
                .remove_label_values(&[&i[0], &i[1], &i[2], arn]);
        }
        for p in before.phases.difference(&now.phases) {
            let _ = self
                .phase_seconds
                .remove_label_values(&[i[0].as_str(), &i[1], &i[2], p]);
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `target`, `namespace`, `service` label values of a target.
pub fn target_ids(t: &Target) -> [String; 3] {
    [
        t.name.clone(),
        t.source.namespace().to_string(),
        t.source.service().to_string(),
    ]
}

/// (phase, seconds) of a probe: DNS, and the slowest address for connect, TLS and HTTP.
fn phase_durations(obs: &crate::probe::Observation) -> Vec<(&'static str, f64)> {
    let mut out = vec![("dns", obs.dns.duration.as_secs_f64())];
    let slowest = |f: &dyn Fn(&crate::probe::EndpointObservation) -> Option<f64>| {
        obs.endpoints
            .iter()
            .filter_map(f)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    if let Some(v) = slowest(&|e| e.connect.as_ref().ok().map(|d| d.as_secs_f64())) {
        out.push(("connect", v));
    }
    if let Some(v) = slowest(&|e| e.tls.as_ref().map(|t| t.duration.as_secs_f64())) {
        out.push(("tls", v));
    }
    if let Some(v) = slowest(&|e| e.http.as_ref().map(|h| h.duration.as_secs_f64())) {
        out.push(("http", v));
    }
    out.push(("total", obs.duration.as_secs_f64()));
    out
}

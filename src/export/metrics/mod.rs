//! Prometheus metrics: registered once when the daemon starts, written from outcomes, and removed
//! per target when the target goes away. Label values come only from bounded sets: target
//! identity, addresses, check names and reason codes; never a formatted error message.
//! README's "Metrics" table documents every series; keep the two in step.

mod per_target;

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::checks::Status;
use crate::discovery::target::Target;
use crate::pipeline::outcome::Outcome;
use crate::probe::certinfo;

/// Every edgewatch metric: the fleet-wide ones in a registry, the per-target ones as compact series.
pub struct Metrics {
    registry: Registry,
    per_target: per_target::PerTarget,
    duration: HistogramVec,
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
    /// edgewatch's own failures (never a target's), by kind: `probe_loop_panic`.
    pub internal_errors: IntCounterVec,
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
            internal_errors: counter(
                &r,
                "edgewatch_internal_errors_total",
                "edgewatch's own failures (not a target's), by kind.",
                &["kind"],
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
            per_target: per_target::PerTarget::default(),
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = self.render_registry();
        self.per_target.render(&mut text);
        text
    }

    /// The exposition in chunks: the registered metrics, then the per-target series a few
    /// hundred targets at a time, yielding between chunks. At 10,000 targets the text is
    /// ~18 MB; streamed, a scrape neither holds it all in memory nor stalls the probes. So a
    /// scrape is not a snapshot: an outcome recorded mid-scrape shows only in the families
    /// written after it (as with collectors gathered one by one).
    pub fn render_stream(
        self: Arc<Self>,
    ) -> impl futures::Stream<Item = Result<String, std::convert::Infallible>> + Send {
        let head = self.render_registry();
        let start = (self, Some(head), per_target::Cursor::default(), false);
        futures::stream::unfold(start, |(m, head, mut cursor, done)| async move {
            if let Some(head) = head {
                return Some((Ok(head), (m, None, cursor, false)));
            }
            if done {
                return None;
            }
            tokio::task::yield_now().await;
            let mut chunk = String::with_capacity(64 * 1024);
            let more = m.per_target.render_chunk(&mut cursor, &mut chunk, 256);
            Some((Ok(chunk), (m, None, cursor, !more)))
        })
    }

    fn render_registry(&self) -> String {
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
        let mut now = per_target::Series::new(&ids);
        // Exact capacities: 10,000 targets keep these lists between probes, and growing them by
        // doubling would leave a third of them unused.
        let judged = outcome.results.iter().filter(|r| r.status != Status::Skip);
        now.checks.reserve_exact(judged.clone().count());
        now.failures
            .reserve_exact(judged.filter(|r| r.status == Status::Fail).count());
        for r in &outcome.results {
            let address = per_target::Address(r.address);
            let check = r.check.as_str();
            match r.status {
                Status::Skip => continue,
                Status::Pass => {}
                Status::Fail => {
                    self.check_failures_total
                        .with_label_values(&[check, r.reason_code])
                        .inc();
                    now.failures.push((address, check, r.reason_code));
                }
            }
            let value = if r.status == Status::Pass { 1.0 } else { 0.0 };
            now.checks.push((address, check, value));
        }
        let ok = outcome.ok();
        now.success = if ok { 1.0 } else { 0.0 };
        self.probes_total
            .with_label_values(&[if ok { "success" } else { "failure" }])
            .inc();
        now.timestamp = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);

        if let Some(obs) = &outcome.observation {
            now.certs.reserve_exact(obs.endpoints.len());
            for e in &obs.endpoints {
                if let Some(not_after) = e
                    .tls
                    .as_ref()
                    .and_then(|t| t.chain.first())
                    .and_then(certinfo::not_after)
                {
                    let address = per_target::Address(Some(e.address.ip()));
                    now.certs.push((address, not_after as f64));
                }
            }
            now.phases = phase_durations(obs);
            for &(phase, secs) in &now.phases {
                self.duration.with_label_values(&[phase]).observe(secs);
            }
            now.acm.reserve_exact(obs.acm.len());
            for a in &obs.acm {
                if let Ok(Some(not_after)) = a.result.as_ref().map(|c| c.not_after) {
                    now.acm.push((a.arn.clone(), not_after as f64));
                }
            }
        }
        self.per_target.replace(&t.name, now);
    }

    /// Removes every series of the target named `name`.
    pub fn forget(&self, name: &str) {
        self.per_target.remove(name);
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
    let mut out = Vec::with_capacity(5);
    out.push(("dns", obs.dns.duration.as_secs_f64()));
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

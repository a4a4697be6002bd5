//! Prometheus metrics: registered once when the daemon starts, written from outcomes, and removed
//! per target when the target goes away. Label values come only from bounded sets: target
//! identity, addresses, check names and reason codes; never a formatted error message.
//! README's "Metrics" table documents every series; keep the two in step.

mod per_target;
mod text_line;

use std::sync::{Arc, OnceLock};
use std::time::UNIX_EPOCH;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts,
    Registry, TextEncoder,
};

use crate::checks::Status;
use crate::discovery::target::Target;
use crate::export::OutcomeSink;
use crate::pipeline::outcome::Outcome;
use crate::registry::{counter, register};

/// The outcome exporter: per-target series (written as text, see `per_target`) and the fleet
/// series that outcomes feed, plus the rendering of the whole registry for `/metrics`. Other
/// components register their own handles in the same registry when they are built.
pub struct Metrics {
    registry: Registry,
    per_target: per_target::PerTarget,
    duration: HistogramVec,
    probes_total: IntCounterVec,
    /// `edgewatch_probes_total` by result: success, failure; looked up at the first probe of
    /// each (not per probe, and a series appears only once it has counted something).
    probes: [OnceLock<IntCounter>; 2],
    /// `edgewatch_probe_duration_seconds` of each of [`PHASES`], looked up as `probes`.
    phases: [OnceLock<Histogram>; PHASES.len()],
    check_failures_total: IntCounterVec,
}

impl Metrics {
    /// Registers the outcome series (and `edgewatch_build_info`) in `registry`, which it renders.
    pub fn new(registry: &Registry) -> Self {
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
        .expect("valid metric definition");
        let build_info = GaugeVec::new(
            Opts::new("edgewatch_build_info", "Build information; always 1."),
            &["version"],
        )
        .expect("valid metric definition");
        register(registry, build_info)
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        let probes_total = counter(
            registry,
            "edgewatch_probes_total",
            "Probes completed, by result.",
            &["result"],
        );
        let duration = register(registry, duration);
        Metrics {
            probes_total,
            probes: Default::default(),
            phases: Default::default(),
            check_failures_total: counter(
                registry,
                "edgewatch_check_failures_total",
                "Failed check results, by check and reason code.",
                &["check", "reason"],
            ),
            duration,
            registry: registry.clone(),
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
            // A chunk is one family's lines of up to CHUNK_TARGETS targets: up to ~8 lines of
            // ~130 bytes each, so it rarely has to be copied to grow.
            let mut chunk = String::with_capacity(CHUNK_TARGETS * 1024);
            let more = m
                .per_target
                .render_chunk(&mut cursor, &mut chunk, CHUNK_TARGETS);
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

    /// Writes one outcome's series, removing the target's series that this outcome no longer has.
    pub fn record(&self, outcome: &Outcome) {
        let t = &outcome.target;
        // The target's series are rewritten in place: their lists and label text keep their
        // allocations from one probe to the next (the supervisor forgets a changed target).
        self.per_target.update(
            &t.name,
            || per_target::Series::new(&target_ids(t)),
            |now| self.fill(outcome, now),
        );
    }

    fn fill(&self, outcome: &Outcome, now: &mut per_target::Series) {
        // Exact capacities: 10,000 targets keep these lists between probes, and growing them by
        // doubling would leave a third of them unused.
        let judged = outcome.results.iter().filter(|r| r.status != Status::Skip);
        now.checks.reserve_exact(judged.clone().count());
        now.failures
            .reserve_exact(judged.filter(|r| r.status == Status::Fail).count());
        for r in &outcome.results {
            let address = per_target::Address(r.address);
            let check = r.check;
            match r.status {
                Status::Skip => continue,
                Status::Pass => {}
                Status::Fail => {
                    self.check_failures_total
                        .with_label_values(&[check.as_str(), r.reason_code])
                        .inc();
                    now.failures.push((address, check, r.reason_code));
                }
            }
            now.checks.push((address, check, r.status == Status::Pass));
        }
        let ok = outcome.ok();
        now.success = if ok { 1.0 } else { 0.0 };
        let result = usize::from(!ok);
        self.probes[result]
            .get_or_init(|| {
                let label = ["success", "failure"][result];
                self.probes_total.with_label_values(&[label])
            })
            .inc();
        now.timestamp = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);

        if let Some(obs) = &outcome.observation {
            now.certs.reserve_exact(obs.endpoints.len());
            for e in &obs.endpoints {
                if let Some(leaf) = e.tls.as_ref().and_then(|t| t.leaf_facts()) {
                    let address = per_target::Address(Some(e.address.ip()));
                    now.certs.push((address, leaf.not_after as f64));
                }
            }
            phase_durations(obs, &mut now.phases);
            for &(phase, secs) in &now.phases {
                match PHASES.iter().position(|p| *p == phase) {
                    Some(i) => self.phases[i]
                        .get_or_init(|| self.duration.with_label_values(&[phase]))
                        .observe(secs),
                    None => self.duration.with_label_values(&[phase]).observe(secs),
                }
            }
            tls_series(obs, now);
            now.acm.reserve_exact(obs.acm.len());
            for a in &obs.acm {
                if let Ok(Some(not_after)) = a.result.as_ref().map(|c| c.not_after) {
                    now.acm.push((a.arn.clone(), not_after as f64));
                }
            }
        }
    }

    /// Removes every series of the target named `name`.
    pub fn forget(&self, name: &str) {
        self.per_target.remove(name);
    }
}

#[async_trait::async_trait]
impl OutcomeSink for Metrics {
    async fn observe(&self, outcome: &Outcome) {
        self.record(outcome);
    }

    async fn forget(&self, name: &str) {
        Metrics::forget(self, name);
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

/// The TLS series of a probe: what each address's last scan saw accepted, and what the probe's
/// own handshake negotiated.
fn tls_series(obs: &crate::probe::Observation, now: &mut per_target::Series) {
    let accepted = obs.tls_scans.iter().map(|s| s.accepted.len()).sum();
    now.tls_accepted.reserve_exact(accepted);
    for scan in &obs.tls_scans {
        let address = per_target::Address(Some(scan.address.ip()));
        for a in &scan.accepted {
            now.tls_accepted
                .push((address, a.version.as_str(), a.suite.name));
        }
    }
    // The names are borrowed (rustls's own) for every version and suite rustls knows.
    for e in &obs.endpoints {
        if let Some((Some(v), Some(c))) = e.tls.as_ref().map(|t| (&t.version, &t.cipher)) {
            let address = per_target::Address(Some(e.address.ip()));
            now.tls_version.push((address, v.clone(), c.clone()));
        }
    }
}

/// (phase, seconds) of a probe: DNS, and the slowest address for connect, TLS and HTTP.
fn phase_durations(obs: &crate::probe::Observation, out: &mut Vec<(&'static str, f64)>) {
    out.reserve_exact(PHASES.len());
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
}

/// Targets per chunk of a streamed scrape.
const CHUNK_TARGETS: usize = 256;

/// The phases [`phase_durations`] reports.
const PHASES: [&str; 5] = ["dns", "connect", "tls", "http", "total"];

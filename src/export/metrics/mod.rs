//! Prometheus metrics: registered once when the daemon starts, written from outcomes, and removed
//! per target when the target goes away. Label values come only from bounded sets: target
//! identity, addresses, check names and reason codes; never a formatted error message.
//! README's "Metrics" table documents every series; keep the two in step.

mod per_target;
mod text_line;

pub use per_target::Row;

use std::sync::{Arc, OnceLock};

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts,
    Registry, TextEncoder,
};

use crate::checks::Status;
use crate::export::OutcomeSink;
use crate::export::latest::{self, LatestOutcomes};
use crate::pipeline::outcome::Outcome;
use crate::registry::{counter, register};

/// The outcome exporter: per-target series (written as text from the status store's outcomes,
/// see `per_target`) and the fleet series that outcomes feed, plus the rendering of the whole
/// registry for `/metrics`. Other components register their own handles in the same registry
/// when they are built. It records each outcome in its [`LatestOutcomes`], which the status
/// page reads too: one copy of a target's last outcome serves both.
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
            per_target: per_target::PerTarget::new(Arc::new(LatestOutcomes::new())),
        }
    }

    /// The store of every target's last outcome (the status page's too).
    pub fn latest(&self) -> Arc<LatestOutcomes> {
        self.per_target.store().clone()
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

    /// Records one outcome: counts it, and keeps it (a copy) as the target's last, which the
    /// per-target series are written from.
    pub fn record(&self, outcome: &Outcome) {
        self.count(outcome);
        self.per_target
            .store()
            .record(outcome, latest::probed_at(outcome));
    }

    /// The fleet series an outcome feeds: probes, failed checks, phase durations.
    fn count(&self, outcome: &Outcome) {
        for r in outcome.results.iter().filter(|r| r.status == Status::Fail) {
            self.check_failures_total
                .with_label_values(&[r.check.as_str(), r.reason_code()])
                .inc();
        }
        let result = usize::from(!outcome.ok());
        self.probes[result]
            .get_or_init(|| {
                let label = ["success", "failure"][result];
                self.probes_total.with_label_values(&[label])
            })
            .inc();
        if let Some(obs) = &outcome.observation {
            per_target::phase_durations(obs, |phase, secs| {
                match PHASES.iter().position(|p| *p == phase) {
                    Some(i) => self.phases[i]
                        .get_or_init(|| self.duration.with_label_values(&[phase]))
                        .observe(secs),
                    None => self.duration.with_label_values(&[phase]).observe(secs),
                }
            });
        }
    }

    /// Removes every series of the target named `name` (and its last outcome).
    pub fn forget(&self, name: &str) {
        self.per_target.store().remove(name);
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

/// Targets per chunk of a streamed scrape.
const CHUNK_TARGETS: usize = 256;

/// The phases [`phase_durations`] reports.
const PHASES: [&str; 5] = ["dns", "connect", "tls", "http", "total"];

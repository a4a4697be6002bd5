//! When a target is probed, and one probe: the first at a random phase of the interval (so a
//! fleet's probes spread out), then one every interval, never two at once, within the global
//! concurrency limit. A start later than the schedule allows is counted; missed ticks are
//! skipped, not bunched up. The [`scheduler`](super::scheduler) keeps every target's next tick.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::observers::Observers;
use crate::discovery::target::Target;
use crate::pipeline::engine::Engine;

/// What every probe shares.
pub struct LoopShared {
    /// Probe-and-judge machinery.
    pub engine: Arc<Engine>,
    /// Bounds probes in flight across all targets.
    pub permits: Arc<Semaphore>,
    /// Scheduling lag and late probes.
    pub metrics: ScheduleMetrics,
    /// Discovery's metrics (targets by source).
    pub discovery: crate::discovery::metrics::DiscoveryMetrics,
    /// Where outcomes go.
    pub observers: Arc<Observers>,
    /// Default interval.
    pub interval: Duration,
    /// edgewatch's own failures (probe panics).
    pub internal_errors: super::internal::InternalErrors,
    /// Probe panics, for `/healthz`.
    pub health: Arc<super::guard::LoopHealth>,
    /// The origin of the start slots (see [`slot`]): when the daemon started.
    pub epoch: Instant,
}

/// The scheduler's own metrics.
#[derive(Clone)]
pub struct ScheduleMetrics {
    late_probes: prometheus::IntCounter,
    lag: prometheus::Histogram,
}

impl ScheduleMetrics {
    /// Registers `edgewatch_probes_late_total` and `edgewatch_probe_schedule_lag_seconds`.
    pub fn register(registry: &prometheus::Registry) -> Self {
        let lag = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "edgewatch_probe_schedule_lag_seconds",
                "How late probes start versus their schedule.",
            )
            .buckets(vec![0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 30.0]),
        )
        .expect("valid metric definition");
        let late_probes = prometheus::IntCounter::new(
            "edgewatch_probes_late_total",
            "Probes that started more than 1s (or 10% of the interval) late.",
        )
        .expect("valid metric definition");
        ScheduleMetrics {
            late_probes: crate::registry::register(registry, late_probes),
            lag: crate::registry::register(registry, lag),
        }
    }
}

/// The longest interval scheduled (the config's and the annotation's bound too).
const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

/// `target`'s interval: its own, else `default`; at most a day, so no tick computed from it can
/// overflow an instant (or the timer queue's range), whatever built the target.
pub fn interval_of(target: &Target, default: Duration) -> Duration {
    target.interval.unwrap_or(default).min(MAX_INTERVAL)
}

/// A start later than this (or 10% of the interval, if larger) counts as late.
pub fn late_tolerance(interval: Duration) -> Duration {
    (interval / 10).max(Duration::from_secs(1))
}

/// The start slot of a probe due at `due`: the next multiple of 1/300 of the interval (at most
/// 100 ms) after `epoch`. Probes due within one slot start together, so the runtime wakes once
/// for a handful of probes instead of once for each (a fleet's probes are spread over the
/// interval one by one otherwise): less CPU per probe, for at most one slot of delay.
pub fn slot(due: Instant, epoch: Instant, interval: Duration) -> Instant {
    let width = (interval / 300).clamp(Duration::from_millis(1), Duration::from_millis(100));
    let since = due.saturating_duration_since(epoch);
    let slots = since.as_nanos().div_ceil(width.as_nanos());
    epoch + width * u32::try_from(slots).unwrap_or(u32::MAX)
}

/// When a target's first probe is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstProbe {
    /// At a random point of the first interval, so a fleet's probes spread out.
    AtRandomPhase,
    /// At once: for a target taken over from another replica (its last probe is already as
    /// old as the handover took).
    AtOnce,
}

/// When the first probe of a target (or of a restart after a panic, from `from` on) is due.
pub fn first_due(from: Instant, interval: Duration, first: FirstProbe) -> Instant {
    let phase = match first {
        FirstProbe::AtRandomPhase => rand::rng().random_range(0.0..1.0),
        FirstProbe::AtOnce => 0.0,
    };
    from + interval.mul_f64(phase)
}

/// One probe of `target`, its slot `start` come and its `permit` (one of `concurrency`)
/// taken: counts how late it starts, probes, and hands the outcome to the observers, unless
/// `cancel` fires first (the target left or changed): then it records nothing.
pub async fn probe_once(
    target: Arc<Target>,
    shared: Arc<LoopShared>,
    start: Instant,
    permit: OwnedSemaphorePermit,
    cancel: CancellationToken,
) {
    let interval = interval_of(&target, shared.interval);
    let lag = Instant::now().saturating_duration_since(start);
    shared.metrics.lag.observe(lag.as_secs_f64());
    if lag > late_tolerance(interval) {
        shared.metrics.late_probes.inc();
    }
    let outcome = tokio::select! {
        _ = cancel.cancelled() => return,
        o = shared.engine.run(target) => o,
    };
    drop(permit);
    if cancel.is_cancelled() {
        return;
    }
    // Shared among the sinks, not copied for each; the store the metrics keep takes an exact
    // copy of what it keeps.
    shared.observers.observe(&Arc::new(outcome)).await;
}

/// The tick after the one due at `due`, the probe of which ended at `now`: one interval later,
/// or, when that has passed already (a probe, or the wait for it, longer than the interval),
/// the first tick of the same period after `now`: missed ticks are skipped, never caught up in
/// a burst. So consecutive ticks are at least an interval apart and a tick is never before
/// the previous probe ended; two probes can still END less than an interval apart (a late one
/// followed by one on time), but no three within one interval.
pub fn next_due(due: Instant, now: Instant, interval: Duration) -> Instant {
    let next = due + interval;
    if next >= now {
        return next;
    }
    let behind = now - next;
    let skipped = (behind.as_secs_f64() / interval.as_secs_f64()).ceil();
    next + interval.mul_f64(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One target whose probes (with the wait for a permit) take these times: the ends of its
    /// probes, by [`next_due`] (what the scheduler does when a probe ends).
    fn ends(interval: Duration, took: &[Duration]) -> Vec<Instant> {
        let epoch = Instant::now();
        let mut due = epoch;
        let mut ends = Vec::new();
        for t in took {
            let end = due + *t;
            ends.push(end);
            let next = next_due(due, end, interval);
            assert!(next >= due + interval, "ticks at least an interval apart");
            assert!(next >= end, "no tick before the previous probe ended");
            due = next;
        }
        ends
    }

    #[test]
    fn a_late_probe_is_followed_by_one_on_time_and_missed_ticks_are_skipped() {
        let i = Duration::from_secs(4);
        let ms = Duration::from_millis;
        // Starved: a probe ends 3.1 s after its tick (the e2e failure's 7.07 s largest gap),
        // the next on time: ONE loop, two ends 1 s apart (what the e2e counted as an overlap).
        let e = ends(i, &[ms(100), ms(3100), ms(100), ms(100)]);
        assert_eq!(e[2] - e[1], ms(1000));
        assert_eq!(e[1] - e[0], ms(7000));
        // Longer than an interval: the missed tick is skipped, not caught up.
        let e = ends(i, &[ms(100), ms(9000), ms(100)]);
        assert_eq!(
            e[2] - e[1],
            ms(3100),
            "ticks at 8 s and 12 s missed: the next at 16 s, not 8 s and 12 s at once"
        );
        // Whatever the delays, no three probes of one loop end within one interval.
        let took: Vec<Duration> = (0..200u64).map(|k| ms((k * 7919) % 9000)).collect();
        let e = ends(i, &took);
        for w in e.windows(3) {
            assert!(w[2] - w[0] >= i, "{:?}", w);
        }
    }

    #[test]
    fn a_probe_starts_at_the_end_of_the_slot_it_falls_in() {
        let epoch = Instant::now();
        let interval = Duration::from_secs(30);
        let ms = Duration::from_millis;
        assert_eq!(slot(epoch + ms(1), epoch, interval), epoch + ms(100));
        assert_eq!(slot(epoch + ms(100), epoch, interval), epoch + ms(100));
        assert_eq!(slot(epoch + ms(250), epoch, interval), epoch + ms(300));
        // Short intervals get narrow slots: 1/300 of the interval.
        assert_eq!(
            slot(epoch + ms(1), epoch, Duration::from_secs(3)),
            epoch + ms(10)
        );
    }
}

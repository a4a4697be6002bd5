//! The probe loop of one target: start at a random phase of the interval (so a fleet's probes
//! spread out), then probe every interval, never two at once, within the global concurrency
//! limit. A start later than the schedule allows is counted; missed ticks are skipped, not
//! bunched up.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::observers::Observers;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::target::Target;

/// What every probe loop shares.
pub struct LoopShared {
    /// Probe-and-judge machinery.
    pub engine: Arc<Engine>,
    /// Bounds probes in flight across all targets.
    pub permits: Arc<Semaphore>,
    /// Metrics (scheduling lag).
    pub metrics: Arc<Metrics>,
    /// Where outcomes go.
    pub observers: Arc<Observers>,
    /// Default interval.
    pub interval: Duration,
}

/// A start later than this (or 10% of the interval, if larger) counts as late.
fn late_tolerance(interval: Duration) -> Duration {
    (interval / 10).max(Duration::from_secs(1))
}

/// Runs until `cancel` fires.
pub async fn probe_loop(target: Arc<Target>, shared: Arc<LoopShared>, cancel: CancellationToken) {
    let interval = target.interval.unwrap_or(shared.interval);
    let phase = rand::rng().random_range(0.0..1.0);
    let mut due = Instant::now() + interval.mul_f64(phase);
    let tolerance = late_tolerance(interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = sleep_until(due) => {}
        }
        let permit = tokio::select! {
            _ = cancel.cancelled() => return,
            p = shared.permits.clone().acquire_owned() => p,
        };
        let Ok(_permit) = permit else { return };
        let lag = Instant::now().saturating_duration_since(due);
        shared.metrics.schedule_lag.observe(lag.as_secs_f64());
        if lag > tolerance {
            shared.metrics.late_probes.inc();
        }
        // Boxed: a probe's state (kilobytes) lives on the heap only while the probe runs, so a
        // waiting loop stays small (10,000 targets are 10,000 waiting loops).
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            o = Box::pin(shared.engine.run(target.clone())) => o,
        };
        drop(_permit);
        if cancel.is_cancelled() {
            return;
        }
        shared.observers.observe(&outcome).await;
        due += interval;
        let now = Instant::now();
        if due < now {
            // Behind schedule (a probe longer than the interval): skip the missed ticks.
            let behind = now - due;
            let skipped = (behind.as_secs_f64() / interval.as_secs_f64()).ceil();
            due += interval.mul_f64(skipped);
        }
    }
}

//! Keeps one target's probe loop alive: a panic in it (a bug, or a value no check foresaw) is
//! caught where the loop is polled, in the loop's own task (one task per target, not a guard
//! task beside it: at 100,000 targets the second task was 100,000 more tasks, join handles
//! and wake-ups for nothing), so it ends that loop only. The panic is logged, counted in
//! `edgewatch_internal_errors_total{kind="probe_loop_panic"}`, and the loop restarted after a
//! backoff; [`LoopHealth`] turns `/healthz` red when loops keep dying, so a restart of the
//! process (by Kubernetes) is asked for instead of monitoring silently stopping.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::internal::InternalErrors;
use super::schedule::{FirstProbe, LoopShared, probe_loop};
use crate::config::excerpt::cut;
use crate::discovery::target::Target;

/// The first restart delay; it doubles per consecutive panic up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest restart delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A loop that ran this long without panicking starts again from [`FIRST_BACKOFF`].
const CALM: Duration = Duration::from_secs(300);

/// Recent probe-loop panics, across every target: unhealthy when more than
/// [`LoopHealth::MAX_PANICS`] happened within [`LoopHealth::WINDOW`].
#[derive(Debug, Default)]
pub struct LoopHealth {
    panics: Mutex<VecDeque<Instant>>,
}

impl LoopHealth {
    /// How far back panics are counted.
    pub const WINDOW: Duration = Duration::from_secs(600);
    /// Panics tolerated within the window (one bad target panicking now and then).
    pub const MAX_PANICS: usize = 5;

    /// Records a panic now.
    pub fn record(&self) {
        let mut p = self.panics.lock().unwrap_or_else(|e| e.into_inner());
        p.push_back(Instant::now());
        while p.len() > Self::MAX_PANICS + 1 {
            p.pop_front();
        }
    }

    /// Whether probe loops are staying up.
    pub fn healthy(&self) -> bool {
        let p = self.panics.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        p.iter()
            .filter(|t| now.saturating_duration_since(**t) < Self::WINDOW)
            .count()
            <= Self::MAX_PANICS
    }
}

/// Runs `target`'s probe loop until `cancel` fires, restarting it after a panic (a restarted
/// loop's first probe is again as `first` says).
pub async fn guarded_loop(
    target: Arc<Target>,
    shared: Arc<LoopShared>,
    cancel: CancellationToken,
    first: FirstProbe,
) {
    let (t, s, c) = (target.clone(), shared.clone(), cancel.clone());
    let start = move || probe_loop(t.clone(), s.clone(), c.clone(), first);
    keep_alive(
        &target.name,
        start,
        &shared.internal_errors,
        &shared.health,
        &cancel,
    )
    .await;
}

/// Runs the future `start` makes until it returns or `cancel` fires; after a panic: log, count,
/// record, wait (doubling from [`FIRST_BACKOFF`] to [`MAX_BACKOFF`]) and start it again.
///
/// The future is polled here, inside `catch_unwind`: what it owns when it panics is dropped
/// (sockets closed, permits returned) and nothing of it is touched again; a fresh one is made
/// from `start`, so the unwind-safety assertion holds.
pub async fn keep_alive<F, Fut>(
    name: &str,
    start: F,
    internal_errors: &InternalErrors,
    health: &LoopHealth,
    cancel: &CancellationToken,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let payload = match AssertUnwindSafe(start()).catch_unwind().await {
            Ok(()) => return,
            Err(payload) => payload,
        };
        let message = panic_message(payload);
        internal_errors.count(InternalErrors::PROBE_LOOP_PANIC);
        health.record();
        if started.elapsed() > CALM {
            backoff = FIRST_BACKOFF;
        }
        tracing::error!(
            target = %cut(name, 200),
            panic = %cut(&message, 400),
            restart_in_s = backoff.as_secs(),
            "probe loop panicked; restarting it"
        );
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => s.to_string(),
            Err(_) => "(no message)".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_loop_is_counted_restarted_with_backoff_and_turns_health_red() {
        let metrics = InternalErrors::register(&prometheus::Registry::new());
        let health = LoopHealth::default();
        let cancel = CancellationToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        // Panics on its first 7 runs, then probes "forever" (until cancelled).
        let start = move || {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 7 {
                    panic!("overflow when adding duration to instant");
                }
                std::future::pending::<()>().await;
            }
        };
        let began = Instant::now();
        let guard = keep_alive("t.example.com:443", start, &metrics, &health, &cancel);
        tokio::select! {
            _ = guard => panic!("the loop must keep running"),
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
        assert_eq!(runs.load(Ordering::SeqCst), 8, "restarted after each panic");
        let count = metrics.get(InternalErrors::PROBE_LOOP_PANIC);
        assert_eq!(count, 7);
        // Backoff 1+2+4+8+16+32+60 s before the eighth start.
        assert!(began.elapsed() >= Duration::from_secs(123));
        assert!(
            !health.healthy(),
            "7 panics in 10 minutes is more than tolerated"
        );
        tokio::time::sleep(LoopHealth::WINDOW).await;
        assert!(health.healthy(), "old panics age out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_that_returns_is_not_restarted() {
        let metrics = InternalErrors::register(&prometheus::Registry::new());
        let health = LoopHealth::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let start = move || {
            r.fetch_add(1, Ordering::SeqCst);
            async {}
        };
        keep_alive("t", start, &metrics, &health, &CancellationToken::new()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(health.healthy());
    }
}

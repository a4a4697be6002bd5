//! What a probe's panic (a bug, or a value no check foresaw) costs its target: a restart after a
//! doubling backoff ([`Restarts`]); and what panics cost the process: [`LoopHealth`] turns
//! `/healthz` red when probes keep dying, so a restart of the process (by Kubernetes) is asked
//! for instead of monitoring silently stopping. The panic itself ends in the probe's own task
//! (see the [`scheduler`](super::scheduler)), so it takes nothing else down.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

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

/// One target's restart backoff: doubles per consecutive panic, from [`FIRST_BACKOFF`] up to
/// [`MAX_BACKOFF`], and starts over once the target has been probed for [`CALM`] without one.
#[derive(Debug, Clone, Copy)]
pub struct Restarts {
    next: Duration,
    /// When the target was (re)started.
    since: Instant,
}

impl Restarts {
    /// A target started at `now`.
    pub fn new(now: Instant) -> Self {
        Restarts {
            next: FIRST_BACKOFF,
            since: now,
        }
    }

    /// The wait before probing again after a panic at `now`.
    pub fn after_panic(&mut self, now: Instant) -> Duration {
        if now.saturating_duration_since(self.since) > CALM {
            self.next = FIRST_BACKOFF;
        }
        let wait = self.next;
        self.next = (wait * 2).min(MAX_BACKOFF);
        self.since = now + wait;
        wait
    }
}

/// A panic's message, for the log.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
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
    use super::*;

    #[test]
    fn backoff_doubles_to_a_minute_and_starts_over_after_a_calm_spell() {
        let t0 = Instant::now();
        let mut r = Restarts::new(t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..8 {
            let wait = r.after_panic(now);
            waits.push(wait.as_secs());
            now += wait;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        // Five minutes of probing without a panic: the next one waits a second again.
        now += CALM + Duration::from_secs(1);
        assert_eq!(r.after_panic(now), FIRST_BACKOFF);
        // ... and a panic soon after that doubles again.
        assert_eq!(
            r.after_panic(now + Duration::from_secs(5)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn health_turns_red_after_more_than_five_panics_in_ten_minutes() {
        let health = LoopHealth::default();
        for _ in 0..LoopHealth::MAX_PANICS {
            health.record();
        }
        assert!(health.healthy(), "five panics are tolerated");
        health.record();
        assert!(!health.healthy());
    }

    #[test]
    fn a_panic_message_is_read_from_either_payload_type() {
        assert_eq!(panic_message(Box::new("static")), "static");
        assert_eq!(panic_message(Box::new(String::from("owned"))), "owned");
        assert_eq!(panic_message(Box::new(7u8)), "(no message)");
    }
}

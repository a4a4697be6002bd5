//! Every target's next probe, in one timer queue: a waiting target is an entry of about two
//! hundred bytes, and a task exists only while its probe runs. (One parked task per target cost
//! about a kilobyte each — 100,000 targets held 100 MB of loops that were mostly asleep.)
//!
//! The scheduler is driven by the supervisor's event loop ([`Scheduler::next_event`]): a start
//! slot comes due → the probes of that slot are spawned; a probe ends → its target's next tick
//! is queued (missed ticks skipped). A probe that panics (a bug, or a value no check foresaw)
//! ends in its own task, so it takes down that probe only: the panic is logged, counted in
//! `edgewatch_internal_errors_total{kind="probe_loop_panic"}`, recorded for `/healthz`, and the
//! target is probed again after a doubling backoff.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::{DelayQueue, delay_queue};

use super::guard::{Restarts, panic_message};
use super::internal::InternalErrors;
use super::schedule::{FirstProbe, LoopShared, first_due, interval_of, next_due, probe_once, slot};
use crate::config::excerpt::cut;
use crate::discovery::target::Target;

/// Where a target is between its probes.
enum State {
    /// Waiting for the start slot of its next tick.
    Waiting(delay_queue::Key),
    /// Probing: the probe's task (its end is matched to this entry by it) and how to stop it.
    Probing { task: Id, cancel: CancellationToken },
}

/// One target the scheduler probes.
struct Entry {
    target: Arc<Target>,
    /// The tick the next (or running) probe is for: ticks keep the exact period, the probe
    /// starts at the slot its tick falls in.
    due: Instant,
    state: State,
    /// How a restart after a panic starts (as the first probe did).
    first: FirstProbe,
    restarts: Restarts,
}

/// The daemon's targets and when each is probed next.
pub struct Scheduler {
    shared: Arc<LoopShared>,
    entries: HashMap<Arc<str>, Entry>,
    /// Each waiting target's start slot, by name.
    queue: DelayQueue<Arc<str>>,
    probes: JoinSet<()>,
    /// Which target each running probe is for; a probe of a target removed (or changed) while
    /// it ran is not here, so its end schedules nothing.
    probing: HashMap<Id, Arc<str>>,
}

impl Scheduler {
    /// A scheduler with no targets.
    pub fn new(shared: Arc<LoopShared>) -> Self {
        Scheduler {
            shared,
            entries: HashMap::new(),
            queue: DelayQueue::new(),
            probes: JoinSet::new(),
            probing: HashMap::new(),
        }
    }

    /// How many targets are scheduled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no target is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The scheduled target named `name`.
    pub fn target(&self, name: &str) -> Option<&Arc<Target>> {
        self.entries.get(name).map(|e| &e.target)
    }

    /// Every scheduled target, in no order.
    pub fn targets(&self) -> impl Iterator<Item = &Arc<Target>> {
        self.entries.values().map(|e| &e.target)
    }

    /// Schedules `target` (replacing a target of the same name), its first probe as `first`
    /// says.
    pub fn add(&mut self, target: Arc<Target>, first: FirstProbe) {
        self.remove(&target.name);
        let interval = interval_of(&target, self.shared.interval);
        let now = Instant::now();
        let due = first_due(now, interval, first);
        let name: Arc<str> = Arc::from(target.name.as_str());
        let key = self
            .queue
            .insert_at(name.clone(), slot(due, self.shared.epoch, interval));
        let entry = Entry {
            target,
            due,
            state: State::Waiting(key),
            first,
            restarts: Restarts::new(now),
        };
        self.entries.insert(name, entry);
    }

    /// Stops probing the target named `name`: a running probe of it is cancelled and records
    /// nothing. False when it was not scheduled.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(entry) = self.entries.remove(name) else {
            return false;
        };
        match entry.state {
            State::Waiting(key) => {
                self.queue.remove(&key);
            }
            State::Probing { task, cancel } => {
                cancel.cancel();
                self.probing.remove(&task);
            }
        }
        true
    }

    /// Waits for the next start slot or the end of a probe, and acts on it. Cancel-safe (it
    /// waits in the supervisor's `select!`): nothing is taken from the queue or the probes
    /// before it is acted on. Never returns while nothing is scheduled.
    pub async fn next_event(&mut self) {
        tokio::select! {
            Some(due) = self.queue.next(), if !self.queue.is_empty() => {
                self.start(due.into_inner());
                // The rest of the slot starts now too: one wake-up for a slot's probes.
                while let Some(Some(due)) = self.queue.next().now_or_never() {
                    self.start(due.into_inner());
                }
            }
            Some(ended) = self.probes.join_next_with_id(), if !self.probes.is_empty() => {
                self.ended(ended);
            }
            else => std::future::pending::<()>().await,
        }
    }

    /// Cancels every running probe and waits for them to end.
    pub async fn stop(&mut self) {
        for entry in self.entries.values() {
            if let State::Probing { cancel, .. } = &entry.state {
                cancel.cancel();
            }
        }
        while self.probes.join_next().await.is_some() {}
    }

    /// Spawns the probe of the target named `name`, its slot having come.
    fn start(&mut self, name: Arc<str>) {
        let Some(entry) = self.entries.get_mut(&name) else {
            return;
        };
        let interval = interval_of(&entry.target, self.shared.interval);
        let start = slot(entry.due, self.shared.epoch, interval);
        let cancel = CancellationToken::new();
        let probe = probe_once(
            entry.target.clone(),
            self.shared.clone(),
            start,
            cancel.clone(),
        );
        let task = self.probes.spawn(probe).id();
        entry.state = State::Probing { task, cancel };
        self.probing.insert(task, name);
    }

    /// A probe ended (or panicked): queues its target's next tick.
    fn ended(&mut self, ended: Result<(Id, ()), JoinError>) {
        let (task, panic) = match ended {
            Ok((task, ())) => (task, None),
            Err(e) => (e.id(), e.try_into_panic().ok()),
        };
        let Some(name) = self.probing.remove(&task) else {
            // The target was removed or changed while this probe ran.
            if let Some(payload) = panic {
                report_panic(&self.shared, "(removed)", payload, None);
            }
            return;
        };
        let Some(entry) = self.entries.get_mut(&name) else {
            return;
        };
        let now = Instant::now();
        let interval = interval_of(&entry.target, self.shared.interval);
        entry.due = match panic {
            None => next_due(entry.due, now, interval),
            Some(payload) => {
                let backoff = entry.restarts.after_panic(now);
                report_panic(&self.shared, &entry.target.name, payload, Some(backoff));
                first_due(now + backoff, interval, entry.first)
            }
        };
        let start = slot(entry.due, self.shared.epoch, interval);
        entry.state = State::Waiting(self.queue.insert_at(name, start));
    }
}

/// Logs, counts and records a probe's panic.
fn report_panic(
    shared: &LoopShared,
    target: &str,
    payload: Box<dyn std::any::Any + Send>,
    restart_in: Option<std::time::Duration>,
) {
    let message = panic_message(payload);
    shared
        .internal_errors
        .count(InternalErrors::PROBE_LOOP_PANIC);
    shared.health.record();
    tracing::error!(
        target = %cut(target, 200),
        panic = %cut(&message, 400),
        restart_in_s = restart_in.map(|d| d.as_secs()),
        "probe panicked; probing this target again after a backoff"
    );
}

#[cfg(test)]
mod tests;

//! Every target's next probe, in one timer queue: a waiting target is an entry of about two
//! hundred bytes, and a task exists only while its probe runs. (One parked task per target cost
//! about a kilobyte each — 100,000 targets held 100 MB of loops that were mostly asleep.)
//!
//! The scheduler is driven by the supervisor's event loop ([`Scheduler::next_event`]): a start
//! slot comes due → the probes of that slot are spawned, each with one of the `concurrency`
//! permits; a probe ends → its target's next tick is queued (missed ticks skipped). A target
//! due while every permit is taken waits in a queue of names, not as a spawned task: a probe's
//! task is about 4.5 KB from the start, and a daemon behind (a starved CPU, many targets
//! timing out) held one for every due target — 250 MB at 100,000 targets. A probe that panics
//! (a bug, or a value no check foresaw) ends in its own task, so it takes down that probe only:
//! the panic is logged, counted in `edgewatch_internal_errors_total{kind="probe_loop_panic"}`,
//! recorded for `/healthz`, and the target is probed again after a doubling backoff.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use tokio::sync::OwnedSemaphorePermit;
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
    /// Due, waiting for a permit (its name is in the scheduler's `ready` queue).
    Ready,
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
    /// The restart backoff, from the first panic on (boxed: 32 bytes that nearly every entry
    /// would carry unused; until a panic, a fresh backoff is the same).
    restarts: Option<Box<Restarts>>,
}

/// The daemon's targets and when each is probed next.
pub struct Scheduler {
    shared: Arc<LoopShared>,
    entries: HashMap<Arc<str>, Entry>,
    /// Each waiting target's start slot, by name.
    queue: DelayQueue<Arc<str>>,
    /// Due targets waiting for a permit, oldest first. A name whose entry is no longer
    /// [`State::Ready`] (removed, or started) is skipped when it comes up.
    ready: VecDeque<Arc<str>>,
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
            ready: VecDeque::new(),
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
        // The target's own name: one copy for the target, the timer queue and the status store.
        let name: Arc<str> = target.name.clone();
        let key = self
            .queue
            .insert_at(name.clone(), slot(due, self.shared.epoch, interval));
        let entry = Entry {
            target,
            due,
            state: State::Waiting(key),
            first,
            restarts: None,
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
            // Its name in `ready` is skipped when it comes up.
            State::Ready => {}
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
        let permits = self.shared.permits.clone();
        tokio::select! {
            Some(due) = self.queue.next(), if !self.queue.is_empty() => {
                self.due(due.into_inner());
                // The rest of the slot is due now too: one wake-up for a slot's probes.
                while let Some(Some(due)) = self.queue.next().now_or_never() {
                    self.due(due.into_inner());
                }
            }
            // Acquiring is cancel-safe: a permit not handed out stays with the semaphore.
            Ok(permit) = permits.acquire_owned(), if !self.ready.is_empty() => {
                self.start_ready(permit);
            }
            Some(ended) = self.probes.join_next_with_id(), if !self.probes.is_empty() => {
                self.ended(ended);
            }
            else => std::future::pending::<()>().await,
        }
    }

    /// Cancels every running probe and waits for them to end.
    pub async fn stop(&mut self) {
        self.ready.clear();
        for entry in self.entries.values() {
            if let State::Probing { cancel, .. } = &entry.state {
                cancel.cancel();
            }
        }
        while self.probes.join_next().await.is_some() {}
    }

    /// The slot of the target named `name` has come: its probe starts if a permit is free,
    /// else it queues for one (behind the targets already queued).
    fn due(&mut self, name: Arc<str>) {
        let Some(entry) = self.entries.get_mut(&name) else {
            return;
        };
        // Behind targets already queued, a free permit is theirs (oldest first).
        let permit = if self.ready.is_empty() {
            self.shared.permits.clone().try_acquire_owned().ok()
        } else {
            None
        };
        match permit {
            Some(permit) => self.start(name, permit),
            None => {
                entry.state = State::Ready;
                self.ready.push_back(name);
            }
        }
    }

    /// Starts the queued targets that `permit`, and any other free permits, allow.
    fn start_ready(&mut self, permit: OwnedSemaphorePermit) {
        let mut permit = Some(permit);
        while let Some(name) = self.ready.pop_front() {
            let is_ready = self
                .entries
                .get(&name)
                .is_some_and(|e| matches!(e.state, State::Ready));
            if !is_ready {
                continue;
            }
            let next = permit
                .take()
                .or_else(|| self.shared.permits.clone().try_acquire_owned().ok());
            match next {
                Some(p) => self.start(name, p),
                None => {
                    self.ready.push_front(name);
                    return;
                }
            }
        }
    }

    /// Spawns the probe of the target named `name` with its `permit`.
    fn start(&mut self, name: Arc<str>, permit: OwnedSemaphorePermit) {
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
            permit,
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
                let backoff = entry
                    .restarts
                    .get_or_insert_with(|| Box::new(Restarts::new(now)))
                    .after_panic(now);
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

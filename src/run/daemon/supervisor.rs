//! The target set: merges every source's latest targets and keeps each scheduled exactly once —
//! scheduled when a target appears, rescheduled afresh when it changes, dropped (and its series
//! removed) when it goes. With sharding on, only the targets this replica owns run, and a
//! membership change starts the newly owned and stops (forgetting the series of) the rest.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::schedule::FirstProbe;
use super::schedule::LoopShared;
use super::scheduler::Scheduler;
use crate::discovery::target::Target;
use crate::discovery::{SourceId, TargetUpdate};
use crate::run::shard::{ShardHook, target_key};

/// Applies target updates until the channel closes or `shutdown` fires.
pub struct Supervisor {
    shared: Arc<LoopShared>,
    /// Each source's targets; the scheduler shares these (one copy per target).
    by_source: BTreeMap<SourceId, Vec<Arc<Target>>>,
    /// The targets probed (with sharding: those this replica owns).
    scheduler: Scheduler,
    waiting_for: HashSet<SourceId>,
    ready: Arc<AtomicBool>,
    /// Sharding, when on.
    shard: Option<ShardHook>,
    /// Every target's name at the last reconcile, owned or not (to tell a handover from a new
    /// or deleted target).
    known: HashSet<Arc<str>>,
    /// Whether the last reconcile had a membership (the first one is no handover).
    had_membership: bool,
}

impl Supervisor {
    /// A supervisor that turns `ready` on once every source in `sources` has synced.
    pub fn new(
        shared: Arc<LoopShared>,
        sources: HashSet<SourceId>,
        ready: Arc<AtomicBool>,
    ) -> Self {
        Supervisor {
            shared: shared.clone(),
            by_source: BTreeMap::new(),
            scheduler: Scheduler::new(shared),
            waiting_for: sources,
            ready,
            shard: None,
            known: HashSet::new(),
            had_membership: false,
        }
    }

    /// Runs only the targets this replica owns, by `shard`'s membership; not ready before it
    /// is known.
    pub fn with_shard(mut self, shard: ShardHook) -> Self {
        self.shard = Some(shard);
        self
    }

    async fn membership_changed(shard: &mut Option<ShardHook>) -> bool {
        match shard {
            Some(s) => s.membership.changed().await.is_ok(),
            None => std::future::pending().await,
        }
    }

    fn update_ready(&self) {
        let known = self
            .shard
            .as_ref()
            .is_none_or(|s| s.membership.borrow().is_some());
        if self.waiting_for.is_empty() && known {
            self.ready.store(true, Ordering::Relaxed);
        }
    }

    /// Runs until the update channel closes or `shutdown` is cancelled; then stops every probe.
    pub async fn run(
        mut self,
        mut updates: mpsc::Receiver<TargetUpdate>,
        shutdown: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                update = updates.recv() => match update {
                    Some(u) => self.apply(u).await,
                    None => break,
                },
                changed = Self::membership_changed(&mut self.shard) => {
                    if !changed {
                        // The keeper is gone (shutting down): keep the last membership.
                        self.shard = None;
                    }
                    self.update_ready();
                    self.reconcile().await;
                }
                () = self.scheduler.next_event() => {}
            }
        }
        self.scheduler.stop().await;
    }

    async fn apply(&mut self, update: TargetUpdate) {
        match update {
            TargetUpdate::Synced(source) => {
                self.waiting_for.remove(&source);
                self.update_ready();
            }
            TargetUpdate::Replace { source, targets } => {
                // Not `collect()`: that would reuse the `Vec<Target>` buffer in place and keep
                // all of it (5.6 MB at 10,000 targets) to hold 8-byte pointers.
                let mut shared = Vec::with_capacity(targets.len());
                shared.extend(targets.into_iter().map(Arc::new));
                self.by_source.insert(source, shared);
                self.reconcile().await;
            }
        }
    }

    /// Makes the scheduled targets match the union of every source's targets.
    async fn reconcile(&mut self) {
        let mut wanted: HashMap<Arc<str>, Arc<Target>> = HashMap::new();
        for (source, targets) in &self.by_source {
            for t in targets {
                if wanted.contains_key(&t.name) {
                    tracing::warn!(target = %t.name, ?source, "duplicate target name; keeping the first");
                    continue;
                }
                wanted.insert(t.name.clone(), t.clone());
            }
        }
        let all: HashSet<Arc<str>> = match &self.shard {
            Some(_) => wanted.keys().cloned().collect(),
            None => HashSet::new(),
        };
        // A handover: the membership changed under a target that exists before and after.
        let mut handover = false;
        if let Some(shard) = &self.shard {
            let membership = shard.membership.borrow().clone();
            handover = self.had_membership && membership.is_some();
            self.had_membership = membership.is_some();
            match membership {
                Some(m) => wanted.retain(|_, t| m.owns(&target_key(t))),
                None => wanted.clear(),
            }
        }
        let mut moved = [0u64; 2];
        let gone: Vec<Arc<str>> = self
            .scheduler
            .targets()
            .filter(|t| !wanted.contains_key(&t.name))
            .map(|t| t.name.clone())
            .collect();
        for name in gone {
            self.scheduler.remove(&name);
            self.shared.observers.forget(&name).await;
            if handover && all.contains(&name) {
                moved[1] += 1;
                tracing::info!(target = %name, "target handed over to another replica");
            } else {
                tracing::info!(target = %name, "target removed");
            }
        }
        for (name, target) in wanted {
            let mut first = FirstProbe::AtRandomPhase;
            if let Some(current) = self.scheduler.target(&name) {
                if *current == target {
                    continue;
                }
                self.scheduler.remove(&name);
                // Series of the old definition (addresses, ARNs) go; its new probes write afresh.
                self.shared.observers.forget(&name).await;
                tracing::info!(target = %name, "target changed");
            } else if handover && self.known.contains(&name) {
                moved[0] += 1;
                tracing::info!(target = %name, "target taken over from another replica");
                first = FirstProbe::AtOnce;
            } else {
                tracing::info!(target = %name, "target added");
            }
            self.scheduler.add(target, first);
        }
        if let Some(shard) = &self.shard {
            let m = &shard.metrics;
            m.handovers
                .with_label_values(&["acquired"])
                .inc_by(moved[0]);
            m.handovers
                .with_label_values(&["released"])
                .inc_by(moved[1]);
            m.owned.set(self.scheduler.len() as i64);
            let mut owned: Vec<String> = self
                .scheduler
                .targets()
                .map(|t| t.name.to_string())
                .collect();
            owned.sort_unstable();
            shard.status.update(|s| s.owned = owned);
            self.known = all;
        }
        let mut by_kind: HashMap<&'static str, i64> = HashMap::new();
        for t in self.scheduler.targets() {
            *by_kind.entry(t.source.kind()).or_default() += 1;
        }
        for kind in ["config", "flag", "kubernetes"] {
            self.shared
                .discovery
                .targets
                .with_label_values(&[kind])
                .set(by_kind.get(kind).copied().unwrap_or(0));
        }
    }
}

//! The daemon's latest outcome per target, kept for the status page and `/status.json`.
//!
//! The metrics keep it (`Metrics::record` records every outcome here; `/metrics`, the status
//! page and the state-change logs all read this one copy): it reads outcomes only, and a page
//! view reads this store, never the prober, so looking at the page costs no probe. Besides the
//! outcome it remembers since when the target, and each failing check at each address, has
//! been failing: an outcome alone says what fails, not for how long.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::checks::{CheckName, Status};
use crate::export::metrics::Row;
use crate::pipeline::outcome::Outcome;

/// One failing verdict's key: the check and the address it is about (`None`: the target).
pub type FailureKey = (CheckName, Option<IpAddr>);

/// What the store knows about one target.
#[derive(Debug, Clone)]
pub struct Latest {
    /// The most recent outcome.
    pub outcome: Arc<Outcome>,
    /// When that outcome's probe started (or, for a target that could not be probed, when the
    /// outcome arrived).
    pub probed_at: SystemTime,
    /// When the outcome was recorded (the probe had finished).
    pub recorded_at: SystemTime,
    /// Since when the target has failed without a passing probe in between; `None` when passing.
    pub failing_since: Option<SystemTime>,
    /// Since when each currently failing check (per address) has failed. A short list, not a
    /// map: most targets have no failing check, and an empty map is 48 bytes in every entry of
    /// a store that holds 100,000 targets (a boxed slice: 16, and a few entries to search).
    pub check_failing_since: Box<[(FailureKey, SystemTime)]>,
}

impl Latest {
    /// Since when `key` has been failing, if it is.
    pub fn check_since(&self, check: CheckName, address: Option<IpAddr>) -> Option<SystemTime> {
        since(&self.check_failing_since, &(check, address))
    }
}

/// The latest outcome of every target the daemon probes.
#[derive(Debug, Default)]
pub struct LatestOutcomes {
    /// Keyed by a shared name: a scrape sorts the names it takes (one per target) without
    /// copying them, and compares them without reaching through each outcome to its target.
    by_name: RwLock<HashMap<Arc<str>, Latest>>,
}

impl LatestOutcomes {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a copy of `outcome`, probed at `at`: the clock is a parameter so the failure
    /// bookkeeping is tested at any time. A copy, not the probe's own outcome: that one would
    /// keep its buffers' spare capacity too (measured: 10,000 targets held 176 MiB instead of
    /// ~57); a copy is exact, and keeps of each response body only what the reports show
    /// ([`Outcome::copy_to_keep`]).
    pub fn record(&self, outcome: &Outcome, at: SystemTime) {
        let outcome = Arc::new(outcome.copy_to_keep());
        let mut map = self.by_name.write().unwrap_or_else(|p| p.into_inner());
        let before = map.get(&*outcome.target.name);
        let failing_since = match (outcome.ok(), before.and_then(|b| b.failing_since)) {
            (true, _) => None,
            (false, Some(since)) => Some(since),
            (false, None) => Some(at),
        };
        let check_failing_since = outcome
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| {
                let key = (r.check, r.address);
                let since = before
                    .and_then(|b| since(&b.check_failing_since, &key))
                    .unwrap_or(at);
                (key, since)
            })
            .collect();
        let target = outcome.target.clone();
        let latest = Latest {
            outcome,
            probed_at: at,
            recorded_at: SystemTime::now(),
            failing_since,
            check_failing_since,
        };
        // In place: a known target keeps its key. The key is the target's own name, shared
        // (with the scheduler's too), not a copy of it.
        match map.get_mut(&*target.name) {
            Some(slot) => *slot = latest,
            None => {
                map.insert(target.name.clone(), latest);
            }
        }
    }

    /// Drops the target named `name` (it left the target set).
    pub fn remove(&self, name: &str) {
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// The latest outcome of the target named `name`, if it has one.
    pub fn last(&self, name: &str) -> Option<Arc<Outcome>> {
        let map = self.by_name.read().unwrap_or_else(|p| p.into_inner());
        map.get(name).map(|l| l.outcome.clone())
    }

    /// Every target's latest state, sorted by name. Cheap: outcomes are shared, not copied.
    pub fn snapshot(&self) -> Vec<Latest> {
        let map = self.by_name.read().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<Latest> = map.values().cloned().collect();
        drop(map);
        all.sort_by(|a, b| a.outcome.target.name.cmp(&b.outcome.target.name));
        all
    }

    /// Every target's latest outcome with the time it was recorded, sorted by name: what a
    /// scrape writes its per-target series from. The lock is held only to share the outcomes.
    pub fn rows(&self) -> Vec<Row> {
        let map = self.by_name.read().unwrap_or_else(|p| p.into_inner());
        let mut rows: Vec<Row> = map
            .iter()
            .map(|(name, l)| Row::new(name.clone(), l.outcome.clone(), l.recorded_at))
            .collect();
        drop(map);
        rows.sort_unstable_by(|a, b| a.name().cmp(b.name()));
        rows
    }
}

/// Since when `key` has been failing, in a `check_failing_since` list.
fn since(list: &[(FailureKey, SystemTime)], key: &FailureKey) -> Option<SystemTime> {
    list.iter().find(|(k, _)| k == key).map(|(_, at)| *at)
}

/// When the outcome's probe started; now for a target that could not be probed.
pub fn probed_at(outcome: &Outcome) -> SystemTime {
    outcome
        .observation
        .as_ref()
        .map_or_else(SystemTime::now, |o| o.started_at)
}

#[cfg(test)]
mod tests;

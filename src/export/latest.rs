//! The daemon's latest outcome per target, kept for the status page and `/status.json`.
//!
//! The metrics keep it (`Metrics::record` records every outcome here; `/metrics`, the status
//! page and the state-change logs all read this one copy): it reads outcomes only, and a page
//! view reads this store, never the prober, so looking at the page costs no probe. Besides the
//! outcome it remembers since when the target, and each failing check at each address, has
//! been failing: an outcome alone says what fails, not for how long.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thin_vec::ThinVec;

use crate::checks::{CheckName, Status};
use crate::export::metrics::Row;
use crate::pipeline::outcome::Outcome;

/// One failing verdict's key: the check and the address it is about (`None`: the target).
pub type FailureKey = (CheckName, Option<IpAddr>);

/// What the store knows about one target: 40 bytes (its map entry, with the name, 56), in a
/// store that holds every target of the fleet. The instants are kept as [`Stamp`]s and read as
/// `SystemTime`s; four `SystemTime`s and a boxed list made it 72 (4 MB more at 100,000 targets).
#[derive(Debug, Clone)]
pub struct Latest {
    /// The most recent outcome.
    pub outcome: Arc<Outcome>,
    probed_at: Stamp,
    recorded_at: Stamp,
    failing_since: Option<Stamp>,
    /// Since when each currently failing check (per address) has failed. A short list, not a
    /// map: most targets have no failing check (an empty `ThinVec` is 8 bytes, no allocation).
    check_failing_since: ThinVec<(FailureKey, SystemTime)>,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Latest>() <= 40);

impl Latest {
    /// When that outcome's probe started (or, for a target that could not be probed, when the
    /// outcome arrived).
    pub fn probed_at(&self) -> SystemTime {
        self.probed_at.time()
    }

    /// When the outcome was recorded (the probe had finished).
    pub fn recorded_at(&self) -> SystemTime {
        self.recorded_at.time()
    }

    /// Since when the target has failed without a passing probe in between; `None` when passing.
    pub fn failing_since(&self) -> Option<SystemTime> {
        self.failing_since.map(Stamp::time)
    }

    /// Since when `key` has been failing, if it is.
    pub fn check_since(&self, check: CheckName, address: Option<IpAddr>) -> Option<SystemTime> {
        since(&self.check_failing_since, &(check, address))
    }
}

/// A wall-clock instant in 8 bytes: nanoseconds since the Unix epoch, which a `u64` counts
/// until the year 2554. Exact for any `SystemTime` from 1970 on; earlier ones (a clock set
/// wrong) read as the epoch. Never zero, so an `Option<Stamp>` is 8 bytes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp(NonZeroU64);

impl Stamp {
    fn new(at: SystemTime) -> Self {
        let nanos = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Stamp(NonZeroU64::new(nanos).unwrap_or(NonZeroU64::MIN))
    }

    fn time(self) -> SystemTime {
        // The epoch itself is kept as its first nanosecond: read back as the epoch.
        match self.0 {
            NonZeroU64::MIN => UNIX_EPOCH,
            n => UNIX_EPOCH + Duration::from_nanos(n.get()),
        }
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
            (false, None) => Some(Stamp::new(at)),
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
            probed_at: Stamp::new(at),
            recorded_at: Stamp::new(SystemTime::now()),
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
            .map(|(name, l)| Row::new(name.clone(), l.outcome.clone(), l.recorded_at()))
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

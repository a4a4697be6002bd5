//! A bounded set of connection slots for a server that must keep answering under a flood: when
//! every slot is taken, a new connection evicts the connection that has been idle the longest
//! (waiting for a request head: a keep-alive connection between requests, or a client trickling
//! its head a byte at a time). Connections in the middle of a request are never evicted; when
//! every slot is busy, the new connection is refused.
//!
//! Why eviction rather than a queue: with a plain limit, a few hundred idle or trickling
//! connections hold every slot and a good request waits in the kernel's backlog until it times
//! out. Evicting the oldest idle one lets the newest request in at once, and costs a well-behaved
//! keep-alive client only a reconnect.
//!
//! Used by the `/metrics` listener and by `edgewatch echo`; below both, it knows nothing of HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// The slots of one listener.
#[derive(Clone)]
pub struct ConnSlots {
    max: usize,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Ticks on every transition to idle: the smallest idle tick is the longest idle.
    clock: u64,
    conns: HashMap<u64, Entry>,
    evicted: u64,
}

struct Entry {
    /// `Some(tick)` while waiting for a request; `None` while serving one.
    idle_since: Option<u64>,
    evict: CancellationToken,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// Every slot is serving a request: nothing could be evicted.
    #[error("every connection slot is serving a request")]
    AllBusy,
}

impl AdmitError {
    /// Stable short name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AdmitError::AllBusy => "all_busy",
        }
    }
}

impl ConnSlots {
    /// At most `max` connections (at least 1).
    pub fn new(max: usize) -> Self {
        ConnSlots {
            max: max.max(1),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (every step is one insert
        // or remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a new connection (idle until [`Slot::busy`]), evicting the longest-idle
    /// connection when all are taken.
    pub fn admit(&self) -> Result<Slot, AdmitError> {
        let mut state = self.lock();
        if state.conns.len() >= self.max {
            let oldest = state
                .conns
                .iter()
                .filter_map(|(id, e)| e.idle_since.map(|t| (t, *id)))
                .min()
                .map(|(_, id)| id);
            let Some(victim) = oldest else {
                return Err(AdmitError::AllBusy);
            };
            if let Some(entry) = state.conns.remove(&victim) {
                entry.evict.cancel();
                state.evicted += 1;
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        state.clock += 1;
        let evict = CancellationToken::new();
        let idle_since = Some(state.clock);
        state.conns.insert(
            id,
            Entry {
                idle_since,
                evict: evict.clone(),
            },
        );
        Ok(Slot {
            inner: Arc::new(SlotInner {
                id,
                slots: self.clone(),
                evict,
            }),
        })
    }

    /// Connections holding a slot now.
    pub fn in_use(&self) -> usize {
        self.lock().conns.len()
    }

    /// Connections evicted so far.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    fn set_idle(&self, id: u64, idle: bool) {
        let mut state = self.lock();
        state.clock += 1;
        let tick = state.clock;
        if let Some(entry) = state.conns.get_mut(&id) {
            entry.idle_since = idle.then_some(tick);
        }
    }
}

/// One connection's slot; freed when the last clone is dropped.
#[derive(Clone)]
pub struct Slot {
    inner: Arc<SlotInner>,
}

struct SlotInner {
    id: u64,
    slots: ConnSlots,
    evict: CancellationToken,
}

impl Drop for SlotInner {
    fn drop(&mut self) {
        self.slots.lock().conns.remove(&self.id);
    }
}

impl Slot {
    /// Completes when a newer connection evicted this one: drop the connection then.
    pub fn evicted(&self) -> WaitForCancellationFuture<'_> {
        self.inner.evict.cancelled()
    }

    /// Marks the connection as serving a request until the guard is dropped (keep the guard in
    /// the response body, so a long response is not cut by an eviction).
    pub fn busy(&self) -> BusyGuard {
        self.inner.slots.set_idle(self.inner.id, false);
        BusyGuard(self.clone())
    }
}

/// While alive, its connection is not evictable.
pub struct BusyGuard(Slot);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let inner = &self.0.inner;
        inner.slots.set_idle(inner.id, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_evicted(slot: &Slot) -> bool {
        slot.inner.evict.is_cancelled()
    }

    #[test]
    fn a_full_set_evicts_the_longest_idle_connection() {
        let slots = ConnSlots::new(3);
        let a = slots.admit().unwrap();
        let b = slots.admit().unwrap();
        let c = slots.admit().unwrap();
        // `a` served a request since: `b` is now the longest idle.
        drop(a.busy());
        let d = slots.admit().unwrap();
        assert!(is_evicted(&b) && !is_evicted(&a) && !is_evicted(&c));
        assert_eq!((slots.in_use(), slots.evicted()), (3, 1));
        drop(b);
        assert_eq!(slots.in_use(), 3, "an evicted slot is already free");
        drop(d);
        assert_eq!(slots.in_use(), 2);
    }

    #[test]
    fn busy_connections_are_never_evicted_and_a_full_busy_set_refuses() {
        let slots = ConnSlots::new(2);
        let a = slots.admit().unwrap();
        let b = slots.admit().unwrap();
        let _ga = a.busy();
        let gb = b.busy();
        assert_eq!(slots.admit().err(), Some(AdmitError::AllBusy));
        drop(gb);
        let _c = slots.admit().unwrap();
        assert!(is_evicted(&b) && !is_evicted(&a));
    }
}

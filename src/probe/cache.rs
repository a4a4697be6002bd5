//! A small single-flight cache shared by the AWS enrichers (ACM, elbv2, Route 53): one answer per key, kept for a time-to-live chosen per answer.
//! Concurrent callers asking for the same key while the answer is being fetched wait for that
//! one fetch instead of starting their own. Time is tokio's clock, so tests can pause it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// One fetched value and when it stops being fresh.
struct Stored<V> {
    value: V,
    expires: Instant,
}

type Slot<V> = Arc<OnceCell<Stored<V>>>;

/// Keyed answers, each fetched at most once per time-to-live.
pub(crate) struct SingleFlightCache<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
}

impl<V: Clone> SingleFlightCache<V> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        SingleFlightCache {
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The fresh answer for `key`, or the answer of the fetch in flight for it, or a new fetch.
    /// `fetch` returns the value and how long it may be reused. If the caller that runs the fetch
    /// is cancelled, a waiting caller runs it instead (tokio's `OnceCell` semantics).
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: &str, fetch: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (V, Duration)>,
    {
        let slot = self.slot(key);
        let stored = slot
            .get_or_init(|| async {
                let (value, ttl) = fetch().await;
                Stored {
                    value,
                    expires: Instant::now() + ttl,
                }
            })
            .await;
        stored.value.clone()
    }

    /// The slot to wait on: the current one unless its answer has expired.
    fn slot(&self, key: &str) -> Slot<V> {
        let now = Instant::now();
        let fresh = |slot: &Slot<V>| slot.get().is_none_or(|s| s.expires > now);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get(key).filter(|s| fresh(s)) {
            return slot.clone();
        }
        // Replacing a slot is the moment to forget other expired answers, so ARNs no target
        // uses any more do not accumulate.
        slots.retain(|_, s| fresh(s));
        let slot = Slot::default();
        slots.insert(key.to_string(), slot.clone());
        slot
    }

    /// How many keys have a fresh or in-flight answer.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counting_fetch(
        calls: &AtomicUsize,
        ttl: Duration,
        delay: Duration,
    ) -> (usize, Duration) {
        tokio::time::sleep(delay).await;
        (calls.fetch_add(1, Ordering::SeqCst) + 1, ttl)
    }

    #[tokio::test(start_paused = true)]
    async fn answers_are_reused_until_their_ttl_passes() {
        let cache = SingleFlightCache::new();
        let calls = AtomicUsize::new(0);
        let ttl = Duration::from_secs(600);
        let zero = Duration::ZERO;
        assert_eq!(
            cache
                .get_or_fetch("a", || counting_fetch(&calls, ttl, zero))
                .await,
            1
        );
        tokio::time::advance(Duration::from_secs(599)).await;
        assert_eq!(
            cache
                .get_or_fetch("a", || counting_fetch(&calls, ttl, zero))
                .await,
            1
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            cache
                .get_or_fetch("a", || counting_fetch(&calls, ttl, zero))
                .await,
            2
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let cache = SingleFlightCache::new();
        let calls = AtomicUsize::new(0);
        let slow = Duration::from_millis(200);
        let ttl = Duration::from_secs(60);
        let answers = futures::future::join_all(
            (0..10).map(|_| cache.get_or_fetch("a", || counting_fetch(&calls, ttl, slow))),
        )
        .await;
        assert!(answers.iter().all(|a| *a == 1), "{answers:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_independent_and_expired_keys_are_forgotten() {
        let cache = SingleFlightCache::new();
        let calls = AtomicUsize::new(0);
        let short = Duration::from_secs(30);
        let zero = Duration::ZERO;
        cache
            .get_or_fetch("a", || counting_fetch(&calls, short, zero))
            .await;
        cache
            .get_or_fetch("b", || counting_fetch(&calls, short, zero))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(cache.len(), 2);
        tokio::time::advance(Duration::from_secs(31)).await;
        cache
            .get_or_fetch("c", || counting_fetch(&calls, short, zero))
            .await;
        assert_eq!(cache.len(), 1, "a and b expired and were dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_fetch_is_taken_over_by_the_next_caller() {
        let cache = SingleFlightCache::new();
        let calls = AtomicUsize::new(0);
        let slow = Duration::from_secs(10);
        let ttl = Duration::from_secs(60);
        let cancelled = tokio::time::timeout(
            Duration::from_secs(1),
            cache.get_or_fetch("a", || counting_fetch(&calls, ttl, slow)),
        )
        .await;
        assert!(cancelled.is_err());
        let answer = cache
            .get_or_fetch("a", || counting_fetch(&calls, ttl, Duration::ZERO))
            .await;
        assert_eq!(answer, 1);
    }
}

//! The Lease keeper: renews this replica's Lease (`edgewatch-<replica>`) every third of the
//! Lease duration and WATCHES the Leases of its vantage point (kube-runtime's `watcher`: a list,
//! then a watch from its resourceVersion), so a member that joins or releases its Lease is seen
//! at once. Expiry is time-based (a dead member's Lease does not change, it just stops being
//! renewed), so the keeper also wakes when the next known Lease would expire, and restarts the
//! watch (a fresh list) every [`relist_every`] in case a watch silently stalls.
//!
//! A Lease is live while its resourceVersion changed less than its duration ago, as seen by this
//! replica's own clock (client-go's leader election does the same: no trust in other replicas'
//! clocks); a Lease seen for the first time is trusted by its `renewTime`. A Lease whose holder
//! is empty was released by a replica that stopped gracefully (`members.rs` reads them).
//!
//! When the API server cannot be reached (the watch fails, or a renewal does), nobody is expired
//! (joins and releases the watch still shows are taken in): the last membership is kept, so every replica keeps probing what it owned (no gap, no
//! duplicate). When it is reached again, the members known before get one more Lease duration to
//! renew: they could not renew either.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream::BoxStream};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::status::StatusBoard;
use super::{Membership, ShardConfig, ShardMetrics};

/// The label every member's Lease carries (and the watch selects by).
pub const COMPONENT_LABEL: (&str, &str) = ("app.kubernetes.io/component", "edgewatch-shard");
/// The label with the member's vantage point.
pub const VANTAGE_LABEL: &str = "edgewatch.io/vantage";

/// How often the watch is restarted with a fresh list: ten Lease durations, between 30 s and
/// 5 min. A stalled watch would show live members as expired (their targets probed twice, never
/// left unprobed) until then.
pub fn relist_every(lease_duration: Duration) -> Duration {
    (lease_duration * 10).clamp(Duration::from_secs(30), Duration::from_secs(300))
}

/// How often this replica's Lease is renewed: every third of its duration (at least 200 ms).
pub fn renew_every(lease_duration: Duration) -> Duration {
    (lease_duration / 3).max(Duration::from_millis(200))
}

/// How long one renewal may take: half the Lease duration (a starved API server answering in
/// more than a third of it is still an answer; a budget of a third made such renewals time out
/// and the replicas expire each other). Renewals are scheduled from the START of the previous
/// one, so the longest time between two landed renewals is the later of a period and a budget,
/// plus a budget: one Lease duration, as with a third and scheduling from the end.
pub fn renew_budget(lease_duration: Duration) -> Duration {
    (lease_duration / 2).max(Duration::from_millis(200))
}

/// What this replica last saw of one Lease.
pub(super) struct Seen {
    pub(super) rv: String,
    /// When its resourceVersion last changed; `None`: expired when first seen.
    pub(super) changed: Option<Instant>,
}

/// Keeps this replica's Lease and publishes the membership.
pub struct LeaseKeeper {
    api: Api<Lease>,
    pub(super) config: ShardConfig,
    pub(super) tx: watch::Sender<Option<Membership>>,
    pub(super) metrics: ShardMetrics,
    pub(super) status: Arc<StatusBoard>,
    own: Option<Lease>,
    /// The Leases as the watch last showed them, by name.
    store: BTreeMap<String, Lease>,
    /// A (re)list in progress: what it has shown so far; swapped in when it is done.
    listing: Option<BTreeMap<String, Lease>>,
    pub(super) seen: HashMap<String, Seen>,
    pub(super) live: BTreeSet<String>,
    /// When the earliest live Lease (not this replica's) expires, unless renewed before.
    pub(super) next_expiry: Option<Instant>,
    /// The API server was unreachable: on the next observation, the members known before get a
    /// fresh start.
    pub(super) recovering: bool,
    watch_failing: bool,
    renew_failing: bool,
    /// Whether a first list has been observed (before it, nothing is published).
    listed: bool,
}

impl LeaseKeeper {
    /// A keeper for `config`, publishing to `tx`.
    pub fn new(
        client: kube::Client,
        config: ShardConfig,
        tx: watch::Sender<Option<Membership>>,
        metrics: ShardMetrics,
        status: Arc<StatusBoard>,
    ) -> Self {
        LeaseKeeper {
            api: Api::namespaced(client, &config.namespace),
            config,
            tx,
            metrics,
            status,
            own: None,
            store: BTreeMap::new(),
            listing: None,
            seen: HashMap::new(),
            live: BTreeSet::new(),
            next_expiry: None,
            recovering: false,
            watch_failing: false,
            renew_failing: false,
            listed: false,
        }
    }

    fn lease_name(&self) -> String {
        format!("edgewatch-{}", self.config.replica)
    }

    fn selector(&self) -> String {
        let mut selector = format!("{}={}", COMPONENT_LABEL.0, COMPONENT_LABEL.1);
        if !self.config.vantage.is_empty() {
            selector.push_str(&format!(",{VANTAGE_LABEL}={}", self.config.vantage));
        }
        selector
    }

    /// A fresh watch of this vantage point's Leases (it lists first).
    fn watch(&mut self) -> BoxStream<'static, Result<Event<Lease>, watcher::Error>> {
        self.listing = None;
        let config = watcher::Config::default().labels(&self.selector());
        watcher::watcher(self.api.clone(), config)
            .default_backoff()
            .boxed()
    }

    /// Renews and watches until `shutdown`; then releases this replica's Lease (best effort), so
    /// the others take its targets at once instead of after the Lease expires.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let every = renew_every(self.config.lease_duration);
        let budget = renew_budget(self.config.lease_duration);
        let relist = relist_every(self.config.lease_duration);
        tracing::info!(replica = %self.config.replica, vantage = %self.config.vantage,
            namespace = %self.config.namespace, lease_duration = ?self.config.lease_duration,
            "sharding targets through Leases");
        let mut events = self.watch();
        let mut renew_at = Instant::now();
        let mut relist_at = Instant::now() + relist;
        loop {
            let expiry = self.next_expiry;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(renew_at) => {
                    // A renewal never outlasts its budget: a hung API server must not stop them.
                    let started = Instant::now();
                    let ok = tokio::time::timeout(budget, self.renew_logged()).await.unwrap_or(false);
                    renew_at = started + every;
                    self.set_health(self.watch_failing, !ok);
                }
                ev = events.next() => match ev {
                    Some(Ok(ev)) => {
                        self.set_health(false, self.renew_failing);
                        self.apply(ev);
                    }
                    Some(Err(e)) => {
                        self.metrics.lease_errors.with_label_values(&["watch"]).inc();
                        if !self.watch_failing {
                            tracing::warn!(error = %e, "the Lease watch failed; keeping the last \
                                membership and retrying with backoff");
                        }
                        self.set_health(true, self.renew_failing);
                    }
                    None => events = self.watch(),
                },
                () = sleep_until_some(expiry) => self.reobserve(),
                () = tokio::time::sleep_until(relist_at) => {
                    events = self.watch();
                    relist_at = Instant::now() + relist;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.release()).await;
    }

    /// Records whether the watch and the renewals work; when both work again after either
    /// failed, the members known before get one more Lease duration.
    fn set_health(&mut self, watch_failing: bool, renew_failing: bool) {
        let was_down = self.watch_failing || self.renew_failing;
        self.watch_failing = watch_failing;
        self.renew_failing = renew_failing;
        let down = watch_failing || renew_failing;
        self.status.update(|s| s.api_reachable = !down);
        if was_down && !down {
            tracing::info!("the API server answers again; known members get one more Lease");
            self.recovering = true;
            self.reobserve();
        }
    }

    /// One watch event into the store; the membership is worked out again when the store is
    /// whole (not in the middle of a list).
    fn apply(&mut self, ev: Event<Lease>) {
        match ev {
            Event::Init => self.listing = Some(BTreeMap::new()),
            Event::InitApply(l) => {
                if let (Some(buf), Some(name)) = (self.listing.as_mut(), l.metadata.name.clone()) {
                    buf.insert(name, l);
                }
            }
            Event::InitDone => {
                self.store = self.listing.take().unwrap_or_default();
                self.listed = true;
                self.reobserve();
            }
            Event::Apply(l) => {
                if let Some(name) = l.metadata.name.clone() {
                    self.store.insert(name, l);
                }
                self.reobserve();
            }
            Event::Delete(l) => {
                if let Some(name) = &l.metadata.name {
                    self.store.remove(name);
                }
                self.reobserve();
            }
        }
    }

    /// Works the membership out from the store (nothing before the first list). While the API
    /// server is unreachable (the watch or the renewals fail) nobody EXPIRES: every known member
    /// is treated as just renewed. Joins and releases the watch still shows are taken in: a
    /// replica whose own renewals time out must still learn of the others.
    fn reobserve(&mut self) {
        if !self.listed {
            return;
        }
        self.recovering |= self.watch_failing || self.renew_failing;
        let items: Vec<Lease> = self.store.values().cloned().collect();
        self.observe(items);
        self.recovering = false;
    }

    async fn renew_logged(&mut self) -> bool {
        match self.renew().await {
            Ok(()) => true,
            Err((op, e)) => {
                self.metrics.lease_errors.with_label_values(&[op]).inc();
                tracing::warn!(operation = op, error = %e, "cannot renew this replica's Lease");
                false
            }
        }
    }

    /// This replica's Lease as it should be now, from `base` (what the server has, if any).
    fn fresh(&self, base: Option<Lease>) -> Lease {
        let mut lease = base.unwrap_or_default();
        let meta: &mut ObjectMeta = &mut lease.metadata;
        meta.name = Some(self.lease_name());
        let labels = meta.labels.get_or_insert_with(Default::default);
        labels.insert(COMPONENT_LABEL.0.into(), COMPONENT_LABEL.1.into());
        labels.insert("app.kubernetes.io/name".into(), "edgewatch".into());
        labels.insert(VANTAGE_LABEL.into(), self.config.vantage.clone());
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let now = MicroTime(Timestamp::now());
        if spec.holder_identity.as_deref() != Some(self.config.replica.as_str()) {
            spec.holder_identity = Some(self.config.replica.clone());
            spec.acquire_time = Some(now.clone());
        }
        let secs = self
            .config
            .lease_duration
            .as_secs_f64()
            .ceil()
            .clamp(1.0, 3600.0);
        spec.lease_duration_seconds = Some(secs as i32);
        spec.renew_time = Some(now);
        lease
    }

    /// Creates or updates this replica's Lease. A conflict (someone else wrote it) is answered
    /// by reading it again and retrying once.
    async fn renew(&mut self) -> Result<(), (&'static str, kube::Error)> {
        let name = self.lease_name();
        let pp = PostParams::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let base = match self.own.take() {
                Some(l) => l,
                None => match self.api.get_opt(&name).await.map_err(|e| ("get", e))? {
                    Some(l) => l,
                    None => {
                        let created = self
                            .api
                            .create(&pp, &self.fresh(None))
                            .await
                            .map_err(|e| ("create", e))?;
                        self.own = Some(created);
                        return Ok(());
                    }
                },
            };
            match self.api.replace(&name, &pp, &self.fresh(Some(base))).await {
                Ok(l) => {
                    self.own = Some(l);
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 && attempt == 1 => continue,
                Err(e) => return Err(("update", e)),
            }
        }
    }

    /// Empties the holder of this replica's Lease: the others stop counting it at once.
    async fn release(&mut self) {
        let Some(mut lease) = self.own.take() else {
            return;
        };
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
        }
        let name = self.lease_name();
        if let Err(e) = self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            self.metrics
                .lease_errors
                .with_label_values(&["release"])
                .inc();
            tracing::warn!(error = %e, "cannot release this replica's Lease; it will expire");
        }
    }
}

/// Sleeps until `at`; forever when `None`.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;

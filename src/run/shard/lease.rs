//! The Lease keeper: renews this replica's Lease (`edgewatch-<replica>`) every third of the
//! Lease duration and lists the Leases of its vantage point to learn the live members.
//!
//! A Lease is live while its resourceVersion changed less than its duration ago, as seen by this
//! replica's own clock (client-go's leader election does the same: no trust in other replicas'
//! clocks); a Lease seen for the first time is trusted by its `renewTime`. A Lease whose holder
//! is empty was released by a replica that stopped gracefully.
//!
//! When the API server cannot be reached, the last membership is kept, so every replica keeps
//! probing what it owned (no gap, no duplicate). When it is reached again, the members known
//! before get one more Lease duration to renew: they could not renew either.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ListParams, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::status::StatusBoard;
use super::{Membership, ShardConfig, ShardMetrics};

/// The label every member's Lease carries (and the list selects by).
pub const COMPONENT_LABEL: (&str, &str) = ("app.kubernetes.io/component", "edgewatch-shard");
/// The label with the member's vantage point.
pub const VANTAGE_LABEL: &str = "edgewatch.io/vantage";

/// What this replica last saw of one Lease.
struct Seen {
    rv: String,
    /// When its resourceVersion last changed; `None`: expired when first seen.
    changed: Option<Instant>,
}

/// Keeps this replica's Lease and publishes the membership.
pub struct LeaseKeeper {
    api: Api<Lease>,
    config: ShardConfig,
    tx: watch::Sender<Option<Membership>>,
    metrics: ShardMetrics,
    status: Arc<StatusBoard>,
    own: Option<Lease>,
    seen: HashMap<String, Seen>,
    live: BTreeSet<String>,
    /// The last round failed: on the next success, the members known before get a fresh start.
    recovering: bool,
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
            seen: HashMap::new(),
            live: BTreeSet::new(),
            recovering: false,
        }
    }

    fn lease_name(&self) -> String {
        format!("edgewatch-{}", self.config.replica)
    }

    /// Renews and lists until `shutdown`; then releases this replica's Lease (best effort), so
    /// the others take its targets at once instead of after the Lease expires.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let every = (self.config.lease_duration / 3).max(Duration::from_millis(200));
        tracing::info!(replica = %self.config.replica, vantage = %self.config.vantage,
            namespace = %self.config.namespace, lease_duration = ?self.config.lease_duration,
            "sharding targets through Leases");
        loop {
            // A round never outlasts its period: a hung API server must not stop the renewals.
            let ok = tokio::time::timeout(every, self.round())
                .await
                .unwrap_or(false);
            self.status.update(|s| s.api_reachable = ok);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.release()).await;
    }

    /// One renewal and one list; false when either failed.
    async fn round(&mut self) -> bool {
        let renewed = match self.renew().await {
            Ok(()) => true,
            Err((op, e)) => {
                self.metrics.lease_errors.with_label_values(&[op]).inc();
                tracing::warn!(operation = op, error = %e, "cannot renew this replica's Lease");
                false
            }
        };
        let mut selector = format!("{}={}", COMPONENT_LABEL.0, COMPONENT_LABEL.1);
        if !self.config.vantage.is_empty() {
            selector.push_str(&format!(",{VANTAGE_LABEL}={}", self.config.vantage));
        }
        match self
            .api
            .list(&ListParams::default().labels(&selector))
            .await
        {
            Ok(list) => {
                self.observe(list.items);
                self.recovering = !renewed;
                renewed
            }
            Err(e) => {
                self.metrics.lease_errors.with_label_values(&["list"]).inc();
                tracing::warn!(error = %e, "cannot list the Leases; keeping the last membership");
                self.recovering = true;
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

    /// Works out the live members from a fresh list and publishes them when they changed.
    fn observe(&mut self, items: Vec<Lease>) {
        let now = Instant::now();
        let wall = Timestamp::now();
        let mut live = BTreeSet::from([self.config.replica.clone()]);
        let mut seen = HashMap::new();
        for lease in items {
            let labels = lease.metadata.labels.clone().unwrap_or_default();
            let vantage = labels.get(VANTAGE_LABEL).map(String::as_str).unwrap_or("");
            let (Some(name), Some(spec)) = (lease.metadata.name, lease.spec) else {
                continue;
            };
            if vantage != self.config.vantage {
                continue;
            }
            let Some(holder) = spec.holder_identity.filter(|h| !h.is_empty()) else {
                continue; // released
            };
            let secs = spec.lease_duration_seconds.unwrap_or(0).clamp(1, 3600);
            let duration = Duration::from_secs(secs as u64);
            let rv = lease.metadata.resource_version.unwrap_or_default();
            let changed = match self.seen.get(&name) {
                Some(s) if s.rv == rv => {
                    if self.recovering && self.live.contains(&holder) {
                        Some(now)
                    } else {
                        s.changed
                    }
                }
                Some(_) => Some(now),
                None => {
                    let until = spec.renew_time.and_then(|t| {
                        t.0.checked_add(SignedDuration::from_secs(i64::from(secs)))
                            .ok()
                    });
                    until.filter(|u| *u > wall).map(|_| now)
                }
            };
            if changed.is_some_and(|c| now.saturating_duration_since(c) < duration) {
                live.insert(holder);
            }
            seen.insert(name, Seen { rv, changed });
        }
        self.seen = seen;
        let members: Vec<String> = live.iter().cloned().collect();
        self.live = live;
        self.metrics.members.set(members.len() as i64);
        self.status.update(|s| {
            s.membership_known = true;
            s.members = members.clone();
        });
        let next = Membership {
            me: self.config.replica.clone(),
            members,
        };
        self.tx.send_if_modified(|m| {
            if m.as_ref() == Some(&next) {
                return false;
            }
            tracing::info!(members = ?next.members, "shard membership changed");
            *m = Some(next);
            true
        });
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

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;

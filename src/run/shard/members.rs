//! Reading the Leases into the live members: a Lease is live while its resourceVersion changed
//! less than its duration ago by this replica's clock; one seen for the first time is judged by
//! its `renewTime`; a released one (empty holder) and one of another vantage point are not
//! members. Also works out when the next live Lease would expire, so the keeper wakes then.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

use super::Membership;
use super::lease::{LeaseKeeper, Seen, VANTAGE_LABEL};

impl LeaseKeeper {
    /// Works out the live members from the Leases as they are now and publishes them when they
    /// changed.
    pub(super) fn observe(&mut self, items: Vec<Lease>) {
        let now = Instant::now();
        let wall = Timestamp::now();
        let mut live = BTreeSet::from([self.config.replica.clone()]);
        let mut seen = HashMap::new();
        let mut next_expiry: Option<Instant> = None;
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
            if let Some(c) = changed
                && now.saturating_duration_since(c) < duration
            {
                if holder != self.config.replica {
                    let at = c + duration;
                    next_expiry = Some(next_expiry.map_or(at, |n| n.min(at)));
                }
                live.insert(holder);
            }
            seen.insert(name, Seen { rv, changed });
        }
        self.seen = seen;
        self.next_expiry = next_expiry;
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
}

//! Several replicas sharing the fleet. Membership comes from Kubernetes Leases (`lease.rs` keeps
//! and watches them, `members.rs` reads them): each replica holds `edgewatch-<replica>` in one
//! namespace, labelled with its vantage point, and the live members are the unexpired Leases of the same vantage point. Each target is owned
//! by one member, by rendezvous hashing (`hrw.rs`); the supervisor runs only what this replica
//! owns. Off by default: then none of this is built and one replica probes everything.
//!
//! What this module must not do: decide anything about probes or checks; it only says who owns
//! which target key.

pub mod hrw;
pub mod lease;
mod members;
pub mod status;
pub mod wiring;

use std::time::Duration;

use tokio::sync::watch;

use crate::discovery::target::{Target, TargetSource};
use crate::registry::{counter, register};

fn gauge(registry: &prometheus::Registry, name: &str, help: &str) -> prometheus::IntGauge {
    register(
        registry,
        prometheus::IntGauge::new(name, help).expect("valid metric definition"),
    )
}

/// Sharing the fleet between replicas (`shard:`), from its validated config section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardSettings {
    /// Whether targets are shared through Leases.
    pub enabled: bool,
    /// The Leases' namespace; `None`: the pod's own.
    pub namespace: Option<String>,
    /// The Lease duration; `None`: derived from the probe intervals.
    pub lease_duration: Option<Duration>,
}

impl ShardSettings {
    /// From the `shard:` section (already validated by `config::validate`).
    pub fn from_config(section: &crate::config::file::ShardSection) -> Self {
        ShardSettings {
            enabled: section.enabled.unwrap_or(false),
            namespace: section.namespace.clone(),
            lease_duration: section.lease_duration,
        }
    }
}

/// The live members of this replica's vantage point, as this replica last knew them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// This replica's name.
    pub me: String,
    /// Every live member's name, sorted, this replica included.
    pub members: Vec<String>,
}

impl Membership {
    /// Whether this replica owns the target with this key.
    pub fn owns(&self, key: &str) -> bool {
        hrw::owner(&self.members, key) == Some(self.me.as_str())
    }
}

/// The stable key a target is hashed by: for a discovered target its Service (namespace and
/// name: `Target` does not carry the UID; a Service re-created under the same name keeps its
/// owner, which is harmless) with host and port; for a static target its name.
pub fn target_key(t: &Target) -> String {
    match &t.source {
        TargetSource::Kubernetes { namespace, service } => {
            format!("{namespace}/{service}/{}:{}", t.hostname, t.port)
        }
        TargetSource::Config | TargetSource::Flag => t.name.to_string(),
    }
}

/// Why sharding could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The replica name cannot be part of a Lease name.
    #[error(
        "replica name `{0}` is not usable: give --replica (or EDGEWATCH_REPLICA) of at most 240 lowercase letters, digits, `-` or `.`"
    )]
    ReplicaName(String),
    /// No replica name was given and the hostname could not be read.
    #[error(
        "no replica name: give --replica or EDGEWATCH_REPLICA (the hostname could not be read)"
    )]
    NoReplicaName,
    /// `--vantage` is not a label value.
    #[error(
        "vantage `{0}` is not usable: at most 63 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit"
    )]
    Vantage(String),
    /// No Kubernetes client could be built for the Leases.
    #[error("sharding needs Kubernetes: {0}")]
    Client(#[source] crate::discovery::kube::Error),
}

impl ShardError {
    /// A stable short name for the kind of failure.
    pub fn as_str(&self) -> &'static str {
        match self {
            ShardError::ReplicaName(_) => "replica_name",
            ShardError::NoReplicaName => "no_replica_name",
            ShardError::Vantage(_) => "vantage",
            ShardError::Client(_) => "client",
        }
    }
}

/// The replica name: `--replica`/`EDGEWATCH_REPLICA`, else the hostname (the pod's name).
pub fn replica_name(given: Option<&str>) -> Result<String, ShardError> {
    let name = match given {
        Some(n) => n.to_string(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .ok_or(ShardError::NoReplicaName)?,
    };
    let ok = !name.is_empty()
        && name.len() <= 240
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(name)
    } else {
        Err(ShardError::ReplicaName(
            crate::textsafe::escape(&name).to_string(),
        ))
    }
}

/// The default Lease duration: a third of the shortest probe interval, at least 5 s, so a dead
/// replica's targets move within about one interval of its last renewal.
pub fn default_lease_duration(shortest_interval: Duration) -> Duration {
    (shortest_interval / 3).max(Duration::from_secs(5))
}

/// The shard's own metrics.
#[derive(Clone)]
pub struct ShardMetrics {
    /// `edgewatch_shard_handovers_total{direction}`: targets taken over or given up.
    pub handovers: prometheus::IntCounterVec,
    /// `edgewatch_shard_members`: live members of this vantage point, as last known.
    pub members: prometheus::IntGauge,
    /// `edgewatch_shard_owned_targets`: targets this replica probes.
    pub owned: prometheus::IntGauge,
    /// `edgewatch_shard_lease_errors_total{operation}`: failed Lease calls (and watch failures).
    pub lease_errors: prometheus::IntCounterVec,
}

impl ShardMetrics {
    /// Registers the shard's series in `registry`.
    pub fn register(registry: &prometheus::Registry) -> Self {
        ShardMetrics {
            handovers: counter(
                registry,
                "edgewatch_shard_handovers_total",
                "Targets that changed owner because the membership changed, by direction (acquired, released).",
                &["direction"],
            ),
            members: gauge(
                registry,
                "edgewatch_shard_members",
                "Live members of this replica's vantage point, as this replica last knew them.",
            ),
            owned: gauge(
                registry,
                "edgewatch_shard_owned_targets",
                "Targets this replica owns and probes.",
            ),
            lease_errors: counter(
                registry,
                "edgewatch_shard_lease_errors_total",
                "Failed Lease calls and watch failures, by operation (get, create, update, watch, release).",
                &["operation"],
            ),
        }
    }
}

/// What the supervisor needs of the shard: the membership as it changes, where to publish
/// what it owns, and the metrics it counts handovers in.
pub struct ShardHook {
    /// `None` until the first membership is known.
    pub membership: watch::Receiver<Option<Membership>>,
    /// What `/shard` shows.
    pub status: std::sync::Arc<status::StatusBoard>,
    /// The shard's metrics.
    pub metrics: ShardMetrics,
}

/// A built shard: the Lease keeper to run and the hook to give the supervisor.
pub struct Shard {
    /// Keeps this replica's Lease and lists the others.
    pub keeper: lease::LeaseKeeper,
    /// For the supervisor.
    pub hook: ShardHook,
}

/// Everything the Lease keeper is configured with.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// This replica's name.
    pub replica: String,
    /// The vantage point; empty: the only one.
    pub vantage: String,
    /// The Leases' namespace.
    pub namespace: String,
    /// How long a Lease lasts unrenewed.
    pub lease_duration: Duration,
}

impl Shard {
    /// Builds the keeper and hook; nothing runs until the keeper is.
    pub fn new(client: kube::Client, config: ShardConfig, registry: &prometheus::Registry) -> Self {
        let metrics = ShardMetrics::register(registry);
        let status = std::sync::Arc::new(status::StatusBoard::new(&config));
        let (tx, rx) = watch::channel(None);
        Shard {
            keeper: lease::LeaseKeeper::new(client, config, tx, metrics.clone(), status.clone()),
            hook: ShardHook {
                membership: rx,
                status,
                metrics,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_names_must_fit_a_lease_name() {
        assert_eq!(
            replica_name(Some("edgewatch-7d9f-x2")).unwrap(),
            "edgewatch-7d9f-x2"
        );
        for bad in [
            "",
            "Upper",
            "-lead",
            "trail-",
            "sp ace",
            "a/b",
            &"a".repeat(241),
        ] {
            let err = replica_name(Some(bad)).unwrap_err();
            assert_eq!(err.as_str(), "replica_name", "{bad}");
        }
    }

    #[test]
    fn the_lease_lasts_a_third_of_the_interval_and_at_least_five_seconds() {
        assert_eq!(
            default_lease_duration(Duration::from_secs(30)),
            Duration::from_secs(10)
        );
        assert_eq!(
            default_lease_duration(Duration::from_secs(6)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn one_member_owns_everything() {
        let m = Membership {
            me: "a".into(),
            members: vec!["a".into()],
        };
        assert!(m.owns("anything"));
    }
}

//! Kubernetes discovery end to end through a test API server on loopback (`support::kube_api`): the watch
//! (`watch.rs`), `--once` listing (`list.rs`), Events (`events.rs`), the built binary
//! (`binary.rs`) and the memory figure with 5,000 Services (`memory.rs`, ignored by default).

mod binary;
mod events;
mod list;
mod memory;
#[path = "../support/mod.rs"]
mod support;
mod watch;

use std::time::Duration;

use edgewatch::discovery::kube::KubernetesSettings;
use edgewatch::discovery::metrics::DiscoveryMetrics;
use edgewatch::discovery::target::{BackendSpec, Target};
use edgewatch::discovery::{SourceId, TargetUpdate};
use k8s_openapi::api::core::v1::Service;
use tokio::sync::mpsc;

/// The reference Service of issue 3.
pub const MYAPP: &str = include_str!("../fixtures/k8s/myapp.yaml");

/// The reference Service.
pub fn myapp() -> Service {
    serde_norway::from_str(MYAPP).expect("fixture parses")
}

/// The reference Service renamed to `namespace/name`, named `host`, with `labels`.
pub fn service(namespace: &str, name: &str, host: &str, labels: &[(&str, &str)]) -> Service {
    let mut s = myapp();
    s.metadata.namespace = Some(namespace.into());
    s.metadata.name = Some(name.into());
    s.metadata.annotations.as_mut().unwrap().insert(
        "external-dns.alpha.kubernetes.io/hostname".into(),
        host.into(),
    );
    s.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    s
}

/// A running `discovery::kube::run` and what it sends.
pub struct Discovery {
    rx: mpsc::Receiver<TargetUpdate>,
    task: tokio::task::JoinHandle<()>,
    /// The metrics it writes.
    pub metrics: DiscoveryMetrics,
    /// Whether `Synced(Kubernetes)` has been received.
    pub synced: bool,
}

impl Discovery {
    /// Starts discovery against `api` with `settings`.
    pub async fn start(
        api: &support::kube_api::KubeApi,
        settings: KubernetesSettings,
    ) -> Discovery {
        let client = api.client().await;
        let (tx, rx) = mpsc::channel(64);
        let metrics = DiscoveryMetrics::register(&prometheus::Registry::new());
        let m = metrics.clone();
        let task = tokio::spawn(async move {
            edgewatch::discovery::kube::run(client, &settings, BackendSpec::default(), tx, m).await
        });
        Discovery {
            rx,
            task,
            metrics,
            synced: false,
        }
    }

    /// The next `Replace` within `within`, or `None`.
    pub async fn next_replace(&mut self, within: Duration) -> Option<Vec<Target>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let update = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()??;
            match update {
                TargetUpdate::Replace { source, targets } => {
                    assert_eq!(source, SourceId::Kubernetes);
                    return Some(targets);
                }
                TargetUpdate::Synced(source) => {
                    assert_eq!(source, SourceId::Kubernetes);
                    assert!(!self.synced, "Synced sent twice");
                    self.synced = true;
                }
            }
        }
    }

    /// Waits (up to `within`) for a `Replace` whose target names are exactly `names`.
    pub async fn wait_for(&mut self, names: &[&str], within: Duration) -> Vec<Target> {
        let deadline = tokio::time::Instant::now() + within;
        let mut last = None;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_replace(left).await {
                Some(ts) => {
                    let got = target_names(&ts);
                    if got == names {
                        return ts;
                    }
                    last = Some(got);
                }
                None => panic!("no Replace with {names:?} within {within:?}; last: {last:?}"),
            }
        }
    }

    /// Waits (up to `within`) for `Synced(Kubernetes)`; a `Replace` meanwhile fails the test.
    pub async fn expect_synced(&mut self, within: Duration) {
        if !self.synced {
            match tokio::time::timeout(within, self.rx.recv()).await {
                Ok(Some(TargetUpdate::Synced(SourceId::Kubernetes))) => self.synced = true,
                other => panic!("expected Synced(Kubernetes), got {other:?}"),
            }
        }
    }

    /// A counter of `edgewatch_discovery_errors_total{source="kubernetes",reason}`.
    pub fn errors(&self, reason: &str) -> u64 {
        self.metrics
            .errors
            .with_label_values(&["kubernetes", reason])
            .get()
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Target names, in order; asserts there are no duplicates.
pub fn target_names(ts: &[Target]) -> Vec<String> {
    let names: Vec<String> = ts.iter().map(|t| t.name.to_string()).collect();
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len(), "duplicate targets in {names:?}");
    names
}

/// Discovery settings: enabled, all namespaces, no selector.
pub fn all_namespaces() -> KubernetesSettings {
    KubernetesSettings {
        enabled: true,
        ..Default::default()
    }
}

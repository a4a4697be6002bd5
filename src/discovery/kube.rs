//! Kubernetes discovery I/O: the client, the Service watch that feeds the daemon, and the one-off
//! listing for `--once`. Turning a Service into targets is `convert`'s job (pure); this module
//! owns only talking to the API server, remembering each Service's targets, and telling the
//! daemon the whole current set whenever it changes.
//!
//! The watch is kube-runtime's `watcher` with its default backoff: on a dropped watch it
//! re-watches from the last resourceVersion, on `410 Gone` or a failed list it re-lists, and
//! meanwhile the last known set stays in force (nothing is sent until the relist completes).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::time::Instant;

use super::convert::service_to_targets;
use super::{SourceId, TargetUpdate, UpdateSender};
use crate::config::file::KubernetesSection;
use crate::discovery::metrics::DiscoveryMetrics;
use crate::discovery::target::{BackendSpec, Target};

/// Kubernetes discovery: the `kubernetes:` section with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KubernetesSettings {
    /// Whether Services are discovered.
    pub enabled: bool,
    /// Namespaces watched; empty: all.
    pub namespaces: Vec<String>,
    /// Label selector.
    pub selector: Option<String>,
    /// Post Events on state changes.
    pub events: bool,
}

impl KubernetesSettings {
    /// From the `kubernetes:` section.
    pub fn from_config(section: &KubernetesSection) -> Self {
        KubernetesSettings {
            enabled: section.enabled.unwrap_or(false),
            namespaces: section.namespaces.clone(),
            selector: section.selector.clone(),
            events: section.events.unwrap_or(true),
        }
    }
}

/// How long the watch waits for more changes before sending the new set.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
const PAGE: u32 = 500;

/// Errors of Kubernetes discovery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig could not be read or does not name a usable context.
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    /// Neither in-cluster configuration nor a kubeconfig was found.
    #[error("no Kubernetes configuration (in-cluster or kubeconfig): {0}")]
    Infer(#[source] kube::config::InferConfigError),
    /// The client could not be built from the configuration.
    #[error("Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// Listing or getting Services failed.
    #[error("listing Services: {0}")]
    List(#[source] kube::Error),
    /// `--service` is not `NAMESPACE/NAME`.
    #[error("--service `{0}` is not NAMESPACE/NAME")]
    BadServiceName(String),
    /// The Service named by `--service` does not exist.
    #[error("Service {0} not found")]
    ServiceNotFound(String),
    /// The Service named by `--service` exists but edgewatch does not probe it.
    #[error(
        "Service {0} is not probed by edgewatch: it is neither a LoadBalancer with \
         service.beta.kubernetes.io/aws-load-balancer-ssl-cert nor annotated \
         edgewatch.io/enabled: \"true\" (or it says \"false\")"
    )]
    ServiceNotSelected(String),
}

/// A client configured like `kube::Config::infer`: with no kubeconfig path and no context,
/// in-cluster first then `KUBECONFIG` / `~/.kube/config`; a path (`--kubeconfig`, which may be a
/// `KUBECONFIG`-style list) and `--context` select explicitly.
pub async fn client(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<kube::Client, Error> {
    // kube's rustls uses the process-wide provider: `main` installs it at startup; a caller that
    // did not start in main (a test) gets it installed here, once.
    crate::crypto::install();
    let options = KubeConfigOptions {
        context,
        ..Default::default()
    };
    let mut config = match kubeconfig {
        Some(path) => {
            let mut merged: Option<Kubeconfig> = None;
            for p in std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()) {
                let next = Kubeconfig::read_from(&p).map_err(Error::Kubeconfig)?;
                merged = Some(match merged {
                    Some(m) => m.merge(next).map_err(Error::Kubeconfig)?,
                    None => next,
                });
            }
            let kc = merged.unwrap_or_default();
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(Error::Kubeconfig)?
        }
        None if options.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(Error::Kubeconfig)?,
        None => kube::Config::infer().await.map_err(Error::Infer)?,
    };
    // kube retries 429/503/504 up to 15 times over minutes inside one request, which would hide
    // an outage from the watcher: its own backoff (0.8 s to 30 s) retries instead, and each
    // failure is counted and logged as it happens.
    config.default_retry = false;
    kube::Client::try_from(config).map_err(Error::Client)
}

/// What `--once` lists: namespaces (empty: all), a label selector, or one `NAMESPACE/NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Namespaces; empty: all.
    pub namespaces: Vec<String>,
    /// Label selector, e.g. `team=edge`.
    pub selector: Option<String>,
    /// Only this Service (`NAMESPACE/NAME`); wins over `namespaces` and `selector`.
    pub service: Option<String>,
}

/// Lists the Services once and returns their targets, sorted by name (`--once`).
pub async fn list_once(
    client: kube::Client,
    filter: &ListFilter,
    defaults: &BackendSpec,
) -> Result<Vec<Target>, Error> {
    if let Some(spec) = &filter.service {
        let (ns, name) = spec
            .split_once('/')
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| Error::BadServiceName(spec.clone()))?;
        let api: Api<Service> = Api::namespaced(client, ns);
        let svc = api
            .get_opt(name)
            .await
            .map_err(Error::List)?
            .ok_or_else(|| Error::ServiceNotFound(spec.clone()))?;
        return service_to_targets(&svc, defaults)
            .ok_or_else(|| Error::ServiceNotSelected(spec.clone()));
    }
    let mut targets = Vec::new();
    for api in apis(&client, &filter.namespaces) {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(sel) = &filter.selector {
            lp = lp.labels(sel);
        }
        loop {
            let page = api.list(&lp).await.map_err(Error::List)?;
            for svc in &page.items {
                targets.extend(service_to_targets(svc, defaults).into_iter().flatten());
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => lp.continue_token = Some(token),
                None => break,
            }
        }
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(targets)
}

/// One `Api` per configured namespace (deduplicated), or one for all namespaces.
fn apis(client: &kube::Client, namespaces: &[String]) -> Vec<Api<Service>> {
    let unique: std::collections::BTreeSet<&String> = namespaces.iter().collect();
    if unique.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        unique
            .into_iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    }
}

/// The stable reason label for a watch error.
pub fn watch_error_reason(e: &watcher::Error) -> &'static str {
    match e {
        watcher::Error::InitialListFailed(_) => "list_failed",
        watcher::Error::WatchStartFailed(_) => "watch_start_failed",
        watcher::Error::WatchError(s) if s.code == 410 => "gone",
        watcher::Error::WatchError(_) => "watch_error",
        watcher::Error::WatchFailed(_) => "watch_failed",
        watcher::Error::NoResourceVersion => "no_resource_version",
    }
}

/// Every watched Service's targets, keyed by namespace/name, with per-watcher relist buffers.
#[derive(Default)]
struct Known {
    /// (namespace, name) → (watcher index, its targets).
    services: BTreeMap<(String, String), (usize, Vec<Target>)>,
    /// A relist in progress per watcher: what it has listed so far.
    relisting: HashMap<usize, BTreeMap<(String, String), Vec<Target>>>,
    synced: Vec<bool>,
    failing: Vec<bool>,
}

fn key(svc: &Service) -> (String, String) {
    (
        svc.metadata.namespace.clone().unwrap_or_default(),
        svc.metadata.name.clone().unwrap_or_default(),
    )
}

impl Known {
    /// Applies one event; true when the current set (may have) changed.
    fn apply(&mut self, w: usize, event: Event<Service>, defaults: &BackendSpec) -> bool {
        match event {
            Event::Init => {
                self.relisting.insert(w, BTreeMap::new());
                false
            }
            Event::InitApply(svc) => {
                let targets = service_to_targets(&svc, defaults).unwrap_or_default();
                if let Some(buf) = self.relisting.get_mut(&w) {
                    buf.insert(key(&svc), targets);
                }
                false
            }
            Event::InitDone => {
                let listed = self.relisting.remove(&w).unwrap_or_default();
                self.services.retain(|_, (owner, _)| *owner != w);
                for (k, targets) in listed {
                    self.services.insert(k, (w, targets));
                }
                self.synced[w] = true;
                true
            }
            Event::Apply(svc) => {
                let targets = service_to_targets(&svc, defaults).unwrap_or_default();
                self.services.insert(key(&svc), (w, targets));
                true
            }
            Event::Delete(svc) => self.services.remove(&key(&svc)).is_some(),
        }
    }

    fn all_targets(&self) -> Vec<Target> {
        let mut all: Vec<Target> = self
            .services
            .values()
            .flat_map(|(_, ts)| ts.iter().cloned())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}

/// Watches Services until `updates` is closed, sending the whole target set after each change
/// (debounced by [`DEBOUNCE`]) and `Synced` once every watcher has listed everything once.
pub async fn run(
    client: kube::Client,
    settings: &KubernetesSettings,
    defaults: BackendSpec,
    updates: UpdateSender,
    metrics: DiscoveryMetrics,
) {
    let mut config = watcher::Config::default();
    if let Some(sel) = &settings.selector {
        config = config.labels(sel);
    }
    let apis = apis(&client, &settings.namespaces);
    let n = apis.len();
    let streams = apis.into_iter().enumerate().map(|(w, api)| {
        watcher::watcher(api, config.clone())
            .default_backoff()
            .map(move |ev| (w, ev))
            .boxed()
    });
    let mut events = stream::select_all(streams);
    let mut known = Known {
        synced: vec![false; n],
        failing: vec![false; n],
        ..Default::default()
    };
    let synced_gauge = metrics.synced.with_label_values(&["kubernetes"]);
    synced_gauge.set(0);
    let mut announced_sync = false;
    let mut last_sent: Option<Vec<Target>> = None;
    let mut flush_at: Option<Instant> = None;
    loop {
        let flush = async {
            match flush_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            next = events.next() => {
                let Some((w, ev)) = next else { return };
                match ev {
                    Ok(ev) => {
                        if std::mem::take(&mut known.failing[w]) {
                            tracing::info!(watcher = w, "Kubernetes Service watch recovered");
                        }
                        if known.apply(w, ev, &defaults) && flush_at.is_none() {
                            flush_at = Some(Instant::now() + DEBOUNCE);
                        }
                    }
                    Err(e) => {
                        let reason = watch_error_reason(&e);
                        metrics.errors.with_label_values(&["kubernetes", reason]).inc();
                        if !std::mem::replace(&mut known.failing[w], true) {
                            tracing::warn!(error = %e, reason, "Kubernetes Service watch failed; \
                                keeping the last known targets and retrying with backoff");
                        }
                    }
                }
            }
            () = flush => {
                flush_at = None;
                if !known.synced.iter().any(|s| *s) {
                    continue;
                }
                let targets = known.all_targets();
                if last_sent.as_ref() != Some(&targets) {
                    let update = TargetUpdate::Replace { source: SourceId::Kubernetes, targets: targets.clone() };
                    if updates.send(update).await.is_err() {
                        return;
                    }
                    last_sent = Some(targets);
                }
                if !announced_sync && known.synced.iter().all(|s| *s) {
                    announced_sync = true;
                    synced_gauge.set(1);
                    if updates.send(TargetUpdate::Synced(SourceId::Kubernetes)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

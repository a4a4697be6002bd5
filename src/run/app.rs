//! Wiring: builds the engine, sinks and discovery sources from the settings and the command line,
//! then runs one pass (`--once`) or the daemon. Both run the same engine; only the loop and the
//! output differ. Every error here is a usage or configuration problem (exit code 2).

use std::sync::Arc;

use crate::cli::ProbeArgs;
use crate::config::settings::KubernetesSettings;
use crate::config::{self, ConfigError, Settings};
use crate::discovery::metrics::DiscoveryMetrics;
use crate::discovery::{SourceId, kube};
use crate::export::OutcomeSink;
use crate::export::alertmanager::{AlertmanagerError, Notifier};
use crate::export::events::EventPublisher;
use crate::export::metrics::Metrics;
use crate::pipeline::engine::{Engine, EngineError};
use crate::probe::acm::{AcmEnricher, AcmMetrics};
use crate::run::daemon::internal::InternalErrors;
use crate::run::daemon::schedule::ScheduleMetrics;
use crate::run::daemon::{self, DaemonError, DaemonParts, SourceTask};
use crate::run::once;

/// Why edgewatch could not run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The probe engine could not be built.
    #[error("configuration error: {0}")]
    Engine(#[from] EngineError),
    /// `alertmanager.url` is unusable.
    #[error("configuration error: {0}")]
    Alertmanager(#[from] AlertmanagerError),
    /// Kubernetes could not be reached or listed.
    #[error("Kubernetes: {0}")]
    Kubernetes(#[from] kube::Error),
    /// `--once` found nothing to probe.
    #[error("no targets: give --target, a config file with `targets:`, or Kubernetes discovery")]
    NoTargets,
    /// The daemon failed to start.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// Sharding could not start.
    #[error("sharding: {0}")]
    Shard(#[from] crate::run::shard::ShardError),
}

/// Loads the config file and `--target` flags, with command-line overrides applied.
pub fn load_settings(args: &ProbeArgs) -> Result<Settings, ConfigError> {
    let mut settings = config::load(args.config.as_deref(), &args.targets)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    Ok(settings)
}

/// One worker per core; on one core (`taskset -c 0`, a CPU limit of 1) a current-thread runtime,
/// which does the same work as a one-worker pool with less CPU (no hand-offs between threads).
pub fn runtime_builder() -> tokio::runtime::Builder {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all();
    builder
}

/// Runs `--once` (returning its exit code: 0 or 1) or the daemon (returning 0 when stopped).
pub async fn run(args: ProbeArgs, settings: Settings) -> Result<u8, AppError> {
    // One registry; each component registers its own handles in it as it is built.
    // With several replicas, each one's fleet series carry its `replica` (and `vantage`) label.
    let labels = crate::run::shard::wiring::fleet_labels(&args, &settings)?;
    let registry = prometheus::Registry::new_custom(None, Some(labels).filter(|l| !l.is_empty()))
        .expect("label names are constants");
    let metrics = Arc::new(Metrics::new(&registry));
    let engine = Engine::new(&settings)?
        .with_enricher(Arc::new(AcmEnricher::from_settings(
            &settings.acm,
            AcmMetrics::register(&registry),
        )))
        .with_enricher(crate::probe::egress::enricher(
            &settings.client_ip,
            settings.probe.source_ip,
            crate::checks::client_ip::will_be_judged,
        ));
    let engine = Arc::new(engine);
    let notifier = match &settings.alertmanager_url {
        Some(url) => {
            let notifier = Notifier::new(url, settings.alertmanager_resend, &registry)?;
            let url = crate::textsafe::redact_userinfo(url);
            tracing::info!(%url, "posting alerts to Alertmanager");
            Some(Arc::new(notifier))
        }
        None => None,
    };
    let kube = match kube_settings(&args, &settings) {
        Some(k) => Some((
            kube::client(args.kube.kubeconfig.clone(), args.kube.context.clone()).await?,
            k,
        )),
        None => None,
    };
    if args.once {
        return run_once(&args, settings, &engine, notifier.as_deref(), kube).await;
    }
    let discovery_metrics = DiscoveryMetrics::register(&registry);
    let schedule_metrics = ScheduleMetrics::register(&registry);
    let mut sinks: Vec<Arc<dyn OutcomeSink>> = vec![metrics.clone()];
    if let Some(notifier) = &notifier {
        notifier.spawn_resender();
        sinks.push(notifier.clone());
    }
    let shard = crate::run::shard::wiring::build(&args, &settings, &registry).await?;
    let mut sources: Vec<(SourceId, SourceTask)> = Vec::new();
    if let Some((client, k)) = kube {
        if k.events {
            sinks.push(Arc::new(EventPublisher::new(
                client.clone(),
                std::env::var("POD_NAME").ok(),
            )));
        }
        let defaults = settings.backend.clone();
        let metrics = discovery_metrics.clone();
        let start: SourceTask = Box::new(move |tx| {
            tokio::spawn(async move { kube::run(client, &k, defaults, tx, metrics).await })
        });
        sources.push((SourceId::Kubernetes, start));
    }
    daemon::run(DaemonParts {
        settings,
        config_path: args.config.clone(),
        flag_targets: args.targets.clone(),
        engine,
        metrics,
        discovery_metrics,
        schedule_metrics,
        internal_errors: InternalErrors::register(&registry),
        sinks,
        sources,
        shard,
    })
    .await?;
    Ok(0)
}

async fn run_once(
    args: &ProbeArgs,
    settings: Settings,
    engine: &Engine,
    notifier: Option<&Notifier>,
    kube: Option<(::kube::Client, KubernetesSettings)>,
) -> Result<u8, AppError> {
    let mut targets = settings.targets;
    if let Some((client, k)) = kube {
        let filter = kube::ListFilter {
            namespaces: k.namespaces.clone(),
            selector: k.selector.clone(),
            service: args.kube.service.clone(),
        };
        let found = kube::list_once(client, &filter, &settings.backend).await?;
        // `--service` is a post-deploy check of that one Service: nothing else is probed.
        if args.kube.service.is_some() {
            targets.clear();
        }
        targets.extend(found);
    }
    if targets.is_empty() {
        return Err(AppError::NoTargets);
    }
    let outcomes = once::probe_all(engine, targets, settings.concurrency).await;
    if let Some(notifier) = notifier {
        notifier.notify_once(&outcomes).await;
    }
    Ok(once::print_report(&outcomes, args.output) as u8)
}

/// Kubernetes discovery settings with the command line applied; `None` when discovery is off.
fn kube_settings(args: &ProbeArgs, settings: &Settings) -> Option<KubernetesSettings> {
    let mut k = settings.kubernetes.clone();
    k.enabled |= args.kube.kubernetes || args.kube.service.is_some();
    if !args.kube.namespaces.is_empty() {
        k.namespaces = args.kube.namespaces.clone();
    }
    if args.kube.selector.is_some() {
        k.selector = args.kube.selector.clone();
    }
    k.enabled.then_some(k)
}

//! Wiring: builds the engine, sinks and discovery sources from the settings and the command line,
//! then runs one pass (`--once`) or the daemon. Both run the same engine; only the loop and the
//! output differ. Every error here is a usage or configuration problem (exit code 2).

use std::sync::Arc;

use crate::cli::ProbeArgs;
use crate::config::ConfigError;
use crate::discovery::SourceId;
use crate::discovery::kube::{self, KubernetesSettings};
use crate::discovery::metrics::DiscoveryMetrics;
use crate::export::OutcomeSink;
use crate::export::alertmanager::{AlertmanagerError, Notifier};
use crate::export::events::EventPublisher;
use crate::export::latest::LatestOutcomes;
use crate::export::metrics::Metrics;
use crate::export::status_page::StatusPage;
use crate::pipeline::engine::{Engine, EngineError};
use crate::probe::acm::{AcmEnricher, AcmMetrics};
use crate::probe::aws::{AwsEnricher, AwsMetrics};
use crate::probe::tls_scan::{ScanSettings, TlsScanEnricher};
use crate::run::daemon::internal::InternalErrors;
use crate::run::daemon::schedule::ScheduleMetrics;
use crate::run::daemon::{self, DaemonError, DaemonParts, SourceTask};
use crate::run::once;
use crate::run::settings::{self, Settings};

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
    let mut settings = settings::load(args.config.as_deref(), &args.targets)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    // `--ca-file` adds to `tls.ca_file`: both are trusted beside Mozilla's roots.
    for path in &args.ca_files {
        settings.extra_anchors.extend(read_ca_file(path)?);
    }
    settings.aws.enabled |= args.aws;
    // The AWS checks are about the same resources as the ACM ones: one switch turns both on.
    settings.acm.enabled |= settings.aws.enabled;
    Ok(settings)
}

/// Reads one `--ca-file` bundle; errors name the flag and the file.
fn read_ca_file(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::TrustAnchor<'static>>, ConfigError> {
    if !path.is_file() {
        let message = format!("{} is not a readable file", path.display());
        return Err(ConfigError::new("--ca-file", "", message));
    }
    crate::checks::chain::read_anchors(path)
        .map_err(|e| ConfigError::new("--ca-file", "", e.to_string()))
}

/// Installs the process's SIGHUP handler (tokio's, kept for the life of the process) on a
/// throwaway runtime, before anything slow happens; the daemon's own `signal(hangup)` later
/// shares it. A SIGHUP that arrives in between is absorbed (the config is about to be read).
pub fn install_hangup_handler() -> Option<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .ok()?;
    rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    })
    .map(|_| ())
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

/// The engine with every enricher the settings turn on, their metrics in `registry`: what the
/// daemon, `--once` (`once`: TLS scans are awaited, not run in the background) and the demo all
/// run.
pub fn engine(
    settings: &Settings,
    registry: &prometheus::Registry,
    once: bool,
) -> Result<Engine, EngineError> {
    let engine = Engine::new(settings.engine())?
        .with_enricher(Arc::new(AcmEnricher::from_settings(
            &settings.acm,
            AcmMetrics::register(registry),
        )))
        .with_enricher(Arc::new(AwsEnricher::from_settings(
            &settings.aws,
            AwsMetrics::register(registry),
        )))
        .with_enricher(crate::probe::egress::enricher(
            &settings.client_ip,
            settings.probe.source_ip,
            crate::checks::client_ip::will_be_judged,
        ));
    Ok(with_tls_scan(engine, settings, once))
}

/// Runs `--once` (returning its exit code: 0 or 1) or the daemon (returning 0 when stopped).
pub async fn run(args: ProbeArgs, settings: Settings) -> Result<u8, AppError> {
    // One registry; each component registers its own handles in it as it is built.
    // With several replicas, each one's fleet series carry its `replica` (and `vantage`) label.
    let labels = crate::run::shard::wiring::fleet_labels(&args, &settings)?;
    let registry = prometheus::Registry::new_custom(None, Some(labels).filter(|l| !l.is_empty()))
        .expect("label names are constants");
    let metrics = Arc::new(Metrics::new(&registry));
    let engine = Arc::new(engine(&settings, &registry, args.once)?);
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
    let latest = Arc::new(LatestOutcomes::new());
    let status = Arc::new(StatusPage::new(latest.clone(), settings.interval));
    let discovery_metrics = DiscoveryMetrics::register(&registry);
    let schedule_metrics = ScheduleMetrics::register(&registry);
    let mut sinks: Vec<Arc<dyn OutcomeSink>> = vec![metrics.clone(), latest];
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
        status,
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

/// Adds the TLS scan behind `tls_policy` (unless `tls.scan: false`). `--once` waits for its
/// scans; the daemon runs them in the background and judges the last finished one.
fn with_tls_scan(engine: Engine, settings: &Settings, once: bool) -> Engine {
    if !settings.tls_scan.enabled {
        return engine;
    }
    let scan = ScanSettings {
        connect_timeout: settings.probe.connect_timeout,
        tls_timeout: settings.probe.tls_timeout,
        deadline: settings.tls_scan.deadline,
        source_ip: settings.probe.source_ip,
    };
    engine.with_enricher(Arc::new(TlsScanEnricher::new(
        scan,
        settings.tls_scan.interval,
        once,
    )))
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

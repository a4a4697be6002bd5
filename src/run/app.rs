//! Wiring: builds the engine, sinks and discovery sources from the settings and the command line,
//! then runs one pass (`--once`) or the daemon. Both run the same engine; only the loop and the
//! output differ. Every error here is a usage or configuration problem (exit code 2).

use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::ProbeArgs;
use crate::config::ConfigError;
use crate::discovery::SourceId;
use crate::discovery::kube::{self, KubernetesSettings};
use crate::discovery::metrics::DiscoveryMetrics;
use crate::export::OutcomeSink;
use crate::export::alertmanager::{AlertmanagerError, Notifier};
use crate::export::events::EventPublisher;
use crate::export::metrics::Metrics;
use crate::export::status_page::StatusPage;
use crate::pipeline::engine::{Engine, EngineError};
#[cfg(feature = "aws")]
use crate::probe::acm::{AcmEnricher, AcmMetrics};
#[cfg(feature = "aws")]
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
    /// The `--once` report could not be written (stdout closed).
    #[error("cannot write the report: {0}")]
    Output(#[source] std::io::Error),
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
    #[cfg(not(feature = "aws"))]
    refuse_aws(&settings, args)?;
    settings.aws.enabled |= args.aws;
    // The AWS checks are about the same resources as the ACM ones: one switch turns both on.
    settings.acm.enabled |= settings.aws.enabled;
    Ok(settings)
}

/// Without the `aws` cargo feature there is no AWS SDK in the binary: turning the ACM or AWS
/// lookups on is a configuration error (exit 2), not checks that quietly skip.
#[cfg(not(feature = "aws"))]
fn refuse_aws(settings: &Settings, args: &ProbeArgs) -> Result<(), ConfigError> {
    let (origin, field) = if args.aws {
        ("--aws".to_string(), "")
    } else if settings.aws.enabled || settings.acm.enabled {
        let origin = args.config.as_deref().map_or_else(
            || "(no config file)".to_string(),
            |p| p.display().to_string(),
        );
        let field = if settings.aws.enabled {
            "aws.enabled"
        } else {
            "acm.enabled"
        };
        (origin, field)
    } else {
        return Ok(());
    };
    Err(ConfigError::new(
        &origin,
        field,
        "this edgewatch was built without the `aws` feature (no AWS SDK), so it cannot ask ACM, \
         elbv2 or Route 53; turn this off, or use a build with default features",
    ))
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

/// The daemon's runtime, with its SIGHUP stream already registered in it: made first thing in
/// `main`, before the config is read, so a SIGHUP during startup is queued as a reload instead
/// of killing the process (the signal's default action). Hand both to [`run_with_hangup`].
pub fn daemon_runtime() -> std::io::Result<(tokio::runtime::Runtime, Signal)> {
    let runtime = runtime_builder().build()?;
    let hangup = runtime.block_on(async { signal(SignalKind::hangup()) })?;
    Ok((runtime, hangup))
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
    let engine = with_aws(Engine::new(settings.engine())?, settings, registry).with_enricher(
        crate::probe::egress::enricher(
            &settings.client_ip,
            settings.probe.source_ip,
            crate::checks::client_ip::will_be_judged,
        ),
    );
    Ok(with_tls_scan(engine, settings, once))
}

/// The ACM and AWS enrichers, their request counters in `registry` (the `aws` feature).
#[cfg(feature = "aws")]
fn with_aws(engine: Engine, settings: &Settings, registry: &prometheus::Registry) -> Engine {
    engine
        .with_enricher(Arc::new(AcmEnricher::from_settings(
            &settings.acm,
            AcmMetrics::register(registry),
        )))
        .with_enricher(Arc::new(AwsEnricher::from_settings(
            &settings.aws,
            AwsMetrics::register(registry),
        )))
}

/// Without the `aws` feature there are no AWS enrichers (`load_settings` refuses to turn them on).
#[cfg(not(feature = "aws"))]
fn with_aws(engine: Engine, _: &Settings, _: &prometheus::Registry) -> Engine {
    engine
}

/// Runs `--once` (returning its exit code: 0 or 1) or the daemon (returning 0 when stopped).
pub async fn run(args: ProbeArgs, settings: Settings) -> Result<u8, AppError> {
    run_with_hangup(args, settings, None).await
}

/// [`run`], with the daemon's SIGHUP stream made earlier (see [`daemon_runtime`]); `None`: the
/// daemon registers its own.
pub async fn run_with_hangup(
    args: ProbeArgs,
    settings: Settings,
    hangup: Option<Signal>,
) -> Result<u8, AppError> {
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
        return run_once(&args, settings, engine, notifier.as_deref(), kube).await;
    }
    // The status page reads the outcomes the metrics keep: one copy per target serves both.
    let status = Arc::new(StatusPage::new(metrics.latest(), settings.interval));
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
        status,
        sources,
        hangup,
        shard,
    })
    .await?;
    Ok(0)
}

async fn run_once(
    args: &ProbeArgs,
    settings: Settings,
    engine: Arc<Engine>,
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
    // Written as results arrive; stdout buffered so a line is not a write(2).
    let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let format = once::format(args.output);
    let configured = settings.concurrency_set.then_some(settings.concurrency);
    let concurrency = once::default_concurrency(configured, settings.concurrency);
    let probe = move |t: Arc<crate::discovery::target::Target>| {
        let engine = engine.clone();
        async move { engine.run(t).await }
    };
    let pass = once::probe_and_report(probe, targets, concurrency, format, out, notifier.is_some())
        .await
        .map_err(AppError::Output)?;
    if let Some(notifier) = notifier {
        notifier.notify_once(&pass.failing).await;
    }
    Ok(once::exit_code(&pass.tally) as u8)
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

#[cfg(all(test, not(feature = "aws")))]
mod tests {
    use clap::Parser;

    use crate::cli::Cli;

    fn load(args: &[&str]) -> Result<super::Settings, crate::config::ConfigError> {
        let cli =
            Cli::try_parse_from([&["edgewatch", "--target", "app.example.test"], args].concat())
                .expect("arguments parse");
        super::load_settings(&cli.probe)
    }

    #[test]
    fn without_the_aws_feature_turning_acm_or_aws_on_is_a_config_error_naming_the_switch() {
        assert!(load(&[]).is_ok(), "AWS off: builds and loads as usual");
        let err = load(&["--aws"]).unwrap_err().to_string();
        assert!(
            err.contains("--aws") && err.contains("without the `aws` feature"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        for (yaml, field) in [
            ("acm:\n  enabled: true\n", "acm.enabled"),
            ("aws:\n  enabled: true\n", "aws.enabled"),
        ] {
            let path = dir.path().join("edgewatch.yaml");
            std::fs::write(&path, yaml).unwrap();
            let err = load(&["--config", path.to_str().unwrap()])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(field) && err.contains("`aws` feature"),
                "{err}"
            );
        }
    }
}

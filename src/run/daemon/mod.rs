//! The daemon: discovery sources feed the supervisor, which schedules every target's probes;
//! outcomes go to metrics, logs and sinks; `/metrics` serves them. SIGHUP reloads the config
//! file's targets; SIGTERM/SIGINT stop gracefully.

pub mod guard;
pub mod internal;
pub mod observers;
pub mod schedule;
pub mod scheduler;
pub mod supervisor;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::discovery::metrics::DiscoveryMetrics;
use crate::discovery::{SourceId, TargetUpdate, UpdateSender};
use crate::export::OutcomeSink;
use crate::export::metrics::Metrics;
use crate::export::server;
use crate::export::status_page::StatusPage;
use crate::pipeline::engine::Engine;
use crate::run::settings::{self, Settings};
use internal::InternalErrors;
pub use observers::Observers;
use schedule::{LoopShared, ScheduleMetrics};
use supervisor::Supervisor;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The metrics address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("cannot install signal handler: {0}")]
    Signal(#[source] std::io::Error),
}

/// A discovery source the daemon starts besides the static targets.
pub type SourceTask = Box<dyn FnOnce(UpdateSender) -> tokio::task::JoinHandle<()> + Send>;

/// Everything the daemon is started with.
pub struct DaemonParts {
    /// Validated settings.
    pub settings: Settings,
    /// The config file, re-read on SIGHUP.
    pub config_path: Option<PathBuf>,
    /// `--target` flags (kept across reloads).
    pub flag_targets: Vec<String>,
    /// Probe-and-judge machinery.
    pub engine: Arc<Engine>,
    /// The outcome metrics, rendered at `/metrics` (also the first of `sinks`); they keep every
    /// target's last outcome, which the status page and the state-change logs read.
    pub metrics: Arc<Metrics>,
    /// Discovery's metrics (static targets' sync and reload errors, targets by source).
    pub discovery_metrics: DiscoveryMetrics,
    /// The scheduler's metrics.
    pub schedule_metrics: ScheduleMetrics,
    /// edgewatch's own failures.
    pub internal_errors: InternalErrors,
    /// Outcome sinks, in order (metrics with the status page's store, Alertmanager, Kubernetes
    /// Events).
    pub sinks: Vec<Arc<dyn OutcomeSink>>,
    /// The status page served at `/` (reads the metrics' store of last outcomes).
    pub status: Arc<StatusPage>,
    /// Extra discovery sources, with the id each reports as.
    pub sources: Vec<(SourceId, SourceTask)>,
    /// SIGHUP's stream when it was registered before the config was read (a SIGHUP during
    /// startup is then a reload, not the process's death); `None`: registered here.
    pub hangup: Option<Signal>,
    /// Sharing the targets with other replicas, when on.
    pub shard: Option<crate::run::shard::Shard>,
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(parts: DaemonParts) -> Result<(), DaemonError> {
    let DaemonParts {
        mut settings,
        config_path,
        flag_targets,
        engine,
        metrics,
        discovery_metrics,
        schedule_metrics,
        internal_errors,
        sinks,
        status,
        sources,
        hangup,
        shard,
    } = parts;
    let listener = server::bind(settings.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: settings.listen,
            source,
        })?;
    // The listener may hold a quarter of the descriptors; the rest is the probes' margin.
    let nofile = crate::run::fdlimit::soft_limit();
    let limits = crate::export::listener::Limits::for_descriptors(nofile);
    tracing::info!(listen = %settings.listen, max_connections = limits.max_connections, nofile,
        "serving / (status page), /status.json, /metrics, /healthz, /readyz");
    let shutdown = CancellationToken::new();
    let ready = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<TargetUpdate>(64);

    let mut waiting: HashSet<SourceId> = sources.iter().map(|(id, _)| id.clone()).collect();
    waiting.insert(SourceId::Static);
    let health = Arc::new(guard::LoopHealth::default());
    let shared = Arc::new(LoopShared {
        engine,
        permits: Arc::new(Semaphore::new(settings.concurrency)),
        metrics: schedule_metrics,
        discovery: discovery_metrics.clone(),
        observers: Arc::new(Observers::new(
            sinks,
            internal_errors.clone(),
            metrics.latest(),
        )),
        internal_errors,
        interval: settings.interval,
        health: health.clone(),
        epoch: tokio::time::Instant::now(),
    });
    let mut supervisor = Supervisor::new(shared, waiting, ready.clone());
    let mut extra = axum::Router::new();
    let mut keeper = None;
    if let Some(shard) = shard {
        extra = crate::run::shard::status::router(shard.hook.status.clone());
        supervisor = supervisor.with_shard(shard.hook);
        keeper = Some(tokio::spawn(shard.keeper.run(shutdown.clone())));
    }
    let supervisor = tokio::spawn(supervisor.run(rx, shutdown.clone()));
    let app = server::router_with_liveness(
        metrics.clone(),
        ready,
        status,
        Arc::new(move || health.healthy()),
    )
    .merge(extra);
    let server = tokio::spawn(server::serve(listener, app, limits, shutdown.clone()));

    let mut static_count = settings.targets.len();
    // Moved, not copied: with 10,000 targets every copy costs megabytes.
    send_static(&tx, std::mem::take(&mut settings.targets)).await;
    discovery_metrics
        .synced
        .with_label_values(&["static"])
        .set(1);
    let source_tasks: Vec<_> = sources
        .into_iter()
        .map(|(_, start)| start(tx.clone()))
        .collect();

    let mut hup = match hangup {
        Some(hup) => hup,
        None => signal(SignalKind::hangup()).map_err(DaemonError::Signal)?,
    };
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let reloaded =
                    reload(&config_path, &flag_targets, static_count, &tx, &discovery_metrics);
                if let Some(n) = reloaded.await {
                    static_count = n;
                }
            }
        }
    }
    tracing::info!("shutting down");
    shutdown.cancel();
    for t in source_tasks {
        t.abort();
    }
    // In-flight probes are bounded by their deadline; do not wait longer than that.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = supervisor.await;
        let _ = server.await;
        if let Some(k) = keeper {
            // Releases this replica's Lease, so the others take its targets at once.
            let _ = k.await;
        }
    })
    .await;
    Ok(())
}

async fn send_static(tx: &UpdateSender, targets: Vec<crate::discovery::target::Target>) {
    let _ = tx
        .send(TargetUpdate::Replace {
            source: SourceId::Static,
            targets,
        })
        .await;
    let _ = tx.send(TargetUpdate::Synced(SourceId::Static)).await;
}

/// Re-reads the config file's targets; a bad file is logged and the running set kept, and so is
/// a file that would remove every one of the `running` static targets without saying
/// `targets: []` (a file truncated to 0 bytes by a half-done write must not stop monitoring).
/// Returns the new number of static targets when the reload was applied.
async fn reload(
    path: &Option<PathBuf>,
    flags: &[String],
    running: usize,
    tx: &UpdateSender,
    metrics: &DiscoveryMetrics,
) -> Option<usize> {
    let loaded = settings::load(path.as_deref(), flags).and_then(|s| {
        if s.targets.is_empty() && running > 0 {
            let explicit = match path {
                Some(p) => crate::config::says_no_targets(&crate::config::read(p)?),
                None => false,
            };
            if !explicit {
                let origin = path.as_deref().map(|p| p.display().to_string());
                return Err(crate::config::ConfigError::new(
                    origin.as_deref().unwrap_or("(no config file)"),
                    "targets",
                    format!(
                        "the reload would remove all {running} static targets; write \
                         `targets: []` to mean that"
                    ),
                ));
            }
        }
        Ok(s)
    });
    match loaded {
        Ok(settings) => {
            let n = settings.targets.len();
            tracing::info!(
                targets = settings.targets.len(),
                "config reloaded (targets only; other settings need a restart)"
            );
            send_static(tx, settings.targets).await;
            Some(n)
        }
        Err(err) => {
            metrics
                .errors
                .with_label_values(&["static", "invalid_config"])
                .inc();
            tracing::error!(error = %err, "config reload failed; keeping the running targets");
            None
        }
    }
}

//! edgewatch's entry point: logging, configuration, dispatch. Exit codes: 0 all checks passed
//! (or a daemon stopped cleanly), 1 a check failed (`--once`), 2 usage or configuration error.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use edgewatch::acm::AcmEnricher;
use edgewatch::alertmanager::Notifier;
use edgewatch::cli::{Cli, Command, LogFormat, ProbeArgs};
use edgewatch::config::settings::KubernetesSettings;
use edgewatch::config::{self, Settings};
use edgewatch::daemon::{self, DaemonParts};
use edgewatch::discovery::SourceId;
use edgewatch::discovery::events::EventPublisher;
use edgewatch::engine::Engine;
use edgewatch::metrics::Metrics;
use edgewatch::once;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.probe.log_format);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Some(Command::Echo(args)) = cli.command {
        return run_echo(args);
    }
    let settings = match load_settings(&cli.probe) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("edgewatch: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Some(Command::CheckConfig)) || cli.probe.check_config {
        println!(
            "configuration is valid: {} static target(s)",
            settings.targets.len()
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("edgewatch: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.probe, settings)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("edgewatch: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run_echo(args: edgewatch::echo::EchoArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("edgewatch: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(edgewatch::echo::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("edgewatch echo: {err}");
            ExitCode::from(2)
        }
    }
}

fn load_settings(args: &ProbeArgs) -> Result<Settings, config::ConfigError> {
    let mut settings = config::load(args.config.as_deref(), &args.targets)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    Ok(settings)
}

async fn run(args: ProbeArgs, settings: Settings) -> anyhow::Result<u8> {
    let metrics = Arc::new(Metrics::new());
    let engine = Engine::new(&settings)
        .context("configuration error")?
        .with_enricher(Arc::new(AcmEnricher::from_settings(
            &settings.acm,
            metrics.clone(),
        )))
        .with_enricher(edgewatch::egress::enricher(
            &settings.client_ip,
            settings.probe.source_ip,
        ));
    let engine = Arc::new(engine);
    let notifier = match &settings.alertmanager_url {
        Some(url) => {
            let posts = metrics.alertmanager_posts.clone();
            let n = Notifier::new(url, settings.alertmanager_resend, posts)
                .context("configuration error")?;
            tracing::info!(%url, "posting alerts to Alertmanager");
            Some(Arc::new(n))
        }
        None => None,
    };
    let kube = kube_settings(&args, &settings);
    let client = match &kube {
        Some(_) => Some(
            edgewatch::discovery::kube::client(
                args.kube.kubeconfig.clone(),
                args.kube.context.clone(),
            )
            .await
            .context("Kubernetes")?,
        ),
        None => None,
    };
    if args.once {
        let mut targets = settings.targets.clone();
        if let (Some(k), Some(client)) = (&kube, &client) {
            let filter = edgewatch::discovery::kube::ListFilter {
                namespaces: k.namespaces.clone(),
                selector: k.selector.clone(),
                service: args.kube.service.clone(),
            };
            let found =
                edgewatch::discovery::kube::list_once(client.clone(), &filter, &settings.backend)
                    .await
                    .context("Kubernetes discovery")?;
            // `--service` is a post-deploy check of that one Service: nothing else is probed.
            if args.kube.service.is_some() {
                targets.clear();
            }
            targets.extend(found);
        }
        if targets.is_empty() {
            anyhow::bail!(
                "no targets: give --target, a config file with `targets:`, or Kubernetes discovery"
            );
        }
        let outcomes = once::probe_all(&engine, targets, settings.concurrency).await;
        if let Some(notifier) = &notifier {
            notifier.notify_once(&outcomes).await;
        }
        return Ok(once::print_report(&outcomes, args.output) as u8);
    }
    let mut sinks: Vec<Arc<dyn daemon::OutcomeSink>> = Vec::new();
    if let Some(notifier) = &notifier {
        notifier.spawn_resender();
        sinks.push(notifier.clone());
    }
    let mut sources: Vec<(SourceId, daemon::SourceTask)> = Vec::new();
    if let (Some(k), Some(client)) = (kube, client) {
        if k.events {
            let publisher = EventPublisher::new(client.clone(), std::env::var("POD_NAME").ok());
            sinks.push(Arc::new(publisher));
        }
        let defaults = settings.backend.clone();
        let metrics = metrics.clone();
        sources.push((
            SourceId::Kubernetes,
            Box::new(move |tx| {
                tokio::spawn(async move {
                    edgewatch::discovery::kube::run(client, &k, defaults, tx, metrics).await
                })
            }),
        ));
    }
    daemon::run(DaemonParts {
        settings,
        config_path: args.config.clone(),
        flag_targets: args.targets.clone(),
        engine,
        metrics,
        sinks,
        sources,
    })
    .await?;
    Ok(0)
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

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

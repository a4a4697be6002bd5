//! edgewatch's entry point: logging, configuration, dispatch. Exit codes: 0 all checks passed
//! (or a daemon stopped cleanly), 1 a check failed (`--once`), 2 usage or configuration error.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use edgewatch::acm::AcmEnricher;
use edgewatch::cli::{Cli, Command, LogFormat, ProbeArgs};
use edgewatch::config::{self, Settings};
use edgewatch::daemon::{self, DaemonParts};
use edgewatch::engine::Engine;
use edgewatch::metrics::Metrics;
use edgewatch::once;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.probe.log_format);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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
    let runtime = match runtime_builder().enable_all().build() {
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

/// One worker per core; on one core (`taskset -c 0`, a CPU limit of 1) a current-thread runtime,
/// which does the same work as a one-worker pool with less CPU (no hand-offs between threads).
fn runtime_builder() -> tokio::runtime::Builder {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
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
        )));
    let engine = Arc::new(engine);
    if args.once {
        if settings.targets.is_empty() {
            anyhow::bail!(
                "no targets: give --target, a config file with `targets:`, or Kubernetes discovery"
            );
        }
        let outcomes =
            once::probe_all(&engine, settings.targets.clone(), settings.concurrency).await;
        return Ok(once::print_report(&outcomes, args.output) as u8);
    }
    daemon::run(DaemonParts {
        settings,
        config_path: args.config.clone(),
        flag_targets: args.targets.clone(),
        engine,
        metrics,
        sinks: Vec::new(),
        sources: Vec::new(),
    })
    .await?;
    Ok(0)
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

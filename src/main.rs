//! edgewatch's entry point: logging, configuration, dispatch. Exit codes: 0 all checks passed
//! (or a daemon stopped cleanly), 1 a check failed (`--once`), 2 usage or configuration error.

use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use edgewatch::cli::{Cli, Command, LogFormat, docs};
use edgewatch::run::app;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.probe.log_format);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Some(Command::Echo(args)) = cli.command {
        return block_on("edgewatch echo", async {
            edgewatch::echo::run(args).await.map(|()| 0)
        });
    }
    match cli.command {
        Some(Command::Completions { shell }) => {
            docs::completions(shell, &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Command::Man) => {
            return match docs::man(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("edgewatch man: {err}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    let settings = match app::load_settings(&cli.probe) {
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
    block_on("edgewatch", app::run(cli.probe, settings))
}

/// Runs `work` on the runtime; its error is reported under `what` with exit code 2.
fn block_on<E: std::fmt::Display>(
    what: &str,
    work: impl Future<Output = Result<u8, E>>,
) -> ExitCode {
    let runtime = match app::runtime_builder().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("{what}: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(work) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{what}: {err}");
            ExitCode::from(2)
        }
    }
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

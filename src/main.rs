//! edgewatch's entry point: logging, configuration, dispatch. Exit codes: 0 all checks passed
//! (or a daemon stopped cleanly), 1 a check failed (`--once`), 2 usage or configuration error.

use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use edgewatch::cli::{Cli, Command, LogFormat, OutputFormat};
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
    // A SIGHUP before tokio's handler exists would kill the daemon (the default action), and
    // reading a large config takes time: install the handler first.
    let daemon = !cli.probe.once
        && !cli.probe.check_config
        && !matches!(cli.command, Some(Command::CheckConfig));
    let _early_hup = daemon.then(app::install_hangup_handler);
    let settings = match app::load_settings(&cli.probe) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("edgewatch: configuration error: {err}");
            if cli.probe.output == OutputFormat::Json {
                // A pipeline reading stdout gets a document, not nothing.
                let doc = serde_json::json!({
                    "ok": false,
                    "error": {"kind": err.as_str(), "message": err.to_string()},
                });
                println!("{doc}");
            }
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

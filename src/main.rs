//! edgewatch's entry point: logging, configuration, dispatch. Exit codes: 0 all checks passed
//! (or a daemon stopped cleanly), 1 a check failed (`--once`), 2 usage or configuration error.

use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use edgewatch::cli::{Cli, Command, LogFormat, OutputFormat, docs};
use edgewatch::run::app;

// mimalloc, not glibc's malloc: a daemon holding 10,000 targets' state makes glibc walk and
// merge free chunks on the probe path (a fifth of the daemon's CPU per probe in a profile:
// `_int_malloc`, `unlink_chunk`, `malloc_consolidate`) where mimalloc's per-size free lists do
// not; the bench's in-process roles use the same allocator (`benches/probe_cost/alloc.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc keeps freed pages for a second (its purge delay) before it returns them to the OS,
// and both the daemon and `--once` keep that default. `--once` used to return them after 20 ms,
// for a lower peak; the pages then came straight back as faults in the next probes. Measured at
// 10,000 targets with THP off (JSON, concurrency 64): after 20 ms 31-33 MiB peak and 32,000
// page faults, after 1 s 48 MiB and 8,900 (at concurrency 256: 39 MiB and 71,000 faults against
// 51 MiB and 15,700). Both peaks are well inside the 64 MiB `--once` must stay in; the faults
// and their `madvise` calls were CPU the daemon never spends. The daemon keeps the default for
// the same reason: returning pages at once cost it 10-15 % more CPU per probe.

/// Turns transparent huge pages off for this process (an operator's `MIMALLOC_ALLOW_THP` wins).
///
/// The daemon keeps every target's state for as long as it runs, and its heap is sparse: each
/// probe frees what the last one of its target kept. With THP (mimalloc asks for it), the kernel
/// backs and collapses such memory in 2 MiB pages, and RSS creeps up with pages barely used:
/// at 100,000 targets every 2 minutes, 265 MiB after a scrape with THP and 250 without (156
/// MiB of it in huge pages). And freed pages go back only when the kernel gets round to
/// splitting the huge page they are part of: a JSON pass over 10,000 targets peaked at 46 and
/// 57 MiB with THP, 34 without (when `--once` returned freed pages after 20 ms). CPU did not
/// move (daemon at 10,000 targets: 0.588 and 0.642 ms a probe without, 0.625 and 0.598 with;
/// `--once`: 7.9 and 8.0 s without, 8.3 and 8.0 with: within this VM's noise).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes integers and sets a flag of this process, which
        // applies to its existing mappings too. On failure (an old kernel), THP stays as it was.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let mut cli = Cli::parse();
    // A SIGHUP before any handler exists kills the process (its default action), and the
    // daemon's startup (reading a large config) takes time. So the daemon's runtime and its
    // SIGHUP stream come first: from here on a SIGHUP is queued, and handled as a reload once
    // the daemon runs. SIGTERM/SIGINT keep their default until then: during startup they stop
    // the process at once, which is what they ask for.
    let daemon = cli.command.is_none() && !cli.probe.once && !cli.probe.check_config;
    let early = daemon.then(app::daemon_runtime).and_then(Result::ok);
    init_logging(cli.probe.log_format);
    // Before anything opens sockets: the probes (and echo's connections) get every descriptor
    // the hard limit allows.
    edgewatch::run::fdlimit::raise_to_hard_limit();
    // The one crypto provider, installed once, before anything builds a TLS config.
    edgewatch::crypto::install();
    match cli.command {
        Some(Command::Echo(args)) => {
            return block_on("edgewatch echo", async {
                edgewatch::echo::run(args).await.map(|()| 0)
            });
        }
        Some(Command::Demo(args)) => {
            let format = cli.probe.log_format;
            return block_on("edgewatch demo", edgewatch::demo::run(args, format));
        }
        _ => {}
    }
    let check_only = matches!(cli.command, Some(Command::CheckConfig(_))) || cli.probe.check_config;
    if let Some(Command::CheckConfig(args)) = &cli.command
        && args.config.is_some()
    {
        cli.probe.config = args.config.clone();
    }
    if check_only && cli.probe.config.is_none() && cli.probe.targets.is_empty() {
        eprintln!("{NOTHING_TO_CHECK}");
        return ExitCode::from(2);
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
            // The message may quote the file's values: escaped, and no URL password.
            let text = err.to_string();
            eprintln!("edgewatch: configuration error: {}", safe(&text));
            if cli.probe.output == OutputFormat::Json {
                // A pipeline reading stdout gets a document, not nothing (JSON escapes it).
                let doc = serde_json::json!({
                    "ok": false,
                    "error": {
                        "kind": err.as_str(),
                        "message": edgewatch::textsafe::redact_userinfo(&text),
                    },
                });
                println!("{doc}");
            }
            return ExitCode::from(2);
        }
    };
    if check_only {
        let from = if cli.probe.config.is_none() {
            " (from --target; no config file given)"
        } else {
            ""
        };
        println!(
            "configuration is valid: {} static target(s){from}",
            settings.targets.len()
        );
        return ExitCode::SUCCESS;
    }
    match early {
        Some((runtime, hangup)) => finish(
            "edgewatch",
            runtime.block_on(app::run_with_hangup(cli.probe, settings, Some(hangup))),
        ),
        None => block_on("edgewatch", app::run(cli.probe, settings)),
    }
}

/// `text` fit for the terminal: control characters escaped, URL passwords out.
fn safe(text: &str) -> String {
    edgewatch::textsafe::escape(&edgewatch::textsafe::redact_userinfo(text)).into_owned()
}

/// `check-config` without anything to check is a usage error, not a valid configuration.
const NOTHING_TO_CHECK: &str = "edgewatch: check-config: nothing to check: give --config FILE (or set EDGEWATCH_CONFIG) or --target SPEC";

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
    finish(what, runtime.block_on(work))
}

/// The exit code of `result`; its error is reported under `what` with exit code 2.
fn finish<E: std::fmt::Display>(what: &str, result: Result<u8, E>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{what}: {}", safe(&err.to_string()));
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
        // Outside text (target names, certificate subjects, server errors) is escaped.
        LogFormat::Text => builder
            .fmt_fields(edgewatch::run::logfields::EscapedFields)
            .init(),
    }
}

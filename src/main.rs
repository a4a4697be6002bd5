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

// mimalloc by default keeps freed pages for a second before it returns them to the OS. A `--once`
// pass over 10,000 targets, whose probes free about 100 KB each, then peaked at 69 MiB where 41
// were enough; so `--once` returns them after 20 ms. Measured at 10,000 targets (text; JSON):
// at once (0 ms) 41 MiB and 0.40; 0.45 ms CPU per target, the freed pages faulted back in by
// the next probes; after 20 ms 44-52 MiB and 0.37; 0.44 ms; after 50 ms up to 61 MiB; from
// 100 ms on 68-69 MiB. The daemon keeps the default: returning pages at once cost it 10-15 %
// more CPU per probe (0.361 against 0.310-0.334 ms at 10,000 targets) for 10 MiB less RSS.

/// `mi_option_purge_delay`: its place in mimalloc's `mi_option_t` (v2 and v3 headers alike;
/// `libmimalloc-sys` names no constant for it). A test checks it is that option.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long `--once` lets mimalloc keep freed pages (see above).
const ONCE_PURGE_DELAY_MS: std::ffi::c_long = 20;

/// Returns freed pages to the OS after [`ONCE_PURGE_DELAY_MS`] instead of mimalloc's second.
fn return_freed_memory_soon() {
    // SAFETY: sets an option by value; mimalloc reads its options at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ONCE_PURGE_DELAY_MS) }
}

/// Turns transparent huge pages off for this process (an operator's `MIMALLOC_ALLOW_THP` wins).
///
/// The daemon keeps every target's state for as long as it runs, and its heap is sparse: each
/// probe frees what the last one of its target kept. With THP (mimalloc asks for it), the kernel
/// backs and collapses such memory in 2 MiB pages, and RSS creeps up with pages barely used:
/// at 100,000 targets every 2 minutes, 265 MiB after a scrape with THP and 250 without (156
/// MiB of it in huge pages). And the pages `--once` frees (see [`return_freed_memory_soon`])
/// go back only when the kernel gets round to splitting the huge page they are part of: a JSON
/// pass over 10,000 targets peaked at 46 and 57 MiB with THP, 34 without. CPU did not move
/// (daemon at 10,000 targets: 0.588 and 0.642 ms a probe without, 0.625 and 0.598 with;
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
    // An operator's MIMALLOC_PURGE_DELAY (read by mimalloc itself) wins.
    if cli.probe.once && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        return_freed_memory_soon();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's resident bytes, from /proc. This test binary allocates with mimalloc too
    /// and runs only this test, so the blocks below are most of it.
    fn rss() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: usize = statm
            .split(' ')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap();
        pages * 4096
    }

    #[test]
    fn freed_pages_go_back_to_the_os_soon() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads an option.
            let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
            assert_eq!(
                default, 1000,
                "option 15 is purge_delay (mimalloc v3 default 1000 ms)"
            );
        }
        // As `main` does first: the kernel frees part of a huge page only once it splits it,
        // later, so with THP the RSS this reads depends on whether the blocks got huge pages.
        no_transparent_huge_pages();
        return_freed_memory_soon();
        const BLOCK: usize = 64 * 1024;
        const BLOCKS: usize = 512;
        let blocks: Vec<Vec<u8>> = (0..BLOCKS).map(|_| vec![1u8; BLOCK]).collect();
        let full = rss();
        drop(blocks);
        // Purges run at mimalloc's next chance after the delay; this waits it out and gives it one.
        std::thread::sleep(std::time::Duration::from_millis(
            ONCE_PURGE_DELAY_MS as u64 * 3,
        ));
        // SAFETY: collects this thread's heap.
        unsafe { libmimalloc_sys::mi_collect(false) };
        let after = rss();
        eprintln!(
            "RSS holding 32 MB: {:.1} MB; after freeing it: {:.1} MB",
            full as f64 / 1e6,
            after as f64 / 1e6
        );
        assert!(
            after + BLOCK * BLOCKS / 2 < full,
            "most of the freed 32 MB went back to the OS within the delay"
        );
    }
}

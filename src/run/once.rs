//! `--once`: probe every target one time (same engine as the daemon), print the report, and
//! return the exit code: 0 when no check failed, 1 otherwise.
//!
//! The report is written as results arrive, in target-name order, so memory does not grow with
//! the fleet: each probe runs in its own task (as in the daemon, so one probe's CPU work never
//! delays the timing of another), renders its part of the report there and drops the
//! observation; only rendered parts that wait for an earlier, slower target are held, at most
//! [`reorder_window`] of them.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use futures::stream::{self, FuturesUnordered, StreamExt};

use crate::checks::Status;
use crate::cli::OutputFormat;
use crate::discovery::target::Target;
use crate::export::report::Style;
use crate::export::report::stream::{Entry, Format, ReportWriter, Tally};
use crate::pipeline::engine::Engine;
use crate::pipeline::outcome::Outcome;

/// Probes `targets` with at most `concurrency` at once; outcomes in target-name order. Holds
/// every outcome: for small sets (the demo); `--once` streams with [`probe_and_report`].
pub async fn probe_all(engine: &Engine, targets: Vec<Target>, concurrency: usize) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = stream::iter(targets)
        .map(|t| engine.run(Arc::new(t)))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.target.name.cmp(&b.target.name));
    outcomes
}

/// The report format for `--output` (colour only on a terminal).
pub fn format(output: OutputFormat) -> Format {
    match output {
        OutputFormat::Json => Format::Json,
        OutputFormat::Text => Format::Text(Style {
            colour: std::io::stdout().is_terminal(),
        }),
    }
}

/// The most probes `--once` runs at once unless `concurrency` is set. The daemon's default is
/// sized so that probes due every interval start on time; a single pass has no interval, and
/// thousands of handshakes started in one burst only queue behind each other on the CPU (their
/// phase timings then measure the queue), cost more per probe and hold a socket and TLS state
/// each. A few hundred keep loopback and real fleets busy; slow or silent targets hold a slot
/// until their deadline, so a pass over many dead targets takes longer (set `concurrency`).
pub const ONCE_DEFAULT_CONCURRENCY: usize = 256;

/// `--once`'s concurrency: the configured one, else the daemon's default capped at
/// [`ONCE_DEFAULT_CONCURRENCY`].
pub fn default_concurrency(configured: Option<usize>, daemon_default: usize) -> usize {
    configured.unwrap_or(daemon_default.min(ONCE_DEFAULT_CONCURRENCY))
}

/// Probes started at once at the beginning of a pass; each finished probe then lets two more
/// start (one more in flight), so the limit doubles every probe duration up to `concurrency`.
/// Started all at once, the first batch's DNS answers and connects land together and wait for
/// the CPU behind each other's handshakes: their `connect_ms` measured that queue (170 ms and
/// more for the first 64 of 256 where later ones read 0.3 ms), not the network.
pub const SLOW_START: usize = 8;

/// How many targets may be started past the first one not yet written: the in-flight probes
/// plus as many rendered parts waiting behind a slow one.
pub fn reorder_window(concurrency: usize) -> usize {
    concurrency.max(1) * 2
}

/// What [`probe_and_report`] returns besides the written report.
#[derive(Debug, Default)]
pub struct Pass {
    /// The report's counts.
    pub tally: Tally,
    /// The failing targets with their failed checks only (no observation), when asked for
    /// (Alertmanager needs them); empty otherwise.
    pub failing: Vec<Outcome>,
    /// The most rendered targets held at once, waiting for an earlier one (never more than
    /// [`reorder_window`]).
    pub most_waiting: usize,
}

/// One target's result as its task hands it back.
struct Done {
    index: usize,
    entry: Entry,
    failing: Option<Outcome>,
}

/// Probes every target (at most `concurrency` at once, each with `probe` in its own task) and
/// writes the report to `out` in target-name order as results arrive. `keep_failing`: also
/// return the failing targets' failed checks (for Alertmanager).
pub async fn probe_and_report<W, P, F>(
    probe: P,
    mut targets: Vec<Target>,
    concurrency: usize,
    format: Format,
    out: W,
    keep_failing: bool,
) -> std::io::Result<Pass>
where
    W: Write,
    P: Fn(Arc<Target>) -> F,
    F: Future<Output = Outcome> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let window = reorder_window(concurrency);
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut pending = targets.into_iter().enumerate();
    let mut in_flight = FuturesUnordered::new();
    let mut waiting: BTreeMap<usize, Entry> = BTreeMap::new();
    let mut writer = ReportWriter::start(out, format)?;
    let mut pass = Pass::default();
    let (mut started, mut written) = (0usize, 0usize);
    let mut limit = SLOW_START.min(concurrency);
    loop {
        while in_flight.len() < limit && started < written + window {
            let Some((index, target)) = pending.next() else {
                break;
            };
            // Boxed: a probe's future is about 4.6 KB, and the task below would otherwise
            // carry it by value through every move of spawning (a callgrind profile counted
            // seven 4.8 KB copies a target, 2.7 % of a pass's instructions); boxed, it is
            // copied once and the task moves a pointer.
            let probing = Box::pin(probe(Arc::new(target)));
            in_flight.push(tokio::spawn(async move {
                let outcome = probing.await;
                let entry = Entry::render(&outcome, format);
                let failing = (keep_failing && !outcome.ok()).then(|| failed_only(outcome));
                Done {
                    index,
                    entry,
                    failing,
                }
            }));
            started += 1;
        }
        let Some(joined) = in_flight.next().await else {
            break;
        };
        let done = match joined {
            Ok(done) => done,
            // A panicking probe is a bug: surface it as before, not as a missing target.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        limit = (limit + 1).min(concurrency);
        pass.failing.extend(done.failing);
        waiting.insert(done.index, done.entry);
        pass.most_waiting = pass.most_waiting.max(waiting.len());
        while let Some(entry) = waiting.remove(&written) {
            writer.write(&entry)?;
            written += 1;
        }
    }
    pass.tally = writer.finish()?;
    Ok(pass)
}

/// The outcome without its observation and with its failed checks only: what an alert needs.
fn failed_only(outcome: Outcome) -> Outcome {
    Outcome {
        target: outcome.target,
        observation: None,
        results: outcome
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| r.to_result())
            .collect::<Vec<_>>()
            .into(),
    }
}

/// The exit code for a pass: 0 when no check failed, 1 otherwise.
pub fn exit_code(tally: &Tally) -> i32 {
    if tally.ok() { 0 } else { 1 }
}

#[cfg(test)]
mod tests;

//! `--once`: probe every target one time (same engine as the daemon), print the report, and
//! return the exit code: 0 when no check failed, 1 otherwise.

use std::io::IsTerminal;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::cli::OutputFormat;
use crate::discovery::target::Target;
use crate::export::report::{self, Style};
use crate::pipeline::engine::Engine;
use crate::pipeline::outcome::Outcome;

/// Probes `targets` with at most `concurrency` at once; outcomes in target-name order.
pub async fn probe_all(engine: &Engine, targets: Vec<Target>, concurrency: usize) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = stream::iter(targets)
        .map(|t| engine.run(Arc::new(t)))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.target.name.cmp(&b.target.name));
    outcomes
}

/// Prints the report to stdout and returns the exit code.
pub fn print_report(outcomes: &[Outcome], format: OutputFormat) -> i32 {
    match format {
        OutputFormat::Json => {
            let doc = report::to_json(outcomes);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            let style = Style {
                colour: std::io::stdout().is_terminal(),
            };
            print!("{}", report::to_text(outcomes, style));
        }
    }
    if outcomes.iter().all(Outcome::ok) {
        0
    } else {
        1
    }
}

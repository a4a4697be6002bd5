//! The benchmark's tables: per tool, medians over rounds of CPU ms per probe and probes per
//! second, the peak RSS, and the ratios the goals are stated in; then the scale runs.

use std::fmt::Write as _;
use std::time::Duration;

use crate::procfs::{Round, median};
use crate::scale::ScaleResult;

/// Rounds per tool, in first-seen order.
#[derive(Default)]
pub struct Table {
    rows: Vec<(String, Vec<Round>)>,
}

impl Table {
    /// Adds one round of `tool`.
    pub fn add(&mut self, tool: &str, round: Round) {
        match self.rows.iter_mut().find(|(t, _)| t == tool) {
            Some((_, rounds)) => rounds.push(round),
            None => self.rows.push((tool.to_string(), vec![round])),
        }
    }

    /// Panics unless every round of every tool completed `probes` probes, all healthy: the
    /// harness's own self-check (a tool that fails its probes measures nothing).
    pub fn check_complete(&self, probes: u64) {
        for (tool, rounds) in &self.rows {
            for r in rounds {
                assert_eq!(r.probes, probes, "{tool}: probes completed");
                assert_eq!(
                    r.ok, probes,
                    "{tool}: probes that found the endpoint healthy"
                );
            }
        }
    }

    fn cpu(&self, tool: &str) -> f64 {
        self.rows
            .iter()
            .find(|(t, _)| t == tool)
            .map(|(_, r)| median(r.iter().map(Round::cpu_ms_per_probe).collect()))
            .unwrap_or(f64::NAN)
    }

    /// The comparison table (markdown); `measured` is false for the quick self-check, whose
    /// few probes measure nothing, so its ratios are shown without a verdict.
    pub fn render(&self, measured: bool) -> String {
        let mut out = String::from(
            "| tool | CPU ms/probe (median) | min..max | probes/s (median) | peak RSS MiB | rounds |\n\
             |---|---|---|---|---|---|\n",
        );
        for (tool, rounds) in &self.rows {
            let cpu: Vec<f64> = rounds.iter().map(Round::cpu_ms_per_probe).collect();
            let lo = cpu.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = cpu.iter().copied().fold(0.0, f64::max);
            let hwm = rounds.iter().map(|r| r.hwm_kib).max().unwrap_or(0);
            let _ = writeln!(
                out,
                "| {tool} | {:.3} | {lo:.3}..{hi:.3} | {:.0} | {:.1} | {} |",
                median(cpu.clone()),
                median(rounds.iter().map(Round::rate).collect()),
                hwm as f64 / 1024.0,
                rounds.len()
            );
        }
        let (floor, ew) = (self.cpu("floor (bare rustls)"), self.cpu("edgewatch"));
        let (ew_nc, bb) = (
            self.cpu("edgewatch (no DNS cache)"),
            self.cpu("blackbox_exporter"),
        );
        let _ = write!(
            out,
            "\nedgewatch / floor = {:.2} ({}); without DNS cache {:.2}\n\
             blackbox_exporter / edgewatch = {:.2} ({}); without DNS cache {:.2}\n",
            ew / floor,
            goal(ew / floor, Bound::AtMost(1.3), measured),
            ew_nc / floor,
            bb / ew,
            goal(bb / ew, Bound::AtLeast(2.5), measured),
            bb / ew_nc
        );
        out
    }
}

/// A goal a ratio is held to.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// The ratio must be at most this.
    AtMost(f64),
    /// The ratio must be at least this.
    AtLeast(f64),
}

/// The verdict printed beside a ratio: `goal >= 2.5: met` or `goal >= 2.5: MISSED` after a
/// measurement; after the self-check (a few probes, one round) it says no verdict is given, so
/// a ratio below its goal never reads like a pass, nor a noisy one like a failure.
pub fn goal(ratio: f64, bound: Bound, measured: bool) -> String {
    let (text, met) = match bound {
        Bound::AtMost(b) => (format!("goal <= {b}"), ratio <= b),
        Bound::AtLeast(b) => (format!("goal >= {b}"), ratio >= b),
    };
    match (measured, met) {
        (false, _) => format!("{text}: not judged, self-check only, not a measurement"),
        (true, true) => format!("{text}: met"),
        (true, false) => format!("{text}: MISSED"),
    }
}

/// The verdict wording, checked by the self-check itself (the bench has no test harness).
pub fn check_goal_wording() {
    assert_eq!(goal(1.33, Bound::AtLeast(2.5), true), "goal >= 2.5: MISSED");
    assert_eq!(goal(3.31, Bound::AtLeast(2.5), true), "goal >= 2.5: met");
    assert_eq!(goal(0.78, Bound::AtMost(1.3), true), "goal <= 1.3: met");
    assert_eq!(
        goal(1.33, Bound::AtLeast(2.5), false),
        "goal >= 2.5: not judged, self-check only, not a measurement"
    );
}

/// The scale table (markdown) and the idle daemon's CPU.
pub fn scale(results: &[ScaleResult], idle_cpu_s: f64, idle_window: Duration) -> String {
    let mut out = String::from(
        "| targets | interval | window s | probes (ok) / due | CPU share of 1 core | CPU ms/probe | \
         late (total) | lag <=0.1s / <=1s / all | peak RSS MiB | peak RSS after scrape MiB | \
         scrape CPU ms |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let bucket = |le: &str| {
            r.lag_buckets
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0, |(_, v)| *v)
        };
        let _ = writeln!(
            out,
            "| {} | {}s | {:.1} | {} ({}) / {:.0} | {:.1}% | {:.3} | {} | {} / {} / {} | {:.1} | {:.1} | {:.0} |",
            r.targets,
            r.interval_s,
            r.window_s,
            r.probes,
            r.ok,
            r.targets as f64 * r.window_s / r.interval_s,
            r.cpu_share * 100.0,
            r.cpu_ms_per_probe,
            r.late,
            bucket("0.1"),
            bucket("1"),
            bucket("+Inf"),
            r.hwm_kib as f64 / 1024.0,
            r.hwm_after_scrape_kib as f64 / 1024.0,
            r.scrape_cpu_ms
        );
    }
    let _ = write!(
        out,
        "\nidle daemon (1 target, hourly): {:.0} ms CPU in {:?}\n",
        idle_cpu_s * 1e3,
        idle_window
    );
    out
}

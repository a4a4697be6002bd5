//! The goals of issue 15 and the verdict beside each: `met` or `MISSED` after a measurement,
//! `not judged` (with why) when the run could not say: the self-check's few probes, or a row
//! the run did not include. A miss never reads like a pass.

use std::fmt::Write as _;

/// A goal a figure is held to.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// The figure must be at most this.
    AtMost(f64),
    /// The figure must be at least this.
    AtLeast(f64),
}

/// One goal's line: what it asks, the figure, and the verdict.
pub struct Goal {
    /// What the goal asks, e.g. `daemon (10,000) / in-process loop`.
    pub what: String,
    /// The measured figure, when the run has one.
    pub figure: Option<f64>,
    /// The bound.
    pub bound: Bound,
    /// Why there is no verdict, when the figure is missing.
    pub missing: &'static str,
}

/// The verdict wording: `goal <= 1.15: met`, `goal <= 1.15: MISSED`, or `not judged: <why>`.
pub fn verdict(figure: Option<f64>, bound: Bound, measured: bool, missing: &str) -> String {
    let (text, met) = match (bound, figure) {
        (Bound::AtMost(b), Some(f)) => (format!("goal <= {b}"), f <= b),
        (Bound::AtLeast(b), Some(f)) => (format!("goal >= {b}"), f >= b),
        (Bound::AtMost(b), None) => (format!("goal <= {b}"), false),
        (Bound::AtLeast(b), None) => (format!("goal >= {b}"), false),
    };
    match (measured, figure, met) {
        (false, _, _) => format!("{text}: not judged, self-check only, not a measurement"),
        (true, None, _) => format!("{text}: not judged, {missing}"),
        (true, Some(f), _) if f.is_nan() => format!("{text}: not judged, {missing}"),
        (true, Some(_), true) => format!("{text}: met"),
        (true, Some(_), false) => format!("{text}: MISSED"),
    }
}

/// The goals as lines: `- what = figure (verdict)`.
pub fn render(goals: &[Goal], measured: bool) -> String {
    let mut out = String::from("Goals:\n");
    for g in goals {
        let figure = g
            .figure
            .filter(|f| !f.is_nan())
            .map_or("-".to_string(), |f| format!("{f:.3}"));
        let _ = writeln!(
            out,
            "- {} = {figure} ({})",
            g.what,
            verdict(g.figure, g.bound, measured, g.missing)
        );
    }
    out
}

/// The verdict wording, checked by the self-check itself (the bench has no test harness).
pub fn check_wording() {
    let v = |f, b, m| verdict(f, b, m, "no such run");
    assert_eq!(
        v(Some(1.33), Bound::AtLeast(2.5), true),
        "goal >= 2.5: MISSED"
    );
    assert_eq!(v(Some(3.31), Bound::AtLeast(2.5), true), "goal >= 2.5: met");
    assert_eq!(
        v(Some(1.2), Bound::AtMost(1.15), true),
        "goal <= 1.15: MISSED"
    );
    assert_eq!(v(Some(0.78), Bound::AtMost(1.3), true), "goal <= 1.3: met");
    assert_eq!(
        v(None, Bound::AtMost(1.1), true),
        "goal <= 1.1: not judged, no such run"
    );
    assert_eq!(
        v(Some(1.33), Bound::AtLeast(2.5), false),
        "goal >= 2.5: not judged, self-check only, not a measurement"
    );
}

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::checks::{CheckName, CheckResult};
use crate::discovery::target::{Target, TargetSource};
use crate::export::report;

/// Targets `t00.test` .. in a shuffled order; target `i` fails its DNS check when `i % 3 == 0`.
fn targets(n: usize) -> Vec<Target> {
    let mut v: Vec<Target> = (0..n)
        .map(|i| Target::new(format!("t{i:02}.test"), 443, TargetSource::Flag))
        .collect();
    v.reverse();
    v.swap(0, n / 2);
    v
}

fn outcome(target: Arc<Target>) -> Outcome {
    let i: usize = target.hostname[1..3].parse().unwrap();
    let results = if i.is_multiple_of(3) {
        vec![
            CheckResult::fail(
                CheckName::Dns,
                "nxdomain",
                format!("{} does not resolve", target.hostname),
            ),
            CheckResult::skip(CheckName::DnsAlias, "dns_failed", "no address"),
        ]
    } else {
        vec![CheckResult::pass(CheckName::Dns, "resolves")]
    };
    Outcome {
        target,
        observation: None,
        results: results.into(),
    }
}

/// A probe that finishes after `delay(i)` (tokio's paused clock), so completion order differs
/// from name order.
fn probe_with_delay(
    delay: fn(usize) -> u64,
) -> impl Fn(Arc<Target>) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> {
    move |t: Arc<Target>| {
        let i: usize = t.hostname[1..3].parse().unwrap();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(delay(i))).await;
            outcome(t)
        })
    }
}

fn all_outcomes(n: usize) -> Vec<Outcome> {
    let mut v: Vec<Outcome> = targets(n)
        .into_iter()
        .map(|t| outcome(Arc::new(t)))
        .collect();
    v.sort_by(|a, b| a.target.name.cmp(&b.target.name));
    v
}

#[tokio::test(start_paused = true)]
async fn text_report_streamed_in_any_completion_order_is_the_whole_report_in_name_order() {
    let style = Style { colour: false };
    let mut out = Vec::new();
    let pass = probe_and_report(
        probe_with_delay(|i| ((i * 7) % 11) as u64),
        targets(20),
        4,
        Format::Text(style),
        &mut out,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        report::to_text(&all_outcomes(20), style)
    );
    assert_eq!(pass.tally.targets, 20);
    assert_eq!(pass.tally.failing_targets, 7);
    assert!(pass.failing.is_empty(), "not asked for");
}

#[tokio::test(start_paused = true)]
async fn json_report_streamed_holds_the_same_targets_and_summary_as_the_whole_document() {
    let mut out = Vec::new();
    let pass = probe_and_report(
        probe_with_delay(|i| ((i * 5) % 7) as u64),
        targets(20),
        3,
        Format::Json,
        &mut out,
        true,
    )
    .await
    .unwrap();
    let streamed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let whole = report::to_json(&all_outcomes(20));
    assert_eq!(streamed["targets"], whole["targets"]);
    assert_eq!(streamed["summary"], whole["summary"]);
    assert_eq!(streamed["ok"], false);
    // Laid out as serde_json lays out the same document.
    let pretty = serde_json::to_string_pretty(&streamed).unwrap() + "\n";
    assert_eq!(String::from_utf8(out).unwrap(), pretty);
    // Alertmanager gets the failing targets with their failed checks only.
    assert_eq!(pass.failing.len(), 7);
    for o in &pass.failing {
        assert!(o.observation.is_none());
        assert_eq!(o.results.len(), 1);
        assert_eq!(
            o.results.iter().next().map(|r| r.status),
            Some(Status::Fail)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_target_holds_back_at_most_the_reorder_window() {
    // t00 takes 10 s, every other target 1 ms: everything after t00 waits for it, but no more
    // than the window is started past it, so memory stays bounded.
    let mut out = Vec::new();
    let concurrency = 4;
    let pass = probe_and_report(
        probe_with_delay(|i| if i == 0 { 10_000 } else { 1 }),
        targets(50),
        concurrency,
        Format::Text(Style { colour: false }),
        &mut out,
        false,
    )
    .await
    .unwrap();
    assert_eq!(pass.tally.targets, 50);
    assert_eq!(pass.most_waiting, reorder_window(concurrency));
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("FAIL t00.test:443"), "{text}");
}

#[test]
fn once_concurrency_is_the_configured_one_else_the_daemon_default_capped() {
    assert_eq!(default_concurrency(Some(5000), 8000), 5000);
    assert_eq!(default_concurrency(None, 8000), ONCE_DEFAULT_CONCURRENCY);
    assert_eq!(default_concurrency(None, 64), 64);
}

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::checks::CheckResult;
use crate::discovery::target::{Target, TargetSource};

fn outcome(name: &str, results: Vec<CheckResult>) -> Outcome {
    let mut target = Target::new("app.example.test", 443, TargetSource::Config);
    target.name = name.to_string();
    Outcome {
        target: Arc::new(target),
        observation: None,
        results: results.into(),
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn failing_backend() -> CheckResult {
    CheckResult::fail(CheckName::Backend, "bad_status", "503").at("127.0.0.1".parse().unwrap())
}

#[test]
fn failing_since_is_the_first_failure_and_survives_later_failing_probes() {
    let store = LatestOutcomes::new();
    store.record(
        &outcome("a", vec![CheckResult::pass(CheckName::Dns, "ok")]),
        at(100),
    );
    assert_eq!(store.snapshot()[0].failing_since, None);
    store.record(&outcome("a", vec![failing_backend()]), at(200));
    store.record(&outcome("a", vec![failing_backend()]), at(300));
    let latest = &store.snapshot()[0];
    assert_eq!(latest.failing_since, Some(at(200)));
    assert_eq!(latest.probed_at, at(300));
    let ip = "127.0.0.1".parse().ok();
    assert_eq!(latest.check_since(CheckName::Backend, ip), Some(at(200)));
}

#[test]
fn a_passing_probe_clears_the_failure_and_the_next_failure_starts_afresh() {
    let store = LatestOutcomes::new();
    store.record(&outcome("a", vec![failing_backend()]), at(100));
    store.record(
        &outcome("a", vec![CheckResult::pass(CheckName::Backend, "ok")]),
        at(200),
    );
    assert_eq!(store.snapshot()[0].failing_since, None);
    assert!(store.snapshot()[0].check_failing_since.is_empty());
    store.record(&outcome("a", vec![failing_backend()]), at(300));
    assert_eq!(store.snapshot()[0].failing_since, Some(at(300)));
}

#[test]
fn a_check_that_starts_failing_later_gets_its_own_since() {
    let store = LatestOutcomes::new();
    store.record(&outcome("a", vec![failing_backend()]), at(100));
    let expiry = CheckResult::fail(CheckName::CertExpiry, "expiring", "3 days left");
    store.record(&outcome("a", vec![failing_backend(), expiry]), at(200));
    let latest = &store.snapshot()[0];
    assert_eq!(latest.failing_since, Some(at(100)));
    assert_eq!(
        latest.check_since(CheckName::CertExpiry, None),
        Some(at(200))
    );
}

#[test]
fn remove_drops_the_target_and_snapshot_is_sorted_by_name() {
    let store = LatestOutcomes::new();
    store.record(&outcome("b", vec![]), at(1));
    store.record(&outcome("a", vec![]), at(1));
    store.record(&outcome("c", vec![]), at(1));
    store.remove("c");
    let names: Vec<String> = store
        .snapshot()
        .iter()
        .map(|l| l.outcome.target.name.clone())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

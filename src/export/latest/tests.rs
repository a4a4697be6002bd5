use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::checks::CheckResult;
use crate::discovery::target::{Target, TargetSource};

fn outcome(name: &str, results: Vec<CheckResult>) -> Outcome {
    let mut target = Target::new("app.example.test", 443, TargetSource::Config);
    target.name = name.into();
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
    assert_eq!(store.snapshot()[0].failing_since(), None);
    store.record(&outcome("a", vec![failing_backend()]), at(200));
    store.record(&outcome("a", vec![failing_backend()]), at(300));
    let latest = &store.snapshot()[0];
    assert_eq!(latest.failing_since(), Some(at(200)));
    assert_eq!(latest.probed_at(), at(300));
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
    assert_eq!(store.snapshot()[0].failing_since(), None);
    assert!(store.snapshot()[0].check_failing_since.is_empty());
    store.record(&outcome("a", vec![failing_backend()]), at(300));
    assert_eq!(store.snapshot()[0].failing_since(), Some(at(300)));
}

#[test]
fn a_check_that_starts_failing_later_gets_its_own_since() {
    let store = LatestOutcomes::new();
    store.record(&outcome("a", vec![failing_backend()]), at(100));
    let expiry = CheckResult::fail(CheckName::CertExpiry, "expiring", "3 days left");
    store.record(&outcome("a", vec![failing_backend(), expiry]), at(200));
    let latest = &store.snapshot()[0];
    assert_eq!(latest.failing_since(), Some(at(100)));
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
        .map(|l| l.outcome.target.name.to_string())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

/// An outcome whose one address answered with `body` (as read, at most 64 KiB).
fn answered(name: &str, body: Vec<u8>) -> Outcome {
    use crate::probe::dns::DnsObservation;
    use crate::probe::{EndpointObservation, HttpObservation, Observation};
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let mut o = outcome(name, vec![CheckResult::pass(CheckName::Backend, "ok")]);
    let mut obs = Observation::from_dns(
        at(1),
        DnsObservation::answered("app.example.test", vec![ip]),
    );
    obs.endpoints.push(EndpointObservation {
        address: std::net::SocketAddr::new(ip, 443),
        connect: Ok(Duration::from_millis(1)),
        tls: None,
        http: Some(HttpObservation {
            path: "/".into(),
            nonce: crate::probe::nonce::Nonce::random(),
            status: Some(200),
            headers: Default::default(),
            body_bytes: body.len() as u32,
            body,
            body_truncated: true,
            failure: None,
            duration: Duration::ZERO,
        }),
    });
    o.observation = Some(obs);
    o
}

#[test]
fn the_store_keeps_of_a_body_only_what_reports_show_and_they_read_the_same() {
    use crate::export::report::json::TargetJson;
    use crate::probe::http::{MAX_BODY_BYTES, PREVIEW_BYTES};
    // A page of multi-byte characters, so the cut falls inside one.
    let page: Vec<u8> = "é".repeat(MAX_BODY_BYTES / 2).into_bytes();
    let probed = answered("big", page);
    let store = LatestOutcomes::new();
    store.record(&probed, at(1));
    let kept = store.last("big").unwrap();
    let http = |o: &Outcome| {
        o.observation.as_ref().unwrap().endpoints[0]
            .http
            .clone()
            .unwrap()
    };
    assert_eq!(http(&kept).body.len(), PREVIEW_BYTES);
    assert!(http(&kept).body.capacity() <= PREVIEW_BYTES);
    assert_eq!(http(&kept).body_bytes as usize, MAX_BODY_BYTES);
    assert_eq!(
        http(&probed).body.len(),
        MAX_BODY_BYTES,
        "the probe's own outcome is untouched"
    );
    let json = |o: &Outcome| serde_json::to_value(TargetJson(o)).unwrap();
    assert_eq!(json(&kept), json(&probed));
    assert_eq!(
        json(&kept)["facts"]["endpoints"][0]["http"]["body_bytes"],
        MAX_BODY_BYTES
    );

    // A short body is kept whole.
    store.record(&answered("small", b"ok\n".to_vec()), at(1));
    assert_eq!(http(&store.last("small").unwrap()).body, b"ok\n");
}

#[test]
fn instants_read_back_to_the_nanosecond() {
    let now = SystemTime::now();
    let precise = UNIX_EPOCH + Duration::new(1_796_000_000, 123_456_789);
    for t in [now, precise, at(1), UNIX_EPOCH] {
        assert_eq!(Stamp::new(t).time(), t);
    }
    // A clock set before 1970 reads as the epoch rather than failing.
    assert_eq!(
        Stamp::new(UNIX_EPOCH - Duration::from_secs(5)).time(),
        UNIX_EPOCH
    );

    let store = LatestOutcomes::new();
    store.record(&outcome("a", vec![failing_backend()]), precise);
    let latest = &store.snapshot()[0];
    assert_eq!(latest.probed_at(), precise);
    assert_eq!(latest.failing_since(), Some(precise));
    assert!(latest.recorded_at() >= now);
}

//! The Alertmanager notifier against a real Alertmanager (Debian's `prometheus-alertmanager`)
//! started on loopback: alerts appear with the right labels, are re-posted while firing, move to
//! a new alert when the reason changes, and resolve on recovery and when a target is forgotten.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use edgewatch::checks::{CheckName, CheckResult};
use edgewatch::discovery::target::{Target, TargetSource};
use edgewatch::export::alertmanager::Notifier;
use edgewatch::pipeline::outcome::Outcome;
use prometheus::Registry;
use serde_json::Value;

#[path = "../support/mod.rs"]
mod support;
use monitoring_tools::{Server as Alertmanager, start_alertmanager};
use support::free_port;
use support::monitoring_tools;

/// Alerts Alertmanager currently holds (active; resolved ones are not listed).
async fn alerts(am: &Alertmanager) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{}/api/v2/alerts", am.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body.as_array().unwrap().clone()
}

/// Polls until `pred` holds for the alert list, or panics after 10s with the last list.
async fn wait_for(am: &Alertmanager, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = alerts(am).await;
        if pred(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}; alerts: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn label<'a>(alert: &'a Value, name: &str) -> Option<&'a str> {
    alert["labels"][name].as_str()
}

fn find<'a>(list: &'a [Value], target: &str, check: &str) -> Option<&'a Value> {
    list.iter()
        .find(|a| label(a, "target") == Some(target) && label(a, "check") == Some(check))
}

fn shop_target() -> Arc<Target> {
    Arc::new(Target::new(
        "shop.example.com",
        443,
        TargetSource::Kubernetes {
            namespace: "shop".into(),
            service: "web".into(),
        },
    ))
}

fn outcome(target: &Arc<Target>, results: Vec<CheckResult>) -> Outcome {
    Outcome {
        target: target.clone(),
        observation: None,
        results: results.into(),
    }
}

const ADDR: &str = "127.0.0.1";

fn addr() -> IpAddr {
    ADDR.parse().unwrap()
}

#[tokio::test]
async fn failing_checks_appear_in_alertmanager_are_reposted_and_resolve_on_recovery() {
    let am = start_alertmanager().await;
    let registry = Registry::new();
    let notifier = Arc::new(Notifier::new(&am.url, Duration::from_secs(1), &registry).unwrap());
    let resender = notifier.spawn_resender();
    let t = shop_target();
    let failing = vec![
        CheckResult::pass(CheckName::TlsHandshake, "TLSv1.3").at(addr()),
        CheckResult::fail(CheckName::Backend, "bad_status", "GET /: status 503").at(addr()),
        CheckResult::fail(CheckName::DnsAlias, "wrong_target", "leads to another NLB"),
    ];
    notifier.observe(&outcome(&t, failing.clone())).await;
    assert_eq!(notifier.firing_count(), 2);

    let list = wait_for(&am, "two edgewatch alerts", |l| l.len() == 2).await;
    let backend = find(&list, "shop.example.com:443", "backend").expect("backend alert");
    assert_eq!(label(backend, "alertname"), Some("EdgewatchCheckFailing"));
    assert_eq!(label(backend, "namespace"), Some("shop"));
    assert_eq!(label(backend, "service"), Some("web"));
    assert_eq!(label(backend, "address"), Some(ADDR));
    assert_eq!(label(backend, "reason"), Some("bad_status"));
    assert_eq!(label(backend, "severity"), Some("critical"));
    assert_eq!(backend["status"]["state"], "active");
    let description = backend["annotations"]["description"].as_str().unwrap();
    assert!(description.contains("GET /: status 503"), "{description}");
    let alias = find(&list, "shop.example.com:443", "dns_alias").expect("dns_alias alert");
    assert_eq!(label(alias, "address"), None, "target-level: no address");
    let first_ends_at = backend["endsAt"].as_str().unwrap().to_string();

    // Still failing, same reason: nothing new is posted by observe, but the resender re-posts,
    // which moves endsAt forward (Alertmanager would otherwise expire the alert).
    notifier.observe(&outcome(&t, failing)).await;
    let list = wait_for(&am, "endsAt moved by a re-post", |l| {
        find(l, "shop.example.com:443", "backend")
            .and_then(|a| a["endsAt"].as_str())
            .is_some_and(|e| e > first_ends_at.as_str())
    })
    .await;
    assert_eq!(list.len(), 2);

    // The reason changes: the old alert resolves, a new one (new label set) fires.
    let timeout = vec![
        CheckResult::fail(CheckName::Backend, "timeout", "GET /: no answer in 10s").at(addr()),
        CheckResult::fail(CheckName::DnsAlias, "wrong_target", "leads to another NLB"),
    ];
    notifier.observe(&outcome(&t, timeout)).await;
    let list = wait_for(&am, "backend alert with reason timeout only", |l| {
        l.len() == 2
            && find(l, "shop.example.com:443", "backend")
                .is_some_and(|a| label(a, "reason") == Some("timeout"))
    })
    .await;
    assert!(
        list.iter()
            .all(|a| label(a, "reason") != Some("bad_status"))
    );

    // Recovery: the backend passes, dns_alias is skipped (not judged): both resolve.
    let healthy = vec![
        CheckResult::pass(CheckName::Backend, "200 OK").at(addr()),
        CheckResult::skip(
            CheckName::DnsAlias,
            "no_expectation",
            "no NLB hostname known",
        ),
    ];
    notifier.observe(&outcome(&t, healthy)).await;
    assert_eq!(notifier.firing_count(), 0);
    wait_for(&am, "all alerts resolved", |l| l.is_empty()).await;

    // After a resend interval the resolved alerts are not re-posted as firing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(alerts(&am).await.is_empty());
    resender.abort();
    let success = notifier.posts("success");
    assert!(success >= 4, "posts counted: {success}");
    assert_eq!(notifier.posts("error"), 0);
}

#[tokio::test]
async fn forgetting_a_target_resolves_its_alerts_only() {
    let am = start_alertmanager().await;
    let notifier = notifier_for(&format!("{}/", am.url));
    let gone = shop_target();
    let stays = Arc::new(Target::new("api.example.com", 8443, TargetSource::Config));
    let tls_fail = || {
        vec![CheckResult::fail(CheckName::TlsHandshake, "connection_refused", "refused").at(addr())]
    };
    notifier.observe(&outcome(&gone, tls_fail())).await;
    notifier.observe(&outcome(&stays, tls_fail())).await;
    let list = wait_for(&am, "two alerts", |l| l.len() == 2).await;
    let static_alert = find(&list, "api.example.com:8443", "tls_handshake").unwrap();
    assert_eq!(
        label(static_alert, "namespace"),
        None,
        "static target: no namespace"
    );

    notifier.forget("shop.example.com:443").await;
    let list = wait_for(&am, "only api.example.com left", |l| l.len() == 1).await;
    assert_eq!(label(&list[0], "target"), Some("api.example.com:8443"));
    assert_eq!(notifier.firing_count(), 1);
}

#[tokio::test]
async fn unreachable_alertmanager_is_counted_not_fatal() {
    let port = free_port(); // nothing listens there any more
    let notifier = notifier_for(&format!("http://127.0.0.1:{port}"));
    let t = shop_target();
    let results = vec![CheckResult::fail(
        CheckName::Dns,
        "nxdomain",
        "does not resolve",
    )];
    notifier.observe(&outcome(&t, results)).await;
    notifier.resend().await;
    assert_eq!(notifier.posts("error"), 2);
    assert_eq!(
        notifier.firing_count(),
        1,
        "still firing: the next resend retries"
    );
}

#[tokio::test]
async fn alertmanager_rejecting_a_post_is_counted_as_rejected() {
    let am = start_alertmanager().await;
    // A path Alertmanager answers with 404: the post is rejected, not an I/O error.
    let notifier = notifier_for(&format!("{}/no-such-prefix", am.url));
    let t = shop_target();
    let results = vec![CheckResult::fail(
        CheckName::Dns,
        "nxdomain",
        "does not resolve",
    )];
    notifier.observe(&outcome(&t, results)).await;
    assert_eq!(notifier.posts("rejected"), 1);
}

#[test]
fn bad_alertmanager_urls_are_refused() {
    let registry = Registry::new();
    for url in ["not a url", "ftp://127.0.0.1:9093"] {
        let err = Notifier::new(url, Duration::from_secs(60), &registry)
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        assert_eq!(err.as_str(), "invalid_url");
    }
}

#[tokio::test]
async fn once_mode_posts_its_failing_checks_to_alertmanager() {
    let am = start_alertmanager().await;
    let dir = tempfile::tempdir().unwrap();
    let closed = free_port(); // nothing listens: the handshake is refused
    let config = dir.path().join("edgewatch.yaml");
    std::fs::write(
        &config,
        format!(
            "alertmanager:\n  url: {}\n  resend_interval: 1m\ntargets:\n  - host: 127.0.0.1\n    port: {closed}\n",
            am.url
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .arg("--once")
        .arg("--config")
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing check exits 1; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = format!("127.0.0.1:{closed}");
    let list = wait_for(&am, "the --once alert", |l| !l.is_empty()).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let a = find(&list, &target, "tls_handshake").expect("tls_handshake alert");
    assert_eq!(label(a, "reason"), Some("connection_refused"));
    assert_eq!(label(a, "address"), Some(ADDR));
    // Nothing re-posts a --once alert: it is set to expire four resend intervals later.
    let ends = a["endsAt"].as_str().unwrap();
    let starts = a["startsAt"].as_str().unwrap();
    assert!(ends > starts, "startsAt {starts}, endsAt {ends}");
}

/// A notifier posting to `url`, re-sending every minute, counting into a fresh registry.
fn notifier_for(url: &str) -> Notifier {
    Notifier::new(url, Duration::from_secs(60), &Registry::new()).unwrap()
}

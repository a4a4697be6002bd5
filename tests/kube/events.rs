//! Kubernetes Events on the Service when a check changes state, rate-limited.

use std::sync::Arc;
use std::time::Duration;

use edgewatch::checks::{CheckName, CheckResult};
use edgewatch::discovery::convert::service_to_targets;
use edgewatch::discovery::target::BackendSpec;
use edgewatch::export::events::EventPublisher;
use edgewatch::pipeline::outcome::Outcome;

use crate::myapp;
use crate::support::kube_api::KubeApi;

fn outcome(backend_ok: bool) -> Outcome {
    let target = service_to_targets(&myapp(), &BackendSpec::default()).unwrap()[0].clone();
    let addr = "192.0.2.7".parse().unwrap();
    let backend = if backend_ok {
        CheckResult::pass(CheckName::Backend, "GET / answered 200")
    } else {
        CheckResult::fail(CheckName::Backend, "bad_status", "GET / answered 503")
    };
    Outcome {
        target: Arc::new(target),
        observation: None,
        results: vec![
            CheckResult::pass(CheckName::Config, "target definition is valid"),
            backend.at(addr),
        ]
        .into(),
    }
}

#[tokio::test]
async fn failing_check_posts_a_warning_on_the_service_and_recovery_a_normal() {
    let api = KubeApi::start().await;
    let uid = {
        api.apply(&myapp());
        let client = api.client().await;
        let svc = kube::Api::<k8s_openapi::api::core::v1::Service>::namespaced(client, "dev")
            .get("myapp")
            .await
            .unwrap();
        svc.metadata.uid.unwrap()
    };
    let events = EventPublisher::new(api.client().await, Some("edgewatch-0".into()))
        .with_min_interval(Duration::ZERO);

    events.observe(&outcome(true)).await;
    assert!(api.event_writes().is_empty(), "a first pass is not news");

    events.observe(&outcome(false)).await;
    let writes = api.event_writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let (method, ev) = &writes[0];
    assert_eq!(method, "POST");
    assert_eq!(ev["type"], "Warning");
    assert_eq!(ev["reason"], "BackendFailed");
    assert_eq!(ev["reportingController"], "edgewatch");
    assert_eq!(ev["reportingInstance"], "edgewatch-0");
    assert_eq!(ev["regarding"]["kind"], "Service");
    assert_eq!(ev["regarding"]["namespace"], "dev");
    assert_eq!(ev["regarding"]["name"], "myapp");
    assert_eq!(
        ev["regarding"]["uid"],
        uid.as_str(),
        "kubectl describe finds Events by uid"
    );
    let note = ev["note"].as_str().unwrap();
    assert!(
        note.contains("dev/myapp/tls-demo.example.com:443"),
        "{note}"
    );
    assert!(note.contains("192.0.2.7: GET / answered 503"), "{note}");

    events.observe(&outcome(false)).await;
    assert_eq!(api.event_writes().len(), 1, "still failing: no new Event");

    events.observe(&outcome(true)).await;
    let writes = api.event_writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[1].1["type"], "Normal");
    assert_eq!(writes[1].1["reason"], "BackendRecovered");

    // Failing again soon after: the recorder PATCHes the earlier Warning's series.
    events.observe(&outcome(false)).await;
    let writes = api.event_writes();
    assert_eq!(writes.len(), 3);
    assert_eq!(writes[2].0, "PATCH");
    let stored = api.events();
    let warning = stored.iter().find(|e| e["type"] == "Warning").unwrap();
    assert_eq!(warning["series"]["count"], 2);
}

#[tokio::test]
async fn events_are_rate_limited_per_service_and_check_without_losing_the_last_state() {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    let events = EventPublisher::new(api.client().await, None)
        .with_min_interval(Duration::from_millis(1500));
    events.observe(&outcome(false)).await;
    events.observe(&outcome(true)).await;
    events.observe(&outcome(false)).await;
    events.observe(&outcome(true)).await;
    assert_eq!(
        api.event_writes().len(),
        1,
        "flapping inside the window posts once"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    events.observe(&outcome(true)).await;
    let writes = api.event_writes();
    assert_eq!(
        writes.len(),
        2,
        "after the window, the state that differs is announced"
    );
    assert_eq!(writes[1].1["reason"], "BackendRecovered");
}

#[tokio::test]
async fn static_targets_get_no_events() {
    let api = KubeApi::start().await;
    let events = EventPublisher::new(api.client().await, None);
    let mut o = outcome(false);
    let mut t = (*o.target).clone();
    t.source = edgewatch::discovery::target::TargetSource::Config;
    o.target = Arc::new(t);
    events.observe(&o).await;
    assert!(api.requests().is_empty(), "{:?}", api.requests());
}

#[tokio::test]
async fn a_failed_post_is_retried_on_the_next_outcome() {
    let api = KubeApi::start().await;
    api.apply(&myapp());
    let events = EventPublisher::new(api.client().await, None);
    api.go_down(crate::support::kube_api::Down::Refusing);
    let started = std::time::Instant::now();
    events.observe(&outcome(false)).await;
    assert!(
        started.elapsed() < Duration::from_secs(11),
        "bounded by the post timeout"
    );
    api.come_up().await;
    assert!(api.event_writes().is_empty());
    // The failed post neither counted as announced nor started the rate-limit window.
    events.observe(&outcome(false)).await;
    let writes = api.event_writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].1["reason"], "BackendFailed");
}

//! Backend cases: the HTTP answer through the TLS listener, judged against the accepted statuses.

use std::time::{Duration, Instant};

use edgewatch::checks::{CheckName, Status};
use edgewatch::discovery::target::StatusRanges;

use super::support::prober::{fast_settings, only};
use super::support::tls_server::Reply;
use super::{PKI, probe_single_with, target};

const NAME: &str = "api.example.test";

async fn backend(reply: Reply, expect: Option<&str>) -> (Status, &'static str, String, Duration) {
    let mut t = target(NAME, 0);
    if let Some(ranges) = expect {
        t.backend.expect_status = StatusRanges::parse(ranges).unwrap();
    }
    let started = Instant::now();
    let outcome = probe_single_with(t, &PKI.good(&[NAME]), reply, fast_settings()).await;
    let took = started.elapsed();
    let r = only(&outcome, CheckName::Backend);
    (r.status, r.reason_code(), r.reason.to_string(), took)
}

#[tokio::test]
async fn backend_answering_200_passes() {
    let (status, code, reason, _) = backend(Reply::ok(), None).await;
    assert_eq!((status, code), (Status::Pass, "ok"));
    assert!(reason.contains("200"), "{reason}");
}

#[tokio::test]
async fn backend_answering_503_fails_as_bad_status_naming_the_status() {
    let (status, code, reason, _) = backend(Reply::status(503), None).await;
    assert_eq!((status, code), (Status::Fail, "bad_status"));
    assert!(
        reason.contains("503") && reason.contains("200-399"),
        "{reason}"
    );
}

#[tokio::test]
async fn backend_answering_503_passes_when_503_is_the_accepted_status() {
    let (status, code, _, _) = backend(Reply::status(503), Some("503")).await;
    assert_eq!((status, code), (Status::Pass, "ok"));
}

#[tokio::test]
async fn backend_that_never_answers_fails_as_timeout_within_the_http_timeout() {
    let (status, code, _, took) = backend(Reply::Silent, None).await;
    assert_eq!((status, code), (Status::Fail, "timeout"));
    let http_timeout = fast_settings().http_timeout;
    assert!(took >= http_timeout, "took {took:?}");
    assert!(
        took < http_timeout + Duration::from_millis(900),
        "took {took:?}"
    );
}

#[tokio::test]
async fn backend_closing_right_after_the_handshake_fails_as_closed() {
    let (status, code, _, took) = backend(Reply::CloseAfterHandshake, None).await;
    assert_eq!((status, code), (Status::Fail, "closed"));
    assert!(took < fast_settings().http_timeout, "took {took:?}");
}

#[tokio::test]
async fn backend_that_never_answers_past_the_deadline_fails_as_deadline_exceeded() {
    let settings = edgewatch::probe::ProbeSettings {
        http_timeout: Duration::from_secs(10),
        deadline: Duration::from_millis(1500),
        ..fast_settings()
    };
    let started = Instant::now();
    let outcome =
        probe_single_with(target(NAME, 0), &PKI.good(&[NAME]), Reply::Silent, settings).await;
    let took = started.elapsed();
    let r = only(&outcome, CheckName::Backend);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "deadline_exceeded"),
        "{r:#?}"
    );
    assert!(took < Duration::from_millis(2200), "took {took:?}");
    assert!(outcome.observation.as_ref().unwrap().deadline_exceeded);
    // Everything before the backend finished in time.
    assert_eq!(only(&outcome, CheckName::TlsHandshake).status, Status::Pass);
}

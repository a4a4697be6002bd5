//! Protocol cases: the negotiated TLS version against `tls.min_version`, and HTTP answers that
//! are not what a client expects.

use std::net::IpAddr;

use edgewatch::checks::tls::TlsVersion;
use edgewatch::checks::{CheckName, Status};
use edgewatch::pipeline::outcome::Outcome;

use super::support::dns::{DnsServer, Zone};
use super::support::prober::{fast_settings, judge_context, only, probe_with, prober};
use super::support::tls_server::{Reply, TlsServer, bind_one};
use super::{LOCALHOST, PKI, ca_file, probe_single_with, target};

const NAME: &str = "proto.example.test";

/// Probes a TLS 1.2-only endpoint, requiring at least `min`.
async fn probe_tls12_only(min: TlsVersion) -> Outcome {
    let listener = bind_one(IpAddr::V4(LOCALHOST)).await.unwrap();
    let leaf = PKI.good(&[NAME]);
    let versions = &[&rustls::version::TLS12];
    let server = TlsServer::serve_versions(listener, &leaf, Reply::ok(), versions).unwrap();
    let dns = DnsServer::start(Zone::new().a(NAME, &[LOCALHOST]))
        .await
        .unwrap();
    let mut ctx = judge_context(ca_file());
    ctx.min_tls_version = min;
    let t = target(NAME, server.addr().port());
    probe_with(&prober(dns.addr(), fast_settings()), t, ctx).await
}

#[tokio::test]
async fn tls12_only_endpoint_passes_tls_handshake_when_the_minimum_is_1_2() {
    let outcome = probe_tls12_only(TlsVersion::Tls12).await;
    let r = only(&outcome, CheckName::TlsHandshake);
    assert_eq!((r.status, r.reason_code()), (Status::Pass, "ok"), "{r:#?}");
    assert!(
        r.reason.starts_with("TLSv1.2 with TLS_ECDHE_ECDSA_"),
        "{}",
        r.reason
    );
    assert!(outcome.ok(), "{:#?}", outcome.results);
}

#[tokio::test]
async fn tls12_only_endpoint_fails_tls_handshake_as_old_version_when_1_3_is_required() {
    let outcome = probe_tls12_only(TlsVersion::Tls13).await;
    let r = only(&outcome, CheckName::TlsHandshake);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "old_version"),
        "{r:#?}"
    );
    assert!(
        r.reason.contains("TLSv1.2") && r.reason.contains("TLSv1.3"),
        "{}",
        r.reason
    );
}

async fn backend_reply(reply: Reply) -> Outcome {
    probe_single_with(target(NAME, 0), &PKI.good(&[NAME]), reply, fast_settings()).await
}

#[tokio::test]
async fn backend_answering_something_that_is_not_http_fails_as_malformed() {
    let outcome = backend_reply(Reply::Raw(
        b"220 smtp.example.test ESMTP ready\r\n".to_vec(),
    ))
    .await;
    let r = only(&outcome, CheckName::Backend);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "malformed"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn backend_with_an_endless_response_head_fails_as_malformed_not_out_of_memory() {
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..5000 {
        head.extend_from_slice(format!("x-filler-{i}: {}\r\n", "a".repeat(40)).as_bytes());
    }
    let outcome = backend_reply(Reply::Raw(head)).await;
    let r = only(&outcome, CheckName::Backend);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "malformed"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn backend_body_beyond_the_limit_is_truncated_and_still_judged_by_status() {
    let body = "z".repeat(edgewatch::probe::http::MAX_BODY_BYTES * 2);
    let outcome = backend_reply(Reply::Http { status: 200, body }).await;
    assert_eq!(only(&outcome, CheckName::Backend).status, Status::Pass);
    let obs = outcome.observation.as_ref().unwrap();
    let http = obs.endpoints[0].http.as_ref().unwrap();
    assert!(http.body_truncated);
    assert_eq!(http.body.len(), edgewatch::probe::http::MAX_BODY_BYTES);
}

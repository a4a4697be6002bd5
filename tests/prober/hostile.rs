//! Hostile peers: whatever the endpoint does, the probe ends as a failed `tls_handshake` with a
//! named reason within its deadline, and nothing panics.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use edgewatch::checks::{CheckName, Status};
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::probe::ProbeSettings;

use super::support::dns::{DnsServer, Zone};
use super::support::hostile::{Blackhole, HostilePeer, Hostility};
use super::support::prober::{fast_settings, only, probe, prober};
use super::support::tls_server::bind_one;
use super::{LOCALHOST, PKI, ca_file, probe_single_with, target};

const NAME: &str = "hostile.example.test";

/// Probes a hostile peer; returns the outcome and how long the probe took.
async fn probe_hostile(hostility: Hostility, settings: ProbeSettings) -> (Outcome, Duration) {
    let listener = bind_one(IpAddr::V4(LOCALHOST)).await.unwrap();
    let peer = HostilePeer::serve(listener, hostility).unwrap();
    let dns = DnsServer::start(Zone::new().a(NAME, &[LOCALHOST]))
        .await
        .unwrap();
    let started = Instant::now();
    let outcome = probe(
        &prober(dns.addr(), settings),
        target(NAME, peer.addr().port()),
        ca_file(),
    )
    .await;
    (outcome, started.elapsed())
}

/// Asserts the handshake failed with `code`, nothing later was attempted, and it took less than
/// `limit`.
fn assert_handshake_failed(outcome: &Outcome, took: Duration, code: &str, limit: Duration) {
    let r = only(outcome, CheckName::TlsHandshake);
    assert_eq!((r.status, r.reason_code()), (Status::Fail, code), "{r:#?}");
    assert!(took < limit, "took {took:?}, limit {limit:?}");
    let backend = only(outcome, CheckName::Backend);
    assert_eq!(backend.status, Status::Skip, "{backend:#?}");
    assert_eq!(only(outcome, CheckName::ChainTrusted).status, Status::Skip);
}

fn within_tls_timeout() -> Duration {
    fast_settings().tls_timeout + Duration::from_millis(700)
}

#[tokio::test]
async fn peer_that_accepts_and_never_speaks_fails_tls_handshake_as_timeout() {
    let (outcome, took) = probe_hostile(Hostility::Mute, fast_settings()).await;
    assert_handshake_failed(&outcome, took, "timeout", within_tls_timeout());
}

#[tokio::test]
async fn peer_sending_garbage_fails_tls_handshake_as_protocol_error() {
    let (outcome, took) = probe_hostile(Hostility::Garbage, fast_settings()).await;
    assert_handshake_failed(
        &outcome,
        took,
        "protocol_error",
        fast_settings().tls_timeout,
    );
}

#[tokio::test]
async fn peer_resetting_after_the_client_hello_fails_tls_handshake_as_reset() {
    let (outcome, took) = probe_hostile(Hostility::ResetAfterHello, fast_settings()).await;
    assert_handshake_failed(&outcome, took, "reset", fast_settings().tls_timeout);
}

#[tokio::test]
async fn peer_trickling_one_byte_per_100ms_fails_tls_handshake_as_timeout() {
    let (outcome, took) = probe_hostile(Hostility::Trickle, fast_settings()).await;
    assert_handshake_failed(&outcome, took, "timeout", within_tls_timeout());
}

#[tokio::test]
async fn mute_peer_with_a_deadline_shorter_than_the_tls_timeout_fails_as_deadline_exceeded() {
    let settings = ProbeSettings {
        tls_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(1),
        ..fast_settings()
    };
    let (outcome, took) = probe_hostile(Hostility::Mute, settings).await;
    assert_handshake_failed(
        &outcome,
        took,
        "deadline_exceeded",
        Duration::from_millis(1700),
    );
    assert!(outcome.observation.as_ref().unwrap().deadline_exceeded);
}

#[tokio::test]
async fn server_sending_a_200_certificate_chain_fails_tls_handshake_as_protocol_error() {
    let leaf = PKI.huge_chain(NAME, 200);
    assert!(leaf.chain.iter().map(|c| c.len()).sum::<usize>() > 64 * 1024);
    let started = Instant::now();
    let outcome = probe_single_with(
        target(NAME, 0),
        &leaf,
        super::support::tls_server::Reply::ok(),
        fast_settings(),
    )
    .await;
    assert_handshake_failed(
        &outcome,
        started.elapsed(),
        "protocol_error",
        fast_settings().tls_timeout,
    );
}

/// Probes a blackholed address (connects hang) with `settings`.
async fn probe_blackhole(settings: ProbeSettings) -> (Outcome, Duration) {
    let hole = Blackhole::start(IpAddr::V4(LOCALHOST)).unwrap();
    let dns = DnsServer::start(Zone::new().a(NAME, &[LOCALHOST]))
        .await
        .unwrap();
    let started = Instant::now();
    let t = target(NAME, hole.addr().port());
    let outcome = probe(&prober(dns.addr(), settings), t, ca_file()).await;
    (outcome, started.elapsed())
}

#[tokio::test]
async fn address_dropping_syns_fails_tls_handshake_as_connect_timeout() {
    let settings = fast_settings();
    let limit = settings.connect_timeout + Duration::from_millis(700);
    let (outcome, took) = probe_blackhole(settings).await;
    assert_handshake_failed(&outcome, took, "connect_timeout", limit);
}

#[tokio::test]
async fn address_dropping_syns_past_the_deadline_fails_as_deadline_exceeded() {
    let settings = ProbeSettings {
        connect_timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(1),
        ..fast_settings()
    };
    let (outcome, took) = probe_blackhole(settings).await;
    assert_handshake_failed(
        &outcome,
        took,
        "deadline_exceeded",
        Duration::from_millis(1700),
    );
}

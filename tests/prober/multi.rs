//! Several addresses behind one name (an NLB has one per zone): every address is probed on the
//! same port, and a difference between them is named by address.

use std::net::{IpAddr, Ipv4Addr};

use edgewatch::checks::{CheckName, Status};
use edgewatch::pipeline::outcome::Outcome;

use super::support::dns::{DnsServer, Zone};
use super::support::pki::Leaf;
use super::support::prober::{fast_settings, only, probe, prober, result};
use super::support::tls_server::{PortHolder, Reply, TlsServer, bind_same_port};
use super::{PKI, ca_file, target};

const NAME: &str = "multi.example.test";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Serves `leaves[i]` on 127.0.0.(i+1) (or refuses there when `None`), all on one port, points
/// NAME at the three addresses and probes it.
async fn probe_three(leaves: [Option<&Leaf>; 3]) -> Outcome {
    let addrs: Vec<(IpAddr, bool)> = (0..3)
        .map(|i| (ip(i as u8 + 1), leaves[i].is_some()))
        .collect();
    let (port, holders) = bind_same_port(&addrs).expect("bind three loopback addresses");
    let mut servers = Vec::new();
    let mut refusing = Vec::new();
    for (holder, leaf) in holders.into_iter().zip(leaves) {
        match (holder, leaf) {
            (PortHolder::Listening(l), Some(leaf)) => {
                servers.push(TlsServer::serve(l, leaf, Reply::ok()).unwrap())
            }
            (holder, _) => refusing.push(holder),
        }
    }
    let v4: Vec<Ipv4Addr> = (1..=3).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    let dns = DnsServer::start(Zone::new().a(NAME, &v4)).await.unwrap();
    probe(
        &prober(dns.addr(), fast_settings()),
        target(NAME, port),
        ca_file(),
    )
    .await
}

#[tokio::test]
async fn three_addresses_serving_the_same_leaf_pass_cert_consistent() {
    let leaf = PKI.good(&[NAME]);
    let outcome = probe_three([Some(&leaf), Some(&leaf), Some(&leaf)]).await;
    let obs = outcome.observation.as_ref().unwrap();
    assert_eq!(obs.endpoints.len(), 3);
    let r = only(&outcome, CheckName::CertConsistent);
    assert_eq!((r.status, r.reason_code()), (Status::Pass, "ok"), "{r:#?}");
    assert!(r.reason.contains('3'), "{}", r.reason);
    assert!(outcome.ok(), "{:#?}", outcome.results);
}

#[tokio::test]
async fn one_address_serving_another_leaf_fails_cert_consistent_naming_the_addresses() {
    let leaf = PKI.good(&[NAME]);
    let stale = PKI.good(&[NAME]);
    let outcome = probe_three([Some(&leaf), Some(&leaf), Some(&stale)]).await;
    let r = only(&outcome, CheckName::CertConsistent);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "differs"),
        "{r:#?}"
    );
    assert!(r.reason.contains("127.0.0.1, 127.0.0.2"), "{}", r.reason);
    assert!(r.reason.contains("127.0.0.3"), "{}", r.reason);
    let stale_fp = &hex::encode(stale.sha256())[..16];
    assert!(r.reason.contains(stale_fp), "{}", r.reason);
    // Each leaf is individually fine.
    for last in 1..=3 {
        let chain = result(&outcome, CheckName::ChainTrusted, Some(ip(last)));
        assert_eq!(chain.status, Status::Pass, "{chain:#?}");
    }
}

#[tokio::test]
async fn one_address_refusing_fails_tls_handshake_at_that_address_only() {
    let leaf = PKI.good(&[NAME]);
    let outcome = probe_three([Some(&leaf), Some(&leaf), None]).await;
    for last in [1, 2] {
        let r = result(&outcome, CheckName::TlsHandshake, Some(ip(last)));
        assert_eq!(r.status, Status::Pass, "{r:#?}");
        let b = result(&outcome, CheckName::Backend, Some(ip(last)));
        assert_eq!(b.status, Status::Pass, "{b:#?}");
    }
    let r = result(&outcome, CheckName::TlsHandshake, Some(ip(3)));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "connection_refused"),
        "{r:#?}"
    );
    assert!(r.reason.contains("127.0.0.3"), "{}", r.reason);
    let b = result(&outcome, CheckName::Backend, Some(ip(3)));
    assert_eq!((b.status, b.reason_code()), (Status::Skip, "no_connection"));
    // The two addresses that answered agree.
    assert_eq!(
        only(&outcome, CheckName::CertConsistent).status,
        Status::Pass
    );
}

#[tokio::test]
async fn one_mute_address_times_out_alone_while_the_others_pass_in_parallel() {
    use super::support::hostile::{HostilePeer, Hostility};
    use std::time::{Duration, Instant};

    let leaf = PKI.good(&[NAME]);
    let addrs: Vec<(IpAddr, bool)> = (1..=3).map(|i| (ip(i), true)).collect();
    let (port, mut holders) = bind_same_port(&addrs).unwrap();
    let mute = HostilePeer::serve(holders.pop().unwrap().listener(), Hostility::Mute).unwrap();
    let servers: Vec<TlsServer> = holders
        .into_iter()
        .map(|h| TlsServer::serve(h.listener(), &leaf, Reply::ok()).unwrap())
        .collect();
    let v4: Vec<Ipv4Addr> = (1..=3).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    let dns = DnsServer::start(Zone::new().a(NAME, &v4)).await.unwrap();
    let settings = fast_settings();
    let started = Instant::now();
    let outcome = probe(
        &prober(dns.addr(), settings.clone()),
        target(NAME, port),
        ca_file(),
    )
    .await;
    let took = started.elapsed();
    // Addresses are probed at once: the whole probe costs one TLS timeout, not three.
    assert!(
        took < settings.tls_timeout + Duration::from_millis(700),
        "took {took:?}"
    );
    let r = result(&outcome, CheckName::TlsHandshake, Some(ip(3)));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "timeout"),
        "{r:#?}"
    );
    for last in [1, 2] {
        let b = result(&outcome, CheckName::Backend, Some(ip(last)));
        assert_eq!(b.status, Status::Pass, "{b:#?}");
    }
    drop((mute, servers));
}

//! DNS cases: the friendly name's A/AAAA records and CNAME chain as a real resolver sees them
//! from a real DNS server, `dns_alias` by CNAME and by same address set, and each way a name can
//! fail to resolve.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use edgewatch::checks::{CheckName, Status};
use edgewatch::discovery::target::Target;
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::probe::ProbeSettings;

use super::support::dns::{DnsServer, SilentDns, Zone};
use super::support::prober::{fast_settings, only, probe, prober, result};
use super::support::tls_server::{Reply, TlsServer, bind_same_port};
use super::{LOCALHOST, PKI, ca_file, target};

const FRIENDLY: &str = "myapp.example.test";
const LB: &str = "k8s-dev-myapp-0123.elb.us-east-2.amazonaws.com";
const MIDDLE: &str = "myapp.edge.example.test";

/// Probes `t` against `zone`, with a good TLS server for `t.hostname` on 127.0.0.1 at a port
/// chosen here.
async fn probe_zone(mut t: Target, zone: Zone, settings: ProbeSettings) -> Outcome {
    let ip = IpAddr::V4(LOCALHOST);
    let (port, mut holders) = bind_same_port(&[(ip, true)]).expect("bind");
    let leaf = PKI.good(&[&t.hostname]);
    let _server = TlsServer::serve(holders.remove(0).listener(), &leaf, Reply::ok()).unwrap();
    let dns = DnsServer::start(zone).await.expect("DNS server");
    t.port = port;
    probe(&prober(dns.addr(), settings), t, ca_file()).await
}

fn status_code(outcome: &Outcome, check: CheckName) -> (Status, &'static str) {
    let r = only(outcome, check);
    (r.status, r.reason_code())
}

#[tokio::test]
async fn a_and_aaaa_records_are_all_resolved_and_each_address_is_probed() {
    let v4 = IpAddr::V4(LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let (port, holders) = bind_same_port(&[(v4, true), (v6, true)]).expect("bind v4 and v6");
    let leaf = PKI.good(&[FRIENDLY]);
    let _servers: Vec<TlsServer> = holders
        .into_iter()
        .map(|h| TlsServer::serve(h.listener(), &leaf, Reply::ok()).unwrap())
        .collect();
    let zone = Zone::new()
        .a(FRIENDLY, &[LOCALHOST])
        .aaaa(FRIENDLY, &[Ipv6Addr::LOCALHOST]);
    let dns = DnsServer::start(zone).await.unwrap();
    let outcome = probe(
        &prober(dns.addr(), fast_settings()),
        target(FRIENDLY, port),
        ca_file(),
    )
    .await;
    let obs = outcome.observation.as_ref().unwrap();
    let mut addresses = obs.dns.addresses.clone();
    addresses.sort();
    assert_eq!(addresses, vec![v4, v6]);
    assert!(obs.dns.cname_chain.is_empty());
    assert_eq!(only(&outcome, CheckName::Dns).status, Status::Pass);
    for ip in [v4, v6] {
        let r = result(&outcome, CheckName::Backend, Some(ip));
        assert_eq!(r.status, Status::Pass, "{r:#?}");
    }
}

#[tokio::test]
async fn cname_chain_is_recorded_in_order_and_dns_alias_passes_through_it() {
    let zone = Zone::new()
        .cname(FRIENDLY, MIDDLE)
        .cname(MIDDLE, LB)
        .a(LB, &[LOCALHOST]);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![format!("dualstack.{LB}.")].into();
    let outcome = probe_zone(t, zone, fast_settings()).await;
    let obs = outcome.observation.as_ref().unwrap();
    assert_eq!(
        obs.dns.cname_chain,
        vec![MIDDLE.to_string(), LB.to_string()]
    );
    assert_eq!(obs.dns.addresses, vec![IpAddr::V4(LOCALHOST)]);
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Pass, "ok")
    );
    assert!(only(&outcome, CheckName::DnsAlias).reason.contains("CNAME"));
    assert!(outcome.ok(), "{:#?}", outcome.results);
}

#[tokio::test]
async fn alias_a_record_with_the_load_balancers_address_set_passes_dns_alias() {
    let addrs = [LOCALHOST, Ipv4Addr::new(127, 0, 0, 2)];
    let zone = Zone::new().a(FRIENDLY, &addrs).a(LB, &[addrs[1], addrs[0]]);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![LB.to_string()].into();
    // Only the DNS verdicts matter here: 127.0.0.2 has no server (its handshake fails).
    let outcome = probe_zone(t, zone, fast_settings()).await;
    assert!(
        outcome
            .observation
            .as_ref()
            .unwrap()
            .dns
            .cname_chain
            .is_empty()
    );
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Pass, "ok")
    );
    assert!(
        only(&outcome, CheckName::DnsAlias)
            .reason
            .contains("same addresses")
    );
}

#[tokio::test]
async fn dns_alias_fails_as_wrong_target_naming_both_sides_when_addresses_differ() {
    let zone = Zone::new()
        .a(FRIENDLY, &[LOCALHOST])
        .a(LB, &[Ipv4Addr::new(127, 0, 0, 9)]);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![LB.to_string()].into();
    let outcome = probe_zone(t, zone, fast_settings()).await;
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Fail, "wrong_target")
    );
    let reason = &only(&outcome, CheckName::DnsAlias).reason;
    for needle in [FRIENDLY, "127.0.0.1", LB, "127.0.0.9"] {
        assert!(reason.contains(needle), "`{needle}` missing from: {reason}");
    }
}

#[tokio::test]
async fn unknown_name_fails_dns_as_nxdomain_and_probes_no_address() {
    let zone = Zone::new().a("other.example.test", &[LOCALHOST]);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![LB.to_string()].into();
    let outcome = probe_zone(t, zone, fast_settings()).await;
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "nxdomain")
    );
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Skip, "dns_failed")
    );
    assert!(outcome.observation.as_ref().unwrap().endpoints.is_empty());
    assert_eq!(
        status_code(&outcome, CheckName::CertConsistent),
        (Status::Skip, "no_certificate")
    );
}

#[tokio::test]
async fn name_without_address_records_fails_dns_as_no_answer() {
    let zone = Zone::new().txt_only(FRIENDLY);
    let outcome = probe_zone(target(FRIENDLY, 0), zone, fast_settings()).await;
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "no_answer")
    );
}

#[tokio::test]
async fn silent_dns_server_fails_dns_as_timeout_within_the_deadline() {
    let silent = SilentDns::start().await.unwrap();
    let settings = fast_settings();
    let deadline = settings.deadline;
    let started = Instant::now();
    let outcome = probe(
        &prober(silent.addr(), settings),
        target(FRIENDLY, 443),
        ca_file(),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "timeout")
    );
    assert!(
        took < deadline + Duration::from_millis(500),
        "took {took:?}"
    );
    assert_eq!(
        only(&outcome, CheckName::Dns).reason,
        format!(
            "`{FRIENDLY}` does not resolve: no answer from nameserver {} (timed out)",
            silent.addr()
        )
    );
}

#[tokio::test]
async fn closed_nameserver_port_fails_dns_as_refused_naming_the_nameserver() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let outcome = probe(
        &prober(closed, fast_settings()),
        target(FRIENDLY, 443),
        ca_file(),
    )
    .await;
    eprintln!("refused told after {:?}", started.elapsed());
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "refused")
    );
    assert_eq!(
        only(&outcome, CheckName::Dns).reason,
        format!(
            "`{FRIENDLY}` does not resolve: nameserver {closed} refused the query (connection refused: nothing listens on that port)"
        )
    );
    let obs = outcome.observation.as_ref().unwrap();
    assert_eq!(*obs.dns.nameservers, [closed]);
}

#[tokio::test]
async fn a_nameserver_back_after_refusing_is_asked_again_by_the_same_prober() {
    // The resolver keeps one UDP socket per nameserver: one that heard "port unreachable" must
    // not leave the prober refused once the server is back.
    let nameserver = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ip = IpAddr::V4(LOCALHOST);
    let (port, mut holders) = bind_same_port(&[(ip, true)]).expect("bind");
    let _server = TlsServer::serve(
        holders.remove(0).listener(),
        &PKI.good(&[FRIENDLY]),
        Reply::ok(),
    )
    .unwrap();
    let prober = prober(nameserver, fast_settings());
    let down = probe(&prober, target(FRIENDLY, port), ca_file()).await;
    assert_eq!(
        status_code(&down, CheckName::Dns),
        (Status::Fail, "refused")
    );
    let _dns = DnsServer::start_at(Zone::new().a(FRIENDLY, &[LOCALHOST]), nameserver)
        .await
        .expect("the nameserver back on its port");
    let up = probe(&prober, target(FRIENDLY, port), ca_file()).await;
    assert_eq!(only(&up, CheckName::Dns).status, Status::Pass);
    assert_eq!(up.observation.as_ref().unwrap().dns.addresses, vec![ip]);
    assert_eq!(
        result(&up, CheckName::Backend, Some(ip)).status,
        Status::Pass
    );
}

#[tokio::test]
async fn dangling_cname_fails_dns_as_nxdomain_naming_the_name_that_does_not_exist() {
    let zone = Zone::new().cname(FRIENDLY, MIDDLE).cname(MIDDLE, LB);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![LB.to_string()].into();
    let outcome = probe_zone(t, zone, fast_settings()).await;
    let obs = outcome.observation.as_ref().unwrap();
    assert_eq!(
        obs.dns.cname_chain,
        vec![MIDDLE.to_string(), LB.to_string()]
    );
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "nxdomain")
    );
    let reason = &only(&outcome, CheckName::Dns).reason;
    assert!(reason.contains(&format!("{MIDDLE} -> {LB}")), "{reason}");
    // The alias itself is right: the chain leads to the expected load balancer's name.
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Pass, "ok")
    );
}

#[tokio::test]
async fn cname_left_at_a_deleted_load_balancer_fails_dns_alias_naming_old_and_expected() {
    const OLD_LB: &str = "k8s-dev-myapp-9999.elb.us-east-2.amazonaws.com";
    let zone = Zone::new().cname(FRIENDLY, OLD_LB).a(LB, &[LOCALHOST]);
    let mut t = target(FRIENDLY, 0);
    t.lb_hostnames = vec![LB.to_string()].into();
    let outcome = probe_zone(t, zone, fast_settings()).await;
    assert_eq!(
        status_code(&outcome, CheckName::Dns),
        (Status::Fail, "nxdomain")
    );
    assert_eq!(
        status_code(&outcome, CheckName::DnsAlias),
        (Status::Fail, "wrong_target")
    );
    let reason = &only(&outcome, CheckName::DnsAlias).reason;
    for needle in [FRIENDLY, OLD_LB, LB, "127.0.0.1"] {
        assert!(reason.contains(needle), "`{needle}` missing from: {reason}");
    }
}

#[tokio::test]
async fn ip_literal_target_is_probed_without_asking_dns() {
    let silent = SilentDns::start().await.unwrap();
    let (port, mut holders) = bind_same_port(&[(IpAddr::V4(LOCALHOST), true)]).unwrap();
    let leaf = PKI.good(&[FRIENDLY]);
    let _server = TlsServer::serve(holders.remove(0).listener(), &leaf, Reply::ok()).unwrap();
    let outcome = probe(
        &prober(silent.addr(), fast_settings()),
        target("127.0.0.1", port),
        ca_file(),
    )
    .await;
    assert_eq!(status_code(&outcome, CheckName::Dns), (Status::Pass, "ok"));
    let r = only(&outcome, CheckName::TlsHandshake);
    assert_eq!(
        (r.status, r.address),
        (Status::Pass, Some(IpAddr::V4(LOCALHOST)))
    );
    // The leaf names a DNS name, not the address: the hostname check says so.
    let r = only(&outcome, CheckName::Hostname);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "mismatch"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn ip_literal_target_passes_hostname_when_the_leaf_has_that_ip_san() {
    let (port, mut holders) = bind_same_port(&[(IpAddr::V4(LOCALHOST), true)]).unwrap();
    let leaf = PKI.good(&["127.0.0.1"]);
    let _server = TlsServer::serve(holders.remove(0).listener(), &leaf, Reply::ok()).unwrap();
    let dns = DnsServer::start(Zone::new()).await.unwrap();
    let t = target("127.0.0.1", port);
    let outcome = probe(&prober(dns.addr(), fast_settings()), t, ca_file()).await;
    let r = only(&outcome, CheckName::Hostname);
    assert_eq!((r.status, r.reason_code()), (Status::Pass, "ok"), "{r:#?}");
    assert!(outcome.ok(), "{:#?}", outcome.results);
}

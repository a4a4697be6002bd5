use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::probe::dns::DnsObservation;
use crate::probe::tls_scan::{Accepted, ScanFailure, suites};

const ADDR: &str = "192.0.2.10:443";

fn scan(pairs: &[(TlsProtocol, &str)]) -> TlsScan {
    let mut versions: Vec<TlsProtocol> = pairs.iter().map(|p| p.0).collect();
    versions.sort();
    versions.dedup();
    TlsScan {
        address: ADDR.parse().unwrap(),
        scanned_at: SystemTime::UNIX_EPOCH,
        duration: Duration::from_millis(40),
        versions,
        accepted: pairs
            .iter()
            .map(|(v, s)| Accepted {
                version: *v,
                suite: suites::by_name(s).unwrap(),
            })
            .collect(),
        connections: 25,
        failure: None,
    }
}

/// What an ECDSA listener under `policy` accepts, as the scan would find it.
fn as_policy(name: &str) -> TlsScan {
    let p = elb_policies::find(name).unwrap();
    let mut pairs = Vec::new();
    for s in p.suites {
        let suite = suites::by_name(s).unwrap();
        if suite.auth == Auth::Rsa {
            continue;
        }
        let top = if suite.tls13 {
            TlsProtocol::Tls13
        } else {
            TlsProtocol::Tls12
        };
        pairs.push((top, *s));
    }
    for v in p.versions {
        if *v < TlsProtocol::Tls12 {
            pairs.push((*v, "ECDHE-ECDSA-AES128-SHA"));
        }
    }
    scan(&pairs)
}

fn observe(scan: Option<TlsScan>) -> (Observation, EndpointObservation) {
    let endpoint = EndpointObservation {
        address: ADDR.parse::<SocketAddr>().unwrap(),
        connect: Ok(Duration::ZERO),
        tls: None,
        http: None,
    };
    let dns = DnsObservation::answered("shop.example.com", vec![]);
    let mut obs = Observation::from_dns(SystemTime::UNIX_EPOCH, dns);
    obs.endpoints = vec![endpoint.clone()];
    obs.tls_scans = scan.into_iter().map(Arc::new).collect();
    (obs, endpoint)
}

fn judge(target: &Target, scan: Option<TlsScan>) -> CheckResult {
    let (obs, endpoint) = observe(scan);
    judge_endpoint(target, &endpoint, &obs, &TlsFloor::default())
}

fn service(policy: Option<&str>) -> Target {
    let source = TargetSource::Kubernetes {
        namespace: "shop".into(),
        service: "web".into(),
    };
    let mut t = Target::new("shop.example.com", 443, source);
    t.tls_policy = policy.map(Into::into);
    t
}

#[test]
fn the_controller_default_fails_old_version_naming_the_policy_and_the_annotation_that_fixes_it() {
    let r = judge(&service(None), Some(as_policy("ELBSecurityPolicy-2016-08")));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "accepts_old_version"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("TLSv1.0, TLSv1.1"), "{}", r.reason);
    assert!(
        r.reason
            .contains("ELBSecurityPolicy-2016-08 (the controller's default"),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains(&format!(
            "set {POLICY_ANNOTATION}: ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
        )),
        "{}",
        r.reason
    );
    assert!(
        r.reason
            .contains("accepts weak suites: ECDHE-ECDSA-AES128-SHA256 (CBC)"),
        "{}",
        r.reason
    );
}

#[test]
fn weak_ciphers_fail_when_forbidden_and_pass_when_allowed() {
    let target = service(None);
    let s = as_policy("ELBSecurityPolicy-TLS13-1-2-2021-06");
    let r = judge(&target, Some(s.clone()));
    assert_eq!(r.reason_code(), "accepts_weak_cipher", "{}", r.reason);
    let (obs, endpoint) = observe(Some(s));
    let lax = TlsFloor {
        forbid_weak_ciphers: false,
        ..TlsFloor::default()
    };
    assert_eq!(
        judge_endpoint(&target, &endpoint, &obs, &lax).status,
        Status::Pass
    );
}

#[test]
fn a_restricted_listener_passes_under_its_own_name_and_mismatches_a_stricter_one() {
    let s = as_policy("ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
    let r = judge(
        &service(Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")),
        Some(s.clone()),
    );
    assert_eq!(r.status, Status::Pass, "{}", r.reason);
    assert!(
        r.reason
            .contains("matches ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
        "{}",
        r.reason
    );
    let r = judge(
        &service(Some("ELBSecurityPolicy-TLS13-1-3-2021-06")),
        Some(s),
    );
    assert_eq!(r.reason_code(), "policy_mismatch", "{}", r.reason);
    assert!(
        r.reason
            .contains("extra TLSv1.2, ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("missing nothing"), "{}", r.reason);
}

#[test]
fn an_ecdsa_listener_is_never_missing_the_policys_rsa_suites() {
    // as_policy() leaves out the RSA suites: an ECDSA key cannot use them.
    let s = as_policy("ELBSecurityPolicy-FS-1-2-Res-2020-10");
    let r = judge(
        &service(Some("ELBSecurityPolicy-FS-1-2-Res-2020-10")),
        Some(s),
    );
    assert_eq!(r.status, Status::Pass, "{}", r.reason);
}

#[test]
fn a_named_tls13_policy_fails_no_tls13_when_the_server_refuses_it() {
    let s = as_policy("ELBSecurityPolicy-FS-1-2-Res-2020-10");
    let r = judge(
        &service(Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")),
        Some(s),
    );
    // Only TLS 1.3 is missing: that is no_tls13's finding alone, not also a mismatch.
    assert_eq!(r.reason_code(), "no_tls13", "{}", r.reason);
    assert!(
        r.reason
            .contains("includes TLS 1.3 but the server refuses it"),
        "{}",
        r.reason
    );
    let only_no13 = scan(&[
        (TlsProtocol::Tls12, "ECDHE-ECDSA-AES128-GCM-SHA256"),
        (TlsProtocol::Tls12, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    ]);
    // With no policy named, refusing TLS 1.3 is no failure.
    assert_eq!(judge(&service(None), Some(only_no13)).status, Status::Pass);
}

#[test]
fn skips_until_the_first_scan_and_when_nothing_was_accepted() {
    let r = judge(&service(None), None);
    assert_eq!((r.status, r.reason_code()), (Status::Skip, "not_scanned"));
    let mut empty = scan(&[]);
    empty.failure = Some(ScanFailure::Timeout(Duration::from_secs(1)));
    let r = judge(&service(None), Some(empty));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "handshake_failed"),
        "{}",
        r.reason
    );
}

#[test]
fn an_incomplete_scan_still_fails_on_what_it_saw_but_is_not_compared_with_the_policy() {
    let mut s = scan(&[(TlsProtocol::Tls13, "TLS_AES_128_GCM_SHA256")]);
    s.failure = Some(ScanFailure::Deadline(Duration::from_secs(1)));
    let r = judge(
        &service(Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")),
        Some(s),
    );
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "scan_incomplete"),
        "{}",
        r.reason
    );
    let mut s = scan(&[(TlsProtocol::Tls10, "AES128-SHA")]);
    s.failure = Some(ScanFailure::Deadline(Duration::from_secs(1)));
    assert_eq!(
        judge(&service(None), Some(s)).reason_code(),
        "accepts_old_version"
    );
}

#[test]
fn a_refused_handshake_at_a_tls10_only_server_becomes_old_version() {
    let (obs, endpoint) = observe(Some(scan(&[(TlsProtocol::Tls10, "ECDHE-RSA-AES256-SHA")])));
    let alert = CheckResult::fail(
        CheckName::TlsHandshake,
        "alert",
        "server sent TLS alert ProtocolVersion",
    )
    .at(endpoint.address.ip());
    let r = explain_handshake(alert.clone(), &endpoint, &obs);
    assert_eq!(r.reason_code(), "old_version");
    assert!(
        r.reason
            .starts_with("the server speaks only TLS 1.0/1.1 (accepts TLSv1.0)"),
        "{}",
        r.reason
    );
    assert_eq!(r.address, alert.address);
    // A server that also speaks TLS 1.2 refused for another reason: left alone.
    let (obs, endpoint) = observe(Some(as_policy("ELBSecurityPolicy-2016-08")));
    assert_eq!(explain_handshake(alert.clone(), &endpoint, &obs), alert);
}

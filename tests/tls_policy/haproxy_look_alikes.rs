//! haproxy configured like two ELB security policies (through its global `ssl-default-bind-*`
//! settings), scanned and judged through the built binary: TLS13-1-2-2021-06 and the legacy
//! 2016-08. The leaf is ECDSA, so only the policies' ECDSA suites can be accepted.

use std::net::{Ipv4Addr, SocketAddr};

use serde_json::json;

use super::haproxy::{self, LEGACY_2016_08, TLS13_1_2_2021_06};
use super::{check, entry, target, world};
use crate::support::free_port_on;
use crate::support::pki::Pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_with_elb_policy_settings_is_scanned_and_judged_like_the_policy() {
    let pki = Pki::new();
    let (modern_ip, legacy_ip) = (Ipv4Addr::new(127, 0, 0, 26), Ipv4Addr::new(127, 0, 0, 27));
    let w = world(
        &pki,
        &[
            ("modern.example.test", modern_ip),
            ("legacy.example.test", legacy_ip),
        ],
    )
    .await;
    let modern_addr = SocketAddr::from((modern_ip, free_port_on(modern_ip)));
    let legacy_addr = SocketAddr::from((legacy_ip, free_port_on(legacy_ip)));
    let _modern = haproxy::start(
        &TLS13_1_2_2021_06,
        modern_addr,
        &pki.good(&["modern.example.test"]),
    );
    let _legacy = haproxy::start(
        &LEGACY_2016_08,
        legacy_addr,
        &pki.good(&["legacy.example.test"]),
    );
    let targets = [
        entry(
            "modern",
            "modern.example.test",
            modern_addr.port(),
            Some("ELBSecurityPolicy-TLS13-1-2-2021-06"),
        ),
        entry(
            "legacy",
            "legacy.example.test",
            legacy_addr.port(),
            Some("ELBSecurityPolicy-2016-08"),
        ),
    ]
    .concat();

    // The floor rules on (defaults: TLS 1.2 minimum, no CBC and no non-forward-secret suites).
    let (report, _) = w.run("", &targets).await;
    let scan = &target(&report, "modern")["facts"]["tls_scans"][0];
    assert_eq!(scan["complete"], true, "{scan:#}");
    assert_eq!(
        scan["accepted_versions"],
        json!(["TLSv1.2", "TLSv1.3"]),
        "{scan:#}"
    );
    assert_eq!(
        scan["accepted_suites"],
        json!([
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-ECDSA-AES256-SHA384"
        ]),
        "{scan:#}"
    );
    // TLS13-1-2-2021-06 keeps two CBC suites (AES128-SHA256, AES256-SHA384): the floor rules
    // fail it even though it is the policy it is named as.
    let (status, code, reason) = check(&report, "modern", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "accepts_weak_cipher"),
        "{reason}"
    );
    assert!(
        reason.contains("ECDHE-ECDSA-AES128-SHA256 (CBC)"),
        "{reason}"
    );
    assert_eq!(check(&report, "modern", "tls_handshake").0, "pass");

    let scan = &target(&report, "legacy")["facts"]["tls_scans"][0];
    assert_eq!(scan["complete"], true, "{scan:#}");
    assert_eq!(
        scan["accepted_versions"],
        json!(["TLSv1.0", "TLSv1.1", "TLSv1.2"]),
        "{scan:#}"
    );
    let (status, code, reason) = check(&report, "legacy", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "accepts_old_version"),
        "{reason}"
    );
    assert!(reason.contains("TLSv1.0, TLSv1.1"), "{reason}");
    assert!(reason.contains("ECDHE-ECDSA-AES128-SHA (CBC)"), "{reason}");
    assert_eq!(check(&report, "legacy", "tls_handshake").0, "pass");

    // With the floor rules relaxed, each matches the policy it is named as: the comparison is
    // on the suites an ECDSA key can use, so the policies' RSA suites are not "missing".
    let relaxed = "  min_accepted_version: \"1.0\"\n  forbid_weak_ciphers: false\n";
    let (report, _) = w.run(relaxed, &targets).await;
    for (name, policy) in [
        ("modern", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
        ("legacy", "ELBSecurityPolicy-2016-08"),
    ] {
        let (status, _, reason) = check(&report, name, "tls_policy");
        assert_eq!(status, "pass", "{name}: {reason}");
        assert!(
            reason.contains(&format!("matches {policy}")),
            "{name}: {reason}"
        );
    }
}

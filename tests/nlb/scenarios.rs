//! The six NLB scenarios, each through the built binary (`edgewatch --once --output json`),
//! asserting the exit code and exactly which checks fail, with what reason.

use std::path::Path;

use serde_json::Value;

use crate::stage::{Faults, IDENTITY, LB, LB_SOURCE, OTHER_LB, PROBER, Stage};

/// The failing checks: (check, reason_code, reason).
fn failing(report: &Value) -> Vec<(String, String, String)> {
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 1, "{report:#}");
    targets[0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("check"), s("reason_code"), s("reason"))
        })
        .collect()
}

/// Brings up the stand-ins with `faults` and runs `edgewatch --once` against them.
async fn scenario(faults: Faults) -> (i32, Value) {
    let stage = Stage::start(faults).await;
    stage
        .run_once(Path::new(env!("CARGO_BIN_EXE_edgewatch")))
        .await
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"][0]["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no `{name}` check in {report:#}"))
}

/// Exactly one failing check, `name`, with `code`; returns its reason.
fn only_failure(report: &Value, name: &str, code: &str) -> String {
    let fails = failing(report);
    assert_eq!(fails.len(), 1, "expected only {name} to fail: {fails:#?}");
    let (check, reason_code, reason) = fails.into_iter().next().unwrap();
    assert_eq!(
        (check.as_str(), reason_code.as_str()),
        (name, code),
        "{reason}"
    );
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_everything_right_exits_0_and_the_backend_saw_the_probers_ip() {
    let (code, report) = scenario(Faults::default()).await;
    assert_eq!(failing(&report), vec![], "{report:#}");
    assert_eq!(code, 0);
    for name in [
        "dns_alias",
        "cert_expected",
        "backend",
        "client_ip",
        "backend_identity",
    ] {
        assert_eq!(check(&report, name)["status"], "pass", "{name}: {report:#}");
    }
    let reason = check(&report, "client_ip")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains(&PROBER.to_string()), "{reason}");
    let identity = check(&report, "backend_identity")["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(identity.contains(IDENTITY), "{identity}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_proxy_protocol_off_fails_client_ip_naming_the_load_balancers_address() {
    let (code, report) = scenario(Faults {
        no_proxy_protocol: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "client_ip", "ip_mismatch");
    assert_eq!(code, 1);
    assert!(
        reason.contains(&format!("saw the client as {LB_SOURCE}")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("prober's IP is {PROBER}")),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_another_valid_cert_for_the_same_name_fails_cert_expected() {
    let (code, report) = scenario(Faults {
        other_cert: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "cert_expected", "mismatch");
    assert_eq!(code, 1);
    assert!(reason.contains("expected sha256:"), "{reason}");
    // The impostor is otherwise perfect: trusted chain, right name, far from expiry.
    for name in ["chain_trusted", "hostname", "cert_expiry", "client_ip"] {
        assert_eq!(check(&report, name)["status"], "pass", "{name}: {report:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_dns_pointing_at_another_load_balancer_fails_dns_alias_naming_both() {
    let (code, report) = scenario(Faults {
        dns_to_other_lb: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "dns_alias", "wrong_target");
    assert_eq!(code, 1);
    assert!(reason.contains(OTHER_LB) && reason.contains(LB), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_backend_down_fails_backend_with_the_load_balancers_503() {
    let (code, report) = scenario(Faults {
        backend_down: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "backend", "bad_status");
    assert_eq!(code, 1);
    assert!(reason.contains("answered 503"), "{reason}");
    // client_ip is `auto` (the default): a dead backend cannot say it is an echo.
    assert_eq!(check(&report, "client_ip")["reason_code"], "not_echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_certificate_near_expiry_fails_cert_expiry() {
    let (code, report) = scenario(Faults {
        near_expiry: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "cert_expiry", "expiring");
    assert_eq!(code, 1);
    assert!(reason.contains("under the minimum of 14"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_acm_another_valid_cert_fails_cert_expected_against_the_acm_certificate() {
    let (code, report) = scenario(Faults {
        other_cert: true,
        expect_by_acm: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "cert_expected", "mismatch");
    assert_eq!(code, 1);
    assert!(reason.contains("arn:aws:acm:us-east-2:"), "{reason}");
    // The ACM certificate itself is fine (imported, ISSUED): only the listener is wrong.
    assert_eq!(check(&report, "acm_status")["status"], "pass", "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_acm_certificate_stuck_in_pending_validation_fails_acm_status() {
    let (code, report) = scenario(Faults {
        acm_pending: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "acm_status", "pending_validation");
    assert_eq!(code, 1);
    assert!(reason.contains("PENDING_VALIDATION"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_alias_records_to_the_right_load_balancer_exit_0() {
    let (code, report) = scenario(Faults {
        alias_records: true,
        ..Faults::default()
    })
    .await;
    assert_eq!(failing(&report), vec![], "{report:#}");
    assert_eq!(code, 0);
    assert_eq!(check(&report, "dns_alias")["status"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_alias_records_to_another_load_balancer_fail_dns_alias() {
    let (code, report) = scenario(Faults {
        alias_records: true,
        dns_to_other_lb: true,
        ..Faults::default()
    })
    .await;
    let reason = only_failure(&report, "dns_alias", "wrong_target");
    assert_eq!(code, 1);
    assert!(
        reason.contains("127.0.0.11") && reason.contains(LB),
        "{reason}"
    );
}

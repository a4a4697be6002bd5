//! Fixtures for `acm_status`: one ACM answer per case, judged at a fixed "now".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::UnixTime;

use super::*;
use crate::checks::chain::ChainVerifier;
use crate::discovery::target::TargetSource;
use crate::probe::acm::AcmError;
use crate::probe::{AcmDomainValidation, DnsObservation};

const DAY: i64 = 86_400;
const NOW: i64 = 1_800_000_000;
const ARN: &str = "arn:aws:acm:us-east-2:123456789012:certificate/aaaa";
const ARN2: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/bbbb";

fn ctx() -> JudgeContext {
    let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    JudgeContext::with_defaults(
        UnixTime::since_unix_epoch(Duration::from_secs(NOW as u64)),
        Arc::new(ChainVerifier::new(&[], algs)),
    )
}

fn target(arns: &[&str]) -> Target {
    let mut t = Target::new("shop.example.com", 443, TargetSource::Flag);
    t.expected_certs = arns
        .iter()
        .map(|a| ExpectedCert::AcmArn(a.to_string()))
        .collect();
    t
}

fn observation(acm: Vec<AcmObservation>) -> Observation {
    let dns = DnsObservation::answered("shop.example.com", vec![]);
    Observation {
        acm: acm.into(),
        ..Observation::from_dns(SystemTime::UNIX_EPOCH, dns)
    }
}

fn issued(cert_type: &str, renewal: Option<&str>, not_after: i64) -> AcmCertificate {
    AcmCertificate {
        status: Some("ISSUED".into()),
        cert_type: Some(cert_type.into()),
        renewal_status: renewal.map(str::to_string),
        not_after: Some(not_after),
        in_use_by: vec![
            "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/net/k8s-shop/1"
                .into(),
        ],
        ..Default::default()
    }
}

fn answer(arn: &str, cert: AcmCertificate) -> AcmObservation {
    AcmObservation {
        arn: arn.into(),
        result: Ok(cert),
    }
}

fn judged(arns: &[&str], acm: Vec<AcmObservation>) -> CheckResult {
    judge(&target(arns), &observation(acm), &ctx())
}

#[test]
fn no_acm_arn_is_a_skip() {
    let r = judged(&[], vec![]);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "no_expectation")
    );
}

#[test]
fn issued_with_healthy_renewal_passes() {
    for renewal in [None, Some("PENDING_AUTO_RENEWAL"), Some("SUCCESS")] {
        let cert = issued("AMAZON_ISSUED", renewal, NOW + 100 * DAY);
        let r = judged(&[ARN], vec![answer(ARN, cert)]);
        assert_eq!(r.status, Status::Pass, "{renewal:?}: {}", r.reason);
        assert!(r.reason.contains("100 days left"), "{}", r.reason);
        assert!(r.reason.contains("in use by 1 resource"), "{}", r.reason);
    }
}

#[test]
fn renewal_pending_validation_fails_naming_the_record_to_restore() {
    let mut cert = issued("AMAZON_ISSUED", Some("PENDING_VALIDATION"), NOW + 40 * DAY);
    cert.pending_validations = vec![AcmDomainValidation {
        domain: "shop.example.com".into(),
        status: Some("PENDING_VALIDATION".into()),
        record: Some((
            "_a1.shop.example.com.".into(),
            "CNAME".into(),
            "_b2.acm-validations.aws.".into(),
        )),
    }];
    let r = judged(&[ARN], vec![answer(ARN, cert)]);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "renewal_pending_validation")
    );
    assert!(r.reason.starts_with(ARN), "{}", r.reason);
    assert!(
        r.reason.contains(
            "`_a1.shop.example.com. CNAME _b2.acm-validations.aws.` (for shop.example.com)"
        ),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("40 days left"), "{}", r.reason);
}

#[test]
fn renewal_pending_validation_without_records_points_at_the_removed_cname() {
    let mut cert = issued("AMAZON_ISSUED", Some("PENDING_VALIDATION"), NOW + 40 * DAY);
    cert.renewal_reason = Some("NO_AVAILABLE_CONTACTS".into());
    let r = judged(&[ARN], vec![answer(ARN, cert)]);
    assert!(r.reason.contains("(NO_AVAILABLE_CONTACTS)"), "{}", r.reason);
    assert!(r.reason.contains("were removed"), "{}", r.reason);
}

#[test]
fn renewal_failed_fails_with_acms_reason() {
    let mut cert = issued("AMAZON_ISSUED", Some("FAILED"), NOW + 20 * DAY);
    cert.renewal_reason = Some("CAA_ERROR".into());
    let r = judged(&[ARN], vec![answer(ARN, cert)]);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "renewal_failed")
    );
    assert!(r.reason.contains("FAILED (CAA_ERROR)"), "{}", r.reason);
}

#[test]
fn every_status_other_than_issued_fails_with_its_own_code() {
    let cases = [
        (
            "PENDING_VALIDATION",
            "pending_validation",
            "has not issued it",
        ),
        ("EXPIRED", "expired", "Request or import a new certificate"),
        ("REVOKED", "revoked", "Request a new certificate"),
        ("FAILED", "failed", "ACM did not issue it"),
        (
            "VALIDATION_TIMED_OUT",
            "validation_timed_out",
            "within 72 hours",
        ),
        ("INACTIVE", "not_issued", "is INACTIVE, not ISSUED"),
    ];
    for (status, code, text) in cases {
        let cert = AcmCertificate {
            status: Some(status.into()),
            ..Default::default()
        };
        let r = judged(&[ARN], vec![answer(ARN, cert)]);
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, code),
            "{status}"
        );
        assert!(r.reason.contains(text), "{status}: {}", r.reason);
    }
}

#[test]
fn an_imported_certificate_near_expiry_fails_because_acm_will_not_renew_it() {
    let cert = issued("IMPORTED", None, NOW + 13 * DAY);
    let r = judged(&[ARN], vec![answer(ARN, cert)]);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "imported_expiring")
    );
    assert!(r.reason.contains("re-import"), "{}", r.reason);
    let cert = issued("IMPORTED", None, NOW + 14 * DAY);
    assert_eq!(judged(&[ARN], vec![answer(ARN, cert)]).status, Status::Pass);
}

#[test]
fn a_past_not_after_fails_even_while_acm_still_says_issued() {
    let cert = issued("AMAZON_ISSUED", None, NOW - 3 * DAY);
    let r = judged(&[ARN], vec![answer(ARN, cert)]);
    assert_eq!((r.status, r.reason_code()), (Status::Fail, "expired"));
    assert!(r.reason.contains("expired 3 days ago"), "{}", r.reason);
}

fn down(arn: &str, error: AcmError) -> AcmObservation {
    AcmObservation {
        arn: arn.into(),
        result: Err(error),
    }
}

#[test]
fn acm_unavailable_skips_unless_required() {
    let r = judged(
        &[ARN],
        vec![down(ARN, AcmError::AccessDenied("details".into()))],
    );
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "acm_unavailable")
    );
    assert!(r.reason.contains("acm:DescribeCertificate"), "{}", r.reason);
    let mut required = ctx();
    required.acm_required = true;
    let down = down(ARN, AcmError::NotFound("details".into()));
    let r = judge(&target(&[ARN]), &observation(vec![down]), &required);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "acm_unavailable")
    );
    assert!(r.reason.contains("account and region"), "{}", r.reason);
}

#[test]
fn acm_disabled_is_a_skip() {
    let r = judged(&[ARN], vec![]);
    assert_eq!((r.status, r.reason_code()), (Status::Skip, "acm_disabled"));
}

#[test]
fn with_several_arns_the_worst_verdict_wins_and_names_its_arns() {
    let healthy = answer(ARN, issued("AMAZON_ISSUED", None, NOW + 90 * DAY));
    let r = judged(
        &[ARN, ARN2],
        vec![
            healthy.clone(),
            down(ARN2, AcmError::Throttled("details".into())),
        ],
    );
    assert_eq!(r.status, Status::Skip);
    assert!(r.reason.starts_with(ARN2), "{}", r.reason);
    let stuck = answer(ARN2, issued("AMAZON_ISSUED", Some("FAILED"), NOW + 9 * DAY));
    let r = judged(&[ARN, ARN2], vec![healthy.clone(), stuck]);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "renewal_failed")
    );
    assert!(
        r.reason.starts_with(ARN2) && !r.reason.contains(ARN),
        "{}",
        r.reason
    );
    let other = answer(ARN2, issued("PRIVATE", None, NOW + 30 * DAY));
    let r = judged(&[ARN, ARN2], vec![healthy, other]);
    assert_eq!(r.status, Status::Pass);
    assert!(
        r.reason.contains(ARN) && r.reason.contains(ARN2),
        "{}",
        r.reason
    );
}

//! `cert_expected` and `acm_status` through the real pipeline: the engine probes a rustls server
//! on loopback, the ACM enricher asks moto, the judges decide.

use std::sync::Arc;

use edgewatch::checks::{CheckName, CheckResult, Status};
use edgewatch::discovery::target::{ExpectedCert, Target, TargetSource};
use edgewatch::export::metrics::Metrics;
use edgewatch::pipeline::engine::Engine;
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::probe::acm::{AcmEnricher, AcmLookupOptions, AcmMetrics};

use crate::moto;
use crate::{lookup, options, pki, unknown_arn};

/// Probes a server serving `served`, expecting the ACM certificates `arns`.
/// With `acm_required`, ACM that cannot be asked fails the ACM checks instead of skipping them.
async fn probe(
    served: &pki::TestCert,
    arns: &[&str],
    options: AcmLookupOptions,
    acm_required: bool,
) -> Outcome {
    let server = pki::serve(served).await;
    let addr = server.addr();
    let mut target = Target::new(addr.ip().to_string(), addr.port(), TargetSource::Flag);
    target.expected_certs = arns
        .iter()
        .map(|a| ExpectedCert::AcmArn(a.to_string()))
        .collect();
    let mut settings = edgewatch::run::settings::load(None, &[]).expect("default settings");
    settings.acm.required = acm_required;
    let (acm, _) = lookup(options);
    let engine = Engine::new(settings.engine())
        .expect("engine")
        .with_enricher(Arc::new(AcmEnricher::new(acm)));
    engine.run(Arc::new(target)).await
}

fn result(outcome: &Outcome, check: CheckName) -> CheckResult {
    outcome
        .results
        .iter()
        .find(|r| r.check == check)
        .map(|r| r.to_result())
        .unwrap_or_else(|| panic!("no {check} in {:#?}", outcome.results))
}

#[tokio::test]
async fn serving_the_acm_certificate_passes_cert_expected_and_acm_status() {
    let moto = moto::shared();
    let cert = pki::cert("shop.example.com", 90);
    let arn = moto
        .import("us-east-2", cert.cert_pem(), cert.key_pem())
        .await;
    let outcome = probe(&cert, &[&arn], options(moto.client_options()), true).await;
    let expected = result(&outcome, CheckName::CertExpected);
    assert_eq!(expected.status, Status::Pass, "{}", expected.reason);
    assert!(expected.reason.contains(&arn), "{}", expected.reason);
    let status = result(&outcome, CheckName::AcmStatus);
    assert_eq!(status.status, Status::Pass, "{}", status.reason);
    assert!(
        status.reason.contains("is ISSUED (IMPORTED)"),
        "{}",
        status.reason
    );
    // ACM's not-after is exported beside the served one.
    let metrics = Metrics::new(&prometheus::Registry::new());
    metrics.record(&outcome);
    let not_after = edgewatch::probe::certinfo::parse(cert.leaf_der())
        .unwrap()
        .not_after;
    let text = metrics.render();
    let line = text
        .lines()
        .find(|l| l.starts_with("edgewatch_acm_cert_not_after_timestamp_seconds{"))
        .unwrap_or_else(|| panic!("no ACM not-after series in:\n{text}"));
    assert!(line.contains(&arn), "{line}");
    assert_eq!(
        line.rsplit(' ').next().unwrap().parse::<f64>().unwrap(),
        not_after as f64
    );
}

#[tokio::test]
async fn serving_another_valid_certificate_fails_cert_expected_naming_both_sides() {
    let moto = moto::shared();
    let in_acm = pki::cert("shop.example.com", 90);
    let served = pki::cert("shop.example.com", 60);
    let arn = moto
        .import("us-east-2", in_acm.cert_pem(), in_acm.key_pem())
        .await;
    let outcome = probe(&served, &[&arn], options(moto.client_options()), false).await;
    let r = result(&outcome, CheckName::CertExpected);
    assert_eq!((r.status, r.reason_code()), (Status::Fail, "mismatch"));
    let served_sha = hex::encode(edgewatch::probe::certinfo::sha256(served.leaf_der()));
    let acm_sha = hex::encode(edgewatch::probe::certinfo::sha256(in_acm.leaf_der()));
    for part in [&served_sha, &acm_sha, &arn] {
        assert!(
            r.reason.contains(part.as_str()),
            "`{part}` missing: {}",
            r.reason
        );
    }
    eprintln!("cert_expected: {}", r.reason);
    assert_eq!(result(&outcome, CheckName::AcmStatus).status, Status::Pass);
}

#[tokio::test]
async fn unknown_arn_or_acm_down_skips_unless_acm_is_required() {
    let moto = moto::shared();
    let cert = pki::cert("shop.example.com", 90);
    let arn = unknown_arn("us-east-2");
    let dead = moto::client_options(&format!("http://127.0.0.1:{}", crate::support::free_port()));
    for (client, kind) in [(moto.client_options(), "not_found"), (dead, "unreachable")] {
        for required in [false, true] {
            let outcome = probe(&cert, &[&arn], options(client.clone()), required).await;
            let want = if required { Status::Fail } else { Status::Skip };
            for check in [CheckName::CertExpected, CheckName::AcmStatus] {
                let r = result(&outcome, check);
                assert_eq!(
                    (r.status, r.reason_code()),
                    (want, "acm_unavailable"),
                    "{check} {kind} required={required}: {}",
                    r.reason
                );
                assert!(r.reason.contains(kind), "{}", r.reason);
            }
        }
    }
}

#[tokio::test]
async fn a_requested_certificate_pending_validation_fails_acm_status() {
    let moto = moto::shared();
    let arn = moto.request("us-east-2", "pending.example.com").await;
    let served = pki::cert("pending.example.com", 90);
    let outcome = probe(&served, &[&arn], options(moto.client_options()), false).await;
    let r = result(&outcome, CheckName::AcmStatus);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "pending_validation"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("has not issued it"), "{}", r.reason);
    assert!(r.reason.contains("DNS validation record"), "{}", r.reason);
    eprintln!("acm_status: {}", r.reason);
}

#[tokio::test]
async fn acm_disabled_in_the_config_adds_nothing_and_says_so() {
    let settings = edgewatch::run::settings::load(None, &[]).expect("default settings");
    assert!(!settings.acm.enabled, "ACM is off by default");
    let enricher = AcmEnricher::from_settings(
        &settings.acm,
        AcmMetrics::register(&prometheus::Registry::new()),
    );
    assert!(enricher.lookup().is_none());
    let cert = pki::cert("shop.example.com", 90);
    let server = pki::serve(&cert).await;
    let addr = server.addr();
    let mut target = Target::new(addr.ip().to_string(), addr.port(), TargetSource::Flag);
    target.expected_certs = vec![ExpectedCert::AcmArn(unknown_arn("us-east-2"))].into();
    let engine = Engine::new(settings.engine())
        .expect("engine")
        .with_enricher(Arc::new(enricher));
    let outcome = engine.run(Arc::new(target)).await;
    assert!(outcome.observation.as_ref().unwrap().acm.is_empty());
    let r = result(&outcome, CheckName::AcmStatus);
    assert_eq!((r.status, r.reason_code()), (Status::Skip, "acm_disabled"));
    let r = result(&outcome, CheckName::CertExpected);
    assert!(r.reason.contains("not enabled"), "{}", r.reason);
}

#[tokio::test]
async fn each_distinct_acm_arn_is_observed_once() {
    let moto = moto::shared();
    let cert = pki::cert("twice.example.com", 90);
    let arn = moto
        .import("us-east-2", cert.cert_pem(), cert.key_pem())
        .await;
    let bad = "arn:aws:acm:us-east-2:123456789012:listener/x";
    let outcome = probe(
        &cert,
        &[&arn, bad, &arn],
        options(moto.client_options()),
        false,
    )
    .await;
    let acm = &outcome.observation.as_ref().unwrap().acm;
    let seen: Vec<(&str, Result<(), &str>)> = acm
        .iter()
        .map(|a| {
            (
                a.arn.as_str(),
                a.result.as_ref().map(|_| ()).map_err(|e| e.as_str()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(arn.as_str(), Ok(())), (bad, Err("invalid_arn"))]
    );
    // One match is enough for cert_expected; the invalid ARN makes acm_status skip, not pass.
    assert_eq!(
        result(&outcome, CheckName::CertExpected).status,
        Status::Pass
    );
    let r = result(&outcome, CheckName::AcmStatus);
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "acm_unavailable")
    );
    assert!(r.reason.contains("Fix the ARN"), "{}", r.reason);
}

//! Certificate cases: each chain defect of the test PKI yields the right check and reason code,
//! and a good chain passes every check.

use edgewatch::checks::{CheckName, Status};
use edgewatch::discovery::target::ExpectedCert;

use super::support::prober::{fast_settings, only};
use super::support::tls_server::Reply;
use super::{PKI, probe_single, probe_single_with, target};

const NAME: &str = "app.example.test";

fn assert_check(
    outcome: &edgewatch::pipeline::outcome::Outcome,
    check: CheckName,
    status: Status,
    code: &str,
) {
    let r = only(outcome, check);
    assert_eq!(
        (r.status, r.reason_code()),
        (status, code),
        "{check}: {r:#?}\nall results: {:#?}",
        outcome.results
    );
}

#[tokio::test]
async fn good_chain_passes_every_probed_check_and_skips_unconfigured_ones() {
    let outcome = probe_single(NAME, &PKI.good(&[NAME])).await;
    for check in [
        CheckName::Config,
        CheckName::Dns,
        CheckName::TlsHandshake,
        CheckName::ChainTrusted,
        CheckName::Hostname,
        CheckName::CertExpiry,
        CheckName::CertConsistent,
        CheckName::Backend,
    ] {
        assert_check(&outcome, check, Status::Pass, "ok");
    }
    assert_check(
        &outcome,
        CheckName::DnsAlias,
        Status::Skip,
        "no_expectation",
    );
    assert_check(
        &outcome,
        CheckName::CertExpected,
        Status::Skip,
        "no_expectation",
    );
    assert!(outcome.ok(), "{:#?}", outcome.results);
    let obs = outcome.observation.as_ref().expect("observation");
    let tls = obs.endpoints[0].tls.as_ref().expect("TLS observed");
    assert_eq!(tls.chain.len(), 2, "leaf and intermediate recorded");
    assert!(
        tls.version
            .as_deref()
            .is_some_and(|v| v.starts_with("TLSv1."))
    );
}

#[tokio::test]
async fn expired_leaf_fails_chain_trusted_and_cert_expiry_as_expired() {
    let outcome = probe_single(NAME, &PKI.expired(NAME)).await;
    assert_check(&outcome, CheckName::ChainTrusted, Status::Fail, "expired");
    assert_check(&outcome, CheckName::CertExpiry, Status::Fail, "expired");
    assert!(
        only(&outcome, CheckName::ChainTrusted)
            .reason
            .contains(NAME)
    );
    // The handshake itself still succeeds: the verdict is the judges', not an opaque TLS error.
    assert_check(&outcome, CheckName::TlsHandshake, Status::Pass, "ok");
}

#[tokio::test]
async fn not_yet_valid_leaf_fails_chain_trusted_as_not_yet_valid() {
    let outcome = probe_single(NAME, &PKI.not_yet_valid(NAME)).await;
    assert_check(
        &outcome,
        CheckName::ChainTrusted,
        Status::Fail,
        "not_yet_valid",
    );
    assert_check(&outcome, CheckName::Hostname, Status::Pass, "ok");
}

#[tokio::test]
async fn leaf_with_fewer_days_left_than_the_minimum_fails_cert_expiry_as_expiring() {
    let outcome = probe_single(NAME, &PKI.expiring_in(NAME, 5)).await;
    assert_check(&outcome, CheckName::CertExpiry, Status::Fail, "expiring");
    assert!(
        only(&outcome, CheckName::CertExpiry)
            .reason
            .contains("5 days left")
    );
    assert_check(&outcome, CheckName::ChainTrusted, Status::Pass, "ok");
}

#[tokio::test]
async fn leaf_for_another_name_fails_hostname_as_mismatch_naming_the_served_names() {
    let outcome = probe_single(NAME, &PKI.wrong_name()).await;
    assert_check(&outcome, CheckName::Hostname, Status::Fail, "mismatch");
    let reason = &only(&outcome, CheckName::Hostname).reason;
    assert!(
        reason.contains(NAME) && reason.contains("other.example.test"),
        "{reason}"
    );
    assert_check(&outcome, CheckName::ChainTrusted, Status::Pass, "ok");
}

#[tokio::test]
async fn wildcard_leaf_matches_a_name_one_label_below() {
    let leaf = PKI.good(&["*.example.test"]);
    let outcome = probe_single("one.example.test", &leaf).await;
    assert_check(&outcome, CheckName::Hostname, Status::Pass, "ok");
    assert_check(&outcome, CheckName::ChainTrusted, Status::Pass, "ok");
}

#[tokio::test]
async fn wildcard_leaf_does_not_match_a_name_two_labels_below() {
    let leaf = PKI.good(&["*.example.test"]);
    let outcome = probe_single("two.one.example.test", &leaf).await;
    assert_check(&outcome, CheckName::Hostname, Status::Fail, "mismatch");
}

#[tokio::test]
async fn self_signed_leaf_fails_chain_trusted_as_self_signed() {
    let outcome = probe_single(NAME, &PKI.self_signed(NAME)).await;
    assert_check(
        &outcome,
        CheckName::ChainTrusted,
        Status::Fail,
        "self_signed",
    );
}

#[tokio::test]
async fn chain_from_an_untrusted_root_fails_chain_trusted_as_unknown_issuer() {
    let outcome = probe_single(NAME, &PKI.unknown_root(NAME)).await;
    assert_check(
        &outcome,
        CheckName::ChainTrusted,
        Status::Fail,
        "unknown_issuer",
    );
    let reason = &only(&outcome, CheckName::ChainTrusted).reason;
    assert!(reason.contains("edgewatch rogue root"), "{reason}");
}

#[tokio::test]
async fn leaf_sent_without_its_intermediate_fails_as_missing_intermediate() {
    let outcome = probe_single(NAME, &PKI.missing_intermediate(NAME)).await;
    assert_check(
        &outcome,
        CheckName::ChainTrusted,
        Status::Fail,
        "missing_intermediate",
    );
    let reason = &only(&outcome, CheckName::ChainTrusted).reason;
    assert!(reason.contains("edgewatch test intermediate"), "{reason}");
}

#[tokio::test]
async fn cert_expected_passes_when_the_served_leaf_matches_the_sha256_pin() {
    let leaf = PKI.good(&[NAME]);
    let mut t = target(NAME, 0);
    t.expected_certs = vec![ExpectedCert::Sha256(leaf.sha256())].into();
    let outcome = probe_single_with(t, &leaf, Reply::ok(), fast_settings()).await;
    assert_check(&outcome, CheckName::CertExpected, Status::Pass, "ok");
}

#[tokio::test]
async fn cert_expected_fails_as_mismatch_naming_both_fingerprints_for_another_leafs_pin() {
    let served = PKI.good(&[NAME]);
    let pinned = PKI.good(&[NAME]);
    let mut t = target(NAME, 0);
    t.expected_certs = vec![ExpectedCert::Sha256(pinned.sha256())].into();
    let outcome = probe_single_with(t, &served, Reply::ok(), fast_settings()).await;
    assert_check(&outcome, CheckName::CertExpected, Status::Fail, "mismatch");
    let reason = &only(&outcome, CheckName::CertExpected).reason;
    assert!(reason.contains(&hex::encode(served.sha256())), "{reason}");
    assert!(reason.contains(&hex::encode(pinned.sha256())), "{reason}");
}

#[tokio::test]
async fn valid_leaf_under_an_expired_intermediate_fails_chain_trusted_as_expired_naming_it() {
    let outcome = probe_single(NAME, &PKI.expired_intermediate(NAME)).await;
    assert_check(&outcome, CheckName::ChainTrusted, Status::Fail, "expired");
    let reason = &only(&outcome, CheckName::ChainTrusted).reason;
    assert!(
        reason.contains("edgewatch expired intermediate"),
        "{reason}"
    );
    // The leaf's own dates are fine.
    assert_check(&outcome, CheckName::CertExpiry, Status::Pass, "ok");
}

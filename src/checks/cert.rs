//! Certificate checks per address (`chain_trusted`, `hostname`, `cert_expiry`, `cert_expected`)
//! and across addresses (`cert_consistent`).

use rustls::pki_types::{CertificateDer, ServerName};

use super::{CheckName, CheckResult, JudgeContext};
use crate::discovery::target::{ExpectedCert, Target};
use crate::probe::certinfo::{self, CertFacts};
use crate::probe::{AcmObservation, EndpointObservation, Observation};
use crate::timefmt::rfc3339;

const SECONDS_PER_DAY: i64 = 86_400;

/// The leaf served at one endpoint, when the handshake got that far.
fn served_chain(endpoint: &EndpointObservation) -> Option<&[CertificateDer<'static>]> {
    endpoint
        .tls
        .as_ref()
        .filter(|t| t.failure.is_none() && !t.chain.is_empty())
        .map(|t| &t.chain[..])
}

/// Judges the certificate served at one address.
pub fn judge_endpoint(
    target: &Target,
    endpoint: &EndpointObservation,
    obs: &Observation,
    ctx: &JudgeContext,
) -> Vec<CheckResult> {
    let ip = endpoint.address.ip();
    let names = [
        CheckName::ChainTrusted,
        CheckName::Hostname,
        CheckName::CertExpiry,
        CheckName::CertExpected,
    ];
    let Some(chain) = served_chain(endpoint) else {
        return names
            .iter()
            .map(|&c| {
                CheckResult::skip(
                    c,
                    "no_certificate",
                    "no certificate: the TLS handshake did not complete",
                )
                .at(ip)
            })
            .collect();
    };
    // The probe parsed the leaf once; an observation built without it (by hand) is parsed here.
    let parsed;
    let leaf = match endpoint.tls.as_ref().and_then(|t| t.leaf.as_ref()) {
        Some(leaf) => leaf,
        None => {
            parsed = certinfo::parse(&chain[0]);
            &parsed
        }
    };
    let leaf = match leaf {
        Ok(leaf) => leaf,
        Err(e) => {
            return names
                .iter()
                .map(|&c| {
                    CheckResult::fail(c, "malformed", format!("leaf certificate: {e}")).at(ip)
                })
                .collect();
        }
    };
    vec![
        ctx.verifier.judge_leaf(chain, leaf, ctx.now).at(ip),
        judge_hostname(&target.hostname, &chain[0], leaf).at(ip),
        judge_expiry(leaf, ctx).at(ip),
        judge_expected(target, leaf, &obs.acm, ctx.acm_required).at(ip),
    ]
}

fn judge_hostname(hostname: &str, der: &CertificateDer<'_>, leaf: &CertFacts) -> CheckResult {
    let check = CheckName::Hostname;
    let names = if leaf.dns_names.is_empty() {
        "no DNS names".to_string()
    } else {
        leaf.dns_names.join(", ")
    };
    let Ok(server_name) = ServerName::try_from(hostname) else {
        return CheckResult::fail(
            check,
            "bad_name",
            format!("`{hostname}` is not a valid DNS name"),
        );
    };
    let valid = webpki::EndEntityCert::try_from(der)
        .map(|ee| ee.verify_is_valid_for_subject_name(&server_name).is_ok())
        .unwrap_or(false);
    if valid {
        CheckResult::pass(
            check,
            format!("`{hostname}` is on the certificate ({names})"),
        )
    } else {
        CheckResult::fail(
            check,
            "mismatch",
            format!("`{hostname}` is not on the certificate, which names {names}"),
        )
    }
}

fn judge_expiry(leaf: &CertFacts, ctx: &JudgeContext) -> CheckResult {
    let check = CheckName::CertExpiry;
    let now = ctx.now.as_secs() as i64;
    let left = leaf.not_after - now;
    let days = left.div_euclid(SECONDS_PER_DAY);
    let until = rfc3339(leaf.not_after);
    if left < 0 {
        CheckResult::fail(
            check,
            "expired",
            format!("expired {} days ago ({until})", -days),
        )
    } else if days < i64::from(ctx.min_days_left) {
        CheckResult::fail(
            check,
            "expiring",
            format!(
                "{days} days left (until {until}), under the minimum of {}",
                ctx.min_days_left
            ),
        )
    } else {
        CheckResult::pass(check, format!("{days} days left (until {until})"))
    }
}

/// Passes when the leaf matches any expected certificate.
/// `acm_required` (`acm.required`): ACM that cannot be asked fails instead of skipping.
fn judge_expected(
    target: &Target,
    leaf: &CertFacts,
    acm: &[AcmObservation],
    acm_required: bool,
) -> CheckResult {
    let check = CheckName::CertExpected;
    if target.expected_certs.is_empty() {
        return CheckResult::skip(
            check,
            "no_expectation",
            "no expected certificate is configured",
        );
    }
    let mut compared = Vec::new();
    let mut unknown = Vec::new();
    let mut acm_failed = false;
    for expected in &target.expected_certs {
        let verdict = match expected {
            ExpectedCert::Sha256(d) => Some(hex::encode(d) == leaf.sha256),
            ExpectedCert::SpkiSha256(d) => Some(hex::encode(d) == leaf.spki_sha256),
            ExpectedCert::Serial(s) => Some(*s == leaf.serial),
            ExpectedCert::AcmArn(arn) => match acm.iter().find(|a| &a.arn == arn) {
                None => {
                    unknown.push(format!("{arn}: ACM lookup is not enabled"));
                    None
                }
                Some(AcmObservation { result: Err(f), .. }) => {
                    acm_failed = true;
                    unknown.push(format!(
                        "{arn}: ACM could not be asked ({}: {f})",
                        f.as_str()
                    ));
                    None
                }
                Some(AcmObservation {
                    result: Ok(cert), ..
                }) => match cert.sha256 {
                    Some(d) => {
                        let same = hex::encode(d) == leaf.sha256;
                        if !same {
                            compared.push(format!(
                                "{arn} is `{}` serial {} sha256 {} not after {}",
                                cert.subject.as_deref().unwrap_or("?"),
                                cert.serial.as_deref().unwrap_or("?"),
                                hex::encode(d),
                                cert.not_after.map(rfc3339).unwrap_or_else(|| "?".into())
                            ));
                        }
                        Some(same)
                    }
                    None => {
                        unknown.push(format!("{arn}: ACM returned no certificate body"));
                        None
                    }
                },
            },
        };
        match verdict {
            Some(true) => {
                return CheckResult::pass(check, format!("served leaf matches {expected}"));
            }
            Some(false) if !matches!(expected, ExpectedCert::AcmArn(_)) => {
                compared.push(expected.to_string())
            }
            _ => {}
        }
    }
    let served = format!(
        "served `{}` serial {} sha256 {} not after {}",
        leaf.subject,
        leaf.serial,
        leaf.sha256,
        rfc3339(leaf.not_after)
    );
    if compared.is_empty() {
        let reason = format!("cannot compare: {}", unknown.join("; "));
        return if acm_failed && acm_required {
            CheckResult::fail(check, "acm_unavailable", reason)
        } else {
            CheckResult::skip(check, "acm_unavailable", reason)
        };
    }
    let mut reason = format!("{served}; expected {}", compared.join(" or "));
    if !unknown.is_empty() {
        reason.push_str(&format!(" (also: {})", unknown.join("; ")));
    }
    CheckResult::fail(check, "mismatch", reason)
}

/// `cert_consistent`: every address that completed a handshake serves the same leaf.
pub fn judge_consistency(obs: &Observation) -> CheckResult {
    let check = CheckName::CertConsistent;
    let mut by_leaf: Vec<(String, Vec<String>)> = Vec::new();
    for endpoint in &obs.endpoints {
        let Some(chain) = served_chain(endpoint) else {
            continue;
        };
        let fp = match endpoint.tls.as_ref().and_then(|t| t.leaf_facts()) {
            Some(leaf) => leaf.sha256.clone(),
            None => hex::encode(certinfo::sha256(chain[0].as_ref())),
        };
        let addr = endpoint.address.ip().to_string();
        match by_leaf.iter_mut().find(|(f, _)| *f == fp) {
            Some((_, addrs)) => addrs.push(addr),
            None => by_leaf.push((fp, vec![addr])),
        }
    }
    match by_leaf.len() {
        0 => CheckResult::skip(
            check,
            "no_certificate",
            "no address completed a TLS handshake",
        ),
        1 => CheckResult::pass(
            check,
            format!("{} address(es) serve the same leaf", by_leaf[0].1.len()),
        ),
        _ => {
            let parts: Vec<String> = by_leaf
                .iter()
                .map(|(fp, addrs)| format!("{} serve sha256 {}", addrs.join(", "), &fp[..16]))
                .collect();
            CheckResult::fail(
                check,
                "differs",
                format!("addresses serve different leaves: {}", parts.join("; ")),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::UnixTime;

    use super::*;
    use crate::checks::Status;
    use crate::checks::chain::ChainVerifier;
    use crate::discovery::target::TargetSource;
    use crate::probe::AcmCertificate;
    use crate::probe::acm::AcmError;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn ctx() -> JudgeContext {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        JudgeContext::with_defaults(
            UnixTime::since_unix_epoch(Duration::from_secs(NOW as u64)),
            Arc::new(ChainVerifier::new(&[], algs)),
        )
    }

    fn leaf(not_after: i64) -> CertFacts {
        CertFacts {
            subject: "CN=tls-demo.example.com".into(),
            issuer: "CN=Test CA".into(),
            serial: "1a2b".into(),
            sha256: "aa".repeat(32),
            spki_sha256: "bb".repeat(32),
            not_before: NOW - 100 * DAY,
            not_after,
            dns_names: vec!["tls-demo.example.com".into()],
            is_ca: false,
            issuer_der: Vec::new(),
            key_algorithm: String::new(),
        }
    }

    #[test]
    fn expiry_passes_at_the_threshold_and_fails_a_second_below_it() {
        assert_eq!(
            judge_expiry(&leaf(NOW + 14 * DAY), &ctx()).status,
            Status::Pass
        );
        let r = judge_expiry(&leaf(NOW + 14 * DAY - 1), &ctx());
        assert_eq!((r.status, r.reason_code()), (Status::Fail, "expiring"));
        assert!(r.reason.starts_with("13 days left"), "{}", r.reason);
    }

    #[test]
    fn expiry_fails_as_expired_once_not_after_has_passed() {
        let r = judge_expiry(&leaf(NOW - 2 * DAY), &ctx());
        assert_eq!((r.status, r.reason_code()), (Status::Fail, "expired"));
        assert!(r.reason.starts_with("expired 2 days ago"), "{}", r.reason);
    }

    fn target(expected: Vec<ExpectedCert>) -> Target {
        let mut t = Target::new("tls-demo.example.com", 443, TargetSource::Flag);
        t.expected_certs = expected.into();
        t
    }

    const ARN: &str = "arn:aws:acm:us-east-2:1:certificate/abc";

    fn acm(sha: [u8; 32]) -> AcmObservation {
        AcmObservation {
            arn: ARN.into(),
            result: Ok(AcmCertificate {
                sha256: Some(sha),
                subject: Some("CN=other".into()),
                serial: Some("99".into()),
                not_after: Some(NOW),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn expected_matches_any_listed_form() {
        let t = target(vec![
            ExpectedCert::Serial("ffff".into()),
            ExpectedCert::SpkiSha256([0xbb; 32]),
        ]);
        assert_eq!(
            judge_expected(&t, &leaf(NOW), &[], false).status,
            Status::Pass
        );
    }

    #[test]
    fn expected_acm_certificate_passes_by_sha256_and_fails_naming_both_sides() {
        let t = target(vec![ExpectedCert::AcmArn(ARN.into())]);
        assert_eq!(
            judge_expected(&t, &leaf(NOW), &[acm([0xaa; 32])], false).status,
            Status::Pass
        );
        let r = judge_expected(&t, &leaf(NOW), &[acm([0xcc; 32])], false);
        assert_eq!((r.status, r.reason_code()), (Status::Fail, "mismatch"));
        assert!(
            r.reason.contains("CN=tls-demo.example.com") && r.reason.contains(&"cc".repeat(32)),
            "{}",
            r.reason
        );
        assert!(r.reason.contains(ARN), "{}", r.reason);
    }

    #[test]
    fn unavailable_acm_skips_unless_required() {
        let t = target(vec![ExpectedCert::AcmArn(ARN.into())]);
        let down = AcmObservation {
            arn: ARN.into(),
            result: Err(AcmError::Unreachable("connection refused".into())),
        };
        let r = judge_expected(&t, &leaf(NOW), std::slice::from_ref(&down), false);
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Skip, "acm_unavailable")
        );
        assert!(r.reason.contains("unreachable"), "{}", r.reason);
        assert_eq!(
            judge_expected(&t, &leaf(NOW), &[down], true).status,
            Status::Fail
        );
        let r = judge_expected(&t, &leaf(NOW), &[], false);
        assert!(
            r.reason.contains("ACM lookup is not enabled"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn no_expectation_is_a_skip() {
        let r = judge_expected(&target(vec![]), &leaf(NOW), &[], false);
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Skip, "no_expectation")
        );
    }

    #[test]
    fn the_judges_read_the_leaf_the_probe_parsed_not_the_der_again() {
        use crate::probe::{DnsObservation, TlsObservation};
        // rcgen's default validity runs to 4096: the DER itself is far from expiry.
        let key = rcgen::KeyPair::generate().unwrap();
        let der = rcgen::CertificateParams::new(vec!["tls-demo.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .der()
            .clone();
        let mut tls = TlsObservation::before_handshake();
        tls.record_chain(vec![der]);
        assert_eq!(
            tls.leaf_facts().map(|f| f.dns_names.clone()),
            Some(vec!["tls-demo.example.com".to_string()]),
            "the probe parses the leaf when it records the chain"
        );
        // Facts that disagree with the DER: the verdict follows the facts.
        tls.leaf = Some(Arc::new(Ok(leaf(NOW - 2 * DAY))));
        let endpoint = EndpointObservation {
            address: "127.0.0.1:443".parse().unwrap(),
            connect: Ok(Duration::ZERO),
            tls: Some(tls),
            http: None,
        };
        let obs = Observation::from_dns(
            std::time::SystemTime::UNIX_EPOCH,
            DnsObservation::answered("tls-demo.example.com", vec![endpoint.address.ip()]),
        );
        let results = judge_endpoint(&target(vec![]), &endpoint, &obs, &ctx());
        let expiry = results
            .iter()
            .find(|r| r.check == CheckName::CertExpiry)
            .unwrap();
        assert_eq!(
            (expiry.status, expiry.reason_code()),
            (Status::Fail, "expired")
        );
    }
}

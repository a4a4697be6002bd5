//! `lb_listener`: every TLS port the Service declares has a `TLS` listener whose default
//! certificate is the first annotated ARN, which carries every other annotated ARN, and whose
//! `SslPolicy` is the annotated one (the controller's default when not annotated).

use super::{CheckName, CheckResult, found_lb_details};
use crate::discovery::lb_intent::DEFAULT_SSL_POLICY;
use crate::discovery::target::{ExpectedCert, Target};
use crate::probe::Observation;
use crate::probe::aws::ListenerFacts;

const CHECK: CheckName = CheckName::LbListener;

/// What the listeners should be, from the Service (or, for a static target, its own port, ACM
/// ARNs and configured policy).
struct Expected {
    ports: Vec<u16>,
    certs: Vec<String>,
    policy: Option<String>,
}

fn expected(target: &Target) -> Expected {
    match &target.lb_intent {
        Some(intent) => Expected {
            ports: intent.tls_ports.clone(),
            certs: intent.cert_arns.clone(),
            policy: Some(
                target
                    .tls_policy
                    .as_deref()
                    .unwrap_or(DEFAULT_SSL_POLICY)
                    .to_string(),
            ),
        },
        None => Expected {
            ports: vec![target.port],
            certs: target
                .expected_certs
                .iter()
                .filter_map(|e| match e {
                    ExpectedCert::AcmArn(a) => Some(a.clone()),
                    _ => None,
                })
                .collect(),
            policy: target.tls_policy.as_deref().map(str::to_string),
        },
    }
}

/// The verdict.
pub(super) fn judge(target: &Target, obs: &Observation) -> CheckResult {
    let (lb, details) = match found_lb_details(CHECK, obs) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let want = expected(target);
    if target.lb_intent.is_some() && want.certs.is_empty() {
        // No certificate annotated: the controller makes TCP listeners and TLS, if any, ends in
        // the pods. There is no listener intent to compare.
        return CheckResult::skip(
            CHECK,
            "no_expectation",
            "the Service annotates no certificate (aws-load-balancer-ssl-cert): TLS is not \
             terminated at the load balancer",
        );
    }
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    let mut passed: Vec<String> = Vec::new();
    for port in &want.ports {
        match details.listeners.iter().find(|l| l.port == *port) {
            None => {
                let have: Vec<String> = details
                    .listeners
                    .iter()
                    .map(|l| format!("{}/{}", l.port, l.protocol))
                    .collect();
                failures.push((
                    "no_listener",
                    format!(
                        "no listener on port {port} (listeners: {})",
                        if have.is_empty() {
                            "none".to_string()
                        } else {
                            have.join(", ")
                        }
                    ),
                ));
            }
            Some(l) => match judge_listener(l, &want) {
                Ok(summary) => passed.push(summary),
                Err(f) => failures.push(f),
            },
        }
    }
    if let Some((code, _)) = failures.first() {
        let reasons: Vec<String> = failures.iter().map(|(_, r)| r.clone()).collect();
        return CheckResult::fail(
            CHECK,
            code,
            format!("{}: {}", lb.summary.arn, reasons.join("; ")),
        );
    }
    if passed.is_empty() {
        return CheckResult::skip(CHECK, "no_expectation", "the Service declares no TLS port");
    }
    CheckResult::pass(CHECK, passed.join("; "))
}

/// One listener against the expectation: its summary, or the first thing wrong with it.
fn judge_listener(l: &ListenerFacts, want: &Expected) -> Result<String, (&'static str, String)> {
    let port = l.port;
    if l.protocol != "TLS" {
        return Err((
            "not_tls",
            format!(
                "the listener on port {port} is {}, not TLS: the Service's \
                 aws-load-balancer-ssl-ports does not name it",
                l.protocol
            ),
        ));
    }
    if let Some(first) = want.certs.first() {
        if l.default_certificate.as_deref() != Some(first.as_str()) {
            return Err((
                "wrong_certificate",
                format!(
                    "port {port}: the default certificate is {} but the Service annotates {first}",
                    l.default_certificate.as_deref().unwrap_or("none")
                ),
            ));
        }
        let missing: Vec<&str> = want
            .certs
            .iter()
            .skip(1)
            .filter(|a| !l.certificates.contains(a))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err((
                "missing_certificate",
                format!(
                    "port {port}: annotated certificate(s) {} not on the listener (it has {})",
                    missing.join(", "),
                    l.certificates.join(", ")
                ),
            ));
        }
    }
    let policy = l.ssl_policy.as_deref().unwrap_or("none");
    if let Some(expected) = &want.policy
        && policy != expected
    {
        return Err((
            "policy_drift",
            format!(
                "port {port}: SslPolicy is {policy} but the Service asks for {expected} \
                 (aws-load-balancer-ssl-negotiation-policy)"
            ),
        ));
    }
    Ok(format!(
        "port {port}: TLS, {} certificate(s), default {}, {policy}",
        l.certificates
            .len()
            .max(usize::from(l.default_certificate.is_some())),
        l.default_certificate.as_deref().unwrap_or("none")
    ))
}

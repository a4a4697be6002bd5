//! `tls_policy` (per address): what the listener accepts, from the TLS scan, judged against the
//! floor rules (`tls.min_accepted_version`, `tls.forbid_weak_ciphers`) and, when the target names
//! an ELB security policy, against that policy's table. Also tells `tls_handshake` why a
//! handshake failed when the scan shows the server speaks only TLS 1.0/1.1.

use std::collections::BTreeSet;

use super::elb_policies::{self, ElbPolicy};
use super::{CheckName, CheckResult, Status};
use crate::discovery::target::{Target, TargetSource};
use crate::probe::tls_scan::{Auth, SUITES, Suite, TlsProtocol, TlsScan, suites};
use crate::probe::{EndpointObservation, Observation};

/// The Service annotation that names a listener's policy.
pub const POLICY_ANNOTATION: &str =
    "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy";

/// The floor every listener is held to, named policy or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsFloor {
    /// `tls.min_accepted_version`: accepting an older version fails `accepts_old_version`.
    pub min_accepted: TlsProtocol,
    /// `tls.forbid_weak_ciphers`: accepting a suite without forward secrecy or with CBC fails.
    pub forbid_weak_ciphers: bool,
}

impl Default for TlsFloor {
    fn default() -> Self {
        TlsFloor {
            min_accepted: TlsProtocol::Tls12,
            forbid_weak_ciphers: true,
        }
    }
}

/// The scan of `endpoint`'s address, if one has finished.
pub fn scan_of<'a>(obs: &'a Observation, endpoint: &EndpointObservation) -> Option<&'a TlsScan> {
    obs.tls_scans
        .iter()
        .find(|s| s.address == endpoint.address)
        .map(|s| s.as_ref())
}

/// Judges one address.
pub fn judge_endpoint(
    target: &Target,
    endpoint: &EndpointObservation,
    obs: &Observation,
    floor: &TlsFloor,
) -> CheckResult {
    let check = CheckName::TlsPolicy;
    let ip = endpoint.address.ip();
    let Some(scan) = scan_of(obs, endpoint) else {
        let r = if endpoint.connect.is_err() {
            CheckResult::skip(
                check,
                "no_connection",
                "TCP connect failed: nothing to scan",
            )
        } else {
            CheckResult::skip(
                check,
                "not_scanned",
                "no TLS scan of this address has finished yet",
            )
        };
        return r.at(ip);
    };
    if scan.versions.is_empty() {
        let why = scan
            .failure
            .as_ref()
            .map(|f| format!(": {f}"))
            .unwrap_or_default();
        return CheckResult::skip(
            check,
            "handshake_failed",
            format!("the scan found no version the server accepts{why}"),
        )
        .at(ip);
    }
    let named = target.tls_policy.as_deref();
    let policy = named.and_then(elb_policies::find);
    let in_force = policy_in_force(target);
    let mut problems: Vec<(&'static str, String)> = Vec::new();

    let old: Vec<&str> = scan
        .versions
        .iter()
        .filter(|v| **v < floor.min_accepted)
        .map(|v| v.as_str())
        .collect();
    if !old.is_empty() {
        let fix = match &target.source {
            TargetSource::Kubernetes { .. } => {
                format!("; set {POLICY_ANNOTATION}: {}", recommended(floor))
            }
            _ => format!("; use {} on the listener", recommended(floor)),
        };
        problems.push((
            "accepts_old_version",
            format!(
                "accepts {} (below {}) under {in_force}{fix}",
                old.join(", "),
                floor.min_accepted.as_str()
            ),
        ));
    }
    let suites = scan.suites();
    if floor.forbid_weak_ciphers {
        let weak: Vec<String> = suites
            .iter()
            .filter(|s| s.weak())
            .map(|s| describe_weak(s))
            .collect();
        if !weak.is_empty() {
            problems.push((
                "accepts_weak_cipher",
                format!("accepts weak suites: {}", weak.join(", ")),
            ));
        }
    }
    let complete = scan.failure.is_none();
    if let (Some(p), true) = (policy, complete) {
        let key = key_type(endpoint, scan);
        if let Some(m) = mismatch(p, scan, &suites, key) {
            problems.push(("policy_mismatch", m));
        }
        if p.versions.contains(&TlsProtocol::Tls13) && !scan.accepts(TlsProtocol::Tls13) {
            problems.push((
                "no_tls13",
                format!("{} includes TLS 1.3 but the server refuses it", p.name),
            ));
        }
    }
    let result = match problems.first() {
        Some((code, _)) => {
            let text: Vec<String> = problems.iter().map(|(_, t)| t.clone()).collect();
            CheckResult::fail(check, code, text.join("; "))
        }
        None if !complete => {
            let why = scan
                .failure
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default();
            CheckResult::skip(
                check,
                "scan_incomplete",
                format!("the scan stopped early ({why}); what it saw is acceptable"),
            )
        }
        None => {
            let versions: Vec<&str> = scan.versions.iter().map(|v| v.as_str()).collect();
            let against = match (named, policy) {
                (Some(_), Some(p)) => format!("; matches {}", p.name),
                (Some(n), None) => format!(
                    "; policy `{}` is not in edgewatch's table: floor rules only",
                    n.escape_debug()
                ),
                (None, _) => String::new(),
            };
            CheckResult::pass(
                check,
                format!(
                    "accepts {} with {} suite(s){against}",
                    versions.join(", "),
                    suites.len()
                ),
            )
        }
    };
    result.at(ip)
}

/// `tls_handshake` with its reason sharpened: a handshake refused by a server that (as the scan
/// shows) speaks only TLS 1.0/1.1 fails `old_version`, not `alert`.
pub fn explain_handshake(
    result: CheckResult,
    endpoint: &EndpointObservation,
    obs: &Observation,
) -> CheckResult {
    let refused = matches!(
        result.reason_code(),
        "alert" | "incompatible" | "reset" | "protocol_error"
    );
    let Some(scan) = scan_of(obs, endpoint) else {
        return result;
    };
    if result.status != Status::Fail || !refused || scan.versions.is_empty() {
        return result;
    }
    if scan.versions.iter().all(|v| *v < TlsProtocol::Tls12) {
        let versions: Vec<&str> = scan.versions.iter().map(|v| v.as_str()).collect();
        let r = CheckResult::fail(
            CheckName::TlsHandshake,
            "old_version",
            format!(
                "the server speaks only TLS 1.0/1.1 (accepts {}), so a TLS 1.2+ client is refused ({})",
                versions.join(", "),
                result.reason
            ),
        );
        return match result.address {
            Some(ip) => r.at(ip),
            None => r,
        };
    }
    result
}

/// The policy in force, for messages: the named one, or for a Service the controller's default.
fn policy_in_force(target: &Target) -> String {
    match (&target.tls_policy, &target.source) {
        (Some(n), _) => n.escape_debug().to_string(),
        (None, TargetSource::Kubernetes { .. }) => format!(
            "{} (the controller's default: no {POLICY_ANNOTATION} annotation)",
            elb_policies::CONTROLLER_DEFAULT
        ),
        (None, _) => "an unnamed policy".to_string(),
    }
}

fn recommended(floor: &TlsFloor) -> &'static str {
    if floor.min_accepted >= TlsProtocol::Tls13 {
        elb_policies::RECOMMENDED_TLS13
    } else {
        elb_policies::RECOMMENDED
    }
}

fn describe_weak(s: &Suite) -> String {
    let why = match (s.forward_secret, s.cbc) {
        (false, true) => "no forward secrecy, CBC",
        (false, false) => "no forward secrecy",
        _ => "CBC",
    };
    format!("{} ({why})", s.name)
}

/// The served key's type: from the leaf the probe saw, else from the suites the server accepted.
fn key_type(endpoint: &EndpointObservation, scan: &TlsScan) -> Option<Auth> {
    let leaf = endpoint.tls.as_ref().and_then(|t| t.leaf_facts());
    if let Some(kind) = leaf.and_then(|f| leaf_key_type(&f.key_algorithm)) {
        return Some(kind);
    }
    let accepted: Vec<Auth> = scan.accepted.iter().map(|a| a.suite.auth).collect();
    [Auth::Ecdsa, Auth::Rsa]
        .into_iter()
        .find(|k| accepted.contains(k))
}

/// The key type of a SubjectPublicKeyInfo algorithm OID (as the probe recorded it).
fn leaf_key_type(oid: &str) -> Option<Auth> {
    match oid {
        "1.2.840.10045.2.1" => Some(Auth::Ecdsa),
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => Some(Auth::Rsa),
        _ => None,
    }
}

/// What differs between the policy and the scan, on what the served key can use.
fn mismatch(
    p: &ElbPolicy,
    scan: &TlsScan,
    suites: &[&'static Suite],
    key: Option<Auth>,
) -> Option<String> {
    let usable = |s: &Suite| s.auth == Auth::Any || Some(s.auth) == key;
    let allowed: BTreeSet<&str> = SUITES
        .iter()
        .filter(|s| p.suites.contains(&s.name) && usable(s))
        .map(|s| s.name)
        .collect();
    let got: BTreeSet<&str> = suites
        .iter()
        .filter(|s| usable(s))
        .map(|s| s.name)
        .collect();
    let mut extra: Vec<&str> = scan
        .versions
        .iter()
        .filter(|v| !p.versions.contains(v))
        .map(|v| v.as_str())
        .collect();
    extra.extend(got.difference(&allowed));
    // TLS 1.3 refused altogether is `no_tls13`'s finding: not repeated here as missing.
    let no13 = !scan.accepts(TlsProtocol::Tls13);
    let mut missing: Vec<&str> = p
        .versions
        .iter()
        .filter(|v| **v != TlsProtocol::Tls13 && !scan.accepts(**v))
        .map(|v| v.as_str())
        .collect();
    missing.extend(
        allowed
            .difference(&got)
            .filter(|n| !(no13 && suites::by_name(n).is_some_and(|s| s.tls13))),
    );
    if extra.is_empty() && missing.is_empty() {
        return None;
    }
    let key = match key {
        Some(Auth::Ecdsa) => "an ECDSA key",
        Some(Auth::Rsa) => "an RSA key",
        _ => "an unknown key type",
    };
    let list = |v: &[&str]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    Some(format!(
        "not what {} accepts (compared on the suites {key} can use): extra {}; missing {}",
        p.name,
        list(&extra),
        list(&missing)
    ))
}

#[cfg(test)]
mod tests;

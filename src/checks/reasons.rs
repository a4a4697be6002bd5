//! Every reason code each check can give, in one list: the README's "Reason codes" table is
//! tested against it (both ways), and in unit tests every [`CheckResult`](super::CheckResult)
//! built with a code outside it panics, so the code, the list and the README cannot drift.
//! A pass is always `ok`. Codes are metric label values and part of the JSON: stable.

use super::{CheckName, Status};

/// The codes one check gives when it fails and when it skips.
#[derive(Debug, Clone, Copy)]
pub struct CheckReasons {
    /// The check.
    pub check: CheckName,
    /// Codes of a `fail`.
    pub fail: &'static [&'static str],
    /// Codes of a `skip`.
    pub skip: &'static [&'static str],
}

/// The codes of every check, in [`CheckName::ALL`] order.
pub const REASONS: [CheckReasons; 19] = [
    CheckReasons {
        check: CheckName::Config,
        fail: &["invalid"],
        skip: &[],
    },
    CheckReasons {
        check: CheckName::LbProvisioned,
        fail: &["not_provisioned"],
        skip: &[],
    },
    CheckReasons {
        check: CheckName::LoadBalancer,
        fail: &[
            "not_found",
            "ambiguous",
            "not_network",
            "scheme_mismatch",
            "hostname_mismatch",
            "aws_unavailable",
        ],
        skip: &["aws_disabled", "aws_unavailable", "no_expectation"],
    },
    CheckReasons {
        check: CheckName::LbListener,
        fail: &[
            "no_listener",
            "not_tls",
            "wrong_certificate",
            "missing_certificate",
            "policy_drift",
            "aws_unavailable",
        ],
        skip: &[
            "aws_disabled",
            "aws_unavailable",
            "no_expectation",
            "no_load_balancer",
        ],
    },
    CheckReasons {
        check: CheckName::LbTargetGroup,
        fail: &[
            "client_ip_not_preserved",
            "proxy_protocol_mismatch",
            "target_type_mismatch",
            "no_healthy_targets",
            "no_targets",
            "aws_unavailable",
        ],
        skip: &[
            "aws_disabled",
            "aws_unavailable",
            "no_expectation",
            "no_load_balancer",
        ],
    },
    CheckReasons {
        check: CheckName::Dns,
        fail: &[
            "nxdomain",
            "servfail",
            "no_answer",
            "timeout",
            "refused",
            "no_descriptors",
            "error",
        ],
        skip: &[],
    },
    CheckReasons {
        check: CheckName::DnsAlias,
        fail: &["wrong_target"],
        skip: &["no_expectation", "dns_failed"],
    },
    CheckReasons {
        check: CheckName::DnsRecord,
        fail: &["no_record", "wrong_target", "aws_unavailable"],
        skip: &[
            "aws_disabled",
            "aws_unavailable",
            "no_expectation",
            "no_load_balancer",
            "zone_not_found",
        ],
    },
    CheckReasons {
        check: CheckName::TlsHandshake,
        fail: &[
            "connection_refused",
            "connect_timeout",
            "connect_error",
            "no_descriptors",
            "alert",
            "reset",
            "protocol_error",
            "incompatible",
            "bad_server_name",
            "timeout",
            "deadline_exceeded",
            "old_version",
            "error",
        ],
        skip: &[],
    },
    CheckReasons {
        check: CheckName::TlsPolicy,
        fail: &[
            "accepts_old_version",
            "accepts_weak_cipher",
            "policy_mismatch",
            "no_tls13",
        ],
        skip: &[
            "not_scanned",
            "handshake_failed",
            "scan_incomplete",
            "no_connection",
        ],
    },
    CheckReasons {
        check: CheckName::ChainTrusted,
        fail: &[
            "unknown_issuer",
            "missing_intermediate",
            "self_signed",
            "expired",
            "not_yet_valid",
            "bad_signature",
            "not_server_cert",
            "malformed",
            "chain_too_long",
            "untrusted",
        ],
        skip: &["no_certificate", "no_chain"],
    },
    CheckReasons {
        check: CheckName::Hostname,
        fail: &["mismatch", "bad_name", "malformed"],
        skip: &["no_certificate"],
    },
    CheckReasons {
        check: CheckName::CertExpiry,
        fail: &["expiring", "expired", "malformed"],
        skip: &["no_certificate"],
    },
    CheckReasons {
        check: CheckName::CertExpected,
        fail: &["mismatch", "acm_unavailable", "malformed"],
        skip: &["no_expectation", "acm_unavailable", "no_certificate"],
    },
    CheckReasons {
        check: CheckName::CertConsistent,
        fail: &["differs"],
        skip: &["no_certificate"],
    },
    CheckReasons {
        check: CheckName::AcmStatus,
        fail: &[
            "pending_validation",
            "renewal_pending_validation",
            "renewal_failed",
            "not_issued",
            "expired",
            "revoked",
            "failed",
            "validation_timed_out",
            "imported_expiring",
            "acm_unavailable",
        ],
        skip: &[
            "no_expectation",
            "acm_disabled",
            "acm_unavailable",
            "no_status",
        ],
    },
    CheckReasons {
        check: CheckName::Backend,
        fail: &[
            "bad_status",
            "timeout",
            "closed",
            "malformed",
            "deadline_exceeded",
        ],
        skip: &["no_connection"],
    },
    CheckReasons {
        check: CheckName::ClientIp,
        fail: &[
            "ip_mismatch",
            "nonce_mismatch",
            "not_echo",
            "not_json",
            "ip_missing",
            "ip_unparsable",
        ],
        skip: &[
            "disabled",
            "not_echo",
            "egress_unknown",
            "egress_lookup_failed",
            "backend_failed",
            "no_backend_response",
        ],
    },
    CheckReasons {
        check: CheckName::BackendIdentity,
        fail: &["unexpected_identity", "no_identity"],
        skip: &["disabled", "backend_failed", "no_backend_response"],
    },
];

/// The codes of `check`.
pub fn of(check: CheckName) -> &'static CheckReasons {
    // `REASONS` is in declaration order (a test says so): found at once, not searched for.
    match REASONS.get(check as usize) {
        Some(r) if r.check == check => r,
        _ => REASONS
            .iter()
            .find(|r| r.check == check)
            .unwrap_or(&REASONS[0]),
    }
}

/// A reason code as one byte, read back with the check and status it was given with: below
/// [`UNLISTED`], its place in that check's list for that status (`ok` for a pass); from it on,
/// a code missing from the list, kept in [`UNLISTED_CODES`] (a bug the unit tests catch: a code
/// given is then still reported as given, never as another).
pub type Code = u8;

/// Where codes missing from the list start.
const UNLISTED: Code = 128;

/// Codes given that the list does not have: `&'static str` literals of the judges, so a short,
/// bounded set (empty when the list is complete).
static UNLISTED_CODES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// The codes `check` gives with `status`: `ok` for a pass.
fn codes(check: CheckName, status: Status) -> &'static [&'static str] {
    match status {
        Status::Pass => &["ok"],
        Status::Fail => of(check).fail,
        Status::Skip => of(check).skip,
    }
}

/// The one-byte form of `code`, given by `check` with `status`.
pub fn encode(check: CheckName, status: Status, code: &'static str) -> Code {
    if let Some(i) = codes(check, status).iter().position(|c| *c == code) {
        // Lists are short (a dozen codes at most): the index fits well below `UNLISTED`.
        return Code::try_from(i).unwrap_or(Code::MAX).min(UNLISTED - 1);
    }
    let mut extra = UNLISTED_CODES.lock().unwrap_or_else(|p| p.into_inner());
    let i = match extra.iter().position(|c| *c == code) {
        Some(i) => i,
        None => {
            extra.push(code);
            extra.len() - 1
        }
    };
    Code::try_from(i)
        .ok()
        .and_then(|i| UNLISTED.checked_add(i))
        .unwrap_or(Code::MAX)
}

/// The code `encode` made `code` of, given by `check` with `status`.
pub fn decode(check: CheckName, status: Status, code: Code) -> &'static str {
    if code >= UNLISTED {
        let extra = UNLISTED_CODES.lock().unwrap_or_else(|p| p.into_inner());
        return extra
            .get(usize::from(code - UNLISTED))
            .copied()
            .unwrap_or("unlisted");
    }
    codes(check, status)
        .get(usize::from(code))
        .copied()
        .unwrap_or("unlisted")
}

/// Whether `code` is in the list for `check` and `status` (`ok` for a pass).
pub fn is_listed(check: CheckName, status: Status, code: &str) -> bool {
    codes(check, status).contains(&code)
}

#[cfg(test)]
mod tests;

//! `acm_status`: ACM reports each expected ACM certificate `ISSUED`, with a healthy renewal.
//! This is how an SRE learns weeks ahead that a certificate will not renew (the classic: the DNS
//! validation CNAME was removed). Pure: reads `Observation.acm`, time from the context.

use super::{CheckName, CheckResult, JudgeContext, Status};
use crate::discovery::target::{ExpectedCert, Target};
use crate::probe::acm::AcmError;
use crate::probe::{AcmCertificate, AcmObservation, Observation};
use crate::timefmt::rfc3339;

const CHECK: CheckName = CheckName::AcmStatus;
const SECONDS_PER_DAY: i64 = 86_400;

/// Judges every expected ACM certificate of the target as one result: the worst verdict wins
/// (fail, then skip, then pass) and its reason names each ARN concerned.
pub fn judge(target: &Target, obs: &Observation, ctx: &JudgeContext) -> CheckResult {
    let arns: Vec<&str> = target
        .expected_certs
        .iter()
        .filter_map(|e| match e {
            ExpectedCert::AcmArn(a) => Some(a.as_str()),
            _ => None,
        })
        .collect();
    if arns.is_empty() {
        return CheckResult::skip(CHECK, "no_expectation", "no ACM certificate is expected");
    }
    let verdicts: Vec<CheckResult> = arns
        .iter()
        .map(|arn| judge_arn(arn, obs.acm.iter().find(|a| a.arn == *arn), ctx))
        .collect();
    let worst = [Status::Fail, Status::Skip, Status::Pass]
        .into_iter()
        .find(|s| verdicts.iter().any(|v| v.status == *s))
        .unwrap_or(Status::Pass);
    let chosen: Vec<&CheckResult> = verdicts.iter().filter(|v| v.status == worst).collect();
    if let [only] = chosen[..] {
        return only.clone();
    }
    let reason = chosen
        .iter()
        .map(|v| &*v.reason)
        .collect::<Vec<_>>()
        .join("; ");
    CheckResult {
        reason: reason.into(),
        ..chosen[0].clone()
    }
}

/// The verdict for one ARN.
fn judge_arn(arn: &str, found: Option<&AcmObservation>, ctx: &JudgeContext) -> CheckResult {
    match found.map(|a| &a.result) {
        None => CheckResult::skip(
            CHECK,
            "acm_disabled",
            format!("{arn}: ACM lookup is not enabled (acm.enabled)"),
        ),
        Some(Err(failure)) => unavailable(arn, failure, ctx.acm_required),
        Some(Ok(cert)) => judge_certificate(arn, cert, ctx),
    }
}

fn unavailable(arn: &str, f: &AcmError, required: bool) -> CheckResult {
    let hint = match f.as_str() {
        "no_credentials" | "access_denied" => {
            " Give edgewatch an IAM role (IRSA) allowed acm:DescribeCertificate and \
             acm:GetCertificate on this certificate."
        }
        "not_found" => {
            " Check the ARN's account and region: the certificate may have been deleted, or \
             edgewatch runs with another account's credentials."
        }
        "invalid_arn" => " Fix the ARN in the Service annotation or the config.",
        _ => "",
    };
    let reason = format!("{arn}: ACM could not be asked ({}: {f}).{hint}", f.as_str());
    if required {
        CheckResult::fail(CHECK, "acm_unavailable", reason)
    } else {
        CheckResult::skip(CHECK, "acm_unavailable", reason)
    }
}

fn judge_certificate(arn: &str, cert: &AcmCertificate, ctx: &JudgeContext) -> CheckResult {
    let now = ctx.now.as_secs() as i64;
    let expiry = cert
        .not_after
        .map(|t| {
            let days = (t - now).div_euclid(SECONDS_PER_DAY);
            format!("not after {} ({days} days left)", rfc3339(t))
        })
        .unwrap_or_else(|| "no not-after reported".to_string());
    let because = cert
        .renewal_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let fail = |code, text: String| CheckResult::fail(CHECK, code, format!("{arn} {text}"));
    match cert.status.as_deref() {
        None => CheckResult::skip(CHECK, "no_status", format!("{arn}: ACM reported no status")),
        Some("ISSUED") => match cert.renewal_status.as_deref() {
            Some("PENDING_VALIDATION") => fail(
                "renewal_pending_validation",
                format!(
                    "cannot be renewed: renewal is PENDING_VALIDATION{because}, {expiry}. {} \
                     ACM renews as soon as validation succeeds.",
                    validation_hint(cert)
                ),
            ),
            Some("FAILED") => fail(
                "renewal_failed",
                format!(
                    "renewal FAILED{because}, {expiry}. Fix the cause ACM names, or request a \
                     new certificate and point the listener at it before then."
                ),
            ),
            renewal => judge_issued(arn, cert, renewal, &expiry, now, ctx),
        },
        Some("PENDING_VALIDATION") => fail(
            "pending_validation",
            format!(
                "is PENDING_VALIDATION: ACM has not issued it yet, so no listener can serve it. \
                 {}",
                validation_hint(cert)
            ),
        ),
        Some("EXPIRED") => fail(
            "expired",
            format!(
                "is EXPIRED ({expiry}). Request or import a new certificate and update the \
                 listener (the Service's aws-load-balancer-ssl-cert annotation)."
            ),
        ),
        Some("REVOKED") => fail(
            "revoked",
            "is REVOKED. Request a new certificate and update the listener (the Service's \
             aws-load-balancer-ssl-cert annotation)."
                .to_string(),
        ),
        Some("FAILED") => fail(
            "failed",
            format!(
                "is FAILED{because}: ACM did not issue it. Fix the cause ACM names and request \
                 it again."
            ),
        ),
        Some("VALIDATION_TIMED_OUT") => fail(
            "validation_timed_out",
            "is VALIDATION_TIMED_OUT: the domains were not validated within 72 hours. Request \
             it again and create the DNS validation records ACM gives."
                .to_string(),
        ),
        Some(other) => fail("not_issued", format!("is {other}, not ISSUED")),
    }
}

/// `ISSUED` with no renewal trouble: passes unless it is an imported certificate about to expire
/// (ACM renews only the certificates it issued).
fn judge_issued(
    arn: &str,
    cert: &AcmCertificate,
    renewal: Option<&str>,
    expiry: &str,
    now: i64,
    ctx: &JudgeContext,
) -> CheckResult {
    let kind = cert.cert_type.as_deref().unwrap_or("unknown type");
    if let Some(not_after) = cert.not_after {
        let days = (not_after - now).div_euclid(SECONDS_PER_DAY);
        let renews_itself = kind != "IMPORTED";
        if not_after < now {
            return CheckResult::fail(
                CHECK,
                "expired",
                format!(
                    "{arn} ({kind}) expired {} days ago ({}) although ACM still says ISSUED. \
                     Replace it and update the listener.",
                    -days,
                    rfc3339(not_after)
                ),
            );
        }
        if !renews_itself && days < i64::from(ctx.min_days_left) {
            return CheckResult::fail(
                CHECK,
                "imported_expiring",
                format!(
                    "{arn} is IMPORTED and {expiry}, under the minimum of {}. ACM does not renew \
                     imported certificates: re-import the renewed certificate into the same ARN \
                     (aws acm import-certificate --certificate-arn ...).",
                    ctx.min_days_left
                ),
            );
        }
    }
    let renewal = renewal
        .map(|r| format!(", renewal {r}"))
        .unwrap_or_default();
    let use_note = match cert.in_use_by.len() {
        0 => "not in use by any load balancer".to_string(),
        n => format!("in use by {n} resource(s)"),
    };
    CheckResult::pass(
        CHECK,
        format!("{arn} is ISSUED ({kind}{renewal}), {expiry}, {use_note}"),
    )
}

/// What to do about open domain validations: the records ACM expects, when it says them.
fn validation_hint(cert: &AcmCertificate) -> String {
    let records: Vec<String> = cert
        .pending_validations
        .iter()
        .map(|v| match &v.record {
            Some((name, kind, value)) => format!("`{name} {kind} {value}` (for {})", v.domain),
            None => format!("(for {}: no record given; see the ACM console)", v.domain),
        })
        .collect();
    if records.is_empty() {
        "Check that the DNS validation CNAME records ACM gave for its domains still exist (the \
         usual cause is that they were removed)."
            .to_string()
    } else {
        format!(
            "Create or restore the DNS validation record(s) ACM expects: {}.",
            records.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;

//! The control-plane checks: what the Service declares (its `LbIntent`, `tls_policy`, ACM ARNs)
//! against what elbv2 and Route 53 say exists (`Observation.aws`). `load_balancer`,
//! `lb_listener`, `lb_target_group`, `dns_record`. Pure. Judged whatever the data plane did:
//! when DNS or TLS fails these are often the explanation.

mod dns_record;
mod lb;
mod listener;
mod target_group;
#[cfg(test)]
mod tests;

use super::{CheckName, CheckResult};
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::aws::{AwsLookupFailure, AwsObservation, LbDetails, LbFacts, LbSearch};

/// The four verdicts, in report order.
pub fn judge(target: &Target, obs: &Observation) -> Vec<CheckResult> {
    vec![
        lb::judge(target, obs),
        listener::judge(target, obs),
        target_group::judge(target, obs),
        dns_record::judge(target, obs),
    ]
}

/// The AWS observation, or the skip that says the lookups are off.
fn observed(check: CheckName, obs: &Observation) -> Result<&AwsObservation, CheckResult> {
    obs.aws.as_deref().ok_or_else(|| {
        CheckResult::skip(
            check,
            "aws_disabled",
            "AWS lookups are not enabled (aws.enabled or --aws)",
        )
    })
}

/// The API could not be asked: skip, or fail when `aws.required`.
fn unavailable(check: CheckName, f: &AwsLookupFailure) -> CheckResult {
    let hint = match f.kind {
        "no_credentials" | "access_denied" => {
            " Give edgewatch an IAM role (IRSA) allowed the read actions listed in the README \
             (elasticloadbalancing:Describe*, route53:ListHostedZonesByName, \
             route53:ListResourceRecordSets)."
        }
        "throttled" => " The account's API rate is exhausted; raise aws.cache_ttl.",
        _ => "",
    };
    let reason = format!(
        "{} could not be asked ({}: {}).{hint}",
        f.operation, f.kind, f.message
    );
    if f.required {
        CheckResult::fail(check, "aws_unavailable", reason)
    } else {
        CheckResult::skip(check, "aws_unavailable", reason)
    }
}

/// The one load balancer found and what its describes returned, or the result to give when
/// either is missing (the listener and target-group checks both need both).
fn found_lb_details(
    check: CheckName,
    obs: &Observation,
) -> Result<(&LbFacts, &LbDetails), CheckResult> {
    let lb = found_lb(check, obs)?;
    match &lb.details {
        Ok(d) => Ok((lb, d)),
        Err(f) => Err(unavailable(check, f)),
    }
}

/// The one load balancer found, or the result to give when there is none.
fn found_lb(check: CheckName, obs: &Observation) -> Result<&LbFacts, CheckResult> {
    let aws = observed(check, obs)?;
    match &aws.lb {
        Err(f) => Err(unavailable(check, f)),
        Ok(LbSearch::Found(lb)) => Ok(lb),
        Ok(LbSearch::NotSearched) => Err(CheckResult::skip(
            check,
            "no_expectation",
            "no Service and no lb_hostname: no load balancer to look up",
        )),
        Ok(_) => Err(CheckResult::skip(
            check,
            "no_load_balancer",
            "no single load balancer was found (see load_balancer)",
        )),
    }
}

//! `load_balancer`: exactly one load balancer is found for the target; it is a `network` one
//! (by its `Type`, not its ARN); its scheme is the annotated one; its `DNSName` is the hostname
//! in the Service's status.

use super::{CheckName, CheckResult, observed, unavailable};
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::aws::{LbSearch, normalise_lb_name};

const CHECK: CheckName = CheckName::LoadBalancer;

/// The verdict.
pub(super) fn judge(target: &Target, obs: &Observation) -> CheckResult {
    let aws = match observed(CHECK, obs) {
        Ok(a) => a,
        Err(skip) => return skip,
    };
    let lb = match &aws.lb {
        Err(f) => return unavailable(CHECK, f),
        Ok(LbSearch::NotSearched) => {
            return CheckResult::skip(
                CHECK,
                "no_expectation",
                "no Service and no lb_hostname: no load balancer to look up",
            );
        }
        Ok(LbSearch::NotFound) => {
            return CheckResult::fail(
                CHECK,
                "not_found",
                format!(
                    "no load balancer found by {}: the AWS Load Balancer Controller has not \
                     created it, or it was deleted (kubectl describe service; the controller's \
                     logs)",
                    aws.searched_by
                ),
            );
        }
        Ok(LbSearch::Ambiguous(arns)) => {
            return CheckResult::fail(
                CHECK,
                "ambiguous",
                format!(
                    "{} load balancers match {}: {}; delete the stale one(s)",
                    arns.len(),
                    aws.searched_by,
                    arns.join(", ")
                ),
            );
        }
        Ok(LbSearch::Found(lb)) => &lb.summary,
    };
    if lb.lb_type != "network" {
        return CheckResult::fail(
            CHECK,
            "not_network",
            format!(
                "{} is of type `{}`, not `network`",
                lb.arn,
                if lb.lb_type.is_empty() {
                    "unknown"
                } else {
                    &lb.lb_type
                }
            ),
        );
    }
    if let Some(intent) = &target.lb_intent
        && lb.scheme != intent.expected_scheme()
    {
        return CheckResult::fail(
            CHECK,
            "scheme_mismatch",
            format!(
                "{} is `{}` but the Service asks for `{}`{} (the scheme cannot change in \
                 place: the controller must replace the load balancer)",
                lb.arn,
                lb.scheme,
                intent.expected_scheme(),
                if intent.scheme.is_none() {
                    " (the default)"
                } else {
                    ""
                }
            ),
        );
    }
    let expected: Vec<String> = target
        .lb_hostnames
        .iter()
        .map(|h| normalise_lb_name(h))
        .collect();
    if !expected.is_empty() && !expected.contains(&lb.dns_name) {
        return CheckResult::fail(
            CHECK,
            "hostname_mismatch",
            format!(
                "{} has DNSName {} but the Service's status says {}",
                lb.arn,
                lb.dns_name,
                expected.join(", ")
            ),
        );
    }
    CheckResult::pass(
        CHECK,
        format!(
            "{} ({}, {}) found by {}, DNSName {}",
            lb.arn, lb.lb_type, lb.scheme, aws.searched_by, lb.dns_name
        ),
    )
}

//! `dns_record`: when the friendly name lives in a Route 53 zone the account can read, its
//! A/AAAA (alias) or CNAME records point at this load balancer's `DNSName` (compared without
//! `dualstack.` and the trailing dot). The control-plane twin of `dns_alias`.

use super::{CheckName, CheckResult, observed, unavailable};
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::aws::{DnsRecordLookup, LbSearch, normalise_lb_name};

const CHECK: CheckName = CheckName::DnsRecord;

/// The verdict.
pub(super) fn judge(target: &Target, obs: &Observation) -> CheckResult {
    let aws = match observed(CHECK, obs) {
        Ok(a) => a,
        Err(skip) => return skip,
    };
    let (zone_id, zone_name, records) = match &aws.record {
        Err(f) => return unavailable(CHECK, f),
        Ok(DnsRecordLookup::ZoneNotFound) => {
            return CheckResult::skip(
                CHECK,
                "zone_not_found",
                format!(
                    "{} is in no Route 53 hosted zone this account can read",
                    target.hostname
                ),
            );
        }
        Ok(DnsRecordLookup::Zone {
            zone_id,
            zone_name,
            records,
        }) => (zone_id, zone_name, records),
    };
    // The load balancer found in AWS, else the one the Service's status names.
    let expected: Vec<String> = match &aws.lb {
        Ok(LbSearch::Found(lb)) => vec![lb.summary.dns_name.clone()],
        _ => target
            .lb_hostnames
            .iter()
            .map(|h| normalise_lb_name(h))
            .collect(),
    };
    if records.is_empty() {
        return CheckResult::fail(
            CHECK,
            "no_record",
            format!(
                "zone {zone_name} ({zone_id}) has no A, AAAA or CNAME record for {}: \
                 external-dns has not written it (its logs; the Service's \
                 external-dns.alpha.kubernetes.io/hostname)",
                target.hostname
            ),
        );
    }
    if expected.is_empty() {
        return CheckResult::skip(
            CHECK,
            "no_expectation",
            "the load balancer's DNS name is not known",
        );
    }
    let wrong: Vec<String> = records
        .iter()
        .filter(|r| !expected.contains(&r.target))
        .map(|r| {
            let kind = if r.alias { " alias" } else { "" };
            format!("{}{kind} -> {}", r.record_type, r.target)
        })
        .collect();
    if !wrong.is_empty() {
        return CheckResult::fail(
            CHECK,
            "wrong_target",
            format!(
                "{} in zone {zone_name}: {} but the load balancer is {}",
                target.hostname,
                wrong.join(", "),
                expected.join(", ")
            ),
        );
    }
    let kinds: Vec<String> = records
        .iter()
        .map(|r| format!("{}{}", r.record_type, if r.alias { " alias" } else { "" }))
        .collect();
    CheckResult::pass(
        CHECK,
        format!(
            "{} in zone {zone_name}: {} -> {}",
            target.hostname,
            kinds.join(", "),
            expected.join(", ")
        ),
    )
}

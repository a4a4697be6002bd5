//! `dns` and `dns_alias`: the friendly name resolves, and it leads to the expected load balancer,
//! either through its CNAME chain or (a Route 53 alias A record) to the same address set.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{CheckName, CheckResult};
use crate::probe::dns::normalise_name;
use crate::probe::{DnsObservation, Observation};
use crate::target::Target;

/// Judges the friendly name's resolution and its alias to the load balancer.
pub fn judge(target: &Target, obs: &Observation) -> Vec<CheckResult> {
    vec![judge_resolution(&obs.dns), judge_alias(target, obs)]
}

fn judge_resolution(dns: &DnsObservation) -> CheckResult {
    match &dns.failure {
        // A dangling CNAME: the friendly name exists, the name it points to does not resolve.
        Some(failure) if !dns.cname_chain.is_empty() => CheckResult::fail(
            CheckName::Dns,
            failure.as_str(),
            format!(
                "`{}` is a CNAME to {}, which does not resolve: {failure}",
                dns.name,
                dns.cname_chain.join(" -> ")
            ),
        ),
        Some(failure) => CheckResult::fail(
            CheckName::Dns,
            failure.as_str(),
            format!("`{}` does not resolve: {failure}", dns.name),
        ),
        None => CheckResult::pass(
            CheckName::Dns,
            format!("`{}` resolves to {}", dns.name, list(&dns.addresses)),
        ),
    }
}

fn judge_alias(target: &Target, obs: &Observation) -> CheckResult {
    let check = CheckName::DnsAlias;
    if target.lb_hostnames.is_empty() {
        return CheckResult::skip(
            check,
            "no_expectation",
            "no load balancer hostname is known for this target",
        );
    }
    let expected: Vec<String> = target
        .lb_hostnames
        .iter()
        .map(|h| normalise_name(h))
        .collect();
    if let Some(hit) = obs
        .dns
        .cname_chain
        .iter()
        .find(|c| expected.contains(&normalise_name(c)))
    {
        return CheckResult::pass(
            check,
            format!("`{}` is a CNAME chain to `{hit}`", target.hostname),
        );
    }
    // With a CNAME chain there is something to compare even when resolution failed (a CNAME
    // left pointing at a deleted load balancer); without one there is nothing.
    if obs.dns.failure.is_some() && obs.dns.cname_chain.is_empty() {
        return CheckResult::skip(check, "dns_failed", "the friendly name did not resolve");
    }
    let friendly: BTreeSet<IpAddr> = obs.dns.addresses.iter().copied().collect();
    let mut seen = Vec::new();
    for lb in &obs.lb_dns {
        let lb_set: BTreeSet<IpAddr> = lb.addresses.iter().copied().collect();
        if lb.failure.is_none() && lb_set == friendly {
            return CheckResult::pass(
                check,
                format!(
                    "`{}` and `{}` resolve to the same addresses {}",
                    target.hostname,
                    lb.name,
                    list(&lb.addresses)
                ),
            );
        }
        seen.push(match &lb.failure {
            Some(f) => format!("`{}` does not resolve ({f})", lb.name),
            None => format!("`{}` resolves to {}", lb.name, list(&lb.addresses)),
        });
    }
    let via = if obs.dns.cname_chain.is_empty() {
        String::new()
    } else {
        format!(" via CNAME {}", obs.dns.cname_chain.join(" -> "))
    };
    CheckResult::fail(
        check,
        "wrong_target",
        format!(
            "`{}` resolves{via} to {}, but the expected load balancer {}",
            target.hostname,
            list(&obs.dns.addresses),
            seen.join(", ")
        ),
    )
}

fn list(addrs: &[IpAddr]) -> String {
    let parts: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
    format!("[{}]", parts.join(", "))
}

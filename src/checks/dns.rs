//! `dns` and `dns_alias`: the friendly name resolves, and it leads to the expected load balancer,
//! either through its CNAME chain or (a Route 53 alias A record) to the same address set.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use super::{CheckName, CheckResult};
use crate::discovery::target::Target;
use crate::probe::dns::{DnsFailure, normalise_name};
use crate::probe::{DnsObservation, Observation};

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
                "`{}` is a CNAME to {}, which does not resolve: {}",
                dns.name,
                dns.cname_chain.join(" -> "),
                explain(failure, &dns.nameservers)
            ),
        ),
        Some(failure) => CheckResult::fail(
            CheckName::Dns,
            failure.as_str(),
            format!(
                "`{}` does not resolve: {}",
                dns.name,
                explain(failure, &dns.nameservers)
            ),
        ),
        None => CheckResult::pass(
            CheckName::Dns,
            format!("`{}` resolves to {}", dns.name, list(&dns.addresses)),
        ),
    }
}

/// A DNS failure in words, naming the nameserver(s) asked when they are known.
fn explain(failure: &DnsFailure, nameservers: &[SocketAddr]) -> String {
    if nameservers.is_empty() {
        return failure.to_string();
    }
    let list: Vec<String> = nameservers.iter().map(ToString::to_string).collect();
    let ns = list.join(", ");
    match failure {
        DnsFailure::Timeout => format!("no answer from nameserver {ns} (timed out)"),
        DnsFailure::Refused => format!(
            "nameserver {ns} refused the query (connection refused: nothing listens on that port)"
        ),
        other => format!("{other} (nameserver {ns})"),
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::discovery::target::TargetSource;
    use crate::probe::DnsFailure;

    const LB: &str = "k8s-dev-myapp-0123.elb.us-east-2.amazonaws.com";

    fn answer(name: &str, cnames: &[&str], addrs: &[&str]) -> DnsObservation {
        DnsObservation {
            cname_chain: cnames.iter().map(|c| c.to_string()).collect(),
            ..DnsObservation::answered(name, addrs.iter().map(|a| a.parse().unwrap()).collect())
        }
    }

    fn observation(dns: DnsObservation, lb_dns: Vec<DnsObservation>) -> Observation {
        Observation {
            lb_dns: lb_dns.into(),
            ..Observation::from_dns(SystemTime::UNIX_EPOCH, dns)
        }
    }

    fn target_with_lb() -> Target {
        let mut t = Target::new("tls-demo.example.com", 443, TargetSource::Flag);
        t.lb_hostnames = vec![LB.into()].into();
        t
    }

    #[test]
    fn alias_passes_through_a_cname_chain_even_with_dualstack_prefix() {
        let dns = answer(
            "tls-demo.example.com",
            &[&format!("dualstack.{LB}")],
            &["127.0.0.1"],
        );
        let r = judge_alias(&target_with_lb(), &observation(dns, vec![]));
        assert_eq!(r.status, crate::checks::Status::Pass, "{}", r.reason);
    }

    #[test]
    fn alias_passes_for_route53_alias_a_records_with_the_same_address_set_in_any_order() {
        let dns = answer("tls-demo.example.com", &[], &["127.0.0.2", "127.0.0.1"]);
        let lb = answer(LB, &[], &["127.0.0.1", "127.0.0.2"]);
        let r = judge_alias(&target_with_lb(), &observation(dns, vec![lb]));
        assert_eq!(r.status, crate::checks::Status::Pass, "{}", r.reason);
    }

    #[test]
    fn alias_fails_naming_both_sides_when_the_name_leads_elsewhere() {
        let dns = answer(
            "tls-demo.example.com",
            &["k8s-old.elb.amazonaws.com"],
            &["127.0.0.9"],
        );
        let lb = answer(LB, &[], &["127.0.0.1"]);
        let r = judge_alias(&target_with_lb(), &observation(dns, vec![lb]));
        assert_eq!(r.reason_code(), "wrong_target");
        assert!(
            r.reason.contains("127.0.0.9") && r.reason.contains("127.0.0.1"),
            "{}",
            r.reason
        );
        assert!(
            r.reason.contains("k8s-old.elb.amazonaws.com") && r.reason.contains(LB),
            "{}",
            r.reason
        );
    }

    #[test]
    fn alias_is_skipped_without_an_expected_load_balancer() {
        let t = Target::new("a.example.com", 443, TargetSource::Flag);
        let r = judge_alias(
            &t,
            &observation(answer("a.example.com", &[], &["127.0.0.1"]), vec![]),
        );
        assert_eq!(
            (r.status, r.reason_code()),
            (crate::checks::Status::Skip, "no_expectation")
        );
    }

    #[test]
    fn resolution_failures_keep_their_kind() {
        let mut dns = answer("gone.example.com", &[], &[]);
        dns.failure = Some(DnsFailure::Nxdomain);
        let r = judge_resolution(&dns);
        assert_eq!(
            (r.status, r.reason_code()),
            (crate::checks::Status::Fail, "nxdomain")
        );
        assert!(r.reason.contains("gone.example.com"));
    }
}

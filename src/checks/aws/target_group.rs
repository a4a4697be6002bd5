//! `lb_target_group`: each target group behind the Service's TLS listeners has client IP
//! preservation and PROXY protocol v2 as the Service asks (AWS's defaults where it does not),
//! the annotated target type, and at least one healthy target.

use std::collections::BTreeMap;

use super::{CheckName, CheckResult, found_lb_details};
use crate::discovery::lb_intent::LbIntent;
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::aws::{LbDetails, TargetGroupFacts};

const CHECK: CheckName = CheckName::LbTargetGroup;
const PRESERVE: &str = "preserve_client_ip.enabled";
const PROXY_V2: &str = "proxy_protocol_v2.enabled";

/// The verdict.
pub(super) fn judge(target: &Target, obs: &Observation) -> CheckResult {
    let (lb, details) = match found_lb_details(CHECK, obs) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let groups = judged_groups(target, details);
    if groups.is_empty() {
        return CheckResult::fail(
            CHECK,
            "no_targets",
            format!(
                "{} has no target group behind its listeners",
                lb.summary.arn
            ),
        );
    }
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    let mut passed = Vec::new();
    for group in groups {
        match judge_group(group, target.lb_intent.as_deref()) {
            Ok(summary) => passed.push(summary),
            Err(f) => failures.push(f),
        }
    }
    if let Some(code) = failures.first().map(|(c, _)| *c) {
        let reasons: Vec<String> = failures.into_iter().map(|(_, r)| r).collect();
        return CheckResult::fail(CHECK, code, reasons.join("; "));
    }
    CheckResult::pass(CHECK, passed.join("; "))
}

/// The groups the TLS listeners forward to; all of the load balancer's when none is known.
fn judged_groups<'a>(target: &Target, details: &'a LbDetails) -> Vec<&'a TargetGroupFacts> {
    let ports: Vec<u16> = match &target.lb_intent {
        Some(intent) => intent.tls_ports.clone(),
        None => vec![target.port],
    };
    let forwarded: Vec<&str> = details
        .listeners
        .iter()
        .filter(|l| ports.contains(&l.port))
        .flat_map(|l| l.target_group_arns.iter().map(String::as_str))
        .collect();
    let groups: Vec<&TargetGroupFacts> = details
        .target_groups
        .iter()
        .filter(|g| forwarded.contains(&g.arn.as_str()))
        .collect();
    if groups.is_empty() {
        details.target_groups.iter().collect()
    } else {
        groups
    }
}

/// An attribute's value as AWS applies it: the one returned, else AWS's default.
fn attribute(group: &TargetGroupFacts, key: &str, default: bool) -> bool {
    group
        .attributes
        .get(key)
        .map(|v| v.eq_ignore_ascii_case("true"))
        .unwrap_or(default)
}

/// AWS's default for client IP preservation on a TCP/TLS target group: on for `instance`
/// targets, off for `ip` targets.
fn preserve_default(target_type: &str) -> bool {
    target_type != "ip"
}

fn judge_group(
    g: &TargetGroupFacts,
    intent: Option<&LbIntent>,
) -> Result<String, (&'static str, String)> {
    let name = if g.name.is_empty() { &g.arn } else { &g.name };
    if let Some(intent) = intent {
        if let Some(want) = &intent.target_type
            && *want != g.target_type
        {
            return Err((
                "target_type_mismatch",
                format!(
                    "{name}: target type is `{}` but the Service annotates `{want}` \
                     (aws-load-balancer-nlb-target-type)",
                    g.target_type
                ),
            ));
        }
        let kind = intent.target_type.as_deref().unwrap_or(&g.target_type);
        let want = intent.preserve_client_ip.unwrap_or(preserve_default(kind));
        let have = attribute(g, PRESERVE, preserve_default(&g.target_type));
        if want != have {
            return Err((
                "client_ip_not_preserved",
                format!(
                    "{name}: {PRESERVE} is {have} but the Service asks for {want}{}",
                    if intent.preserve_client_ip.is_none() {
                        " (AWS's default)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let want = intent.proxy_protocol_v2.unwrap_or(false);
        let have = attribute(g, PROXY_V2, false);
        if want != have {
            return Err((
                "proxy_protocol_mismatch",
                format!(
                    "{name}: {PROXY_V2} is {have} but the Service asks for {want}: the backend \
                     {}",
                    if have {
                        "receives a PROXY v2 header it does not expect"
                    } else {
                        "expects a PROXY v2 header that never comes"
                    }
                ),
            ));
        }
    }
    if g.targets.is_empty() {
        return Err(("no_targets", format!("{name}: no registered targets")));
    }
    let healthy = g.targets.iter().filter(|t| t.state == "healthy").count();
    if healthy == 0 {
        return Err((
            "no_healthy_targets",
            format!(
                "{name}: 0 of {} targets healthy ({})",
                g.targets.len(),
                states(g)
            ),
        ));
    }
    Ok(format!(
        "{name}: {healthy} of {} targets healthy, {PRESERVE}={}, {PROXY_V2}={}",
        g.targets.len(),
        attribute(g, PRESERVE, preserve_default(&g.target_type)),
        attribute(g, PROXY_V2, false)
    ))
}

/// `unhealthy: 2 (Target.FailedHealthChecks), initial: 1`.
fn states(g: &TargetGroupFacts) -> String {
    let mut by_state: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for t in &g.targets {
        let entry = by_state.entry(t.state.as_str()).or_default();
        entry.0 += 1;
        if let Some(r) = t.reason.as_deref()
            && !entry.1.contains(&r)
        {
            entry.1.push(r);
        }
    }
    by_state
        .iter()
        .map(|(state, (n, reasons))| {
            let state = if state.is_empty() { "unknown" } else { state };
            if reasons.is_empty() {
                format!("{state}: {n}")
            } else {
                format!("{state}: {n} ({})", reasons.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

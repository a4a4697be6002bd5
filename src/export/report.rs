//! The `--once` report: a readable text block per target, or one JSON document for machines.
//! Reads outcomes only.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::checks::verdicts::Verdict;
use crate::checks::{CheckName, Status};
use crate::export::tls_facts;
use crate::pipeline::outcome::Outcome;
use crate::probe::EndpointObservation;
use crate::probe::http::PREVIEW_BYTES;
use crate::textsafe::escape;
use crate::timefmt::{millis, rfc3339};

pub mod json;
pub mod pieces;
pub mod stream;

/// The JSON document for a set of outcomes.
pub fn to_json(outcomes: &[Outcome]) -> Value {
    let targets: Vec<Value> = outcomes
        .iter()
        .map(|o| serde_json::to_value(json::TargetJson(o)).unwrap_or(Value::Null))
        .collect();
    let failing = outcomes.iter().filter(|o| !o.ok()).count();
    json!({
        "ok": failing == 0,
        "generated_at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        "summary": {
            "targets": outcomes.len(),
            "failing_targets": failing,
            "failed_checks": outcomes.iter().flat_map(|o| o.results.iter()).filter(|r| r.status == Status::Fail).count(),
        },
        "targets": targets,
    })
}

/// One expected ACM certificate as ACM described it, or why it could not be read.
fn acm_json(a: &crate::probe::AcmObservation) -> Value {
    match &a.result {
        Ok(c) => json!({
            "arn": a.arn,
            "status": c.status,
            "type": c.cert_type,
            "subject": c.subject,
            "serial": c.serial,
            "not_after": c.not_after,
            "sha256": c.sha256.map(hex::encode),
            "renewal_status": c.renewal_status,
            "renewal_reason": c.renewal_reason,
            "pending_validations": c.pending_validations.iter().map(|v| json!({
                "domain": v.domain,
                "status": v.status,
                "record": v.record.as_ref().map(|(name, kind, value)| json!({"name": name, "type": kind, "value": value})),
            })).collect::<Vec<_>>(),
            "in_use_by": c.in_use_by,
        }),
        Err(f) => json!({"arn": a.arn, "error": f.as_str(), "message": f.to_string()}),
    }
}

/// The start of a body as text (lossy UTF-8), so a report shows what the backend answered:
/// its first [`PREVIEW_BYTES`] (an echo's answer fits), all a kept outcome has of it.
fn body_preview(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(PREVIEW_BYTES)]).into_owned()
}

/// Terminal styling: ANSI colours only when writing to a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Whether to emit ANSI colour codes.
    pub colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The human report: one block per target, one line per address, failing checks with reasons.
pub fn to_text(outcomes: &[Outcome], style: Style) -> String {
    let mut out = String::new();
    for o in outcomes {
        target_text(&mut out, o, style);
    }
    let failing = outcomes.iter().filter(|o| !o.ok()).count();
    out.push_str(&text_footer(outcomes.len(), failing));
    out
}

/// The closing line of the text report.
fn text_footer(targets: usize, failing: usize) -> String {
    format!("{targets} target(s), {failing} failing\n")
}

/// One target's block of the text report, appended to `out`.
fn target_text(out: &mut String, o: &Outcome, style: Style) {
    let t = &o.target;
    let mark = if o.ok() {
        style.paint("32", "OK  ")
    } else {
        style.paint("31", "FAIL")
    };
    let origin = match t.source.kind() {
        "kubernetes" => format!(" (service {}/{})", t.source.namespace(), t.source.service()),
        _ => String::new(),
    };
    let took = o
        .observation
        .as_ref()
        .map(|ob| format!(", {:.0} ms", millis(ob.duration)))
        .unwrap_or_default();
    // Names, subjects and reasons come from outside (a Service, a certificate, a server):
    // escaped, so they cannot forge lines or send escape sequences to the terminal.
    let _ = writeln!(out, "{mark} {}{}{took}", escape(&t.name), escape(&origin));
    if let Some(obs) = &o.observation {
        if !obs.dns.cname_chain.is_empty() {
            let _ = writeln!(
                out,
                "     {} -> {}",
                escape(&t.hostname),
                escape(&obs.dns.cname_chain.join(" -> "))
            );
        }
        for e in &obs.endpoints {
            let _ = writeln!(out, "     {}", escape(&endpoint_line(e)));
        }
        if let Some(line) = obs.aws.as_deref().and_then(super::aws_facts::text_line) {
            let _ = writeln!(out, "     {line}");
        }
        for scan in &obs.tls_scans {
            let _ = writeln!(out, "     {}", tls_facts::scan_line(scan));
        }
    }
    for r in o.results.iter().filter(|r| r.status == Status::Fail) {
        let _ = writeln!(
            out,
            "     {} {}",
            style.paint("31", "✗"),
            escape(&check_line(&r))
        );
    }
    let skips: Vec<Verdict> = o
        .results
        .iter()
        .filter(|r| r.status == Status::Skip && !is_consequence(r))
        .collect();
    if o.ok() {
        // A passing target's skips are context, not findings: one line, not one per address.
        if let Some(line) = folded_skips(&skips) {
            let _ = writeln!(out, "     {} {}", style.paint("33", "-"), escape(&line));
        }
    } else {
        for r in skips {
            let _ = writeln!(
                out,
                "     {} {}",
                style.paint("33", "-"),
                escape(&check_line(&r))
            );
        }
    }
}

/// Skips that only repeat an earlier failure (or an unset expectation): not worth a line.
fn is_consequence(r: &Verdict) -> bool {
    matches!(
        r.reason_code(),
        "no_expectation"
            | "no_certificate"
            | "no_connection"
            | "dns_failed"
            | "not_configured"
            | "aws_disabled"
            | "no_load_balancer"
    ) || (r.check == CheckName::BackendIdentity && r.reason_code() == "disabled")
}

/// `2 checks skipped: client_ip (not_echo), cert_expected (no_expectation)`: each skipped
/// check once, with its reason code(s), however many addresses repeated it.
fn folded_skips(skips: &[Verdict]) -> Option<String> {
    let mut checks: Vec<(CheckName, Vec<&str>)> = Vec::new();
    for r in skips {
        match checks.iter_mut().find(|(c, _)| *c == r.check) {
            Some((_, codes)) if codes.contains(&r.reason_code()) => {}
            Some((_, codes)) => codes.push(r.reason_code()),
            None => checks.push((r.check, vec![r.reason_code()])),
        }
    }
    if checks.is_empty() {
        return None;
    }
    let n = checks.len();
    let list: Vec<String> = checks
        .iter()
        .map(|(c, codes)| format!("{c} ({})", codes.join(", ")))
        .collect();
    let noun = if n == 1 { "check" } else { "checks" };
    Some(format!("{n} {noun} skipped: {}", list.join(", ")))
}

fn check_line(r: &Verdict) -> String {
    match r.address {
        Some(ip) => format!("{} [{ip}]: {}", r.check, r.reason()),
        None => format!("{}: {}", r.check, r.reason()),
    }
}

fn endpoint_line(e: &EndpointObservation) -> String {
    let mut line = format!("{:<15}", e.address.ip().to_string());
    match (&e.connect, &e.tls) {
        (Err(f), _) => line.push_str(&format!(" connect failed: {f}")),
        (Ok(_), Some(tls)) if tls.failure.is_none() => {
            line.push_str(&format!(" {}", tls.version.as_deref().unwrap_or("?")));
            if let Some(leaf) = tls.leaf_facts() {
                line.push_str(&format!(
                    "  {}  until {}",
                    leaf.subject,
                    rfc3339(leaf.not_after)
                ));
            }
            match e.http.as_ref().and_then(|h| h.status) {
                Some(s) => line.push_str(&format!("  HTTP {s}")),
                None => line.push_str("  no HTTP response"),
            }
        }
        (Ok(_), Some(tls)) => line.push_str(&format!(
            " TLS failed: {}",
            tls.failure
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default()
        )),
        (Ok(_), None) => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckResult;
    use crate::checks::verdicts::Verdicts;

    #[test]
    fn skips_fold_into_one_line_each_check_once() {
        let ip = "10.0.0.1".parse().unwrap();
        let ip2 = "10.0.0.2".parse().unwrap();
        let r1 = CheckResult::skip(CheckName::ClientIp, "not_echo", "x").at(ip);
        let r2 = CheckResult::skip(CheckName::ClientIp, "not_echo", "x").at(ip2);
        let r3 = CheckResult::skip(CheckName::AcmStatus, "no_expectation", "y");
        let all = Verdicts::new(&[r1, r2, r3]);
        let all: Vec<Verdict> = all.iter().collect();
        assert_eq!(
            folded_skips(&all).unwrap(),
            "2 checks skipped: client_ip (not_echo), acm_status (no_expectation)"
        );
        assert_eq!(
            folded_skips(&all[..1]).unwrap(),
            "1 check skipped: client_ip (not_echo)"
        );
        assert_eq!(folded_skips(&[]), None);
    }
}

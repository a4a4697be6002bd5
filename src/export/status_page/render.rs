//! The page itself: a summary line, a filter form, the failing targets first (each failing
//! check with its reason, per address, and since when), the addresses with their certificates,
//! then the passing targets in a compact table. Every outside string passes through `escape`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Filter;
use super::html::{ago_element, escape, human, since, timestamp};
use crate::checks::{CheckName, Status};
use crate::export::latest::Latest;
use crate::probe::EndpointObservation;
use crate::probe::certinfo;

/// Most targets listed per section: a page for a 10,000-target fleet stays loadable; the
/// filters narrow it down.
const MAX_LISTED: usize = 500;

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}\
h1{font-size:1.4em;margin:0}h2{font-size:1.15em;margin:1.2em 0 .4em}\
.summary{font-size:1.1em;font-weight:600}.meta,.when{color:#555}\
.fail{color:#b00020}.ok{color:#1b7f3b}.skip{color:#8a6d00}\
article{border:1px solid #ddd;border-left:6px solid #b00020;padding:.4em .8em;margin:.6em 0}\
article h3{margin:.2em 0;font-size:1.05em}table{border-collapse:collapse;margin:.3em 0}\
th,td{text-align:left;padding:.15em .6em;border-bottom:1px solid #eee;vertical-align:top}\
th{background:#f5f5f5}code{font-size:.95em}form{margin:.6em 0}";

/// The whole document.
pub fn page(all: &[Latest], filter: &Filter, now: SystemTime, refresh: Duration) -> String {
    let failing_total = all.iter().filter(|l| !l.outcome.ok()).count();
    let shown: Vec<&Latest> = all.iter().filter(|l| matches(l, filter)).collect();
    let (failing, passing): (Vec<&Latest>, Vec<&Latest>) =
        shown.iter().partition(|l| !l.outcome.ok());
    let mut failing = failing;
    // Longest-failing first: the oldest problem is the one that has hurt longest.
    failing.sort_by(|a, b| {
        (a.failing_since(), &a.outcome.target.name)
            .cmp(&(b.failing_since(), &b.outcome.target.name))
    });

    let mut out = String::with_capacity(8192 + shown.len() * 512);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>edgewatch: {failing_total} of {} failing</title><style>{CSS}</style></head><body>\n",
        refresh.as_secs(),
        all.len(),
    );
    let _ = write!(
        out,
        "<header><h1>edgewatch status</h1>\n<p class=\"summary\" id=\"summary\">{}</p>\n\
         <p class=\"meta\">as of {} · refreshes every {} s · <a href=\"status.json\">status.json</a></p></header>\n",
        summary(all),
        timestamp(now),
        refresh.as_secs(),
    );
    filter_form(&mut out, all, filter, shown.len());
    let _ = writeln!(
        out,
        "<section id=\"failing\"><h2 class=\"fail\">Failing ({})</h2>",
        failing.len()
    );
    if failing.is_empty() {
        out.push_str("<p>Nothing failing.</p>\n");
    }
    for l in failing.iter().take(MAX_LISTED) {
        failing_target(&mut out, l, now);
    }
    more(&mut out, failing.len());
    let _ = writeln!(
        out,
        "</section>\n<section id=\"passing\"><h2 class=\"ok\">Passing ({})</h2>",
        passing.len()
    );
    passing_table(&mut out, &passing, now);
    more(&mut out, passing.len());
    out.push_str("</section>\n</body></html>\n");
    out
}

fn matches(l: &Latest, filter: &Filter) -> bool {
    let t = &l.outcome.target;
    if filter
        .namespace
        .as_deref()
        .is_some_and(|ns| ns != t.source.namespace())
    {
        return false;
    }
    match &filter.check {
        None => true,
        Some((_, None)) => false,
        Some((_, Some(check))) => l
            .outcome
            .results
            .iter()
            .any(|r| r.check == *check && r.status == Status::Fail),
    }
}

/// `3 targets, 2 failing; failing checks: backend ×1, cert_expiry ×2` (over every target).
fn summary(all: &[Latest]) -> String {
    let failing = all.iter().filter(|l| !l.outcome.ok()).count();
    let mut by_check: BTreeMap<CheckName, usize> = BTreeMap::new();
    for r in all.iter().flat_map(|l| l.outcome.results.iter()) {
        if r.status == Status::Fail {
            *by_check.entry(r.check).or_default() += 1;
        }
    }
    let mut text = format!("{} targets, {failing} failing", all.len());
    if !by_check.is_empty() {
        let list: Vec<String> = by_check
            .iter()
            .map(|(c, n)| format!("<span class=\"fail\">{c}</span> ×{n}"))
            .collect();
        let _ = write!(text, "; failing checks: {}", list.join(", "));
    }
    text
}

fn filter_form(out: &mut String, all: &[Latest], filter: &Filter, shown: usize) {
    let namespaces: BTreeSet<&str> = all
        .iter()
        .map(|l| l.outcome.target.source.namespace())
        .filter(|ns| !ns.is_empty())
        .collect();
    out.push_str("<form method=\"get\" action=\"\">namespace <select name=\"namespace\"><option value=\"\">all</option>");
    let wanted_ns = filter.namespace.as_deref();
    for ns in &namespaces {
        option(out, ns, wanted_ns == Some(*ns));
    }
    if let Some(ns) = wanted_ns.filter(|ns| !namespaces.contains(ns)) {
        option(out, ns, true);
    }
    out.push_str("</select> failing check <select name=\"check\"><option value=\"\">any</option>");
    let wanted_check = filter.check.as_ref().map(|(name, _)| name.as_str());
    for c in CheckName::ALL {
        option(out, c.as_str(), wanted_check == Some(c.as_str()));
    }
    out.push_str("</select> <button type=\"submit\">filter</button>");
    if filter.is_set() {
        let _ = write!(out, " · {shown} shown · <a href=\"?\">clear</a>");
    }
    if let Some((name, None)) = &filter.check {
        let _ = write!(
            out,
            " · <span class=\"fail\">no check is named <code>{}</code></span>",
            escape(name)
        );
    }
    out.push_str("</form>\n");
}

fn option(out: &mut String, value: &str, selected: bool) {
    let value = escape(value);
    let sel = if selected { " selected" } else { "" };
    let _ = write!(out, "<option value=\"{value}\"{sel}>{value}</option>");
}

fn origin(l: &Latest) -> String {
    let s = &l.outcome.target.source;
    match s.kind() {
        "kubernetes" => format!("{}/{}", escape(s.namespace()), escape(s.service())),
        kind => kind.to_string(),
    }
}

fn failing_target(out: &mut String, l: &Latest, now: SystemTime) {
    let t = &l.outcome.target;
    let _ = write!(
        out,
        "<article class=\"target\" data-target=\"{name}\"><h3><span class=\"fail\">FAIL</span> {name} \
         <code>{host}:{port}</code> <small>{origin}</small></h3>\n<p class=\"when\">failing for {for_} \
         · last probe {last} ago</p>\n",
        name = escape(&t.name),
        host = escape(&t.hostname),
        port = t.port,
        origin = origin(l),
        for_ = l
            .failing_since()
            .map_or_else(|| "?".to_string(), |s| ago_element(now, s)),
        last = ago_element(now, l.probed_at()),
    );
    out.push_str("<table class=\"checks\"><tr><th>check</th><th>address</th><th>reason</th><th>failing for</th></tr>\n");
    for r in l
        .outcome
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
    {
        let address = r.address.map(|a| a.to_string()).unwrap_or_default();
        let for_ = l
            .check_since(r.check, r.address)
            .map(|s| human(since(now, s)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr class=\"check\"><td class=\"fail\">{}</td><td>{address}</td>\
             <td class=\"reason\"><code>{}</code> {}</td><td>{for_}</td></tr>",
            r.check,
            r.reason_code(),
            escape(&r.reason()),
        );
    }
    out.push_str("</table>\n");
    if let Some(obs) = &l.outcome.observation
        && !obs.endpoints.is_empty()
    {
        out.push_str("<table class=\"addresses\"><tr><th>address</th><th>TLS</th><th>certificate subject</th><th>days left</th><th>HTTP</th></tr>\n");
        for e in &obs.endpoints {
            endpoint_row(out, e, now);
        }
        out.push_str("</table>\n");
    }
    out.push_str("</article>\n");
}

fn endpoint_row(out: &mut String, e: &EndpointObservation, now: SystemTime) {
    let tls = match (&e.connect, &e.tls) {
        (Err(f), _) => format!("<span class=\"fail\">{}</span>", f.as_str()),
        (Ok(_), Some(t)) => match &t.failure {
            Some(_) => "<span class=\"fail\">failed</span>".to_string(),
            None => escape(t.version.as_deref().unwrap_or("?")),
        },
        (Ok(_), None) => String::new(),
    };
    let leaf = e.tls.as_ref().and_then(|t| t.leaf_facts());
    let (subject, days) = match leaf {
        Some(f) => (escape(&f.subject), days_left(f.not_after, now)),
        None => (String::new(), String::new()),
    };
    let http = e
        .http
        .as_ref()
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{tls}</td><td class=\"subject\">{subject}</td><td>{days}</td><td>{http}</td></tr>",
        e.address.ip()
    );
}

/// Whole days from `now` to `not_after` (Unix seconds); how long ago when already past.
fn days_left(not_after: i64, now: SystemTime) -> String {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if not_after < now {
        let ago = Duration::from_secs(now.abs_diff(not_after));
        format!("<span class=\"fail\">expired {} ago</span>", human(ago))
    } else {
        (not_after.saturating_sub(now) / 86_400).to_string()
    }
}

fn passing_table(out: &mut String, passing: &[&Latest], now: SystemTime) {
    if passing.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table class=\"passing\"><tr><th>target</th><th>host</th><th>source</th><th>addresses</th><th>certificate subject</th><th>days left</th><th>last probe</th></tr>\n");
    for l in passing.iter().take(MAX_LISTED) {
        let t = &l.outcome.target;
        let obs = l.outcome.observation.as_ref();
        let addresses = obs.map_or(0, |o| o.endpoints.len());
        let leaves: Vec<&certinfo::CertFacts> = obs
            .into_iter()
            .flat_map(|o| &o.endpoints)
            .filter_map(|e| e.tls.as_ref()?.leaf_facts())
            .collect();
        let subjects: BTreeSet<&str> = leaves.iter().map(|f| f.subject.as_str()).collect();
        let subjects: Vec<String> = subjects.into_iter().map(escape).collect();
        let fewest_days = leaves
            .iter()
            .map(|f| f.not_after)
            .min()
            .map(|na| days_left(na, now))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr data-target=\"{name}\"><td class=\"ok\">{name}</td><td><code>{}:{}</code></td><td>{}</td>\
             <td>{addresses}</td><td class=\"subject\">{}</td><td>{fewest_days}</td><td>{} ago</td></tr>",
            escape(&t.hostname),
            t.port,
            origin(l),
            subjects.join("<br>"),
            ago_element(now, l.probed_at()),
            name = escape(&t.name),
        );
    }
    out.push_str("</table>\n");
}

fn more(out: &mut String, count: usize) {
    if count > MAX_LISTED {
        let _ = writeln!(
            out,
            "<p class=\"meta\">…and {} more: narrow the list with the filters above.</p>",
            count - MAX_LISTED
        );
    }
}

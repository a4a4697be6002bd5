//! Checks every value of the file that can be judged without the components: durations and
//! counts in range, URLs that are URLs. The components' own parsers (target specs, TLS versions,
//! CA bundles) run when the settings are assembled (`run::settings`).

use std::time::Duration;

use super::file::ConfigFile;
use super::{ConfigError, Excerpt};

/// The range of every duration in the file: (field, least, most). The README's configuration
/// section lists the same; `targets[].interval` has `interval`'s range.
pub const DURATION_RANGES: &[(&str, Duration, Duration)] = &[
    ("interval", secs(1), secs(86_400)),
    ("timeouts.connect", ms(1), secs(600)),
    ("timeouts.tls", ms(1), secs(600)),
    ("timeouts.http", ms(1), secs(600)),
    ("timeouts.probe", ms(1), secs(600)),
    ("resolver.timeout", ms(1), secs(600)),
    ("acm.cache_ttl", secs(1), secs(604_800)),
    ("client_ip.cache_ttl", secs(1), secs(604_800)),
    ("alertmanager.resend_interval", secs(1), secs(604_800)),
];

/// The range of every count in the file: (field, least, most).
pub const COUNT_RANGES: &[(&str, u64, u64)] = &[
    ("concurrency", 1, MAX_CONCURRENCY),
    ("cert.min_days_left", 0, 3650),
];

/// The most probes in flight edgewatch accepts (each holds a socket).
pub const MAX_CONCURRENCY: u64 = 100_000;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// A duration as the README writes it: `1ms`, `30s`, `10m`, `24h`, `7d`.
pub fn show(d: Duration) -> String {
    let s = d.as_secs();
    match () {
        _ if d.subsec_nanos() != 0 || s == 0 => humantime::format_duration(d).to_string(),
        _ if s.is_multiple_of(86_400) && s >= 604_800 => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// The range of the duration field `field` (a name in [`DURATION_RANGES`]).
pub fn duration_range(field: &str) -> (Duration, Duration) {
    DURATION_RANGES
        .iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, lo, hi)| (*lo, *hi))
        .expect("every duration field has a range")
}

/// Checks `file`; `origin` names it in errors.
pub fn validate(file: &ConfigFile, origin: &str) -> Result<(), ConfigError> {
    let err = |field: &str, message: String| ConfigError::new(origin, field, message);
    let duration = |d: Option<Duration>, field: &str, range: &str| match d {
        Some(d) => {
            let (lo, hi) = duration_range(range);
            if d < lo || d > hi {
                let message = format!(
                    "must be between {} and {} (got {})",
                    show(lo),
                    show(hi),
                    humantime::format_duration(d)
                );
                return Err(err(field, message));
            }
            Ok(())
        }
        None => Ok(()),
    };
    let count = |n: Option<u64>, field: &str| {
        let (_, lo, hi) = *COUNT_RANGES
            .iter()
            .find(|(f, _, _)| *f == field)
            .expect("every count field has a range");
        match n {
            Some(n) if n < lo || n > hi => Err(err(
                field,
                format!("must be between {lo} and {hi} (got {n})"),
            )),
            _ => Ok(()),
        }
    };
    duration(file.interval, "interval", "interval")?;
    count(file.concurrency, "concurrency")?;
    let t = &file.timeouts;
    duration(t.connect, "timeouts.connect", "timeouts.connect")?;
    duration(t.tls, "timeouts.tls", "timeouts.tls")?;
    duration(t.http, "timeouts.http", "timeouts.http")?;
    duration(t.probe, "timeouts.probe", "timeouts.probe")?;
    count(file.cert.min_days_left, "cert.min_days_left")?;
    if let Some(url) = &file.alertmanager.url {
        check_url(url).map_err(|m| err("alertmanager.url", m))?;
    }
    if let Some(url) = &file.client_ip.reflector_url {
        check_url(url).map_err(|m| err("client_ip.reflector_url", m))?;
    }
    duration(
        file.resolver.timeout,
        "resolver.timeout",
        "resolver.timeout",
    )?;
    duration(file.acm.cache_ttl, "acm.cache_ttl", "acm.cache_ttl")?;
    duration(
        file.client_ip.cache_ttl,
        "client_ip.cache_ttl",
        "client_ip.cache_ttl",
    )?;
    duration(
        file.alertmanager.resend_interval,
        "alertmanager.resend_interval",
        "alertmanager.resend_interval",
    )?;
    for (i, t) in file.targets.iter().enumerate() {
        duration(t.interval, &format!("targets[{i}].interval"), "interval")?;
    }
    within(file.tls.scan_interval, "tls.scan_interval").map_err(|m| err("tls.scan_interval", m))?;
    within(file.tls.scan_deadline, "tls.scan_deadline").map_err(|m| err("tls.scan_deadline", m))?;
    within(file.aws.cache_ttl, "aws.cache_ttl").map_err(|m| err("aws.cache_ttl", m))?;
    if let Some(name) = &file.aws.cluster_name {
        check_tag_value(name.trim()).map_err(|m| err("aws.cluster_name", m))?;
    }
    check_shard(file).map_err(|(field, m)| err(field, m.to_string()))
}

/// Longest `shard.lease_duration`: longer leaves a dead replica's targets unprobed for longer.
pub const MAX_LEASE_DURATION: Duration = Duration::from_secs(3600);

/// Whether `v` can be a `vantage` (a label value on every series and a Lease label): at most 63
/// characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric (a Kubernetes label value).
pub fn valid_vantage(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// `vantage:` and `shard:`: a label value, a bounded Lease duration, a namespace name.
fn check_shard(file: &ConfigFile) -> Result<(), (&'static str, &'static str)> {
    if !valid_vantage(file.vantage.as_deref().unwrap_or("")) {
        return Err((
            "vantage",
            "must be at most 63 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit",
        ));
    }
    let s = &file.shard;
    if let Some(d) = s.lease_duration
        && (d < secs(1) || d > MAX_LEASE_DURATION)
    {
        return Err(("shard.lease_duration", "must be between 1s and 1h"));
    }
    if let Some(ns) = &s.namespace
        && (ns.is_empty()
            || ns.len() > 63
            || !ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(("shard.namespace", "is not a Kubernetes namespace name"));
    }
    Ok(())
}

/// The ranges of the TLS scan and AWS durations: (field, least, most, the message). Their
/// messages name the range only, in the words they had before the other ranges came (tests and
/// users read them).
pub const SHORT_DURATION_RANGES: &[(&str, Duration, Duration, &str)] = &[
    (
        "tls.scan_interval",
        secs(60),
        secs(7 * 86_400),
        "must be between 1m and 7days",
    ),
    (
        "tls.scan_deadline",
        secs(1),
        secs(600),
        "must be between 1s and 10m",
    ),
    (
        "aws.cache_ttl",
        secs(10),
        secs(86_400),
        "must be between 10s and 24h",
    ),
];

fn within(d: Option<Duration>, field: &str) -> Result<(), String> {
    let (_, lo, hi, message) = SHORT_DURATION_RANGES
        .iter()
        .find(|(f, _, _, _)| *f == field)
        .expect("every duration field has a range");
    match d {
        Some(d) if d < *lo || d > *hi => Err(message.to_string()),
        _ => Ok(()),
    }
}

/// An AWS tag value (`aws.cluster_name`): at most 256 characters, no control characters.
fn check_tag_value(value: &str) -> Result<(), String> {
    if value.len() <= 256 && !value.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("must be a tag value: at most 256 characters, no control characters".to_string())
    }
}

/// An `http://` or `https://` URL with something after the scheme.
pub fn check_url(url: &str) -> Result<(), String> {
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        // No password printed: the userinfo is redacted before the value is echoed.
        _ => Err(format!(
            "`{}` is not an http:// or https:// URL",
            Excerpt(&crate::textsafe::redact_userinfo(url))
        )),
    }
}

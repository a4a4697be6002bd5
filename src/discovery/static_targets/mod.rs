//! Static targets: config file entries and `--target` flags to [`Target`]s. Pure functions.

use std::collections::HashSet;
use std::net::Ipv6Addr;
use std::sync::Arc;

mod error;

use error::at;
pub use error::{EntryError, SpecError};

use crate::config::file::{ExpectedCertEntry, OneOrMany, TargetEntry};
use crate::discovery::identity_pattern::IdentityPattern;
use crate::discovery::target::{
    BackendSpec, ClientIpSpec, ExpectedCert, StatusRanges, Target, TargetSource,
    normalise_hostname, normalise_serial,
};

/// Parses `host`, `host:port` or `https://host[:port][/path]` into (host, port, path).
pub fn parse_spec(spec: &str) -> Result<(String, Option<u16>, Option<String>), SpecError> {
    let spec = spec.trim();
    let (rest, had_scheme) = match spec.split_once("://") {
        Some(("https", rest)) => (rest, true),
        Some((scheme, _)) => {
            return Err(SpecError::Scheme(scheme.to_string()));
        }
        None => (spec, false),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) if had_scheme => (&rest[..i], Some(rest[i..].to_string())),
        Some(_) => return Err(SpecError::PathNeedsScheme(spec.to_string())),
        None => (rest, None),
    };
    let (host, port) = split_host_port(authority)?;
    if host.parse::<Ipv6Addr>().is_ok() {
        // Kept without brackets: the resolver, the address and the certificate's IP SAN all
        // take the bare form; `Target` brackets it where a port follows.
        return Ok((host.to_ascii_lowercase(), port, path));
    }
    check_hostname(host)?;
    Ok((normalise_hostname(host), port, path))
}

/// Splits `host`, `host:port`, `[v6]`, `[v6]:port` (a bare v6 address has no port).
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), SpecError> {
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| SpecError::Port(p.to_string()))
    };
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| SpecError::UnclosedBracket(authority.to_string()))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(SpecError::NotIpv6(inside.to_string()));
        }
        return match after {
            "" => Ok((inside, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((inside, Some(parse_port(p)?))),
                None => Err(SpecError::AfterBracket(authority.to_string())),
            },
        };
    }
    if authority.parse::<Ipv6Addr>().is_ok() {
        return Ok((authority, None));
    }
    match authority.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => Err(SpecError::Ipv6NeedsBrackets(authority.to_string())),
        Some((h, p)) => Ok((h, Some(parse_port(p)?))),
        None => Ok((authority, None)),
    }
}

/// A DNS name: dot-separated labels of letters, digits and hyphens (and `_`).
pub fn check_hostname(host: &str) -> Result<(), SpecError> {
    let h = host.trim_end_matches('.');
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(SpecError::Hostname(host.to_string()))
    }
}

/// A request path must start with `/` and hold no spaces or control characters.
pub fn check_path(path: &str) -> Result<String, SpecError> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SpecError::Path(path.to_string()));
    }
    Ok(path.to_string())
}

/// A `--target` flag to a target with the default expectations.
pub fn from_flag(spec: &str, defaults: &BackendSpec) -> Result<Target, SpecError> {
    let (host, port, path) = parse_spec(spec)?;
    let mut target = Target::new(host, port.unwrap_or(443), TargetSource::Flag);
    target.backend = defaults.clone();
    if let Some(p) = path {
        target.backend.path = check_path(&p)?.into();
    }
    Ok(target)
}

/// A config file entry to a target; the error names the field at fault.
pub fn from_entry(entry: &TargetEntry, defaults: &BackendSpec) -> Result<Target, EntryError> {
    let (host, spec_port, spec_path) = parse_spec(&entry.host).map_err(at(".host"))?;
    let port = match (entry.port, spec_port) {
        (Some(0), _) => return Err(at(".port")(SpecError::PortZero)),
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => 443,
    };
    let mut target = Target::new(host, port, TargetSource::Config);
    if let Some(name) = &entry.name {
        if name.trim().is_empty() {
            return Err(at(".name")(SpecError::EmptyName));
        }
        target.name = name.as_str().into();
    }
    target.backend = defaults.clone();
    if let Some(p) = entry.path.as_ref().or(spec_path.as_ref()) {
        target.backend.path = check_path(p).map_err(at(".path"))?.into();
    }
    if let Some(s) = &entry.expect_status {
        target.backend.expect_status = StatusRanges::parse(s)
            .map_err(SpecError::Status)
            .map_err(at(".expect_status"))?;
    }
    if let Some(lbs) = &entry.lb_hostname {
        for lb in lbs.clone().into_vec() {
            check_hostname(&lb).map_err(at(".lb_hostname"))?;
            target.lb_hostnames.push(normalise_hostname(&lb));
        }
    }
    if let Some(i) = entry.interval {
        if i.is_zero() {
            return Err(at(".interval")(SpecError::ZeroInterval));
        }
        target.interval = Some(i);
    }
    if let Some(e) = &entry.expected_cert {
        target.expected_certs = expected_certs(e)?.into();
    }
    if let Some(mode) = &entry.client_ip {
        target.client_ip = parse_client_ip(mode).map_err(at(".client_ip"))?;
    }
    if let Some(pattern) = &entry.backend_identity {
        let compiled = identity_pattern(pattern).map_err(at(".backend_identity"))?;
        target.expected_identity = Some(Arc::new(compiled));
    }
    if let Some(policy) = &entry.tls_policy {
        target.tls_policy = Some(check_tls_policy(policy).map_err(at(".tls_policy"))?.into());
    }
    Ok(target)
}

/// `auto`, `off`, `echo`, `json_pointer:/origin`, `header:X-Client-IP`.
pub fn parse_client_ip(mode: &str) -> Result<ClientIpSpec, SpecError> {
    match mode.trim().split_once(':') {
        None if mode.trim() == "auto" => Ok(ClientIpSpec::Auto),
        None if mode.trim() == "off" => Ok(ClientIpSpec::Off),
        None if mode.trim() == "echo" => Ok(ClientIpSpec::Echo),
        Some(("json_pointer", p)) if p.starts_with('/') => Ok(ClientIpSpec::JsonPointer(p.into())),
        Some(("header", h)) if !h.trim().is_empty() => {
            Ok(ClientIpSpec::Header(h.trim().to_ascii_lowercase().into()))
        }
        _ => Err(SpecError::ClientIp(mode.to_string())),
    }
}

/// An expected backend identity, compiled: it must be a valid regular expression (matched
/// whole).
pub fn identity_pattern(pattern: &str) -> Result<IdentityPattern, SpecError> {
    IdentityPattern::new(pattern).map_err(|e| {
        // regex's message spans lines and shows the anchored form; keep its last line.
        let text = e.to_string();
        let why = text
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        SpecError::Pattern {
            pattern: pattern.to_string(),
            why: why.to_string(),
        }
    })
}

/// An ELB security policy name: `ELBSecurityPolicy-` and letters, digits, `-` (edgewatch's
/// table need not know it: an unknown policy is judged against the floor rules only).
pub fn check_tls_policy(name: &str) -> Result<String, SpecError> {
    let name = name.trim();
    let ok = name.len() <= 128
        && name.strip_prefix("ELBSecurityPolicy-").is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(name.to_string())
    } else {
        Err(SpecError::TlsPolicy(name.to_string()))
    }
}

/// Parses a SHA-256 written as hex, with or without colons.
pub fn parse_sha256(text: &str) -> Result<[u8; 32], SpecError> {
    let cleaned: String = text.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&cleaned).map_err(|_| SpecError::NotHex(text.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| SpecError::DigestLength(text.to_string()))
}

/// `arn:aws:acm:<region>:<account>:certificate/<id>`.
pub fn check_acm_arn(arn: &str) -> Result<(), SpecError> {
    let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "acm"
        && !parts[3].is_empty()
        && parts[5]
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty());
    if ok {
        Ok(())
    } else {
        Err(SpecError::AcmArn(arn.to_string()))
    }
}

fn expected_certs(e: &ExpectedCertEntry) -> Result<Vec<ExpectedCert>, EntryError> {
    let mut out = Vec::new();
    let list = |v: &Option<OneOrMany>| v.clone().map(|v| v.into_vec()).unwrap_or_default();
    for s in list(&e.sha256) {
        out.push(ExpectedCert::Sha256(
            parse_sha256(&s).map_err(at(".expected_cert.sha256"))?,
        ));
    }
    for s in list(&e.spki_sha256) {
        out.push(ExpectedCert::SpkiSha256(
            parse_sha256(&s).map_err(at(".expected_cert.spki_sha256"))?,
        ));
    }
    for s in list(&e.serial) {
        let serial = normalise_serial(&s)
            .ok_or_else(|| at(".expected_cert.serial")(SpecError::Serial(s.clone())))?;
        out.push(ExpectedCert::Serial(serial));
    }
    for s in list(&e.acm_arn) {
        check_acm_arn(&s).map_err(at(".expected_cert.acm_arn"))?;
        out.push(ExpectedCert::AcmArn(s.trim().to_string()));
    }
    if out.is_empty() {
        return Err(at(".expected_cert")(SpecError::NoExpectedCert));
    }
    Ok(out)
}

/// The first target name used twice, if any.
pub fn first_duplicate(targets: &[Target]) -> Option<&str> {
    let mut seen = HashSet::new();
    targets.iter().map(|t| &*t.name).find(|n| !seen.insert(*n))
}

#[cfg(test)]
mod tests;

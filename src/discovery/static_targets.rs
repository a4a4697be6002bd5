//! Static targets: config file entries and `--target` flags to [`Target`]s. Pure functions.

use std::collections::HashSet;
use std::net::Ipv6Addr;

use crate::config::file::{ExpectedCertEntry, TargetEntry};
use crate::discovery::target::{
    BackendSpec, ClientIpSpec, ExpectedCert, StatusRanges, Target, TargetSource,
    normalise_hostname, normalise_serial,
};

/// Parses `host`, `host:port` or `https://host[:port][/path]` into (host, port, path).
pub fn parse_spec(spec: &str) -> Result<(String, Option<u16>, Option<String>), String> {
    let spec = spec.trim();
    let (rest, had_scheme) = match spec.split_once("://") {
        Some(("https", rest)) => (rest, true),
        Some((scheme, _)) => {
            return Err(format!(
                "scheme `{scheme}://` is not supported; use https:// or a bare host"
            ));
        }
        None => (spec, false),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) if had_scheme => (&rest[..i], Some(rest[i..].to_string())),
        Some(_) => return Err(format!("`{spec}`: a path needs the https:// form")),
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
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("`{p}` is not a port number (1-65535)"))
    };
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{authority}`: `[` without a closing `]`"))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{inside}` is not an IPv6 address"));
        }
        return match after {
            "" => Ok((inside, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((inside, Some(parse_port(p)?))),
                None => Err(format!("`{authority}`: expected `:port` after `]`")),
            },
        };
    }
    if authority.parse::<Ipv6Addr>().is_ok() {
        return Ok((authority, None));
    }
    match authority.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => Err(format!(
            "`{authority}`: write an IPv6 address with a port as [address]:port"
        )),
        Some((h, p)) => Ok((h, Some(parse_port(p)?))),
        None => Ok((authority, None)),
    }
}

/// A DNS name: dot-separated labels of letters, digits and hyphens (and `_`).
pub fn check_hostname(host: &str) -> Result<(), String> {
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
        Err(format!("`{host}` is not a valid DNS name"))
    }
}

/// A request path must start with `/` and hold no spaces or control characters.
pub fn check_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{path}` is not a request path (must start with `/`, no spaces)"
        ));
    }
    Ok(path.to_string())
}

/// A `--target` flag to a target with the default expectations.
pub fn from_flag(spec: &str, defaults: &BackendSpec) -> Result<Target, String> {
    let (host, port, path) = parse_spec(spec)?;
    let mut target = Target::new(host, port.unwrap_or(443), TargetSource::Flag);
    target.backend = defaults.clone();
    if let Some(p) = path {
        target.backend.path = check_path(&p)?;
    }
    Ok(target)
}

/// A config file entry to a target; errors are (field suffix, message).
pub fn from_entry(entry: &TargetEntry, defaults: &BackendSpec) -> Result<Target, (String, String)> {
    let (host, spec_port, spec_path) =
        parse_spec(&entry.host).map_err(|m| (".host".to_string(), m))?;
    let port = match (entry.port, spec_port) {
        (Some(0), _) => return Err((".port".into(), "must be 1-65535".into())),
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => 443,
    };
    let mut target = Target::new(host, port, TargetSource::Config);
    if let Some(name) = &entry.name {
        if name.trim().is_empty() {
            return Err((".name".into(), "must not be empty".into()));
        }
        target.name = name.clone();
    }
    target.backend = defaults.clone();
    if let Some(p) = entry.path.as_ref().or(spec_path.as_ref()) {
        target.backend.path = check_path(p).map_err(|m| (".path".to_string(), m))?;
    }
    if let Some(s) = &entry.expect_status {
        target.backend.expect_status =
            StatusRanges::parse(s).map_err(|m| (".expect_status".to_string(), m))?;
    }
    if let Some(lbs) = &entry.lb_hostname {
        for lb in lbs.clone().into_vec() {
            check_hostname(&lb).map_err(|m| (".lb_hostname".to_string(), m))?;
            target.lb_hostnames.push(normalise_hostname(&lb));
        }
    }
    if let Some(i) = entry.interval {
        if i.is_zero() {
            return Err((".interval".into(), "must be greater than zero".into()));
        }
        target.interval = Some(i);
    }
    if let Some(e) = &entry.expected_cert {
        target.expected_certs = expected_certs(e)?;
    }
    if let Some(mode) = &entry.client_ip {
        target.client_ip = parse_client_ip(mode).map_err(|m| (".client_ip".to_string(), m))?;
    }
    if let Some(pattern) = &entry.backend_identity {
        check_identity_pattern(pattern).map_err(|m| (".backend_identity".to_string(), m))?;
        target.expected_identity = Some(pattern.clone());
    }
    if let Some(policy) = &entry.tls_policy {
        target.tls_policy =
            Some(check_tls_policy(policy).map_err(|m| (".tls_policy".to_string(), m))?);
    }
    Ok(target)
}

/// `auto`, `off`, `echo`, `json_pointer:/origin`, `header:X-Client-IP`.
pub fn parse_client_ip(mode: &str) -> Result<ClientIpSpec, String> {
    match mode.trim().split_once(':') {
        None if mode.trim() == "auto" => Ok(ClientIpSpec::Auto),
        None if mode.trim() == "off" => Ok(ClientIpSpec::Off),
        None if mode.trim() == "echo" => Ok(ClientIpSpec::Echo),
        Some(("json_pointer", p)) if p.starts_with('/') => {
            Ok(ClientIpSpec::JsonPointer(p.to_string()))
        }
        Some(("header", h)) if !h.trim().is_empty() => {
            Ok(ClientIpSpec::Header(h.trim().to_ascii_lowercase()))
        }
        _ => Err(format!(
            "`{mode}` is not a client-IP mode (auto, off, echo, json_pointer:/path, header:NAME)"
        )),
    }
}

/// An expected backend identity must be a valid regular expression (matched whole).
pub fn check_identity_pattern(pattern: &str) -> Result<(), String> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map(|_| ())
        .map_err(|e| {
            // regex's message spans lines and shows the anchored form; keep its last line.
            let text = e.to_string();
            let why = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            format!("`{pattern}` is not a regular expression ({why})")
        })
}

/// An ELB security policy name: `ELBSecurityPolicy-` and letters, digits, `-` (edgewatch's
/// table need not know it: an unknown policy is judged against the floor rules only).
pub fn check_tls_policy(name: &str) -> Result<String, String> {
    let name = name.trim();
    let ok = name.len() <= 128
        && name.strip_prefix("ELBSecurityPolicy-").is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            "`{}` is not an ELB security policy name (e.g. ELBSecurityPolicy-TLS13-1-2-Res-2021-06)",
            name.escape_debug()
        ))
    }
}

/// Parses a SHA-256 written as hex, with or without colons.
pub fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    let cleaned: String = text.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&cleaned).map_err(|_| format!("`{text}` is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| format!("`{text}` is not 32 bytes (64 hex digits)"))
}

/// `arn:aws:acm:<region>:<account>:certificate/<id>`.
pub fn check_acm_arn(arn: &str) -> Result<(), String> {
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
        Err(format!(
            "`{arn}` is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"
        ))
    }
}

fn expected_certs(e: &ExpectedCertEntry) -> Result<Vec<ExpectedCert>, (String, String)> {
    let mut out = Vec::new();
    let list = |v: &Option<crate::config::file::OneOrMany>| {
        v.clone().map(|v| v.into_vec()).unwrap_or_default()
    };
    for s in list(&e.sha256) {
        out.push(ExpectedCert::Sha256(
            parse_sha256(&s).map_err(|m| (".expected_cert.sha256".to_string(), m))?,
        ));
    }
    for s in list(&e.spki_sha256) {
        out.push(ExpectedCert::SpkiSha256(
            parse_sha256(&s).map_err(|m| (".expected_cert.spki_sha256".to_string(), m))?,
        ));
    }
    for s in list(&e.serial) {
        let serial = normalise_serial(&s).ok_or_else(|| {
            (
                ".expected_cert.serial".to_string(),
                format!("`{s}` is not a hex serial"),
            )
        })?;
        out.push(ExpectedCert::Serial(serial));
    }
    for s in list(&e.acm_arn) {
        check_acm_arn(&s).map_err(|m| (".expected_cert.acm_arn".to_string(), m))?;
        out.push(ExpectedCert::AcmArn(s.trim().to_string()));
    }
    if out.is_empty() {
        return Err((
            ".expected_cert".into(),
            "names no certificate (sha256, spki_sha256, serial or acm_arn)".into(),
        ));
    }
    Ok(out)
}

/// The first target name used twice, if any.
pub fn first_duplicate(targets: &[Target]) -> Option<&str> {
    let mut seen = HashSet::new();
    targets
        .iter()
        .map(|t| t.name.as_str())
        .find(|n| !seen.insert(*n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_in_all_three_forms() {
        assert_eq!(
            parse_spec("Example.com").unwrap(),
            ("example.com".into(), None, None)
        );
        assert_eq!(
            parse_spec("example.com:8443").unwrap(),
            ("example.com".into(), Some(8443), None)
        );
        assert_eq!(
            parse_spec("https://example.com:8443/healthz").unwrap(),
            ("example.com".into(), Some(8443), Some("/healthz".into()))
        );
    }

    #[test]
    fn bad_specs_name_the_problem() {
        assert!(parse_spec("http://x.com").unwrap_err().contains("http://"));
        assert!(parse_spec("x.com:99999").unwrap_err().contains("99999"));
        assert!(
            parse_spec("bad host")
                .unwrap_err()
                .contains("not a valid DNS name")
        );
        assert!(parse_spec("x.com/path").unwrap_err().contains("https://"));
    }

    #[test]
    fn ipv6_literals_with_and_without_port_and_scheme() {
        assert_eq!(
            parse_spec("[::1]:18700").unwrap(),
            ("::1".into(), Some(18700), None)
        );
        assert_eq!(
            parse_spec("[2001:DB8::1]:443").unwrap(),
            ("2001:db8::1".into(), Some(443), None)
        );
        assert_eq!(parse_spec("[::1]").unwrap(), ("::1".into(), None, None));
        assert_eq!(parse_spec("::1").unwrap(), ("::1".into(), None, None));
        assert_eq!(
            parse_spec("https://[::1]:8443/healthz").unwrap(),
            ("::1".into(), Some(8443), Some("/healthz".into()))
        );
        assert_eq!(
            parse_spec("127.0.0.1:8443").unwrap(),
            ("127.0.0.1".into(), Some(8443), None)
        );
    }

    #[test]
    fn malformed_ipv6_specs_say_what_is_wrong() {
        assert_eq!(
            parse_spec("[::1:443").unwrap_err(),
            "`[::1:443`: `[` without a closing `]`"
        );
        assert_eq!(
            parse_spec("[nope]:443").unwrap_err(),
            "`nope` is not an IPv6 address"
        );
        assert_eq!(
            parse_spec("2001:db8::1:99999").unwrap_err(),
            "`2001:db8::1:99999`: write an IPv6 address with a port as [address]:port"
        );
        assert_eq!(
            parse_spec("[::1]:0").unwrap_err(),
            "`0` is not a port number (1-65535)"
        );
    }

    #[test]
    fn acm_arns_are_checked() {
        assert!(check_acm_arn("arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e").is_ok());
        assert!(check_acm_arn("arn:aws:iam::1:role/x").is_err());
        assert!(check_acm_arn("arn:aws:acm:us-east-2:1:certificate/").is_err());
    }

    #[test]
    fn sha256_accepts_colons_and_rejects_wrong_length() {
        let hex64 = "ab".repeat(32);
        assert_eq!(parse_sha256(&hex64).unwrap(), [0xab; 32]);
        let colons: Vec<&str> = std::iter::repeat_n("AB", 32).collect();
        assert_eq!(parse_sha256(&colons.join(":")).unwrap(), [0xab; 32]);
        assert!(parse_sha256("abcd").unwrap_err().contains("32 bytes"));
    }

    #[test]
    fn client_ip_modes() {
        assert_eq!(parse_client_ip("echo").unwrap(), ClientIpSpec::Echo);
        assert_eq!(
            parse_client_ip("json_pointer:/origin").unwrap(),
            ClientIpSpec::JsonPointer("/origin".into())
        );
        assert_eq!(
            parse_client_ip("header:X-Client-IP").unwrap(),
            ClientIpSpec::Header("x-client-ip".into())
        );
        assert!(parse_client_ip("maybe").is_err());
    }
}

//! `client_ip`: the backend saw the prober's own egress IP as the client (the load balancer
//! preserved it, or passed it on with PROXY protocol). `backend_identity`: the backend that
//! answered is the expected one. Both read the backend's answer at each address; pure.

use std::net::IpAddr;

use super::{CheckName, CheckResult};
use crate::discovery::target::{ClientIpSpec, Target};
use crate::probe::echo_reply::EchoResponse;
use crate::probe::http::ECHO_MARKER_HEADER;
use crate::probe::{EndpointObservation, HttpObservation, Observation};

/// What the backend's answer says.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    ip: IpAddr,
    /// Echo mode: the echoed nonce (checked against the one sent).
    nonce: Option<Option<String>>,
}

/// Judges `client_ip` at every address, or one skip when the check is off or the egress IP is
/// not known.
pub fn judge(target: &Target, obs: &Observation) -> Vec<CheckResult> {
    let check = CheckName::ClientIp;
    let spec = effective_spec(&target.client_ip, obs);
    if spec == ClientIpSpec::Off {
        if target.client_ip != ClientIpSpec::Auto {
            return vec![CheckResult::skip(
                check,
                "disabled",
                "client_ip is off for this target",
            )];
        }
        return auto_skips(obs);
    }
    let egress = match &obs.egress_ip {
        None => {
            return vec![CheckResult::skip(
                check,
                "egress_unknown",
                "the prober's egress IP is not known (set client_ip.egress_ip or a reflector)",
            )];
        }
        Some(Err(why)) => {
            return vec![CheckResult::skip(
                check,
                "egress_lookup_failed",
                format!("the prober's egress IP could not be learned: {why}"),
            )];
        }
        Some(Ok(ip)) => *ip,
    };
    obs.endpoints
        .iter()
        .map(|e| judge_endpoint(target, &spec, egress, e))
        .collect()
}

/// Whether `client_ip` will be judged for this probe (so the egress IP is worth learning): with
/// `auto`, only when the backend answered as edgewatch echo.
pub fn will_be_judged(target: &Target, obs: &Observation) -> bool {
    effective_spec(&target.client_ip, obs) != ClientIpSpec::Off
}

/// Why `auto` judged nothing, per address: the backend answered but not as edgewatch echo, or
/// no HTTP answer came back at all (then nothing was read, and saying "not an echo" would be
/// a guess).
fn auto_skips(obs: &Observation) -> Vec<CheckResult> {
    let check = CheckName::ClientIp;
    if obs.endpoints.is_empty() {
        return vec![CheckResult::skip(
            check,
            NO_BACKEND_RESPONSE,
            "no address was probed (the name did not resolve): no HTTP answer to read the client IP from",
        )];
    }
    obs.endpoints
        .iter()
        .map(|e| match e.http.as_ref().and_then(|h| h.status) {
            Some(_) => CheckResult::skip(
                check,
                "not_echo",
                "the backend did not answer as edgewatch echo; set client_ip to read another \
                 echo's answer",
            )
            .at(e.address.ip()),
            None => no_backend_response(check, e),
        })
        .collect()
}

/// Skip code when no HTTP answer came back from an address.
const NO_BACKEND_RESPONSE: &str = "no_backend_response";

/// The skip for an address that gave no HTTP answer, naming the phase that failed.
fn no_backend_response(check: CheckName, endpoint: &EndpointObservation) -> CheckResult {
    let phase = if endpoint.http.is_some() {
        "the HTTP request failed"
    } else if endpoint.connect.is_err() {
        "the TCP connect failed"
    } else {
        "the TLS handshake failed"
    };
    CheckResult::skip(
        check,
        NO_BACKEND_RESPONSE,
        format!("no HTTP answer came back ({phase}): nothing to read"),
    )
    .at(endpoint.address.ip())
}

/// The mode in force for one probe: `Auto` becomes `Echo` when any address answered with
/// edgewatch echo's marker header, else `Off`. Other modes are as configured.
pub fn effective_spec(spec: &ClientIpSpec, obs: &Observation) -> ClientIpSpec {
    match spec {
        ClientIpSpec::Auto => {
            let echoed = obs.endpoints.iter().any(|e| {
                e.http
                    .as_ref()
                    .is_some_and(|h| h.header(ECHO_MARKER_HEADER).is_some())
            });
            if echoed {
                ClientIpSpec::Echo
            } else {
                ClientIpSpec::Off
            }
        }
        other => other.clone(),
    }
}

/// The backend's answer at one address, when there is one worth reading: an error page (the
/// load balancer's 503) is the `backend` check's failure, not something to read an IP from.
fn readable<'a>(
    check: CheckName,
    target: &Target,
    endpoint: &'a EndpointObservation,
) -> Result<&'a HttpObservation, CheckResult> {
    let at = endpoint.address.ip();
    match endpoint.http.as_ref().map(|h| (h, h.status)) {
        Some((h, Some(status))) if target.backend.expect_status.contains(status) => Ok(h),
        Some((_, Some(status))) => Err(CheckResult::skip(
            check,
            "backend_failed",
            format!("the backend answered {status}: no echo to read"),
        )
        .at(at)),
        _ => Err(no_backend_response(check, endpoint)),
    }
}

fn judge_endpoint(
    target: &Target,
    spec: &ClientIpSpec,
    egress: IpAddr,
    endpoint: &EndpointObservation,
) -> CheckResult {
    let check = CheckName::ClientIp;
    let at = endpoint.address.ip();
    let http = match readable(check, target, endpoint) {
        Ok(h) => h,
        Err(skip) => return skip,
    };
    let seen = match read_seen(spec, http) {
        Ok(seen) => seen,
        Err((code, why)) => return CheckResult::fail(check, code, why).at(at),
    };
    if let Some(echoed) = &seen.nonce
        && !echoed.as_deref().is_some_and(|e| http.nonce.is(e))
    {
        return CheckResult::fail(
            check,
            "nonce_mismatch",
            format!(
                "the response came from somewhere else (a cache, another backend): nonce \
                     sent {}, echoed {}",
                http.nonce,
                echoed.as_deref().unwrap_or("nothing")
            ),
        )
        .at(at);
    }
    // An IPv4 client seen through an IPv6 socket shows up as ::ffff:a.b.c.d.
    let canonical = |ip: IpAddr| ip.to_canonical();
    if canonical(seen.ip) == canonical(egress) {
        CheckResult::pass(check, format!("the backend saw the prober's IP {egress}")).at(at)
    } else {
        CheckResult::fail(
            check,
            "ip_mismatch",
            format!(
                "the backend saw the client as {}, but the prober's IP is {egress}: the \
                 load balancer did not pass the client IP on (PROXY protocol or client IP \
                 preservation off?)",
                seen.ip
            ),
        )
        .at(at)
    }
}

fn read_seen(spec: &ClientIpSpec, http: &HttpObservation) -> Result<Seen, (&'static str, String)> {
    let truncated = if http.body_truncated {
        " (truncated)"
    } else {
        ""
    };
    match spec {
        ClientIpSpec::Off | ClientIpSpec::Auto => Err(("disabled", "client_ip is off".into())),
        ClientIpSpec::Echo => {
            let echo: EchoResponse = serde_json::from_slice(&http.body).map_err(|e| {
                (
                    "not_echo",
                    format!("the backend's answer is not edgewatch echo JSON{truncated}: {e}"),
                )
            })?;
            Ok(Seen {
                ip: parse_ip(&echo.client_ip)?,
                nonce: Some(echo.nonce),
            })
        }
        ClientIpSpec::JsonPointer(pointer) => {
            let value: serde_json::Value = serde_json::from_slice(&http.body).map_err(|e| {
                (
                    "not_json",
                    format!("the backend's answer is not JSON{truncated}: {e}"),
                )
            })?;
            let text = value
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    (
                        "ip_missing",
                        format!("the answer has no string at JSON pointer {pointer}"),
                    )
                })?;
            Ok(Seen {
                ip: parse_ip(first_of_list(text))?,
                nonce: None,
            })
        }
        ClientIpSpec::Header(name) => {
            let text = http
                .header(name)
                .ok_or_else(|| ("ip_missing", format!("the answer has no `{name}` header")))?;
            Ok(Seen {
                ip: parse_ip(first_of_list(text))?,
                nonce: None,
            })
        }
    }
}

/// httpbin's `/ip` answers `"a, b"` when proxies are involved: the first is the client.
fn first_of_list(text: &str) -> &str {
    text.split(',').next().unwrap_or("").trim()
}

fn parse_ip(text: &str) -> Result<IpAddr, (&'static str, String)> {
    let t = text.trim();
    // Tolerate `ip:port` and `[v6]:port` forms some echo services write.
    let parsed = t
        .parse::<IpAddr>()
        .or_else(|_| t.parse::<std::net::SocketAddr>().map(|s| s.ip()));
    parsed.map_err(|_| {
        let shown: String = t.chars().take(64).collect();
        (
            "ip_unparsable",
            format!("the backend reported `{shown}`, not an IP address"),
        )
    })
}

/// Judges `backend_identity` at every address: the echoed identity matches the target's
/// expected pattern (an anchored regular expression). Skipped when no pattern is set.
pub fn judge_identity(target: &Target, obs: &Observation) -> Vec<CheckResult> {
    let check = CheckName::BackendIdentity;
    let Some(pattern) = &target.expected_identity else {
        return vec![CheckResult::skip(
            check,
            "disabled",
            "no expected backend identity",
        )];
    };
    obs.endpoints
        .iter()
        .map(|endpoint| {
            let at = endpoint.address.ip();
            let http = match readable(check, target, endpoint) {
                Ok(h) => h,
                Err(skip) => return skip,
            };
            let identity = serde_json::from_slice::<EchoResponse>(&http.body)
                .ok()
                .and_then(|e| e.identity);
            match identity {
                None => CheckResult::fail(
                    check,
                    "no_identity",
                    "the backend's answer carries no identity (not edgewatch echo, or POD_NAME unset)",
                ),
                Some(id) if pattern.is_match(&id) => {
                    CheckResult::pass(check, format!("answered by {id}"))
                }
                Some(id) => CheckResult::fail(
                    check,
                    "unexpected_identity",
                    format!("answered by {id}, expected one matching `{pattern}`"),
                ),
            }
            .at(at)
        })
        .collect()
}

#[cfg(test)]
mod tests;

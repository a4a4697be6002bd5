//! `client_ip` and `backend_identity` verdicts from fixture answers.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use super::*;
use crate::checks::Status;
use crate::discovery::target::TargetSource;
use crate::probe::egress::EgressError;
use crate::probe::headers::Headers;
use crate::probe::{DnsObservation, HttpObservation};

const NONCE: &str = "3f2a9c0d3f2a9c0d3f2a9c0d3f2a9c0d";
const ADDR: &str = "10.0.0.7:443";

fn pattern(text: &str) -> std::sync::Arc<crate::discovery::identity_pattern::IdentityPattern> {
    std::sync::Arc::new(crate::discovery::identity_pattern::IdentityPattern::new(text).unwrap())
}

fn target(spec: ClientIpSpec) -> Target {
    let mut t = Target::new("shop.example.com", 443, TargetSource::Flag);
    t.client_ip = spec;
    t
}

fn http(body: &str, headers: &[(&str, &str)]) -> HttpObservation {
    HttpObservation {
        path: "/".into(),
        nonce: crate::probe::nonce::Nonce::parse(NONCE).unwrap(),
        status: Some(200),
        headers: Headers::new(headers.iter().copied()),
        body: body.as_bytes().to_vec(),
        body_bytes: body.len() as u32,
        body_truncated: false,
        failure: None,
        duration: Duration::ZERO,
    }
}

fn observation(
    egress: Option<Result<IpAddr, Box<EgressError>>>,
    answers: Vec<HttpObservation>,
) -> Observation {
    let endpoints = answers
        .into_iter()
        .map(|h| EndpointObservation {
            address: ADDR.parse::<SocketAddr>().unwrap(),
            connect: Ok(Duration::ZERO),
            tls: None,
            http: Some(h),
        })
        .collect();
    let dns = DnsObservation::answered("shop.example.com", vec![]);
    Observation {
        endpoints,
        egress_ip: egress,
        ..Observation::from_dns(SystemTime::UNIX_EPOCH, dns)
    }
}

fn egress() -> Option<Result<IpAddr, Box<EgressError>>> {
    Some(Ok("203.0.113.5".parse().unwrap()))
}

fn echo(client_ip: &str, nonce: Option<&str>, identity: Option<&str>) -> String {
    serde_json::json!({
        "client_ip": client_ip, "tcp_peer": "10.0.3.9:41000", "nonce": nonce,
        "identity": identity, "path": "/", "proxy": null,
    })
    .to_string()
}

fn one(results: Vec<CheckResult>) -> CheckResult {
    assert_eq!(results.len(), 1, "{results:?}");
    results.into_iter().next().unwrap()
}

#[test]
fn echo_with_the_probers_ip_and_nonce_passes() {
    let obs = observation(
        egress(),
        vec![http(&echo("203.0.113.5", Some(NONCE), None), &[])],
    );
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!((r.status, r.reason_code()), (Status::Pass, "ok"));
    assert_eq!(r.address, Some("10.0.0.7".parse().unwrap()));
}

#[test]
fn echo_with_the_load_balancers_ip_fails_naming_both() {
    let obs = observation(
        egress(),
        vec![http(&echo("10.0.3.9", Some(NONCE), None), &[])],
    );
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!((r.status, r.reason_code()), (Status::Fail, "ip_mismatch"));
    assert!(
        r.reason.contains("10.0.3.9") && r.reason.contains("203.0.113.5"),
        "{}",
        r.reason
    );
}

#[test]
fn echo_with_another_nonce_fails_as_answered_by_someone_else() {
    for nonce in [Some("stale-cached-nonce"), None] {
        let obs = observation(egress(), vec![http(&echo("203.0.113.5", nonce, None), &[])]);
        let r = one(judge(&target(ClientIpSpec::Echo), &obs));
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "nonce_mismatch")
        );
        assert!(
            r.reason.contains("a cache, another backend"),
            "{}",
            r.reason
        );
    }
}

#[test]
fn echo_mode_against_a_non_echo_body_fails_not_echo() {
    let obs = observation(egress(), vec![http("<html>hello</html>", &[])]);
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!((r.status, r.reason_code()), (Status::Fail, "not_echo"));
}

#[test]
fn json_pointer_takes_the_first_of_an_httpbin_list() {
    let spec = ClientIpSpec::JsonPointer("/origin".into());
    let obs = observation(
        egress(),
        vec![http(r#"{"origin": "203.0.113.5, 10.0.0.1"}"#, &[])],
    );
    assert_eq!(one(judge(&target(spec.clone()), &obs)).status, Status::Pass);
    let obs = observation(egress(), vec![http(r#"{"origin": "198.51.100.1"}"#, &[])]);
    let r = one(judge(&target(spec.clone()), &obs));
    assert_eq!(r.reason_code(), "ip_mismatch");
    let obs = observation(egress(), vec![http(r#"{"ip": "203.0.113.5"}"#, &[])]);
    assert_eq!(one(judge(&target(spec), &obs)).reason_code(), "ip_missing");
}

#[test]
fn header_mode_reads_the_named_header() {
    let spec = ClientIpSpec::Header("x-client-ip".into());
    let obs = observation(egress(), vec![http("", &[("x-client-ip", "203.0.113.5")])]);
    assert_eq!(one(judge(&target(spec.clone()), &obs)).status, Status::Pass);
    let obs = observation(egress(), vec![http("", &[("x-client-ip", "not-an-ip")])]);
    assert_eq!(
        one(judge(&target(spec.clone()), &obs)).reason_code(),
        "ip_unparsable"
    );
    let obs = observation(egress(), vec![http("", &[])]);
    assert_eq!(one(judge(&target(spec), &obs)).reason_code(), "ip_missing");
}

#[test]
fn ipv4_mapped_ipv6_counts_as_the_same_address() {
    let obs = observation(
        egress(),
        vec![http(&echo("::ffff:203.0.113.5", Some(NONCE), None), &[])],
    );
    assert_eq!(
        one(judge(&target(ClientIpSpec::Echo), &obs)).status,
        Status::Pass
    );
}

#[test]
fn skips_when_off_egress_unknown_or_lookup_failed_or_no_response() {
    let obs = observation(
        egress(),
        vec![http(&echo("1.1.1.1", Some(NONCE), None), &[])],
    );
    assert_eq!(
        one(judge(&target(ClientIpSpec::Off), &obs)).reason_code(),
        "disabled"
    );
    let obs = observation(None, vec![]);
    assert_eq!(
        one(judge(&target(ClientIpSpec::Echo), &obs)).reason_code(),
        "egress_unknown"
    );
    let obs = observation(
        Some(Err(Box::new(EgressError::Status {
            url: "http://127.0.0.1:1/".into(),
            status: 503,
        }))),
        vec![],
    );
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "egress_lookup_failed")
    );
    assert!(r.reason.contains("answered 503"), "{}", r.reason);
    let mut error_page = http("<h1>503 Service Unavailable</h1>", &[]);
    error_page.status = Some(503);
    let obs = observation(egress(), vec![error_page]);
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Skip, "backend_failed")
    );
    let mut failed = http("", &[]);
    failed.status = None;
    let obs = observation(egress(), vec![failed]);
    let r = one(judge(&target(ClientIpSpec::Echo), &obs));
    assert_eq!(
        (r.status, r.reason_code(), &*r.reason, r.address),
        (
            Status::Skip,
            "no_backend_response",
            "no HTTP answer came back (the HTTP request failed): nothing to read",
            Some(ADDR.parse::<SocketAddr>().unwrap().ip())
        )
    );
}

#[test]
fn auto_without_any_http_answer_skips_no_backend_response_per_address_not_not_echo() {
    // TLS failed at the address: no request was ever sent, so nothing says it is not an echo.
    let mut obs = observation(egress(), vec![]);
    obs.endpoints.push(EndpointObservation {
        address: ADDR.parse::<SocketAddr>().unwrap(),
        connect: Ok(Duration::ZERO),
        tls: None,
        http: None,
    });
    let r = one(judge(&target(ClientIpSpec::Auto), &obs));
    assert_eq!(
        (r.status, r.reason_code(), &*r.reason),
        (
            Status::Skip,
            "no_backend_response",
            "no HTTP answer came back (the TLS handshake failed): nothing to read"
        )
    );
    assert_eq!(r.address, Some(ADDR.parse::<SocketAddr>().unwrap().ip()));
    // DNS failed: no address at all.
    let obs = observation(egress(), vec![]);
    let r = one(judge(&target(ClientIpSpec::Auto), &obs));
    assert_eq!(
        (r.status, r.reason_code(), &*r.reason, r.address),
        (
            Status::Skip,
            "no_backend_response",
            "no address was probed (the name did not resolve): no HTTP answer to read the client IP from",
            None
        )
    );
}

#[test]
fn backend_identity_matches_the_whole_identity() {
    let mut t = target(ClientIpSpec::Echo);
    let body = echo("203.0.113.5", Some(NONCE), Some("prod/myapp-7d9f-x2"));
    let obs = observation(egress(), vec![http(&body, &[])]);
    assert_eq!(one(judge_identity(&t, &obs)).reason_code(), "disabled");
    t.expected_identity = Some(pattern("prod/myapp-.*"));
    assert_eq!(one(judge_identity(&t, &obs)).status, Status::Pass);
    t.expected_identity = Some(pattern("myapp")); // anchored: a substring is not enough
    let r = one(judge_identity(&t, &obs));
    assert_eq!(
        (r.status, r.reason_code()),
        (Status::Fail, "unexpected_identity")
    );
    assert!(r.reason.contains("prod/myapp-7d9f-x2"));
    let obs = observation(
        egress(),
        vec![http(&echo("203.0.113.5", Some(NONCE), None), &[])],
    );
    assert_eq!(one(judge_identity(&t, &obs)).reason_code(), "no_identity");
}

#[test]
fn auto_judges_as_echo_when_the_backend_answers_with_the_echo_marker() {
    let marker = [(ECHO_MARKER_HEADER, "0.1.0")];
    let obs = observation(
        egress(),
        vec![http(&echo("10.0.3.9", Some(NONCE), None), &marker)],
    );
    assert_eq!(
        effective_spec(&ClientIpSpec::Auto, &obs),
        ClientIpSpec::Echo
    );
    let r = one(judge(&target(ClientIpSpec::Auto), &obs));
    assert_eq!((r.status, r.reason_code()), (Status::Fail, "ip_mismatch"));
}

#[test]
fn auto_skips_when_the_backend_is_not_an_echo() {
    let obs = observation(egress(), vec![http("<html>shop</html>", &[])]);
    assert_eq!(effective_spec(&ClientIpSpec::Auto, &obs), ClientIpSpec::Off);
    let r = one(judge(&target(ClientIpSpec::Auto), &obs));
    assert_eq!((r.status, r.reason_code()), (Status::Skip, "not_echo"));
    assert_eq!(r.address, Some(ADDR.parse::<SocketAddr>().unwrap().ip()));
    // An explicit mode is never second-guessed.
    assert_eq!(
        effective_spec(&ClientIpSpec::Echo, &obs),
        ClientIpSpec::Echo
    );
}

use super::*;
use std::net::Ipv4Addr;

fn sample() -> Vec<CheckResult> {
    let a: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
    let b: IpAddr = Ipv4Addr::new(127, 0, 0, 3).into();
    vec![
        CheckResult::pass(CheckName::Config, "configuration is valid"),
        CheckResult::pass(CheckName::Dns, format!("resolves to {a}, {b}")),
        CheckResult::fail(
            CheckName::TlsHandshake,
            "connect_timeout",
            "no connection in 5s",
        )
        .at(a),
        CheckResult::pass(CheckName::TlsHandshake, format!("TLS1.3 with {b}")).at(b),
        CheckResult::skip(CheckName::ClientIp, "disabled", "not asked").at(a),
    ]
}

#[test]
fn packing_keeps_every_verdict_in_order() {
    let results = sample();
    let packed = Verdicts::new(&results);
    assert_eq!(packed.len(), results.len());
    assert_eq!(packed.to_results(), results);
    for (v, r) in packed.iter().zip(&results) {
        assert_eq!(
            (v.check, v.status, v.address, v.reason(), v.reason_code()),
            (
                r.check,
                r.status,
                r.address,
                r.reason.as_ref(),
                r.reason_code()
            )
        );
    }
    assert!(!packed.all_ok());
    assert!(Verdicts::new(&results[..2]).all_ok());
}

#[test]
fn only_a_probes_own_texts_are_stored_and_each_address_once() {
    let packed = Verdicts::new(&sample());
    let own: usize = sample()
        .iter()
        .filter(|r| matches!(r.reason, Cow::Owned(_)))
        .map(|r| r.reason.len())
        .sum();
    assert_eq!(packed.text.len(), own);
    assert_eq!(packed.addresses.len(), 2);
    // A fixed sentence comes back as the literal itself, not a copy.
    let config = packed.iter().next().unwrap().to_result();
    assert!(matches!(config.reason, Cow::Borrowed(_)));
}

#[test]
fn the_json_is_the_unpacked_lists() {
    let results = sample();
    assert_eq!(
        serde_json::to_string(&Verdicts::new(&results)).unwrap(),
        serde_json::to_string(&results).unwrap()
    );
}

#[test]
fn equal_texts_from_different_literals_are_equal_verdicts() {
    let one = Verdicts::new(&[CheckResult::pass(CheckName::Dns, "same")]);
    let copy: &'static str = Box::leak(String::from("same").into_boxed_str());
    let other = Verdicts::new(&[CheckResult::pass(CheckName::Dns, copy)]);
    assert_eq!(one, other);
    assert_ne!(
        one,
        Verdicts::new(&[CheckResult::pass(CheckName::Dns, "other")])
    );
}

#[test]
fn an_empty_list_allocates_nothing_and_passes() {
    let empty = Verdicts::new(&[]);
    assert!(empty.is_empty() && empty.all_ok());
    assert_eq!(serde_json::to_string(&empty).unwrap(), "[]");
}

#[test]
fn a_verdict_is_twelve_bytes_and_an_overlong_reason_is_said_to_be() {
    assert_eq!(std::mem::size_of::<Packed>(), 12);
    let long = "x".repeat(70_000);
    let packed = Verdicts::new(&[
        CheckResult::fail(CheckName::Backend, "bad_status", long),
        CheckResult::pass(CheckName::Dns, format!("resolves to {}", "127.0.0.1")),
    ]);
    let reasons: Vec<&str> = packed.iter().map(|v| v.reason()).collect();
    assert_eq!(reasons, [TOO_LONG, "resolves to 127.0.0.1"]);
}

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
            (v.check, v.status, v.address, &*v.reason(), v.reason_code()),
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
    // The handshake's texts are shared; the DNS answer's is this probe's own.
    let own: usize = sample()
        .iter()
        .filter(|r| matches!(r.reason, Cow::Owned(_)) && !said_alike(r.check))
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
    let reasons: Vec<Cow<str>> = packed.iter().map(|v| v.reason()).collect();
    assert_eq!(reasons, [TOO_LONG, "resolves to 127.0.0.1"]);
}

/// A list saying `text` of the handshake at 127.0.0.1 (a shared text) and `own` of DNS.
fn saying(text: &str, own: &str) -> Verdicts {
    let a: IpAddr = Ipv4Addr::LOCALHOST.into();
    Verdicts::new(&[
        CheckResult::pass(CheckName::Dns, own.to_string()),
        CheckResult::pass(CheckName::TlsHandshake, text.to_string()).at(a),
    ])
}

#[test]
fn a_text_many_targets_say_is_kept_once_and_goes_with_its_last_list() {
    // Texts of this test only: the table is the process's, and tests run side by side.
    let text = "TLSv1.3 with a suite only this test names";
    let one = saying(text, "`a.example.test` resolves to [127.0.0.1]");
    let two = saying(text, "`b.example.test` resolves to [127.0.0.1]");
    assert_eq!(shared::kept(text), Some(2));
    assert!(
        one.text.len() < 50 && !one.text.contains("TLSv1.3"),
        "{}",
        one.text
    );
    let copy = two.clone();
    assert_eq!(shared::kept(text), Some(3));
    for list in [&one, &two, &copy] {
        assert_eq!(list.iter().nth(1).unwrap().reason(), text);
        assert_eq!(list.to_results()[1].reason, text);
    }
    assert_eq!(one.iter().nth(1), two.iter().nth(1));
    drop(one);
    drop(two);
    assert_eq!(shared::kept(text), Some(1));
    assert_eq!(copy.iter().nth(1).unwrap().reason(), text);
    assert_eq!(
        serde_json::to_value(&copy).unwrap()[1]["reason"],
        serde_json::json!(text)
    );
    drop(copy);
    assert_eq!(shared::kept(text), None);

    // A number freed and given to another text: a list holding the new one reads the new one.
    let later = "TLSv1.2 with another suite only this test names";
    let list = saying(later, "own");
    assert_eq!(list.iter().nth(1).unwrap().reason(), later);
    assert_eq!(shared::kept(later), Some(1));
}

#[test]
fn a_targets_own_name_and_a_long_text_are_not_shared() {
    let own = "`only-this-test.example.test` resolves to [127.0.0.1]";
    let long = format!("the backend answered {}", "y".repeat(MAX_SHARED_LEN));
    let list = Verdicts::new(&[
        CheckResult::pass(CheckName::Dns, own.to_string()),
        CheckResult::fail(CheckName::Backend, "bad_status", long.clone()),
    ]);
    assert_eq!(shared::kept(own), None);
    assert_eq!(shared::kept(&long), None);
    assert_eq!(list.text.len(), own.len() + long.len());
    let reasons: Vec<Cow<str>> = list.iter().map(|v| v.reason()).collect();
    assert_eq!(reasons, [own, long.as_str()]);
}

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::probe::{ConnectFailure, DnsFailure, HttpFailure, TlsFailure};

#[test]
fn the_list_covers_every_check_once_in_report_order() {
    let listed: Vec<CheckName> = REASONS.iter().map(|r| r.check).collect();
    assert_eq!(listed, CheckName::ALL);
    for r in &REASONS {
        for code in r.fail.iter().chain(r.skip) {
            assert!(
                !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}: `{code}` is not a snake_case code",
                r.check
            );
        }
    }
}

/// The probe's failure kinds become reason codes as they are (`failure.as_str()`): each one must
/// be listed for the check that reports it.
#[test]
fn every_probe_failure_kind_is_a_listed_code() {
    let s = String::new;
    for f in [
        ConnectFailure::Refused,
        ConnectFailure::Timeout(Duration::ZERO),
        ConnectFailure::Deadline,
        ConnectFailure::NoDescriptors(s().into()),
        ConnectFailure::Other(s().into()),
    ] {
        assert!(
            is_listed(CheckName::TlsHandshake, Status::Fail, f.as_str()),
            "{f:?}"
        );
    }
    for f in [
        TlsFailure::Alert(s().into()),
        TlsFailure::Reset(s().into()),
        TlsFailure::Protocol(s().into()),
        TlsFailure::Incompatible(s().into()),
        TlsFailure::Timeout(Duration::ZERO),
        TlsFailure::Deadline,
        TlsFailure::BadServerName(s().into()),
        TlsFailure::Other(s().into()),
    ] {
        assert!(
            is_listed(CheckName::TlsHandshake, Status::Fail, f.as_str()),
            "{f:?}"
        );
    }
    for f in [
        DnsFailure::Nxdomain,
        DnsFailure::Servfail,
        DnsFailure::NoAnswer,
        DnsFailure::Timeout,
        DnsFailure::NoDescriptors(s().into()),
        DnsFailure::Other(s().into()),
    ] {
        assert!(is_listed(CheckName::Dns, Status::Fail, f.as_str()), "{f:?}");
    }
    for f in [
        HttpFailure::Timeout(Duration::ZERO),
        HttpFailure::Closed(s().into()),
        HttpFailure::Malformed(s().into()),
        HttpFailure::Deadline,
    ] {
        assert!(
            is_listed(CheckName::Backend, Status::Fail, f.as_str()),
            "{f:?}"
        );
    }
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The code spans of a table cell, less the words `fail`/`skip`, check names (a reason may name
/// another check) and config keys (`acm.required`).
fn codes_in(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| !matches!(*c, "fail" | "skip") && !c.contains('.'))
        .filter(|c| !CheckName::ALL.iter().any(|n| n.as_str() == *c))
        .map(str::to_string)
        .collect()
}

/// The rows of the first table after `heading`, as cells (without the header and rule rows).
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README has no `{heading}`"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

#[test]
fn readme_reason_code_table_matches_the_list_both_ways() {
    let text = readme();
    let rows = table_after(&text, "### Reason codes");
    let documented: Vec<String> = rows
        .iter()
        .map(|r| r[0].trim_matches('`').to_string())
        .collect();
    let listed: Vec<String> = REASONS.iter().map(|r| r.check.to_string()).collect();
    assert_eq!(
        documented, listed,
        "the README lists other checks than the code"
    );
    for (row, reasons) in rows.iter().zip(REASONS.iter()) {
        assert_eq!(
            codes_in(&row[1]),
            set(reasons.fail),
            "{}: fail codes",
            reasons.check
        );
        assert_eq!(
            codes_in(&row[2]),
            set(reasons.skip),
            "{}: skip codes",
            reasons.check
        );
    }
}

#[test]
fn readme_checks_table_names_exactly_the_listed_fail_codes() {
    let text = readme();
    let rows = table_after(&text, "### Checks");
    assert_eq!(rows.len(), REASONS.len());
    for (row, reasons) in rows.iter().zip(REASONS.iter()) {
        assert_eq!(row[0].trim_matches('`'), reasons.check.as_str());
        assert_eq!(
            codes_in(&row[3]),
            set(reasons.fail),
            "{}: fails with",
            reasons.check
        );
    }
}

#[test]
fn every_code_survives_its_one_byte_form() {
    for r in &REASONS {
        assert_eq!(
            REASONS.get(r.check as usize).map(|at| at.check),
            Some(r.check),
            "{} is at its own place (`of` finds it without a search)",
            r.check
        );
        for (status, codes) in [(Status::Fail, r.fail), (Status::Skip, r.skip)] {
            for code in codes {
                let byte = encode(r.check, status, code);
                assert_eq!(decode(r.check, status, byte), *code, "{}", r.check);
            }
        }
        let ok = encode(r.check, Status::Pass, "ok");
        assert_eq!(decode(r.check, Status::Pass, ok), "ok");
    }
}

#[test]
fn a_code_missing_from_the_list_is_still_reported_as_given() {
    let byte = encode(CheckName::Dns, Status::Fail, "not_in_any_list");
    assert_eq!(
        decode(CheckName::Dns, Status::Fail, byte),
        "not_in_any_list"
    );
    let again = encode(CheckName::Backend, Status::Skip, "not_in_any_list");
    assert_eq!(again, byte, "kept once");
    let other = encode(CheckName::Dns, Status::Skip, "another_missing_code");
    assert_eq!(
        decode(CheckName::Dns, Status::Skip, other),
        "another_missing_code"
    );
}

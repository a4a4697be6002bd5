use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::CertificateDer;

use super::*;
use crate::checks::{CheckName, CheckResult};
use crate::discovery::target::{Target, TargetSource};
use crate::pipeline::outcome::Outcome;
use crate::probe::dns::DnsObservation;
use crate::probe::tls::TlsObservation;
use crate::probe::{EndpointObservation, Observation};

const HOSTILE: &str = "<script>alert(1)</script>";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

/// A self-signed certificate whose subject CN is `cn`, valid for `days` more days.
fn cert(cn: &str, days: i64) -> CertificateDer<'static> {
    let mut params = rcgen::CertificateParams::new(vec!["x.example.test".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let not_after = 1_900_000_000 + days * 86_400 + 3600;
    params.not_before = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

fn outcome(name: &str, source: TargetSource, leaf_cn: &str, results: Vec<CheckResult>) -> Outcome {
    let mut target = Target::new(format!("{name}.example.test"), 443, source);
    target.name = name.into();
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let mut obs =
        Observation::from_dns(now(), DnsObservation::answered(&target.hostname, vec![ip]));
    let leaf = cert(leaf_cn, 40);
    obs.endpoints.push(EndpointObservation {
        address: SocketAddr::new(ip, 443),
        connect: Ok(Duration::from_millis(1)),
        tls: Some(TlsObservation {
            version: Some("TLSv1.3".into()),
            cipher: None,
            leaf: Some(std::sync::Arc::new(crate::probe::certinfo::parse(&leaf))),
            issuers: None,
            chain: std::sync::Arc::from([leaf]),
            failure: None,
            duration: Duration::ZERO,
        }),
        http: None,
    });
    Outcome {
        target: Arc::new(target),
        observation: Some(obs),
        results: results.into(),
    }
}

fn kube(ns: &str) -> TargetSource {
    TargetSource::Kubernetes {
        namespace: ns.into(),
        service: "web".into(),
    }
}

fn ip() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

/// good (passing, static), bad (backend failing for 10 min, namespace prod), evil (hostname
/// failing with a hostile reason and a hostile certificate subject, namespace dev).
fn page_of_three() -> StatusPage {
    let store = Arc::new(LatestOutcomes::new());
    let pass = || vec![CheckResult::pass(CheckName::Dns, "ok")];
    store.record(
        &outcome("good", TargetSource::Config, "good", pass()),
        now(),
    );
    let bad = vec![
        CheckResult::fail(
            CheckName::Backend,
            "bad_status",
            "HTTP 503 (expected 200-399)",
        )
        .at(ip()),
    ];
    store.record(
        &outcome("bad", kube("prod"), "bad", bad.clone()),
        now() - Duration::from_secs(600),
    );
    store.record(&outcome("bad", kube("prod"), "bad", bad), now());
    let evil = vec![
        CheckResult::fail(
            CheckName::Hostname,
            "mismatch",
            format!("certificate names [\"{HOSTILE}\"] <img src=x onerror=alert(2)>"),
        )
        .at(ip()),
    ];
    store.record(&outcome("evil", kube("dev"), HOSTILE, evil), now());
    StatusPage::new(store, Duration::from_secs(30))
}

fn position(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not on the page:\n{page}"))
}

#[test]
fn failing_targets_come_first_longest_failing_first_with_their_reasons() {
    let page = page_of_three().html(&Filter::default(), now());
    let bad = position(&page, "data-target=\"bad\"");
    let evil = position(&page, "data-target=\"evil\"");
    let good = position(&page, "data-target=\"good\"");
    assert!(bad < evil && evil < good, "order bad, evil, good:\n{page}");
    assert!(page.contains("HTTP 503 (expected 200-399)"));
    assert!(
        page.contains("failing for <time datetime=\"2030-03-17T17:36:40Z\""),
        "{page}"
    );
    assert!(
        page.contains(">10m 0s</time>"),
        "bad has failed for 10 minutes:\n{page}"
    );
}

#[test]
fn the_summary_counts_targets_failing_and_failing_checks_by_name() {
    let page = page_of_three().html(&Filter::default(), now());
    assert!(
        page.contains("3 targets, 2 failing; failing checks: <span class=\"fail\">hostname</span> ×1, <span class=\"fail\">backend</span> ×1"),
        "{page}"
    );
    assert!(page.contains("<title>edgewatch: 2 of 3 failing</title>"));
}

#[test]
fn hostile_subjects_and_reasons_are_text_never_markup() {
    let page = page_of_three().html(&Filter::default(), now());
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(
        page.contains("CN=&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{page}"
    );
}

#[test]
fn days_left_and_the_address_are_shown_per_address() {
    let page = page_of_three().html(&Filter::default(), now());
    assert!(
        page.contains(
            "<tr><td>127.0.0.1</td><td>TLSv1.3</td><td class=\"subject\">CN=bad</td><td>40</td>"
        ),
        "{page}"
    );
}

#[test]
fn the_page_refreshes_itself_and_loads_nothing_from_elsewhere() {
    let page = page_of_three().html(&Filter::default(), now());
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    for outside in [
        "<script",
        "src=\"http",
        "href=\"http",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(outside), "`{outside}` on the page");
    }
}

#[test]
fn the_namespace_filter_keeps_only_that_namespace() {
    let page = page_of_three().html(&Filter::from_params(Some("prod"), None), now());
    assert!(page.contains("data-target=\"bad\""));
    assert!(!page.contains("data-target=\"evil\"") && !page.contains("data-target=\"good\""));
    assert!(
        page.contains("<option value=\"prod\" selected>prod</option>"),
        "{page}"
    );
}

#[test]
fn the_check_filter_keeps_targets_failing_that_check() {
    let page = page_of_three().html(&Filter::from_params(None, Some("hostname")), now());
    assert!(page.contains("data-target=\"evil\""));
    assert!(!page.contains("data-target=\"bad\"") && !page.contains("data-target=\"good\""));
}

#[test]
fn a_hostile_filter_value_is_shown_escaped_and_matches_nothing() {
    let hostile = "\"><script>alert(3)</script>";
    let page = page_of_three().html(&Filter::from_params(Some(hostile), Some(hostile)), now());
    assert!(!page.contains("<script"), "{page}");
    assert!(
        page.contains("no check is named <code>&quot;&gt;&lt;script&gt;"),
        "{page}"
    );
    assert!(page.contains("Failing (0)") && page.contains("Passing (0)"));
}

#[test]
fn empty_or_overlong_filter_values_are_no_filter() {
    assert_eq!(Filter::from_params(Some(""), Some("  ")), Filter::default());
    assert_eq!(
        Filter::from_params(Some(&"n".repeat(300)), None),
        Filter::default()
    );
}

#[test]
fn the_refresh_stays_within_bounds() {
    let store = Arc::new(LatestOutcomes::new());
    let page = StatusPage::new(store.clone(), Duration::from_millis(100));
    assert!(
        page.html(&Filter::default(), now())
            .contains("content=\"5\"")
    );
    let page = StatusPage::new(store, Duration::from_secs(3600));
    assert!(
        page.html(&Filter::default(), now())
            .contains("content=\"300\"")
    );
}

/// `/status.json` as a client reads it: its pieces, in order.
async fn json_pieces(page: &StatusPage) -> Vec<Vec<u8>> {
    use futures::StreamExt;
    page.json_stream().map(|p| p.unwrap()).collect().await
}

fn parse(pieces: &[Vec<u8>]) -> serde_json::Value {
    serde_json::from_slice(&pieces.concat()).expect("one JSON document")
}

#[tokio::test]
async fn the_json_is_the_once_document_of_the_latest_outcomes() {
    let doc = parse(&json_pieces(&page_of_three()).await);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["summary"]["targets"], 3);
    assert_eq!(doc["summary"]["failing_targets"], 2);
    assert_eq!(doc["summary"]["failed_checks"], 2);
    let names: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bad", "evil", "good"]);
    assert_eq!(doc["targets"][0]["checks"][0]["reason_code"], "bad_status");
}

#[tokio::test]
async fn the_json_of_a_large_fleet_comes_in_pieces_that_make_the_once_document() {
    let store = Arc::new(LatestOutcomes::new());
    let mut outcomes = Vec::new();
    for i in 0..150 {
        let results = if i % 7 == 0 {
            vec![CheckResult::fail(CheckName::Backend, "bad_status", "HTTP 503").at(ip())]
        } else {
            vec![CheckResult::pass(CheckName::Dns, "ok")]
        };
        let o = outcome(&format!("t{i:03}"), TargetSource::Config, "leaf", results);
        store.record(&o, now());
        outcomes.push(o);
    }
    let page = StatusPage::new(store, Duration::from_secs(30));
    let pieces = json_pieces(&page).await;
    // 64 targets, 64, then the last 22 with the document's end.
    assert_eq!(pieces.len(), 3);
    let names_in = |piece: &[u8]| {
        String::from_utf8_lossy(piece)
            .matches("\"hostname\": ")
            .count()
    };
    assert_eq!(names_in(&pieces[1]), 64);

    // What `--once --output json` writes of the same outcomes, in the same order.
    let mut writer = ReportWriter::start(Vec::new(), Format::Json).unwrap();
    for o in &outcomes {
        writer.write(&Entry::render(o, Format::Json)).unwrap();
    }
    let (tally, once) = writer.finish_into().unwrap();
    assert_eq!((tally.targets, tally.failing_targets), (150, 22));
    let mut streamed = parse(&pieces);
    let mut once: serde_json::Value = serde_json::from_slice(&once).unwrap();
    for doc in [&mut streamed, &mut once] {
        doc.as_object_mut().unwrap().remove("generated_at");
    }
    assert_eq!(streamed, once);
}

#[tokio::test]
async fn the_json_of_an_empty_store_is_a_document_with_no_targets() {
    let page = StatusPage::new(Arc::new(LatestOutcomes::new()), Duration::from_secs(30));
    let pieces = json_pieces(&page).await;
    assert_eq!(pieces.len(), 1);
    let doc = parse(&pieces);
    assert_eq!(doc["targets"], serde_json::json!([]));
    assert_eq!(
        (doc["ok"].clone(), doc["summary"]["targets"].clone()),
        (true.into(), 0.into())
    );
}

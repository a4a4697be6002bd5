//! `tls_policy` end to end, through the built binary (`--once --output json`) against real
//! servers on loopback: `openssl s_server` configured like ELB security policies (2016-08 with
//! `@SECLEVEL=0` so OpenSSL 3 speaks TLS 1.0), a TLS 1.0/1.1-only server, and a TLS server
//! behind a proxy that goes mute or closes once the normal probe is through (the scan must end
//! inside its deadline and leave the main probe's result alone).

#[path = "../support/mod.rs"]
mod support;

mod haproxy;
mod haproxy_look_alikes;
mod openssl;
mod proxy;

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::dns::{DnsServer, Zone};
use support::free_port_on;
use support::pki::{Leaf, Pki};

use openssl::{POLICY_2016_08, POLICY_RES_TLS12, SServer, TLS13_SUITES};

const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");

/// One (name, address) per server, all resolved by one DNS server.
struct World {
    dns: DnsServer,
    ca: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

async fn world(pki: &Pki, names: &[(&str, Ipv4Addr)]) -> World {
    let mut zone = Zone::new();
    for (name, ip) in names {
        zone = zone.a(name, &[*ip]);
    }
    World {
        dns: DnsServer::start(zone).await.unwrap(),
        ca: pki.write_root_pem(),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl World {
    /// Runs `edgewatch --once --output json` with `extra` config and these target entries.
    async fn run(&self, extra: &str, targets: &str) -> (Value, Duration) {
        let yaml = format!(
            "resolver:\n  nameservers: [\"{}\"]\n  cache: false\ntimeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 6s\ntls:\n  ca_file: {}\n{extra}targets:\n{targets}",
            self.dns.addr(),
            self.ca.path().display(),
        );
        let path = self.dir.path().join("edgewatch.yaml");
        std::fs::write(&path, yaml).unwrap();
        let started = Instant::now();
        let out = tokio::process::Command::new(BIN)
            .args(["--once", "--output", "json", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let took = started.elapsed();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (json, took)
    }
}

fn target<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {report:#}"))
}

/// (status, reason_code, reason) of `check` (the first one, for a one-address target).
fn check(report: &Value, name: &str, check: &str) -> (String, String, String) {
    let t = target(report, name);
    let r = t["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .unwrap_or_else(|| panic!("{name}: no {check} in {t:#}"));
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("reason_code"), s("reason"))
}

fn entry(name: &str, host: &str, port: u16, policy: Option<&str>) -> String {
    let policy = policy
        .map(|p| format!("    tls_policy: {p}\n"))
        .unwrap_or_default();
    format!("  - name: {name}\n    host: {host}\n    port: {port}\n{policy}")
}

fn policy_server(ip: Ipv4Addr, leaf: &Leaf, args: &[&str]) -> SServer {
    SServer::start(ip, free_port_on(ip), leaf, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elb_policy_look_alikes_are_judged_against_the_floor_and_their_named_policy() {
    let pki = Pki::new();
    let (legacy_ip, res_ip, old_ip, only13_ip) = (
        Ipv4Addr::new(127, 0, 0, 21),
        Ipv4Addr::new(127, 0, 0, 22),
        Ipv4Addr::new(127, 0, 0, 23),
        Ipv4Addr::new(127, 0, 0, 24),
    );
    let names = [
        ("legacy.example.test", legacy_ip),
        ("res.example.test", res_ip),
        ("old.example.test", old_ip),
        ("only13.example.test", only13_ip),
    ];
    let w = world(&pki, &names).await;
    let leaf = |n: &str| pki.good(&[n]);
    let legacy_cipher = format!("{POLICY_2016_08}@SECLEVEL=0");
    let legacy = policy_server(
        legacy_ip,
        &leaf("legacy.example.test"),
        &[
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            &legacy_cipher,
        ],
    );
    let res = policy_server(
        res_ip,
        &leaf("res.example.test"),
        &[
            "-min_protocol",
            "TLSv1.2",
            "-cipher",
            POLICY_RES_TLS12,
            "-ciphersuites",
            TLS13_SUITES,
        ],
    );
    let old = policy_server(
        old_ip,
        &leaf("old.example.test"),
        &[
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.1",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
        ],
    );
    // The fourth policy: TLS13-1-3-2021-06 accepts TLS 1.3 and its three suites, nothing else.
    let only13 = policy_server(
        only13_ip,
        &leaf("only13.example.test"),
        &["-min_protocol", "TLSv1.3", "-ciphersuites", TLS13_SUITES],
    );
    let targets = [
        entry("legacy", "legacy.example.test", legacy.addr.port(), None),
        entry(
            "only13-named-13",
            "only13.example.test",
            only13.addr.port(),
            Some("ELBSecurityPolicy-TLS13-1-3-2021-06"),
        ),
        entry(
            "res-named-res",
            "res.example.test",
            res.addr.port(),
            Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
        ),
        entry(
            "res-named-13",
            "res.example.test",
            res.addr.port(),
            Some("ELBSecurityPolicy-TLS13-1-3-2021-06"),
        ),
        entry("old", "old.example.test", old.addr.port(), None),
    ]
    .concat();
    let (report, _) = w.run("", &targets).await;

    let (status, code, reason) = check(&report, "legacy", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "accepts_old_version"),
        "{reason}"
    );
    assert!(reason.contains("TLSv1.0, TLSv1.1"), "{reason}");
    assert!(
        reason.contains("accepts weak suites: ") && reason.contains("ECDHE-ECDSA-AES128-SHA (CBC)"),
        "{reason}"
    );
    let scan = &target(&report, "legacy")["facts"]["tls_scans"][0];
    assert_eq!(
        scan["accepted_versions"],
        serde_json::json!(["TLSv1.0", "TLSv1.1", "TLSv1.2"]),
        "{scan:#}"
    );
    assert_eq!(scan["complete"], true);
    assert!(
        scan["scanned_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{scan:#}"
    );
    // The normal probe still negotiates TLS 1.2 there, and passes.
    assert_eq!(check(&report, "legacy", "tls_handshake").0, "pass");

    let (status, _, reason) = check(&report, "res-named-res", "tls_policy");
    assert_eq!(status, "pass", "{reason}");
    assert!(
        reason.contains("matches ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
        "{reason}"
    );
    let scan = &target(&report, "res-named-res")["facts"]["tls_scans"][0];
    assert_eq!(
        scan["accepted_suites"],
        serde_json::json!([
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384"
        ]),
        "{scan:#}"
    );

    let (status, code, reason) = check(&report, "res-named-13", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "policy_mismatch"),
        "{reason}"
    );
    assert!(
        reason.contains("extra TLSv1.2, ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{reason}"
    );

    let (status, _, reason) = check(&report, "only13-named-13", "tls_policy");
    assert_eq!(status, "pass", "{reason}");
    assert!(
        reason.contains("matches ELBSecurityPolicy-TLS13-1-3-2021-06"),
        "{reason}"
    );
    let scan = &target(&report, "only13-named-13")["facts"]["tls_scans"][0];
    assert_eq!(
        scan["accepted_versions"],
        serde_json::json!(["TLSv1.3"]),
        "{scan:#}"
    );

    let (status, code, reason) = check(&report, "old", "tls_handshake");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "old_version"),
        "{reason}"
    );
    assert!(reason.contains("speaks only TLS 1.0/1.1"), "{reason}");
    assert_eq!(check(&report, "old", "tls_policy").1, "accepts_old_version");

    // With the version floor lowered, the 2016-08 look-alike still fails on its weak suites.
    let (report, _) = w
        .run(
            "  min_accepted_version: \"1.0\"\n",
            &entry("legacy", "legacy.example.test", legacy.addr.port(), None),
        )
        .await;
    let (status, code, reason) = check(&report, "legacy", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("fail", "accepts_weak_cipher"),
        "{reason}"
    );
}

/// Every check except `tls_policy`, as (check, status, reason_code).
fn main_probe(report: &Value, name: &str) -> Vec<(String, String, String)> {
    target(report, name)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] != "tls_policy")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("check"), s("status"), s("reason_code"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_mute_or_closes_mid_scan_ends_the_scan_in_time_and_leaves_the_probe_alone()
 {
    let pki = Pki::new();
    let (mute_ip, close_ip) = (Ipv4Addr::new(127, 0, 0, 24), Ipv4Addr::new(127, 0, 0, 25));
    let w = world(
        &pki,
        &[
            ("mute.example.test", mute_ip),
            ("close.example.test", close_ip),
        ],
    )
    .await;
    // The probes' own connections (the baseline's and the scanning run's) reach a real TLS
    // server; the scan's do not (mute), or only its first hello does (close).
    let mute = proxy::Proxy::start(
        mute_ip,
        &pki.good(&["mute.example.test"]),
        2,
        proxy::After::Mute,
    )
    .await;
    let close = proxy::Proxy::start(
        close_ip,
        &pki.good(&["close.example.test"]),
        3,
        proxy::After::Close,
    )
    .await;
    let targets = [
        entry("mute", "mute.example.test", mute.port, None),
        entry("close", "close.example.test", close.port, None),
    ]
    .concat();
    // TLS timeout 2s > scan deadline 1s: the mute server is cut off by the scan's own deadline.
    // The baseline (no scan) first: its probe is one of the forwarded connections.
    let (baseline, _) = w.run("  scan: false\n", &targets).await;
    let (report, took) = w.run("  scan_deadline: 1s\n", &targets).await;

    let scan = &target(&report, "mute")["facts"]["tls_scans"][0];
    assert_eq!(scan["failure"]["kind"], "deadline_exceeded", "{scan:#}");
    let ms = scan["duration_ms"].as_f64().unwrap();
    assert!(
        (900.0..1500.0).contains(&ms),
        "mute scan took {ms} ms for a 1s deadline"
    );
    let (status, code, _) = check(&report, "mute", "tls_policy");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("skip", "handshake_failed")
    );

    let scan = &target(&report, "close")["facts"]["tls_scans"][0];
    assert!(scan["duration_ms"].as_f64().unwrap() < 1000.0, "{scan:#}");
    // It saw TLS 1.3 before the server started closing; every hello after counts as refused,
    // so fewer suites show than the server (rustls: 3 TLS 1.3 + 2 ECDSA GCM suites) accepts.
    assert_eq!(scan["complete"], true, "{scan:#}");
    assert_eq!(
        scan["accepted_versions"],
        serde_json::json!(["TLSv1.3"]),
        "{scan:#}"
    );
    assert!(
        scan["accepted_suites"].as_array().unwrap().len() < 5,
        "{scan:#}"
    );

    for name in ["mute", "close"] {
        assert_eq!(
            main_probe(&report, name),
            main_probe(&baseline, name),
            "{name}"
        );
        assert_eq!(check(&report, name, "tls_handshake").0, "pass");
    }
    assert!(took < Duration::from_secs(8), "--once took {took:?}");
}

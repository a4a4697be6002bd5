//! What a newcomer meets in the first hour, through the built binary: `--ca-file` for a private
//! CA (`--once` and the daemon), IPv6 literals as targets (reported in the JSON and labelled in
//! `/metrics`), the help texts and `check-config` without anything to check. Exact texts.

use std::net::{IpAddr, Ipv6Addr};
use std::process::Stdio;

use serde_json::Value;
use tokio::process::Command;

use super::support::pki::Pki;
use super::support::tls_server::{Reply, TlsServer, bind_one};
use super::{BIN, Daemon, free_listen, metrics_until, status_of};

/// A TLS server on [::1] with a leaf for the IP `::1` from a private CA (the test PKI's root,
/// written to a file for `--ca-file`).
struct V6World {
    server: TlsServer,
    ca: tempfile::NamedTempFile,
}

async fn v6_world() -> V6World {
    let pki = Pki::new();
    let leaf = pki.good(&["::1"]);
    let listener = bind_one(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .await
        .expect("bind [::1] (IPv6 loopback must be available for this test)");
    V6World {
        server: TlsServer::serve(listener, &leaf, Reply::ok()).unwrap(),
        ca: pki.write_root_pem(),
    }
}

async fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_on_an_ipv6_target_with_ca_file_passes_and_reports_the_v6_address() {
    let w = v6_world().await;
    let spec = format!("[::1]:{}", w.server.addr().port());
    let ca = w.ca.path().to_str().unwrap();
    let (code, out, err) = run(&[
        "--once",
        "--target",
        &spec,
        "--ca-file",
        ca,
        "--output",
        "json",
    ])
    .await;
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(code, 0, "{out}");
    let name = format!("[::1]:{}", w.server.addr().port());
    let t = &doc["targets"][0];
    assert_eq!(t["name"], name.as_str());
    assert_eq!(t["hostname"], "::1");
    assert_eq!(t["addresses"], serde_json::json!(["::1"]));
    for check in ["chain_trusted", "hostname", "backend"] {
        assert_eq!(
            status_of(&doc, &name, check),
            ("pass".to_string(), "ok".to_string()),
            "{check}"
        );
    }
    let chain = t["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "chain_trusted")
        .unwrap();
    assert_eq!(chain["address"], "::1");
    assert_eq!(t["facts"]["endpoints"][0]["address"], "::1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ca_file_a_private_ca_chain_fails_and_suggests_ca_file() {
    let w = v6_world().await;
    let spec = format!("https://[::1]:{}/", w.server.addr().port());
    let (code, out, _) = run(&["--once", "--target", &spec, "--output", "json"]).await;
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let chain = doc["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "chain_trusted")
        .unwrap()
        .clone();
    assert_eq!(chain["reason_code"], "unknown_issuer");
    assert_eq!(
        chain["reason"],
        "chain ends at `CN=edgewatch test root, O=edgewatch tests`, which is not a trusted root; if it is a private CA, trust it with --ca-file PATH (or tls.ca_file)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_takes_ca_file_and_labels_ipv6_addresses() {
    let w = v6_world().await;
    let port = w.server.addr().port();
    let listen = free_listen();
    // Only the interval from a file (there is no flag for it): with the default 30 s, the first
    // probe comes at a random point of the first 30 s, later than the wait below allows.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "interval: 1s\n").unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config.path())
        .args(["--target", &format!("[::1]:{port}"), "--ca-file"])
        .arg(w.ca.path())
        .args(["--listen", &listen.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _daemon = Daemon(child);
    let line = format!(
        r#"edgewatch_check_success{{address="::1",check="chain_trusted",namespace="",service="",target="[::1]:{port}"}} 1"#
    );
    metrics_until(listen, "the v6 target's chain_trusted", |t| {
        t.contains(&line)
    })
    .await;
}

#[tokio::test]
async fn a_missing_ca_file_is_a_configuration_error_naming_the_flag() {
    let (code, _, err) = run(&[
        "--once",
        "--target",
        "[::1]:1",
        "--ca-file",
        "/nonexistent/ca.pem",
    ])
    .await;
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        "edgewatch: configuration error: --ca-file: /nonexistent/ca.pem is not a readable file"
    );
}

#[tokio::test]
async fn help_states_every_exit_code_of_once() {
    let (code, out, _) = run(&["--help"]).await;
    assert_eq!(code, 0);
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "One pass: probe every target once, print a report, exit 0 (no check failed), 1 (a check failed) or 2 (usage or configuration error)"
        ),
        "{out}"
    );
    assert!(flat.contains("--ca-file <PATH>"), "{out}");
}

#[tokio::test]
async fn echo_and_demo_help_offer_no_config_file() {
    for sub in ["echo", "demo"] {
        let (code, out, _) = run(&[sub, "--help"]).await;
        assert_eq!(code, 0);
        assert!(!out.contains("--config"), "{sub} --help:\n{out}");
    }
}

#[tokio::test]
async fn check_config_with_nothing_to_check_is_a_usage_error() {
    let out = Command::new(BIN)
        .arg("check-config")
        .env_remove("EDGEWATCH_CONFIG")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap().trim_end(),
        "edgewatch: check-config: nothing to check: give --config FILE (or set EDGEWATCH_CONFIG) or --target SPEC"
    );
    let out = Command::new(BIN)
        .args(["--target", "[::1]:8443", "check-config"])
        .env_remove("EDGEWATCH_CONFIG")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        "configuration is valid: 1 static target(s) (from --target; no config file given)"
    );
    let out = Command::new(BIN)
        .args(["check-config", "--config", "config/edgewatch.yaml"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// The daemon turns transparent huge pages off for itself (its long-lived, sparse heap was
/// backed in 2 MiB pages barely used); the kernel shows the flag in `/proc/<pid>/status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_without_transparent_huge_pages() {
    let listen = free_listen();
    // A closed port on loopback: the probe fails, the daemon runs on.
    let child = Command::new(BIN)
        .args(["--target", "127.0.0.1:9", "--listen", &listen.to_string()])
        .env_remove("MIMALLOC_ALLOW_THP")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().expect("the daemon runs");
    let _daemon = Daemon(child);
    metrics_until(listen, "the daemon's /metrics", |_| true).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let thp = status
        .lines()
        .find(|l| l.starts_with("THP_enabled:"))
        .expect("the kernel shows THP_enabled (Linux 5.0 and later)");
    assert_eq!(thp.split_whitespace().nth(1), Some("0"), "{thp}");
}

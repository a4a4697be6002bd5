//! The built binary end to end, on loopback: `--once` JSON and text reports with their exit
//! codes for a passing and a failing run, and the daemon's `/metrics` over HTTP — the right
//! values (and an exposition `promtool check metrics` accepts), and a target removed from the
//! config (SIGHUP) no longer appearing.

#[path = "../support/mod.rs"]
mod support;

mod first_hour;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use support::dns::{DnsServer, Zone};
use support::monitoring_tools::promtool;
use support::pki::{Leaf, Pki};
use support::tls_server::{Reply, TlsServer, bind_one};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");
const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// A loopback world: DNS for `good.example.test` and `bad.example.test`, a TLS server for each.
struct World {
    _dns: DnsServer,
    _good: TlsServer,
    _bad: TlsServer,
    dns: SocketAddr,
    good_port: u16,
    bad_port: u16,
    ca: tempfile::NamedTempFile,
    good_leaf: Leaf,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let pki = Pki::new();
    let dns = DnsServer::start(
        Zone::new()
            .a("good.example.test", &[LOCALHOST])
            .a("bad.example.test", &[LOCALHOST]),
    )
    .await
    .unwrap();
    let good_leaf = pki.good(&["good.example.test"]);
    let good = TlsServer::serve(
        bind_one(LOCALHOST.into()).await.unwrap(),
        &good_leaf,
        Reply::ok(),
    )
    .unwrap();
    let bad_leaf = pki.expired("bad.example.test");
    let bad = TlsServer::serve(
        bind_one(LOCALHOST.into()).await.unwrap(),
        &bad_leaf,
        Reply::status(503),
    )
    .unwrap();
    World {
        dns: dns.addr(),
        good_port: good.addr().port(),
        bad_port: bad.addr().port(),
        _dns: dns,
        _good: good,
        _bad: bad,
        ca: pki.write_root_pem(),
        good_leaf,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl World {
    /// A config file probing the good target, and the bad one too when `with_bad`.
    fn write_config(&self, listen: SocketAddr, with_bad: bool) -> std::path::PathBuf {
        let mut yaml = format!(
            "interval: 1s\nlisten: {listen}\nresolver:\n  nameservers: [\"{}\"]\n  cache: false\ntls:\n  ca_file: {}\ntimeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 5s\ntargets:\n  - host: good.example.test\n    name: good\n    port: {}\n    expected_cert:\n      sha256: {}\n",
            self.dns,
            self.ca.path().display(),
            self.good_port,
            hex::encode(self.good_leaf.sha256()),
        );
        if with_bad {
            yaml.push_str(&format!(
                "  - host: bad.example.test\n    name: bad\n    port: {}\n",
                self.bad_port
            ));
        }
        let path = self.dir.path().join("edgewatch.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

async fn once(config: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("--once")
        .arg("--config")
        .arg(config)
        .args(extra)
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn checks_of<'a>(doc: &'a Value, target: &str) -> Vec<&'a Value> {
    let t = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == target)
        .unwrap();
    t["checks"].as_array().unwrap().iter().collect()
}

fn status_of(doc: &Value, target: &str, check: &str) -> (String, String) {
    let c = checks_of(doc, target)
        .into_iter()
        .find(|c| c["check"] == check)
        .unwrap_or_else(|| panic!("no {check} for {target}"));
    (
        c["status"].as_str().unwrap().to_string(),
        c["reason_code"].as_str().unwrap().to_string(),
    )
}

fn free_listen() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_json_for_a_passing_run_exits_0_with_every_check_and_the_facts() {
    let w = world().await;
    let config = w.write_config(free_listen(), false);
    let (code, stdout) = once(&config, &["--output", "json"]).await;
    assert_eq!(code, 0, "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["summary"]["targets"], 1);
    let t = &doc["targets"][0];
    assert_eq!(
        (
            t["name"].as_str(),
            t["hostname"].as_str(),
            t["port"].as_u64()
        ),
        (
            Some("good"),
            Some("good.example.test"),
            Some(u64::from(w.good_port))
        )
    );
    assert_eq!(t["addresses"], serde_json::json!(["127.0.0.1"]));
    for check in [
        "config",
        "dns",
        "tls_handshake",
        "chain_trusted",
        "hostname",
        "cert_expiry",
        "cert_expected",
        "cert_consistent",
        "backend",
    ] {
        assert_eq!(
            status_of(&doc, "good", check).0,
            "pass",
            "{check}: {stdout}"
        );
    }
    assert_eq!(
        status_of(&doc, "good", "dns_alias"),
        ("skip".into(), "no_expectation".into())
    );
    let endpoint = &t["facts"]["endpoints"][0];
    assert_eq!(endpoint["address"], "127.0.0.1");
    assert_eq!(endpoint["tls"]["version"], "TLSv1.3");
    assert!(
        endpoint["tls"]["cipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
    assert_eq!(
        endpoint["chain"][0]["sha256"],
        hex::encode(w.good_leaf.sha256())
    );
    assert_eq!(
        endpoint["chain"][0]["dns_names"],
        serde_json::json!(["good.example.test"])
    );
    assert_eq!(endpoint["http"]["status"], 200);
    for timing in [
        &t["facts"]["dns"]["duration_ms"],
        &endpoint["connect_ms"],
        &endpoint["tls"]["duration_ms"],
        &endpoint["http"]["duration_ms"],
    ] {
        assert!(timing.as_f64().is_some(), "timing missing: {endpoint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_for_a_failing_run_exits_1_naming_the_failed_checks_in_json_and_text() {
    let w = world().await;
    let config = w.write_config(free_listen(), true);
    let (code, stdout) = once(&config, &["--output", "json"]).await;
    assert_eq!(code, 1, "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["summary"]["failing_targets"], 1);
    assert_eq!(status_of(&doc, "good", "backend").0, "pass");
    assert_eq!(
        status_of(&doc, "bad", "chain_trusted"),
        ("fail".into(), "expired".into())
    );
    assert_eq!(
        status_of(&doc, "bad", "cert_expiry"),
        ("fail".into(), "expired".into())
    );
    assert_eq!(
        status_of(&doc, "bad", "backend"),
        ("fail".into(), "bad_status".into())
    );
    let backend = checks_of(&doc, "bad")
        .into_iter()
        .find(|c| c["check"] == "backend")
        .unwrap();
    assert_eq!(backend["address"], "127.0.0.1");
    assert!(
        backend["reason"].as_str().unwrap().contains("503"),
        "{backend}"
    );

    let (code, text) = once(&config, &[]).await;
    assert_eq!(code, 1);
    assert!(text.contains("FAIL bad"), "{text}");
    assert!(text.contains("OK   good"), "{text}");
    assert!(
        text.contains("✗ cert_expiry [127.0.0.1]: expired"),
        "{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "no colour when stdout is not a terminal: {text}"
    );
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn scrape(listen: SocketAddr, path: &str) -> Option<(u16, String)> {
    let resp = reqwest::get(format!("http://{listen}{path}")).await.ok()?;
    Some((resp.status().as_u16(), resp.text().await.ok()?))
}

/// Polls `/metrics` until `pred` holds (or fails after 20 s with the last scrape).
async fn metrics_until(listen: SocketAddr, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        if let Some((200, text)) = scrape(listen, "/metrics").await {
            if pred(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}; last scrape:\n{last}");
}

fn signal(child: &Child, sig: &str) {
    let pid = child.id().unwrap().to_string();
    let ok = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_metrics_show_the_right_values_and_a_removed_target_disappears() {
    let w = world().await;
    let listen = free_listen();
    let config = w.write_config(listen, true);
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    metrics_until(listen, "both targets probed", |t| {
        t.contains(r#"edgewatch_probe_success{namespace="",service="",target="good"}"#)
            && t.contains(r#"edgewatch_probe_success{namespace="",service="",target="bad"}"#)
    })
    .await;
    // A scrape is streamed family by family: the one that first shows both targets may have
    // written its earlier families (e.g. the certificates') before a first probe landed. The
    // next scrape starts after both.
    let text = metrics_until(listen, "a scrape after both probes", |_| true).await;
    let has = |line: &str| assert!(text.contains(line), "missing `{line}` in:\n{text}");
    has(r#"edgewatch_probe_success{namespace="",service="",target="good"} 1"#);
    has(r#"edgewatch_probe_success{namespace="",service="",target="bad"} 0"#);
    has(
        r#"edgewatch_check_success{address="127.0.0.1",check="chain_trusted",namespace="",service="",target="good"} 1"#,
    );
    has(
        r#"edgewatch_check_success{address="127.0.0.1",check="cert_expected",namespace="",service="",target="good"} 1"#,
    );
    has(
        r#"edgewatch_check_success{address="127.0.0.1",check="cert_expiry",namespace="",service="",target="bad"} 0"#,
    );
    has(
        r#"edgewatch_check_failure_info{address="127.0.0.1",check="backend",namespace="",reason="bad_status",service="",target="bad"} 1"#,
    );
    has(r#"edgewatch_targets{source="config"} 2"#);
    has(r#"edgewatch_probe_phase_seconds{namespace="",phase="tls",service="",target="good"}"#);
    has(r#"edgewatch_probe_duration_seconds_bucket{phase="total""#);
    has("edgewatch_build_info{version=");
    let not_after = x509_not_after(w.good_leaf.leaf_der().as_ref());
    has(&format!(
        r#"edgewatch_cert_not_after_timestamp_seconds{{address="127.0.0.1",namespace="",service="",target="good"}} {not_after}"#
    ));
    promtool_check_metrics(&text);
    assert_eq!(scrape(listen, "/readyz").await.map(|r| r.0), Some(200));
    assert_eq!(scrape(listen, "/healthz").await.map(|r| r.0), Some(200));

    // Remove the bad target from the file and reload: every series naming it goes.
    w.write_config(listen, false);
    signal(&daemon.0, "-HUP");
    let text = metrics_until(listen, "the removed target's series to go", |t| {
        !t.contains(r#"target="bad""#)
    })
    .await;
    assert!(text.contains(r#"target="good""#), "{text}");
    assert!(
        text.contains(r#"edgewatch_targets{source="config"} 1"#),
        "{text}"
    );

    signal(&daemon.0, "-TERM");
    let status = tokio::time::timeout(Duration::from_secs(10), daemon.0.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "graceful shutdown on SIGTERM");
}

/// The exposition must pass Prometheus's own parser and linter (per-target series are written
/// as text by edgewatch, not by the prometheus crate).
fn promtool_check_metrics(text: &str) {
    let (ok, out) = promtool(Path::new("."), &["check", "metrics"], text.as_bytes());
    assert!(ok, "promtool check metrics: {out}");
}

fn x509_not_after(der: &[u8]) -> i64 {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(der)
        .unwrap()
        .1
        .validity()
        .not_after
        .timestamp()
}

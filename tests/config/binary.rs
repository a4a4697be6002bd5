//! The built binary against bad and changing configs: the JSON error document, reloads that
//! would empty the static targets, and SIGHUP at startup.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("addr").port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

fn config_targets(port: u16) -> Option<String> {
    let m = get(port, "/metrics")?;
    m.lines()
        .find(|l| l.starts_with("edgewatch_targets{source=\"config\"}"))
        .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill (procps) must be installed")
        .success();
    assert!(ok, "kill {sig}");
}

/// A daemon config on loopback: the nameserver is a closed loopback port, so probes fail fast.
fn daemon_yaml(listen: u16, targets: &str) -> String {
    format!(
        "listen: 127.0.0.1:{listen}\ninterval: 1h\nresolver:\n  nameservers: [\"127.0.0.1:{}\"]\n  \
         timeout: 200ms\n{targets}",
        free_port()
    )
}

fn stop(mut child: Child) -> String {
    signal(&child, "-TERM");
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

#[test]
fn json_output_with_a_bad_config_prints_an_error_document_and_exits_2() {
    let out = Command::new(BIN)
        .args([
            "--once",
            "--output",
            "json",
            "--config",
            "tests/fixtures/config/invalid-port-range.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(
        doc,
        serde_json::json!({
            "ok": false,
            "error": {
                "kind": "config",
                "message": "tests/fixtures/config/invalid-port-range.yaml:3:11: targets[0].port: \
                            must be 1-65535 (got 70000)"
            }
        })
    );
}

#[test]
fn check_config_refuses_the_values_that_used_to_kill_probing() {
    for (fixture, message) in [
        (
            "invalid-huge-concurrency.yaml",
            "concurrency: must be between 1 and 100000 (got 2305843009213693952)",
        ),
        (
            "invalid-huge-probe-timeout.yaml",
            "timeouts.probe: must be between 1ms and 10m",
        ),
        (
            "invalid-huge-interval.yaml",
            "interval: must be between 1s and 24h",
        ),
        (
            "invalid-tiny-interval.yaml",
            "interval: must be between 1s and 24h (got 1ns)",
        ),
    ] {
        let out = Command::new(BIN)
            .args(["check-config", "--config"])
            .arg(format!("tests/fixtures/config/{fixture}"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{fixture}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{fixture}: {err}");
    }
}

#[test]
fn a_reload_that_would_empty_the_static_targets_is_refused_unless_the_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgewatch.yaml");
    let port = free_port();
    std::fs::write(
        &path,
        daemon_yaml(port, "targets:\n  - host: a.example.com\n"),
    )
    .unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("one config target", || {
        config_targets(port).as_deref() == Some("1")
    });
    // A half-done write: the file is empty.
    std::fs::write(&path, "").unwrap();
    signal(&child, "-HUP");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(config_targets(port).as_deref(), Some("1"), "targets kept");
    // Saying so empties it.
    std::fs::write(&path, daemon_yaml(port, "targets: []\n")).unwrap();
    signal(&child, "-HUP");
    wait_for("no config targets", || {
        config_targets(port).as_deref() == Some("0")
    });
    let err = stop(child);
    assert!(
        err.contains("targets: the reload would remove all 1 static targets; write `targets: []` to mean that"),
        "{err}"
    );
}

#[test]
#[ignore = "FAILS: a SIGHUP 20 ms after start still kills the daemon (exit 129); the early handler in main does not hold yet"]
fn sighup_during_startup_does_not_kill_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgewatch.yaml");
    let port = free_port();
    // Many targets, so reading the config takes a while.
    let targets: String = (0..2_000)
        .map(|i| format!("  - host: t{i}.example.com\n"))
        .collect();
    std::fs::write(&path, daemon_yaml(port, &format!("targets:\n{targets}"))).unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..5 {
        signal(&child, "-HUP");
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for("/healthz", || {
        get(port, "/healthz").is_some_and(|b| b.contains("200 OK"))
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    signal(&child, "-TERM");
    let _ = child.wait();
}

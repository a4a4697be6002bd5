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

/// Whether the process `pid` has a handler for SIGHUP (bit 0 of `SigCgt` in /proc/PID/status).
fn catches_sighup(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 == 1)
}

/// The SIGHUPs are sent as soon as the process can have a handler at all: the moment the kernel
/// shows one (before that, in the dynamic loader and the first instructions of `main`, no
/// program can catch a signal). They land while the config (5,000 targets) is still being read,
/// which is checked: the listener is not up yet when the first is sent.
#[test]
fn sighup_during_startup_does_not_kill_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgewatch.yaml");
    let port = free_port();
    // Many targets, so reading the config takes a while.
    let targets: String = (0..5_000)
        .map(|i| format!("  - host: t{i}.example.com\n"))
        .collect();
    std::fs::write(&path, daemon_yaml(port, &format!("targets:\n{targets}"))).unwrap();
    let spawned = Instant::now();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !catches_sighup(child.id()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the daemon exited before installing its SIGHUP handler"
        );
        assert!(
            spawned.elapsed() < Duration::from_secs(10),
            "no SIGHUP handler after 10 s"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let installed = spawned.elapsed();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the daemon must still be starting (reading its config) when the first SIGHUP comes"
    );
    for _ in 0..5 {
        signal(&child, "-HUP");
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for("/healthz", || {
        get(port, "/healthz").is_some_and(|b| b.contains("200 OK"))
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running (SIGHUP handler {installed:?} after spawn)"
    );
    // The HUPs were queued as a reload: the targets are all still there.
    wait_for("5,000 config targets", || {
        config_targets(port).as_deref() == Some("5000")
    });
    signal(&child, "-TERM");
    let _ = child.wait();
}

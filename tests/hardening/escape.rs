//! Item 4: a certificate whose CN and SAN hold ESC, BEL, CR and LF, and a target name with a
//! newline, must not forge lines or send escape sequences through the `--once` text report or
//! the daemon's text log lines.

use std::time::Duration;

use crate::support::pki::Pki;
use crate::world::{World, daemon, free_listen, once, stderr_after};

/// Sets the terminal title, then starts a fake log line.
const HOSTILE_NAME: &str = "x\x1b]0;pwned\x07\r\n2026-01-01T00:00:00Z ERROR forged.example.test";

fn config_rest(w: &World) -> String {
    // The YAML double-quoted `\n` is a real newline in the target's name.
    format!(
        "targets:\n  - host: good.example.test\n    name: \"evil\\nINFO forged target\"\n    port: {}\n",
        w.port
    )
}

fn assert_clean(text: &str, what: &str) {
    assert!(!text.contains('\x1b'), "{what} holds a raw ESC: {text:?}");
    assert!(!text.contains('\x07'), "{what} holds a raw BEL: {text:?}");
    assert!(!text.contains('\r'), "{what} holds a raw CR: {text:?}");
    for line in text.lines() {
        assert!(
            !line.starts_with("2026-01-01T00:00:00Z") && !line.starts_with("INFO forged"),
            "{what} has a forged line: {line:?}\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_certificate_names_and_target_names_are_escaped_in_the_text_report() {
    let pki = Pki::new();
    let leaf = pki.good(&[HOSTILE_NAME]);
    let w = World::start(&pki, "good.example.test", &leaf).await;
    let config = w.write_config(free_listen(), &config_rest(&w));
    let (code, stdout, stderr) = once(&config, &["--output", "text"]).await;
    assert_eq!(code, 1, "hostname must fail: {stdout}{stderr}");
    assert_clean(&stdout, "the text report");
    // The values are still there, visibly escaped.
    assert!(stdout.contains(r"evil\nINFO forged target"), "{stdout}");
    assert!(
        stdout.contains(r"x\x1b]0;pwned\x07\r\n2026-01-01T00:00:00Z"),
        "{stdout}"
    );
    // JSON keeps the exact text (its encoder escapes it).
    let (_, json, _) = once(&config, &["--output", "json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["targets"][0]["name"], "evil\nINFO forged target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_escaped_in_the_daemon_text_log() {
    let pki = Pki::new();
    let leaf = pki.good(&[HOSTILE_NAME]);
    let w = World::start(&pki, "good.example.test", &leaf).await;
    let config = w.write_config(free_listen(), &config_rest(&w));
    let log = stderr_after(daemon(&config), Duration::from_secs(3)).await;
    assert!(log.contains("check failing"), "no WARN line: {log}");
    assert_clean(&log, "the daemon log");
    assert!(log.contains(r"evil\nINFO forged target"), "{log}");
    assert!(log.contains(r"\x1b]0;pwned\x07"), "{log}");
}

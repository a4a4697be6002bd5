//! Item 5: a password in `alertmanager.url` or `client_ip.reflector_url` never appears in the
//! report (text or JSON) or the logs (text or JSON); the URL is printed with `***` instead.

use std::time::Duration;

use tokio::process::Command;

use crate::support::free_port;
use crate::support::pki::Pki;
use crate::world::{BIN, World, free_listen, once, stderr_after};

const PASSWORD: &str = "Secr3tPw";

/// Both URLs point at closed loopback ports, so the reflector lookup and the alert posts fail.
fn config_rest(w: &World) -> String {
    format!(
        "client_ip:\n  reflector_url: http://rf:{PASSWORD}@127.0.0.1:{}/ip\n\
         alertmanager:\n  url: http://am:{PASSWORD}@127.0.0.1:{}\n\
         targets:\n  - host: good.example.test\n    name: good\n    port: {}\n    client_ip: echo\n",
        free_port(),
        free_port(),
        w.port
    )
}

async fn world() -> World {
    let pki = Pki::new();
    // A wrong name: `hostname` fails, so the daemon has an alert to post.
    let leaf = pki.good(&["other.example.test"]);
    World::start(&pki, "good.example.test", &leaf).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_password_is_redacted_in_the_client_ip_reason_text_and_json() {
    let w = world().await;
    let config = w.write_config(free_listen(), &config_rest(&w));
    let (_, json, json_err) = once(&config, &["--output", "json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let client_ip = doc["targets"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "client_ip")
        .unwrap()
        .clone();
    assert_eq!(client_ip["reason_code"], "egress_lookup_failed", "{json}");
    let reason = client_ip["reason"].as_str().unwrap();
    assert!(reason.contains("http://***@127.0.0.1:"), "{reason}");
    let (_, text, text_err) = once(&config, &["--output", "text"]).await;
    for (what, out) in [
        ("json", &json),
        ("json stderr", &json_err),
        ("text", &text),
        ("text stderr", &text_err),
    ] {
        assert!(!out.contains(PASSWORD), "{what} shows the password: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_and_reflector_passwords_are_redacted_in_daemon_logs() {
    let w = world().await;
    let config = w.write_config(free_listen(), &config_rest(&w));
    for format in ["text", "json"] {
        let child = Command::new(BIN)
            .args(["--log-format", format, "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let log = stderr_after(child, Duration::from_secs(3)).await;
        assert!(
            log.contains("posting alerts to Alertmanager"),
            "{format}: {log}"
        );
        assert!(
            log.contains("cannot post alerts"),
            "{format}: no failed post: {log}"
        );
        assert!(log.contains("reflector lookup failed"), "{format}: {log}");
        assert!(log.contains("http://***@127.0.0.1:"), "{format}: {log}");
        assert!(
            !log.contains(PASSWORD),
            "{format} log shows the password: {log}"
        );
    }
}

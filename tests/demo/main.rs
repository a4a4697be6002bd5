//! `edgewatch demo` end to end: the built binary runs its loopback stage and the real daemon for
//! a few seconds on a free port; `/metrics` must show the healthy endpoint passing every check
//! (client IP through PROXY v2 included) and each broken one failing the expected check with its
//! reason code; stdout must say what each endpoint shows and where to look. No DNS from outside.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");

/// A loopback address nothing listens on (bound, then released).
fn free_listen() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("local addr")
}

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn scrape(listen: SocketAddr, path: &str) -> Option<(u16, String)> {
    let resp = reqwest::get(format!("http://{listen}{path}")).await.ok()?;
    Some((resp.status().as_u16(), resp.text().await.ok()?))
}

const TARGETS: [&str; 5] = [
    "healthy",
    "expiring",
    "wrong-name",
    "missing-intermediate",
    "backend-503",
];

fn success(target: &str, address: &str, check: &str, value: u8) -> String {
    format!(
        r#"edgewatch_check_success{{address="{address}",check="{check}",namespace="",service="",target="{target}"}} {value}"#
    )
}

fn failure(target: &str, check: &str, reason: &str) -> String {
    format!(
        r#"edgewatch_check_failure_info{{address="127.0.0.1",check="{check}",namespace="",reason="{reason}",service="",target="{target}"}} 1"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_exports_the_healthy_passes_and_each_expected_failure_with_its_reason() {
    let listen = free_listen();
    let child = Command::new(BIN)
        .args(["demo", "--listen", &listen.to_string(), "--interval", "1s"])
        // The demo must not need the outside world: no proxy, no resolver of the host's.
        .env_remove("HTTPS_PROXY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start edgewatch demo");
    let mut demo = Demo(child);

    let mut last = String::new();
    let mut seen_all = false;
    for _ in 0..300 {
        if let Some((200, text)) = scrape(listen, "/metrics").await {
            let all = TARGETS.iter().all(|t| {
                text.contains(&format!(
                    r#"edgewatch_probe_success{{namespace="",service="",target="{t}"}}"#
                ))
            });
            last = text;
            if all {
                seen_all = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen_all,
        "not every demo target was probed; last scrape:\n{last}"
    );
    // A scrape is streamed family by family: take one that started after every first probe.
    let (_, text) = scrape(listen, "/metrics").await.expect("scrape");
    let has = |line: &str| assert!(text.contains(line), "missing `{line}` in:\n{text}");

    // The healthy endpoint passes everything, the client IP and the echo's identity included.
    has(r#"edgewatch_probe_success{namespace="",service="",target="healthy"} 1"#);
    for check in ["dns", "config", "cert_consistent"] {
        has(&success("healthy", "", check, 1));
    }
    for check in [
        "tls_handshake",
        "chain_trusted",
        "hostname",
        "cert_expiry",
        "backend",
        "client_ip",
        "backend_identity",
    ] {
        has(&success("healthy", "127.0.0.1", check, 1));
    }

    // Each broken endpoint fails exactly what it is there to show.
    for (target, check, reason) in [
        ("expiring", "cert_expiry", "expiring"),
        ("wrong-name", "hostname", "mismatch"),
        (
            "missing-intermediate",
            "chain_trusted",
            "missing_intermediate",
        ),
        ("backend-503", "backend", "bad_status"),
    ] {
        has(&format!(
            r#"edgewatch_probe_success{{namespace="",service="",target="{target}"}} 0"#
        ));
        has(&success(target, "127.0.0.1", check, 0));
        has(&failure(target, check, reason));
    }
    let failing = text
        .lines()
        .filter(|l| l.starts_with("edgewatch_check_failure_info{"))
        .count();
    assert_eq!(failing, 4, "only the four intended failures:\n{text}");
    // The rest of the broken endpoints' path is fine: e.g. the chain of the expiring one.
    has(&success("expiring", "127.0.0.1", "chain_trusted", 1));
    has(&success("wrong-name", "127.0.0.1", "client_ip", 1));
    has(r#"edgewatch_targets{source="config"} 5"#);
    assert_eq!(scrape(listen, "/readyz").await.map(|r| r.0), Some(200));

    let pid = demo.0.id().expect("pid").to_string();
    let config = std::env::temp_dir().join(format!("edgewatch-demo-{pid}.yaml"));
    assert!(config.is_file(), "the demo's config file {config:?}");
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    // A reload re-reads the demo's own config file: the five targets stay.
    signal("-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, text) = scrape(listen, "/metrics")
        .await
        .expect("scrape after SIGHUP");
    assert!(
        text.contains(r#"edgewatch_targets{source="config"} 5"#),
        "{text}"
    );
    signal("-INT");
    let status = tokio::time::timeout(Duration::from_secs(10), demo.0.wait())
        .await
        .expect("demo stops on SIGINT")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "clean stop on Ctrl-C");
    assert!(!config.exists(), "the demo removes its config file on exit");

    let mut out = String::new();
    demo.0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .await
        .expect("read stdout");
    let says = |line: &str| assert!(out.contains(line), "stdout lacks `{line}`:\n{out}");
    says(
        "edgewatch demo: a throwaway CA, five TLS endpoints on loopback, the real daemon probing them.",
    );
    says("cert_expiry fails `expiring` (5 days left, minimum 14)");
    says("First pass (what `edgewatch --once` prints):");
    says("OK   healthy, ");
    says("✗ backend [127.0.0.1]: GET / answered 503, expected 200-399");
    says("5 target(s), 4 failing");
    says("The daemon now probes them every 1s. Look at:");
    says(&format!(
        "  curl -s {listen}/metrics | grep '^edgewatch_check'   # every check, pass (1) or fail (0)"
    ));
    says("Stop with Ctrl-C.");
}

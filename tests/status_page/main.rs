//! The status page in a real browser: the built daemon probes three loopback TLS servers (one
//! passing, one failing, one whose certificate subject is markup), Debian's headless Chromium
//! loads `/` from it, and the test reads the DOM Chromium built: the failing target comes
//! first with its reason, and the hostile subject is text, not an element. The same run takes
//! a screenshot; with `EDGEWATCH_UPDATE_SCREENSHOT=1` it is saved as the README's
//! (docs/status-page.png).

#[path = "../support/mod.rs"]
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::dns::{DnsServer, Zone};
use support::pki::Pki;
use support::tls_server::{Reply, TlsServer, bind_one};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");
const CHROMIUM: &str = "/usr/bin/chromium";
const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const HOSTILE: &str = "<script>alert(1)</script>";

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Runs headless Chromium on `url` with `mode` (`--dump-dom` or `--screenshot=…`); returns
/// its stdout. Panics, saying how to install it, when Chromium is missing.
async fn chromium(url: &str, mode: &str) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's `chromium` package (.ci/install-test-deps.sh)"
    );
    let profile = tempfile::tempdir().unwrap();
    let run = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1200,760",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("chromium finished within 90 s")
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {mode} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `/status.json` until every one of `names` has been probed.
async fn wait_probed(listen: SocketAddr, names: &[&str]) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        if let Ok(resp) = reqwest::get(format!("http://{listen}/status.json")).await
            && let Ok(doc) = resp.json::<Value>().await
        {
            let probed = doc["targets"].as_array().map_or(0, |ts| {
                ts.iter()
                    .filter(|t| names.contains(&t["name"].as_str().unwrap_or("")))
                    .count()
            });
            if probed == names.len() {
                return doc;
            }
            last = doc;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not every target probed within 30 s; last /status.json: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_failing_target_first_with_its_reason_and_a_hostile_subject_as_text() {
    let pki = Pki::new();
    let dns = DnsServer::start(
        Zone::new()
            .a("good.example.test", &[LOCALHOST])
            .a("bad.example.test", &[LOCALHOST])
            .a("hostile.example.test", &[LOCALHOST]),
    )
    .await
    .unwrap();
    let serve = |leaf, reply| async move {
        TlsServer::serve(bind_one(LOCALHOST.into()).await.unwrap(), &leaf, reply).unwrap()
    };
    let good = serve(pki.good(&["good.example.test"]), Reply::ok()).await;
    let bad = serve(pki.expired("bad.example.test"), Reply::status(503)).await;
    let hostile = serve(
        pki.good_with_common_name(HOSTILE, &["hostile.example.test"]),
        Reply::ok(),
    )
    .await;
    let ca = pki.write_root_pem();
    let dir = tempfile::tempdir().unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", support::free_port())
        .parse()
        .unwrap();
    let mut yaml = format!(
        "interval: 2s\nlisten: {listen}\nresolver:\n  nameservers: [\"{}\"]\n  cache: false\n\
         tls:\n  ca_file: {}\ntimeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 5s\ntargets:\n",
        dns.addr(),
        ca.path().display(),
    );
    for (name, server) in [("good", &good), ("bad", &bad), ("hostile", &hostile)] {
        yaml.push_str(&format!(
            "  - host: {name}.example.test\n    name: {name}\n    port: {}\n",
            server.addr().port()
        ));
    }
    let config = dir.path().join("edgewatch.yaml");
    std::fs::write(&config, yaml).unwrap();
    let _daemon = Daemon(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .kill_on_drop(true)
            .spawn()
            .expect("start edgewatch"),
    );
    let doc = wait_probed(listen, &["good", "bad", "hostile"]).await;
    assert_eq!(doc["summary"]["failing_targets"], 1, "{doc}");

    let url = format!("http://{listen}/");
    let dom = chromium(&url, "--dump-dom").await;
    let at = |needle: &str| {
        dom.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` not in Chromium's DOM:\n{dom}"))
    };
    assert!(
        at("data-target=\"bad\"") < at("data-target=\"good\""),
        "{dom}"
    );
    assert!(
        at("data-target=\"bad\"") < at("data-target=\"hostile\""),
        "{dom}"
    );
    assert!(dom.contains("3 targets, 1 failing"), "{dom}");
    // The expired certificate's reason and the backend's 503, in words.
    assert!(dom.contains("expired"), "{dom}");
    assert!(dom.contains("503"), "{dom}");
    // Chromium parsed the subject as text: serialising the DOM escapes it again, and there is
    // no script element anywhere.
    assert!(
        dom.contains("CN=&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile subject not shown as text:\n{dom}"
    );
    assert!(
        !dom.contains("<script"),
        "a script element on the page:\n{dom}"
    );

    // Into the test's own directory: a plain `cargo test` leaves the source tree as it was.
    // `EDGEWATCH_UPDATE_SCREENSHOT=1` writes the README's screenshot instead.
    let png: PathBuf = if std::env::var_os("EDGEWATCH_UPDATE_SCREENSHOT").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page.png")
    } else {
        dir.path().join("status-page.png")
    };
    chromium(&url, &format!("--screenshot={}", png.display())).await;
    let bytes = std::fs::read(&png).expect("Chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
}

//! The built binary with Kubernetes discovery, everything on loopback: the test API server, a DNS
//! server for the friendly and load balancer names, and a TLS server standing in for the NLB.
//! The daemon probes a Service as soon as it is added (its series appear on /metrics), posts an
//! Event on the Service for a failing check, and drops the series when the Service is deleted;
//! `--once --service dev/myapp` reports exactly that Service.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::support::dns::{DnsServer, Zone};
use crate::support::free_port;
use crate::support::kube_api::KubeApi;
use crate::support::monitoring_tools::wait_ready;
use crate::support::pki::Pki;
use crate::support::tls_server::{Reply, TlsServer, bind_one};

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const LB: &str = "k8s-dev-myapp-0123456789.elb.example.test";

/// The reference Service, pointed at the loopback stand-ins: `host` on the TLS server's port,
/// expecting status 204 (the stand-in answers 200, so `backend` fails).
fn service(name: &str, host: &str, port: u16) -> Service {
    let mut s = crate::service("dev", name, host, &[]);
    let ann = s.metadata.annotations.as_mut().unwrap();
    ann.insert(
        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports".into(),
        port.to_string(),
    );
    ann.insert("edgewatch.io/expect-status".into(), "204".into());
    let spec = s.spec.as_mut().unwrap();
    spec.ports.as_mut().unwrap()[0].port = i32::from(port);
    let ingress = &mut s
        .status
        .as_mut()
        .unwrap()
        .load_balancer
        .as_mut()
        .unwrap()
        .ingress;
    ingress.as_mut().unwrap()[0].hostname = Some(LB.into());
    s
}

struct Stage {
    api: KubeApi,
    _dns: DnsServer,
    tls: TlsServer,
    _ca: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
    listen: u16,
}

async fn stage() -> Stage {
    let pki = Pki::new();
    let leaf = pki.good(&["app.example.test", "other.example.test"]);
    let ca = pki.write_root_pem();
    let tls = TlsServer::serve(
        bind_one(LOCALHOST.into()).await.unwrap(),
        &leaf,
        Reply::ok(),
    )
    .unwrap();
    let zone = Zone::new()
        .a("app.example.test", &[LOCALHOST])
        .a("other.example.test", &[LOCALHOST])
        .a(LB, &[LOCALHOST]);
    let dns = DnsServer::start(zone).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listen = free_port();
    let config = format!(
        "interval: 1s\nlisten: 127.0.0.1:{listen}\nresolver:\n  nameservers: [\"{}\"]\n\
         timeouts: {{connect: 2s, tls: 2s, http: 2s, probe: 5s}}\ntls:\n  ca_file: {}\n\
         kubernetes:\n  enabled: true\n  events: true\n",
        dns.addr(),
        ca.path().display()
    );
    std::fs::write(dir.path().join("edgewatch.yaml"), config).unwrap();
    Stage {
        api: KubeApi::start().await,
        _dns: dns,
        tls,
        _ca: ca,
        dir,
        listen,
    }
}

async fn get(url: &str) -> Option<(u16, String)> {
    let r = reqwest::get(url).await.ok()?;
    let code = r.status().as_u16();
    Some((code, r.text().await.ok()?))
}

async fn wait_metrics(listen: u16, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, body)) = get(&format!("http://127.0.0.1:{listen}/metrics")).await
            && pred(&body)
        {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn config_path(dir: &Path) -> std::path::PathBuf {
    dir.join("edgewatch.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_probes_added_services_posts_events_and_drops_deleted_ones() {
    let s = stage().await;
    let port = s.tls.addr().port();
    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .arg("--config")
        .arg(config_path(s.dir.path()))
        .arg("--kubeconfig")
        .arg(s.api.kubeconfig())
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The daemon's log goes to this test's stderr.
    wait_ready(
        &format!("http://127.0.0.1:{}/readyz", s.listen),
        String::new,
    )
    .await;

    s.api.apply(&service("myapp", "app.example.test", port));
    let target = format!("target=\"dev/myapp/app.example.test:{port}\"");
    let body = wait_metrics(s.listen, "the Service's series", |b| {
        b.lines()
            .any(|l| l.starts_with("edgewatch_probe_success{") && l.contains(&target))
    })
    .await;
    assert!(body.contains("namespace=\"dev\"") && body.contains("service=\"myapp\""));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let events = s.api.events();
        if let Some(ev) = events.iter().find(|e| e["reason"] == "BackendFailed") {
            assert_eq!(ev["type"], "Warning");
            assert_eq!(ev["regarding"]["name"], "myapp");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no BackendFailed Event: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    s.api.delete("dev", "myapp");
    wait_metrics(s.listen, "the series to go", |b| !b.contains(&target)).await;
    daemon.start_kill().unwrap();
    let _ = daemon.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_with_service_reports_exactly_that_service() {
    let s = stage().await;
    let port = s.tls.addr().port();
    s.api.apply(&service("myapp", "app.example.test", port));
    s.api.apply(&service("other", "other.example.test", port));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .arg("--once")
        .arg("--config")
        .arg(config_path(s.dir.path()))
        .args(["--kubeconfig"])
        .arg(s.api.kubeconfig())
        .args(["--service", "dev/myapp", "--output", "json"])
        .env_remove("KUBECONFIG")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let names: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("dev/myapp/app.example.test:{port}")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "backend expects 204: a failing check exits 1"
    );
    let t = &report["targets"][0];
    assert_eq!(t["source"]["namespace"], "dev");
    assert_eq!(t["lb_hostnames"][0], LB);
}

//! blackbox_exporter (Debian's `prometheus-blackbox-exporter`), driven the way Prometheus uses
//! it: `GET /probe?module=...&target=...`, `concurrency` requests at a time, each probe a fresh
//! TLS connection (its http prober builds a new client per probe). Its module verifies the chain
//! against the bench root (`tls_config.ca_file`, `server_name`). The target is given as an IP
//! address, so blackbox does no DNS lookup: that only flatters blackbox in the comparison.
//! The exporter's CPU comes from /proc/<pid>/stat; this (driver) process's CPU is not counted.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::procfs::{self, Round};
use crate::server::Endpoints;
use crate::{load, pinned, pki};

/// Where the exporter is looked for (`BLACKBOX_EXPORTER` overrides).
const DEFAULT_PATH: &str = "/usr/bin/prometheus-blackbox-exporter";

/// A running exporter.
pub struct Blackbox {
    child: Child,
    listen: String,
    request: String,
}

impl Drop for Blackbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    let path = std::env::var_os("BLACKBOX_EXPORTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    assert!(
        path.exists(),
        "blackbox_exporter not found at {} (install Debian's prometheus-blackbox-exporter, \
         or set BLACKBOX_EXPORTER)",
        path.display()
    );
    path
}

/// Starts the exporter on a free loopback port, pinned to `core` when given.
pub async fn start(dir: &Path, ep: &Endpoints, core: Option<&str>) -> Blackbox {
    let config = dir.join("blackbox.yml");
    let module = format!(
        "modules:\n  bench_https:\n    prober: http\n    timeout: 5s\n    http:\n      \
         preferred_ip_protocol: ip4\n      valid_status_codes: [200]\n      tls_config:\n        \
         ca_file: {}\n        server_name: {}\n",
        dir.join(pki::ROOT_PEM).display(),
        pki::ZONE
    );
    std::fs::write(&config, module).expect("write blackbox.yml");
    let listen = crate::free_port();
    let child = pinned(core, &binary())
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address={listen}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start blackbox_exporter");
    let request = format!(
        "GET /probe?module=bench_https&target=https://127.0.0.1:{}/ HTTP/1.1\r\n\
         host: {listen}\r\nconnection: close\r\n\r\n",
        ep.port
    );
    let bb = Blackbox {
        child,
        listen,
        request,
    };
    let until = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(&bb.listen).await.is_err() {
        assert!(
            Instant::now() < until,
            "blackbox_exporter did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bb
}

impl Blackbox {
    /// Measures `count` probes through `/probe`, after `warmup` untimed ones.
    pub async fn round(&self, concurrency: usize, warmup: u64, count: u64) -> Round {
        let listen: std::sync::Arc<str> = self.listen.as_str().into();
        let request: std::sync::Arc<str> = self.request.as_str().into();
        let probe = move || {
            let (listen, request) = (listen.clone(), request.clone());
            async move { probe(&listen, &request).await.unwrap_or(false) }
        };
        load::drive(concurrency, warmup, probe.clone()).await;
        let pid = self.child.id().to_string();
        let cpu0 = procfs::cpu_seconds(&pid);
        let started = Instant::now();
        let (probes, ok) = load::drive(concurrency, count, probe).await;
        let wall_s = started.elapsed().as_secs_f64();
        Round {
            probes,
            ok,
            cpu_s: procfs::cpu_seconds(&pid) - cpu0,
            wall_s,
            hwm_kib: procfs::status_kib(&pid, "VmHWM"),
        }
    }
}

async fn probe(listen: &str, request: &str) -> std::io::Result<bool> {
    let mut tcp = TcpStream::connect(listen).await?;
    tcp.write_all(request.as_bytes()).await?;
    let mut body = Vec::with_capacity(8192);
    tcp.read_to_end(&mut body).await?;
    Ok(String::from_utf8_lossy(&body).contains("\nprobe_success 1"))
}

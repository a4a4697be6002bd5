//! blackbox_exporter (Debian's `prometheus-blackbox-exporter`), driven the way Prometheus uses
//! it: `GET /probe?module=...&target=...` on kept-alive connections, `concurrency` requests at a
//! time, each probe a fresh TLS connection (its http prober builds a new client per probe). Its module verifies the chain
//! against the bench root (`tls_config.ca_file`, `server_name`). The target is given as an IP
//! address, so blackbox does no DNS lookup: that only flatters blackbox in the comparison.
//! The exporter's CPU comes from /proc/<pid>/stat; this (driver) process's CPU is not counted.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
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
         host: {listen}\r\n\r\n",
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
    /// The exporter's process id.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Measures `count` probes through the exporter, `concurrency` at a time.
    pub async fn round(&self, concurrency: usize, warmup: u64, count: u64) -> Round {
        let listen: Arc<str> = self.listen.as_str().into();
        let request: Arc<str> = self.request.as_str().into();
        // Kept-alive connections to the exporter, as Prometheus keeps them.
        let pool: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let probe = move || {
            let (listen, request, pool) = (listen.clone(), request.clone(), pool.clone());
            async move {
                let idle = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let conn = match idle {
                    Some(c) => c,
                    None => match TcpStream::connect(&*listen).await {
                        Ok(c) => c,
                        Err(_) => return false,
                    },
                };
                match probe(conn, &request).await {
                    Ok((healthy, conn)) => {
                        pool.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
                        healthy
                    }
                    Err(_) => false,
                }
            }
        };
        load::drive(concurrency, warmup, probe.clone()).await;
        let pid = self.child.id().to_string();
        let cpu0 = procfs::cpu_seconds(&pid);
        let sw0 = procfs::ctx_switches(&pid);
        let started = Instant::now();
        let (probes, ok) = load::drive(concurrency, count, probe).await;
        let wall_s = started.elapsed().as_secs_f64();
        Round {
            probes,
            ok,
            cpu_s: procfs::cpu_seconds(&pid) - cpu0,
            wall_s,
            hwm_kib: procfs::status_kib(&pid, "VmHWM"),
            switches: Some(procfs::ctx_switches(&pid) - sw0),
            allocs: None,
        }
    }
}

/// One `/probe` request on a kept-alive connection; the body is read by its content-length or
/// its chunks (Go's server chunks a body it did not know the length of).
async fn probe(mut tcp: TcpStream, request: &str) -> std::io::Result<(bool, TcpStream)> {
    tcp.write_all(request.as_bytes()).await?;
    let mut r = Reader {
        buf: Vec::with_capacity(8192),
        pos: 0,
    };
    let head = String::from_utf8_lossy(&r.until(&mut tcp, b"\r\n\r\n").await?).to_ascii_lowercase();
    let mut body = Vec::new();
    if let Some(length) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        body = r.exactly(&mut tcp, length).await?;
    } else if head.contains("transfer-encoding: chunked") {
        loop {
            let line = r.until(&mut tcp, b"\r\n").await?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| usize::from_str_radix(l.trim().split(';').next()?, 16).ok())
                .ok_or_else(|| std::io::Error::other("bad chunk size"))?;
            body.extend(r.exactly(&mut tcp, size).await?);
            r.exactly(&mut tcp, 2).await?;
            if size == 0 {
                break;
            }
        }
    } else {
        return Err(std::io::Error::other("response without a length"));
    }
    let healthy = String::from_utf8_lossy(&body).contains("\nprobe_success 1");
    Ok((healthy, tcp))
}

/// Buffered reads off the connection.
struct Reader {
    buf: Vec<u8>,
    pos: usize,
}

impl Reader {
    async fn fill(&mut self, tcp: &mut TcpStream) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The bytes up to `delimiter` (consumed, not returned).
    async fn until(&mut self, tcp: &mut TcpStream, delimiter: &[u8]) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(i) = self.buf[self.pos..]
                .windows(delimiter.len())
                .position(|w| w == delimiter)
            {
                let out = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + delimiter.len();
                return Ok(out);
            }
            self.fill(tcp).await?;
        }
    }

    async fn exactly(&mut self, tcp: &mut TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() - self.pos < n {
            self.fill(tcp).await?;
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }
}

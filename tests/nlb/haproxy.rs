//! The NLB stand-in: haproxy (Debian's `/usr/sbin/haproxy`) terminating TLS on loopback
//! "load balancer" addresses with the test certificate and forwarding to `edgewatch echo`,
//! from its own source address, with or without PROXY protocol v2. Killed when dropped.
//!
//! haproxy runs in HTTP mode so that a dead backend gives a status (503) to assert on; a real
//! NLB is TCP-only and would reset the connection instead (`backend` then fails `closed`).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the stand-in looks like.
pub struct HaproxyConfig {
    /// Load balancer addresses (one per "availability zone"), all on `port`.
    pub lb_ips: Vec<Ipv4Addr>,
    /// The TLS listener port.
    pub port: u16,
    /// Certificate + chain + key PEM served.
    pub cert_bundle: String,
    /// Where the backend (echo) listens.
    pub backend: SocketAddr,
    /// The address haproxy connects to the backend from (what a lost client IP looks like).
    pub source: Ipv4Addr,
    /// `send-proxy-v2` towards the backend (the target group's `proxy_protocol_v2.enabled`).
    pub proxy_v2: bool,
}

/// A running haproxy.
pub struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
}

/// The haproxy binary: `$HAPROXY`, else `/usr/sbin/haproxy`, else `haproxy` on PATH.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HAPROXY") {
        return PathBuf::from(p);
    }
    let debian = PathBuf::from("/usr/sbin/haproxy");
    if debian.is_file() {
        return debian;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("haproxy"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "haproxy is not installed: the NLB stand-in tests need it (Debian: apt-get install \
             haproxy; or set HAPROXY=/path/to/haproxy)"
        )
    })
}

/// What the listener accepts: like an NLB under `ELBSecurityPolicy-TLS13-1-2-Res-2021-06`
/// (TLS 1.2+, AEAD and forward-secret suites only), so `tls_policy` passes by default.
const RES_POLICY: &str = " ssl-min-ver TLSv1.2 \
    ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384 \
    ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// The configuration text, with the certificate at `cert_path`.
pub fn config_text(c: &HaproxyConfig, cert_path: &str) -> String {
    let binds: String = c
        .lb_ips
        .iter()
        .map(|ip| format!("  bind {ip}:{} ssl crt {cert_path}{RES_POLICY}\n", c.port))
        .collect();
    let proxy = if c.proxy_v2 { " send-proxy-v2" } else { "" };
    format!(
        "global\n  nbthread 1\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n  retries 1\n\
         frontend nlb\n{binds}  default_backend targets\n\
         backend targets\n  http-reuse never\n  server echo {backend} source {source}{proxy}\n",
        backend = c.backend,
        source = c.source,
    )
}

impl Haproxy {
    /// Starts haproxy and waits until every listener accepts; panics with haproxy's own
    /// output when it does not start.
    pub fn start(c: &HaproxyConfig) -> Haproxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("lb.pem");
        std::fs::write(&cert, &c.cert_bundle).expect("write cert");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, config_text(c, &cert.display().to_string())).expect("write cfg");
        let log = dir.path().join("haproxy.log");
        let child = Command::new(binary())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start haproxy ({}): {e}", binary().display()));
        let mut haproxy = Haproxy { child, _dir: dir };
        let started = Instant::now();
        for ip in &c.lb_ips {
            let addr = SocketAddr::from((*ip, c.port));
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                if let Ok(Some(status)) = haproxy.child.try_wait() {
                    let out = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("haproxy exited ({status}) at start:\n{out}");
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "haproxy did not listen on {addr} within 10 s"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        haproxy
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

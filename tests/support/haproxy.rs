//! Running Debian's haproxy on loopback for a suite: finds the binary (failing loudly, naming
//! the tool, when it is missing), writes the suite's configuration and certificate into a
//! temporary folder, starts haproxy in the foreground and waits until every listener accepts.
//! Killed when dropped. The suites own their configuration text (the NLB stand-in in
//! `tests/nlb`, the ELB-policy look-alikes in `tests/tls_policy`).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The haproxy binary: `$HAPROXY`, else `/usr/sbin/haproxy`, else `haproxy` on PATH.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HAPROXY") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("haproxy"))
            .find(|p| p.is_file())
    });
    [Some(PathBuf::from("/usr/sbin/haproxy")), on_path]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "haproxy is not installed: the haproxy tests need it (Debian: apt-get install \
                 haproxy; or set HAPROXY=/path/to/haproxy)"
            )
        })
}

/// A running haproxy.
pub struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Writes `cert_pem` (certificate, chain and key) to a file, gives its path to `config`
    /// for the configuration text, starts haproxy on it and waits until each of `listeners`
    /// accepts; panics with haproxy's own output when it exits at start.
    pub fn run(
        cert_pem: &str,
        config: impl FnOnce(&str) -> String,
        listeners: &[SocketAddr],
    ) -> Haproxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("site.pem");
        std::fs::write(&cert, cert_pem).expect("write cert");
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, config(&cert.display().to_string())).expect("write cfg");
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
        for addr in listeners {
            while TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_err() {
                if let Ok(Some(status)) = haproxy.child.try_wait() {
                    let out = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("haproxy exited ({status}) at start:\n{out}");
                }
                // A liveness guard (a haproxy that never listens), not a speed assertion.
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "haproxy did not listen on {addr} within 30 s"
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

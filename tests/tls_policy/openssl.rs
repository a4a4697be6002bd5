//! `openssl s_server` on loopback, configured like an ELB security policy. Killed when dropped.
//! Fails loudly (naming the tool) when `openssl` is missing.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pki::Leaf;

/// The suites of the 2016-08 policy (TLS 1.0-1.2), in OpenSSL's names.
pub const POLICY_2016_08: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:\
ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256:\
AES128-SHA256:AES128-SHA:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA";

/// The TLS 1.2 suites of TLS13-1-2-Res-2021-06.
pub const POLICY_RES_TLS12: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

/// The three TLS 1.3 suites every TLS13 policy has.
pub const TLS13_SUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// The `openssl` binary: `$OPENSSL`, else `openssl` on PATH.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OPENSSL") {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("openssl"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "openssl is not installed: the tls_policy tests run `openssl s_server` (Debian: \
                 apt-get install openssl; or set OPENSSL=/path/to/openssl)"
            )
        })
}

/// A running `openssl s_server`.
pub struct SServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl SServer {
    /// Serves `leaf` on `ip:port` with the extra s_server `args` (versions, suites); waits
    /// until it listens, or panics with its output.
    pub fn start(ip: Ipv4Addr, port: u16, leaf: &Leaf, args: &[&str]) -> SServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let chain = dir.path().join("chain.pem");
        std::fs::write(&cert, leaf.cert_pem()).unwrap();
        std::fs::write(&key, leaf.key_pem()).unwrap();
        std::fs::write(&chain, leaf.chain_pem()).unwrap();
        let log = dir.path().join("s_server.log");
        let addr = SocketAddr::from((ip, port));
        let mut cmd = Command::new(binary());
        cmd.arg("s_server")
            .arg("-accept")
            .arg(addr.to_string())
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-www")
            .arg("-quiet")
            .arg("-naccept")
            .arg("1000");
        if !leaf.chain_pem().is_empty() {
            cmd.arg("-cert_chain").arg(&chain);
        }
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start openssl s_server ({}): {e}",
                    binary().display()
                )
            });
        let mut server = SServer {
            child,
            addr,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let out = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("openssl s_server exited ({status}) at start:\n{out}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s_server did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

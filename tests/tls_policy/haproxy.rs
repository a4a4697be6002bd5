//! haproxy terminating TLS the way an ELB security policy does, set through haproxy's global
//! `ssl-default-bind-ciphers`, `ssl-default-bind-ciphersuites` and `ssl-default-bind-options
//! ssl-min-ver/ssl-max-ver` (what an operator copying a policy into haproxy writes). One process
//! per policy, since those settings are global. Answers every request with 200 itself (no
//! backend). Killed when dropped; fails loudly (naming the tool) when haproxy is missing.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pki::Leaf;

/// `ELBSecurityPolicy-TLS13-1-2-2021-06`: TLS 1.2 and 1.3; its TLS 1.2 suites in OpenSSL's names.
pub const TLS13_1_2_2021_06: Policy = Policy {
    min: "TLSv1.2",
    max: "TLSv1.3",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384",
};

/// `ELBSecurityPolicy-2016-08`: TLS 1.0 to 1.2, CBC and RSA key exchange included; OpenSSL 3
/// needs `@SECLEVEL=0` to speak TLS 1.0/1.1 at all.
pub const LEGACY_2016_08: Policy = Policy {
    min: "TLSv1.0",
    max: "TLSv1.2",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:\
ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256:\
AES128-SHA256:AES128-SHA:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA:@SECLEVEL=0",
};

/// The three TLS 1.3 suites every TLS13 policy has (haproxy's `ciphersuites`).
const TLS13_SUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Versions and suites of one policy, as haproxy's global bind defaults.
pub struct Policy {
    /// `ssl-min-ver`.
    pub min: &'static str,
    /// `ssl-max-ver`.
    pub max: &'static str,
    /// `ssl-default-bind-ciphers` (TLS 1.2 and below).
    pub ciphers: &'static str,
}

/// The haproxy binary: `$HAPROXY`, else `/usr/sbin/haproxy`, else `haproxy` on PATH.
fn binary() -> PathBuf {
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
                "haproxy is not installed: the haproxy look-alike test needs it (Debian: apt-get \
                 install haproxy; or set HAPROXY=/path/to/haproxy)"
            )
        })
}

/// The configuration text for `policy`, serving the bundle at `cert` on `addr`.
pub fn config_text(policy: &Policy, addr: SocketAddr, cert: &str) -> String {
    format!(
        "global\n  nbthread 1\n  ssl-default-bind-ciphers {ciphers}\n  \
         ssl-default-bind-ciphersuites {TLS13_SUITES}\n  \
         ssl-default-bind-options ssl-min-ver {min} ssl-max-ver {max}\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         frontend policy\n  bind {addr} ssl crt {cert}\n  \
         http-request return status 200 content-type text/plain string ok\n",
        ciphers = policy.ciphers,
        min = policy.min,
        max = policy.max,
    )
}

/// A running haproxy.
pub struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Serves `leaf` on `addr` under `policy`; waits until it listens, or panics with
    /// haproxy's own output.
    pub fn start(policy: &Policy, addr: SocketAddr, leaf: &Leaf) -> Haproxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let cert = dir.path().join("site.pem");
        let bundle = format!("{}{}{}", leaf.cert_pem(), leaf.chain_pem(), leaf.key_pem());
        std::fs::write(&cert, bundle).expect("write cert");
        let cfg = dir.path().join("haproxy.cfg");
        let text = config_text(policy, addr, &cert.display().to_string());
        std::fs::write(&cfg, text).expect("write cfg");
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
        haproxy
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

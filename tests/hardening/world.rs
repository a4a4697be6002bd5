//! A loopback world for the binary: a DNS server, TLS servers, a config file, and ways to run
//! `--once` and the daemon against them.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::support::dns::{DnsServer, Zone};
use crate::support::pki::{Leaf, Pki};
use crate::support::tls_server::{Reply, TlsServer, bind_one};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");
/// Every server here binds to it.
pub const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// DNS naming `host` at 127.0.0.1, a TLS server there with `leaf`, and a temp dir.
pub struct World {
    _dns: DnsServer,
    _server: TlsServer,
    pub dns: SocketAddr,
    pub port: u16,
    pub ca: tempfile::NamedTempFile,
    pub dir: tempfile::TempDir,
}

impl World {
    /// Serves `leaf` (from `pki`) for `host`.
    pub async fn start(pki: &Pki, host: &str, leaf: &Leaf) -> World {
        let dns = DnsServer::start(Zone::new().a(host, &[LOCALHOST]))
            .await
            .unwrap();
        let server =
            TlsServer::serve(bind_one(LOCALHOST.into()).await.unwrap(), leaf, Reply::ok()).unwrap();
        World {
            dns: dns.addr(),
            port: server.addr().port(),
            _dns: dns,
            _server: server,
            ca: pki.write_root_pem(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The common head of a config (listen, resolver, CA, short timeouts) followed by `rest`.
    pub fn write_config(&self, listen: SocketAddr, rest: &str) -> PathBuf {
        let yaml = format!(
            "interval: 1s\nlisten: {listen}\nresolver:\n  nameservers: [\"{}\"]\n  cache: false\n\
             tls:\n  ca_file: {}\ntimeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 5s\n{rest}",
            self.dns,
            self.ca.path().display(),
        );
        let path = self.dir.path().join("edgewatch.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

/// A free loopback address to listen on.
pub fn free_listen() -> SocketAddr {
    SocketAddr::from((LOCALHOST, crate::support::free_port()))
}

/// Runs `edgewatch --once --config config extra...`: exit code, stdout, stderr.
pub async fn once(config: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--once")
        .arg("--config")
        .arg(config)
        .args(extra)
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts the daemon with text logs on stderr (piped).
pub fn daemon(config: &Path) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Kills `child` after `after` and returns what it wrote on stderr.
pub async fn stderr_after(mut child: Child, after: Duration) -> String {
    tokio::time::sleep(after).await;
    child.start_kill().unwrap();
    let mut err = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut err)
        .await
        .unwrap();
    let _ = child.wait().await;
    String::from_utf8_lossy(&err).into_owned()
}

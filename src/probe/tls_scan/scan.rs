//! One scan of one address: one connection at a time, each bounded by the connect and TLS
//! timeouts, the whole scan by its own deadline. First one hello per version (offering every
//! known suite that version can use), then each suite the policies disagree on alone, at the
//! highest version below 1.3 the server accepted, and each TLS 1.3 suite alone when it speaks
//! TLS 1.3. About 25 short connections for a server that accepts everything; fewer otherwise.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::response::{self, Parse, ServerReply};
use super::suites::{SUITES, Suite};
use super::{Accepted, ScanFailure, TlsProtocol, TlsScan, client_hello};

/// The bounds of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    /// TCP connect timeout per connection (the probe's).
    pub connect_timeout: Duration,
    /// Time for the server's answer to one hello (the probe's TLS timeout).
    pub tls_timeout: Duration,
    /// Deadline for the whole scan.
    pub deadline: Duration,
    /// Local address to connect from (None: the OS chooses).
    pub source_ip: Option<IpAddr>,
}

/// What one hello got.
enum Step {
    /// A ServerHello that picked exactly what was asked about.
    Accepted(Accepted),
    /// An alert, a close, or a ServerHello picking something not asked about.
    Refused,
}

/// Scans `address`, sending `server_name` as SNI. Never fails: a scan cut short says why.
pub async fn scan(address: SocketAddr, server_name: &str, settings: &ScanSettings) -> TlsScan {
    let started = Instant::now();
    let mut out = TlsScan {
        address,
        scanned_at: SystemTime::now(),
        duration: Duration::ZERO,
        versions: Vec::new(),
        accepted: Vec::new(),
        connections: 0,
        failure: None,
    };
    let deadline = started + settings.deadline;
    let steps = run_steps(address, server_name, settings, &mut out);
    if tokio::time::timeout_at(deadline, steps).await.is_err() {
        out.failure = Some(ScanFailure::Deadline(settings.deadline));
    }
    out.duration = started.elapsed();
    out
}

async fn run_steps(
    address: SocketAddr,
    server_name: &str,
    settings: &ScanSettings,
    out: &mut TlsScan,
) {
    let ask = |version: TlsProtocol, suites: Vec<u16>| async move {
        ask(address, server_name, settings, version, &suites).await
    };
    for version in TlsProtocol::ALL.into_iter().rev() {
        let suites = SUITES
            .iter()
            .filter(|s| usable(s, version))
            .map(|s| s.code)
            .collect();
        out.connections += 1;
        match ask(version, suites).await {
            Ok(Step::Accepted(a)) => {
                out.versions.insert(0, version);
                record(out, a);
            }
            Ok(Step::Refused) => {}
            Err(failure) => {
                out.failure = Some(failure);
                return;
            }
        }
    }
    let legacy_max = out
        .versions
        .iter()
        .rev()
        .find(|v| **v < TlsProtocol::Tls13)
        .copied();
    let mut singles: Vec<(TlsProtocol, &Suite)> = Vec::new();
    if let Some(v) = legacy_max {
        singles.extend(SUITES.iter().filter(|s| usable(s, v)).map(|s| (v, s)));
    }
    if out.accepts(TlsProtocol::Tls13) {
        singles.extend(
            SUITES
                .iter()
                .filter(|s| s.tls13)
                .map(|s| (TlsProtocol::Tls13, s)),
        );
    }
    for (version, suite) in singles {
        if out
            .accepted
            .iter()
            .any(|a| a.version == version && a.suite == suite)
        {
            continue; // the version's hello already showed this one accepted
        }
        out.connections += 1;
        match ask(version, vec![suite.code]).await {
            Ok(Step::Accepted(a)) => record(out, a),
            Ok(Step::Refused) => {}
            Err(failure) => {
                out.failure = Some(failure);
                return;
            }
        }
    }
}

fn record(out: &mut TlsScan, a: Accepted) {
    if !out.accepted.contains(&a) {
        out.accepted.push(a);
    }
}

/// Whether `suite` can be offered with `version`.
fn usable(suite: &Suite, version: TlsProtocol) -> bool {
    match version {
        TlsProtocol::Tls13 => suite.tls13,
        TlsProtocol::Tls12 => !suite.tls13,
        _ => !suite.tls13 && !suite.needs_tls12,
    }
}

/// One connection: connect, send the hello, read the first answer.
async fn ask(
    address: SocketAddr,
    server_name: &str,
    settings: &ScanSettings,
    version: TlsProtocol,
    suites: &[u16],
) -> Result<Step, ScanFailure> {
    let mut tcp =
        match tokio::time::timeout(settings.connect_timeout, connect(address, settings)).await {
            Err(_) => {
                return Err(ScanFailure::Connect(format!(
                    "timed out after {:?}",
                    settings.connect_timeout
                )));
            }
            Ok(Err(e)) => return Err(ScanFailure::Connect(e.to_string())),
            Ok(Ok(tcp)) => tcp,
        };
    let _ = tcp.set_nodelay(true);
    let hello = client_hello::build(version, suites, server_name, rand::random());
    let exchange = async {
        tcp.write_all(&hello).await?;
        let mut buf = Vec::with_capacity(1024);
        loop {
            if let Parse::Reply(r) = response::parse(&buf) {
                return Ok(Some(r));
            }
            if buf.len() >= response::MAX_READ {
                return Ok(Some(ServerReply::NotTls(
                    "no ServerHello in the first 16 KiB",
                )));
            }
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None); // closed: refused
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let answer: std::io::Result<Option<ServerReply>> =
        match tokio::time::timeout(settings.tls_timeout, exchange).await {
            Err(_) => return Err(ScanFailure::Timeout(settings.tls_timeout)),
            Ok(r) => r,
        };
    match answer {
        // A reset is how some servers refuse a hello they dislike.
        Err(_) | Ok(None) | Ok(Some(ServerReply::Alert { .. })) => Ok(Step::Refused),
        Ok(Some(ServerReply::NotTls(why))) => Err(ScanFailure::NotTls(why)),
        Ok(Some(ServerReply::Hello {
            version: picked,
            suite,
            ..
        })) => {
            let asked = picked == version.wire() && suites.contains(&suite);
            match (asked, super::suites::by_code(suite)) {
                (true, Some(suite)) => Ok(Step::Accepted(Accepted { version, suite })),
                _ => Ok(Step::Refused),
            }
        }
    }
}

async fn connect(address: SocketAddr, settings: &ScanSettings) -> std::io::Result<TcpStream> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(ip) = settings.source_ip {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(address).await
}

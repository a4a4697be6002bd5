//! Hostile TLS peers on a plain TCP listener: servers that accept a connection and then misbehave
//! the ways broken or malicious endpoints do. A probe against any of them must end in a named
//! handshake failure within its deadline, never hang or panic. (The oversized certificate chain
//! is a real TLS server: see `TlsServer` with `Pki::huge_chain`.)
//!
//! Each peer stops when its handle is dropped.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::background::{Background, accept_each};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the peer misbehaves after accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostility {
    /// Accepts and never sends a byte (and never closes).
    Mute,
    /// Answers the ClientHello with bytes that are not TLS.
    Garbage,
    /// Reads the ClientHello, then resets the connection (SO_LINGER 0, close: RST).
    ResetAfterHello,
    /// Sends a TLS record header promising 16 KiB, then one byte every 100 ms, forever.
    Trickle,
}

/// A running hostile peer; stops when dropped.
pub struct HostilePeer {
    addr: SocketAddr,
    _task: Background,
}

impl HostilePeer {
    /// Serves `hostility` to every connection on `listener`.
    pub fn serve(listener: TcpListener, hostility: Hostility) -> io::Result<HostilePeer> {
        let addr = listener.local_addr()?;
        let task = accept_each(listener, move |tcp| misbehave(tcp, hostility));
        Ok(HostilePeer { addr, _task: task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn misbehave(mut tcp: TcpStream, hostility: Hostility) {
    match hostility {
        Hostility::Mute => {
            // Hold the connection open without reading or writing.
            std::future::pending::<()>().await;
        }
        Hostility::Garbage => {
            let _ = read_client_hello(&mut tcp).await;
            let garbage = b"SSH-2.0-OpenSSH_9.6 definitely not TLS\r\n\x00\xff\xfe\xfd";
            let _ = tcp.write_all(garbage).await;
            // Keep the connection open: the client must fail on the bytes, not on a close.
            std::future::pending::<()>().await;
        }
        Hostility::ResetAfterHello => {
            let _ = read_client_hello(&mut tcp).await;
            // Zero linger makes close() send RST instead of FIN.
            let _ = tcp.set_zero_linger();
            drop(tcp);
        }
        Hostility::Trickle => {
            let _ = read_client_hello(&mut tcp).await;
            // Handshake record, TLS 1.2 version, length 0x4000: the client waits for all of it.
            let header = [0x16u8, 0x03, 0x03, 0x40, 0x00];
            if tcp.write_all(&header).await.is_err() {
                return;
            }
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            loop {
                ticker.tick().await;
                if tcp.write_all(&[0x02]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads whatever the client sent first (its ClientHello), up to one read of 16 KiB.
async fn read_client_hello(tcp: &mut TcpStream) -> io::Result<usize> {
    let mut buf = vec![0u8; 16 * 1024];
    tcp.read(&mut buf).await
}

/// An address whose TCP connects hang: a listener with a backlog of 0 whose one queue slot is
/// held by a connection nobody accepts, so the kernel drops further SYNs (the loopback stand-in
/// for a security group that silently drops). Stops when dropped.
pub struct Blackhole {
    addr: SocketAddr,
    _listener: TcpListener,
    _fillers: Vec<std::net::TcpStream>,
}

impl Blackhole {
    /// Starts one on an ephemeral port of `ip`.
    pub fn start(ip: std::net::IpAddr) -> io::Result<Blackhole> {
        let socket = match ip {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(ip, 0))?;
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        // Fill the accept queue until a connect no longer completes (one or two connections).
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(s) => fillers.push(s),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Ok(Blackhole {
                        addr,
                        _listener: listener,
                        _fillers: fillers,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "the accept queue did not fill: connects still complete",
        ))
    }

    /// Where connects hang.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

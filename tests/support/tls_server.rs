//! TLS endpoints on loopback for tests: a rustls server (tokio-rustls) that serves a given chain
//! and key and answers one HTTP/1.1 request per connection as told by [`Reply`]; and the port
//! helpers that let several loopback addresses (127.0.0.1, .2, .3) serve one name on the SAME
//! port, the way every address of an NLB listens on 443.
//!
//! Servers stop when their handle is dropped. This module never judges what the client does.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;

use super::background::{Background, accept_each};
use super::pki::Leaf;

/// What the server does once the TLS handshake is done.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Reads the request head, answers `status` with `body`, closes.
    Http {
        /// The HTTP status code.
        status: u16,
        /// The response body.
        body: String,
    },
    /// Completes TLS, then reads and never answers (the connection stays open).
    Silent,
    /// Completes TLS and closes the connection at once (close_notify, then FIN).
    CloseAfterHandshake,
    /// Reads the request head, sends these bytes as they are (not necessarily HTTP), closes.
    Raw(Vec<u8>),
}

impl Reply {
    /// `200 OK` with a short body.
    pub fn ok() -> Reply {
        Reply::status(200)
    }

    /// The given status with a short body.
    pub fn status(status: u16) -> Reply {
        Reply::Http {
            status,
            body: format!("test backend says {status}\n"),
        }
    }
}

/// A socket holding a port on one address: listening, or bound but refusing connections.
pub enum PortHolder {
    /// A listening socket.
    Listening(TcpListener),
    /// Bound without listening: connections to it are refused, and nobody else can take the port.
    Refusing(TcpSocket),
}

impl PortHolder {
    /// The listener; panics when this address was asked to refuse.
    pub fn listener(self) -> TcpListener {
        match self {
            PortHolder::Listening(l) => l,
            PortHolder::Refusing(_) => panic!("this address was bound to refuse connections"),
        }
    }
}

/// Binds one port on every `(ip, listen)` pair: `listen == false` binds without listening (the
/// address refuses connections). Picks an ephemeral port on the first address and retries with a
/// new one when another address has it taken.
pub fn bind_same_port(addrs: &[(IpAddr, bool)]) -> io::Result<(u16, Vec<PortHolder>)> {
    let mut last_err = io::Error::other("no address given");
    'attempt: for _ in 0..50 {
        let mut port = 0;
        let mut holders = Vec::new();
        for &(ip, listen) in addrs {
            let socket = match ip {
                IpAddr::V4(_) => TcpSocket::new_v4()?,
                IpAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if let Err(e) = socket.bind(SocketAddr::new(ip, port)) {
                last_err = e;
                continue 'attempt;
            }
            port = socket.local_addr()?.port();
            holders.push(if listen {
                PortHolder::Listening(socket.listen(128)?)
            } else {
                PortHolder::Refusing(socket)
            });
        }
        return Ok((port, holders));
    }
    Err(last_err)
}

/// Binds a listener on an ephemeral port of `ip`.
pub async fn bind_one(ip: IpAddr) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::new(ip, 0)).await
}

/// A running TLS server; stops when dropped.
pub struct TlsServer {
    addr: SocketAddr,
    _task: Background,
}

impl TlsServer {
    /// Serves `leaf` (its chain and key) on `listener`, replying as `reply` says; TLS 1.2 and 1.3.
    pub fn serve(listener: TcpListener, leaf: &Leaf, reply: Reply) -> io::Result<TlsServer> {
        Self::serve_versions(listener, leaf, reply, rustls::DEFAULT_VERSIONS)
    }

    /// [`TlsServer::serve`] offering only the given protocol versions (e.g.
    /// `&[&rustls::version::TLS12]` for a TLS 1.2-only endpoint).
    pub fn serve_versions(
        listener: TcpListener,
        leaf: &Leaf,
        reply: Reply,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> io::Result<TlsServer> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(leaf.chain.clone(), leaf.key())
            })
            .map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let addr = listener.local_addr()?;
        let task = accept_each(listener, move |tcp| {
            let acceptor = acceptor.clone();
            let reply = reply.clone();
            async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = answer(tls, &reply).await;
                }
            }
        });
        Ok(TlsServer { addr, _task: task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn answer<S>(mut tls: S, reply: &Reply) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match reply {
        Reply::CloseAfterHandshake => tls.shutdown().await,
        Reply::Silent => {
            let mut buf = [0u8; 1024];
            while tls.read(&mut buf).await? > 0 {}
            std::future::pending::<()>().await;
            Ok(())
        }
        Reply::Raw(bytes) => {
            read_head(&mut tls).await?;
            tls.write_all(bytes).await?;
            tls.shutdown().await
        }
        Reply::Http { status, body } => {
            read_head(&mut tls).await?;
            let response = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                reason_phrase(*status),
                body.len()
            );
            tls.write_all(response.as_bytes()).await?;
            tls.shutdown().await
        }
    }
}

/// Reads until the end of the request head (bounded to 64 KiB).
async fn read_head<S: tokio::io::AsyncRead + Unpin>(tls: &mut S) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

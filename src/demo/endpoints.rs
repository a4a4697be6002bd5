//! The demo's endpoints: loopback TLS listeners playing a TLS-terminating load balancer. Each
//! decrypts and either forwards the connection to `edgewatch echo` with a PROXY v2 header (as an
//! NLB with `proxy_protocol_v2.enabled` does) or answers a fixed status itself (a load balancer
//! with no healthy backend).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::pki::ServedCert;
use crate::echo::proxy_protocol::encode_v2;

/// What stands behind a demo endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// `edgewatch echo` at this address, reached with a PROXY v2 header first.
    Echo(SocketAddr),
    /// No backend: the endpoint answers this status itself.
    Status(u16),
}

/// Longest a demo connection may live, so a stuck client cannot hold a task forever.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);
/// Largest request head read before a fixed answer.
const MAX_HEAD: usize = 16 * 1024;

/// Binds a TLS endpoint on 127.0.0.1 (ephemeral port) serving `cert` in front of `backend`.
pub async fn start(
    cert: &ServedCert,
    backend: Backend,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let config =
        rustls::ServerConfig::builder_with_provider(crate::pipeline::engine::crypto_provider())
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(cert.chain.clone(), cert.key())
            })
            .map_err(std::io::Error::other)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let work = serve_one(acceptor, tcp, peer, addr, backend);
                let _ = tokio::time::timeout(CONNECTION_LIMIT, work).await;
            });
        }
    });
    Ok((addr, task))
}

async fn serve_one(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    backend: Backend,
) -> std::io::Result<()> {
    let mut tls = acceptor.accept(tcp).await?;
    match backend {
        Backend::Echo(echo) => {
            let mut upstream = TcpStream::connect(echo).await?;
            upstream
                .write_all(&encode_v2(peer, local, &[], false))
                .await?;
            tokio::io::copy_bidirectional(&mut tls, &mut upstream).await?;
        }
        Backend::Status(status) => {
            read_head(&mut tls).await?;
            let body = "no healthy backend (edgewatch demo)\n";
            let reply = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                reason(status),
                body.len()
            );
            tls.write_all(reply.as_bytes()).await?;
            tls.shutdown().await?;
        }
    }
    Ok(())
}

/// Reads until the end of the request head (or `MAX_HEAD` bytes, or the peer's close).
async fn read_head(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

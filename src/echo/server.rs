//! The echo server: accept loop, PROXY header reading (bounded in size and time), and one hyper
//! HTTP/1.1 connection per client answering `EchoResponse` JSON. A silent, trickling or
//! garbage-sending client is dropped; nothing a client sends can panic the server. When every
//! connection slot is taken, a new connection evicts the longest-idle one (see
//! `ConnSlots`), so a keep-alive flood cannot starve health checks and probes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::proxy_protocol::{self, Parse, ProxyHeader, V2_MAX_LEN};
use super::response::proxy_info;
use super::rewind::Rewind;
use crate::connslots::{ConnSlots, Slot};
use crate::probe::echo_reply::{EchoResponse, ProxyInfo};
use crate::probe::http::NONCE_HEADER;

/// Whether connections start with a PROXY protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyMode {
    /// Never look for one (a header then reaches the HTTP parser as garbage: 400).
    Off,
    /// Use one when present (v1 or v2), else the TCP peer.
    Optional,
    /// Refuse connections without one (answer 400 and close).
    Required,
}

/// How the echo server behaves.
#[derive(Debug, Clone)]
pub struct EchoSettings {
    /// PROXY protocol handling.
    pub proxy_mode: ProxyMode,
    /// Who this server is (reported as `identity`).
    pub identity: Option<String>,
    /// Time allowed for the PROXY header and each request head to arrive in full.
    pub header_timeout: Duration,
    /// Longest a connection may stay open, keep-alive included.
    pub connection_timeout: Duration,
    /// Largest request head accepted (hyper's read buffer; at least 8 KiB).
    pub max_header_bytes: usize,
    /// Most connections open at once; a new one beyond it evicts the longest-idle connection
    /// (or is closed when every connection is mid-request).
    pub max_connections: usize,
}

impl Default for EchoSettings {
    fn default() -> Self {
        EchoSettings {
            proxy_mode: ProxyMode::Optional,
            identity: None,
            header_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            max_connections: 1024,
        }
    }
}

/// Most PROXY headers read at the start of one connection (the first is trusted, the rest are
/// reported); a connection sending more is refused.
const MAX_STACKED_HEADERS: usize = 4;

/// Serves until `shutdown` completes; connections already accepted finish on their own
/// (bounded by the connection timeout).
pub async fn serve(
    listener: TcpListener,
    settings: EchoSettings,
    shutdown: impl Future<Output = ()>,
) {
    let settings = Arc::new(settings);
    let slots = ConnSlots::new(settings.max_connections);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %err, "echo: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Every slot mid-request (nothing idle to evict): close this one at once rather than
        // let it wait unanswered.
        let Ok(slot) = slots.admit() else {
            drop(tcp);
            continue;
        };
        let settings = settings.clone();
        tokio::spawn(async move {
            let limit = settings.connection_timeout;
            tokio::select! {
                _ = tokio::time::timeout(limit, handle(tcp, peer, settings, slot.clone())) => {}
                _ = slot.evicted() => {}
            }
        });
    }
}

/// What is known of a connection before its first request.
#[derive(Debug, Clone)]
struct ConnInfo {
    peer: SocketAddr,
    proxy: Option<ProxyInfo>,
    client: SocketAddr,
}

async fn handle(mut tcp: TcpStream, peer: SocketAddr, settings: Arc<EchoSettings>, slot: Slot) {
    let (headers, rest) = if settings.proxy_mode == ProxyMode::Off {
        (Vec::new(), Vec::new())
    } else {
        match tokio::time::timeout(settings.header_timeout, read_proxy_headers(&mut tcp)).await {
            Ok(Ok(found)) => found,
            Ok(Err(why)) => return refuse(tcp, &why).await,
            Err(_) => return, // silent or trickling: drop without a word
        }
    };
    if headers.is_empty() && settings.proxy_mode == ProxyMode::Required {
        return refuse(tcp, "a PROXY protocol header is required").await;
    }
    let info = Arc::new(conn_info(peer, &headers));
    let header_timeout = settings.header_timeout;
    let max_buf = settings.max_header_bytes.max(8192);
    let io = TokioIo::new(Rewind::new(rest, tcp));
    let service = hyper::service::service_fn(move |req| {
        // Not evictable while answering (the answer is built at once and is small).
        let _busy = slot.busy();
        let response = answer(&req, &info, &settings);
        async move { Ok::<_, Infallible>(response) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(max_buf)
        .serve_connection(io, service)
        .await;
}

/// Reads PROXY headers at the start of the connection. Returns the headers (first = the load
/// balancer's) and the bytes read past them.
async fn read_proxy_headers(tcp: &mut TcpStream) -> Result<(Vec<ProxyHeader>, Vec<u8>), String> {
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut headers = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match proxy_protocol::parse(&buf) {
            Ok(Parse::Header(h, used)) => {
                headers.push(h);
                buf.drain(..used);
                if headers.len() > MAX_STACKED_HEADERS {
                    return Err(format!("more than {MAX_STACKED_HEADERS} PROXY headers"));
                }
                continue;
            }
            Ok(Parse::NotProxy) => return Ok((headers, buf)),
            Ok(Parse::Incomplete) => {}
            Err(err) => return Err(err.to_string()),
        }
        if buf.len() > V2_MAX_LEN {
            return Err("PROXY header too long".to_string());
        }
        let n = tcp.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            // Closed: a health check that sent only a header (or nothing) is done.
            return Ok((headers, buf));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn conn_info(peer: SocketAddr, headers: &[ProxyHeader]) -> ConnInfo {
    let Some((first, stacked)) = headers.split_first() else {
        return ConnInfo {
            peer,
            proxy: None,
            client: peer,
        };
    };
    let mut proxy = proxy_info(first);
    proxy.stacked = stacked.iter().map(proxy_info).collect();
    ConnInfo {
        peer,
        proxy: Some(proxy),
        // LOCAL (a health check) and UNKNOWN carry no client: the peer is the client.
        client: first.source.unwrap_or(peer),
    }
}

fn answer(
    req: &Request<Incoming>,
    info: &ConnInfo,
    settings: &EchoSettings,
) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let body = EchoResponse {
        client_ip: info.client.ip().to_string(),
        tcp_peer: info.peer.to_string(),
        proxy: info.proxy.clone(),
        x_forwarded_for: header("x-forwarded-for"),
        x_real_ip: header("x-real-ip"),
        forwarded: header("forwarded"),
        nonce: header(NONCE_HEADER),
        identity: settings.identity.clone(),
        host: header("host"),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string()),
    };
    let json = serde_json::to_vec_pretty(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(json)));
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        crate::probe::http::ECHO_MARKER_HEADER,
        hyper::header::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Answers 400 with the reason and closes: the client learns why instead of seeing a reset.
async fn refuse(mut tcp: TcpStream, why: &str) {
    let body = serde_json::json!({ "error": why }).to_string();
    let reply = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(reply.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

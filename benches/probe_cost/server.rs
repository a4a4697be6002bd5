//! The endpoints every tool probes, run in their own process (`probe_cost serve`) so their CPU
//! is never counted against a tool: a rustls TLS server presenting the bench chain with a tiny
//! HTTP/1.1 responder behind it, on the same port of several loopback addresses (127.0.0.1..k),
//! and a DNS server on 127.0.0.1 answering `bench.test` and `t<i>.bench.test` (`dns.rs`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::pki;

/// Where the endpoints listen; printed by the server process as one JSON line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoints {
    /// TLS port, the same on every address.
    pub port: u16,
    /// Number of loopback addresses served: 127.0.0.1 ..= 127.0.0.<ips>.
    pub ips: u8,
    /// The DNS server.
    pub dns: SocketAddr,
}

/// The address name `t<i>.bench.test` resolves to.
pub fn address_of(i: usize, ips: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (i % ips as usize) as u8)
}

/// The name of scale target `i`.
pub fn name_of(i: usize) -> String {
    format!("t{i}.{}", pki::ZONE)
}

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\
connection: close\r\n\r\nok\n";

/// Runs the endpoints until stdin closes (the driver holds the other end).
pub async fn serve(dir: &Path, ips: u8, names: usize) {
    let acceptor = acceptor(dir);
    let listeners = bind_all(ips).await;
    let port = listeners[0].local_addr().expect("bound").port();
    for l in listeners {
        tokio::spawn(accept_loop(l, acceptor.clone()));
    }
    let dns = crate::dns::start(ips, names).await;
    let endpoints = Endpoints { port, ips, dns };
    println!("{}", serde_json::to_string(&endpoints).expect("json"));
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

fn acceptor(dir: &Path) -> TlsAcceptor {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join(pki::CHAIN_PEM))
            .expect("chain file")
            .collect::<Result<_, _>>()
            .expect("chain PEM");
    let key = PrivateKeyDer::from_pem_file(dir.join(pki::KEY_PEM)).expect("key PEM");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// Binds 127.0.0.1..=127.0.0.<ips> on one port (retrying when another process holds it).
async fn bind_all(ips: u8) -> Vec<TcpListener> {
    'retry: for _ in 0..20 {
        let first = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let port = first.local_addr().expect("bound").port();
        let mut all = vec![first];
        for i in 1..ips {
            let addr = SocketAddr::new(IpAddr::V4(address_of(i as usize, ips)), port);
            match TcpListener::bind(addr).await {
                Ok(l) => all.push(l),
                Err(_) => continue 'retry,
            }
        }
        return all;
    }
    panic!("cannot bind one port on 127.0.0.1..=127.0.0.{ips}");
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(answer(tcp, acceptor.clone()));
    }
}

/// One connection: handshake, read the request head, answer 200 and close (with close_notify).
async fn answer(tcp: TcpStream, acceptor: TlsAcceptor) {
    let _ = tcp.set_nodelay(true);
    let Ok(mut tls) = acceptor.accept(tcp).await else {
        return;
    };
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    if tls.write_all(RESPONSE).await.is_ok() {
        let _ = tls.shutdown().await;
    }
}

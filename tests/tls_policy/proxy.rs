//! A TLS server behind a TCP proxy that forwards the first `n` connections (the normal probe's,
//! and maybe a few of the scan's) and then misbehaves: goes mute (reads, never answers) or
//! closes at once. What a listener that breaks mid-scan looks like.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::support::background::{Background, accept_each};
use crate::support::pki::Leaf;
use crate::support::tls_server::{Reply, TlsServer, bind_one};

/// What the proxy does after its first connections.
#[derive(Clone, Copy)]
pub enum After {
    /// Accept, read whatever comes, never answer.
    Mute,
    /// Close the connection as soon as it is accepted.
    Close,
}

/// The running proxy and server.
pub struct Proxy {
    /// The proxy's port on its address.
    pub port: u16,
    _server: TlsServer,
    _task: Background,
}

impl Proxy {
    /// Serves `leaf` at `ip` (on a fresh port), forwarding the first `n` connections.
    pub async fn start(ip: Ipv4Addr, leaf: &Leaf, n: usize, after: After) -> Proxy {
        let server = TlsServer::serve(
            bind_one(Ipv4Addr::LOCALHOST.into()).await.unwrap(),
            leaf,
            Reply::ok(),
        )
        .unwrap();
        let upstream: SocketAddr = server.addr();
        let listener = bind_one(ip.into()).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let task = accept_each(listener, move |mut tcp: TcpStream| {
            let nth = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if nth < n {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut up).await;
                    }
                    return;
                }
                match after {
                    After::Close => drop(tcp),
                    After::Mute => {
                        let mut buf = [0u8; 4096];
                        while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                }
            }
        });
        Proxy {
            port,
            _server: server,
            _task: task,
        }
    }
}

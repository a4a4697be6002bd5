//! Telling a closed nameserver port from a silent nameserver. An unconnected UDP socket never
//! hears the kernel's "port unreachable", so a closed port looks like a server that does not
//! answer; a connected one does. The resolver's own sockets are connected ([`super::dns_mux`]),
//! but what reaches the prober is hickory's verdict on all its connections ("no connections
//! available"), which other failures read too. One small query to each nameserver, sent when a
//! lookup failed that way or is already slow, says in milliseconds whether every one refuses.

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::join_all;
use tokio::net::UdpSocket;

/// How long a lookup may go unanswered before the nameservers are checked for a closed port
/// (a healthy answer, or one from the cache, comes well before).
pub(crate) const AFTER: Duration = Duration::from_millis(300);

/// How long to wait for the refusal (on loopback or a LAN it comes in well under a millisecond).
const WAIT: Duration = Duration::from_millis(500);

/// A query for the root's NS records: the smallest valid question (17 bytes).
const ROOT_NS_QUERY: [u8; 17] = [
    0x4e, 0x57, // id
    0x01, 0x00, // flags: recursion desired
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // one question
    0x00, // the root name
    0x00, 0x02, // NS
    0x00, 0x01, // IN
];

/// Whether every one of `servers` refuses a UDP query (nothing listens on its port). `false`
/// when there is none, or when any answers, stays silent or cannot be asked.
pub(crate) async fn all_refuse(servers: &[SocketAddr]) -> bool {
    !servers.is_empty()
        && join_all(servers.iter().map(|s| refuses(*s)))
            .await
            .into_iter()
            .all(|refused| refused)
}

async fn refuses(server: SocketAddr) -> bool {
    let any: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let Ok(socket) = UdpSocket::bind(any).await else {
        return false;
    };
    if socket.connect(server).await.is_err() {
        return false;
    }
    let refused = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionRefused;
    if let Err(e) = socket.send(&ROOT_NS_QUERY).await {
        return refused(&e);
    }
    let mut buf = [0u8; 512];
    matches!(tokio::time::timeout(WAIT, socket.recv(&mut buf)).await, Ok(Err(e)) if refused(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_refuses_and_a_silent_server_does_not() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(all_refuse(&[closed]).await);
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        assert!(!all_refuse(&[silent_addr]).await);
        assert!(
            !all_refuse(&[closed, silent_addr]).await,
            "one alive: not refused"
        );
        assert!(!all_refuse(&[]).await);
    }
}

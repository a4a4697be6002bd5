//! Item 3: `edgewatch echo` under a keep-alive flood. More clients than slots each hold a
//! keep-alive connection and send a full request every 4 s (reconnecting on their next tick when
//! closed); a good request on a new connection must still be answered, because it evicts the
//! longest-idle connection instead of waiting for a free slot.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

use crate::support::free_port;
use crate::world::BIN;

const SLOTS: usize = 50;
const FLOODERS: usize = 80;

async fn start_echo(max_connections: usize) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(BIN)
        .args(["echo", "--listen", &addr.to_string()])
        .args(["--max-connections", &max_connections.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("edgewatch echo did not start listening on {addr}");
}

/// One keep-alive request and its answer's first bytes.
async fn keep_alive_exchange(tcp: &mut TcpStream) -> std::io::Result<()> {
    tcp.write_all(b"GET /flood HTTP/1.1\r\nHost: flood\r\n\r\n")
        .await?;
    let mut buf = [0u8; 4096];
    match timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Ok(()),
        _ => Err(std::io::ErrorKind::ConnectionAborted.into()),
    }
}

/// Holds a keep-alive connection, a request every 4 s; reconnects on the next tick when closed.
async fn flooder(addr: SocketAddr) {
    let mut conn: Option<TcpStream> = None;
    loop {
        if conn.is_none() {
            conn = TcpStream::connect(addr).await.ok();
        }
        if let Some(tcp) = conn.as_mut()
            && keep_alive_exchange(tcp).await.is_err()
        {
            conn = None;
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
}

/// A fresh connection's request: the status line, within 5 s.
async fn good_request(addr: SocketAddr) -> Result<String, String> {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"GET /good HTTP/1.1\r\nHost: good\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    match timeout(Duration::from_secs(5), exchange).await {
        Ok(Ok(text)) => Ok(text.lines().next().unwrap_or_default().to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_request_is_answered_while_keep_alive_connections_hold_every_slot() {
    let (_echo, addr) = start_echo(SLOTS).await;
    let flood: Vec<_> = (0..FLOODERS).map(|_| tokio::spawn(flooder(addr))).collect();
    // Let the flood fill every slot and settle into its 4 s rhythm.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..4 {
        let started = Instant::now();
        let status = good_request(addr).await;
        eprintln!("good request {i}: {status:?} in {:?}", started.elapsed());
        assert_eq!(
            status.as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "good request {i} under a flood of {FLOODERS} keep-alive connections on {SLOTS} slots"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for f in flood {
        f.abort();
    }
}

//! `edgewatch echo` on loopback: PROXY v1/v2 (LOCAL, TLVs, stacked headers), the three modes,
//! and hostile clients (silent, trickling, oversized, garbage) that must be dropped without
//! harming the server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use edgewatch::echo::proxy_protocol::{V2_SIGNATURE, encode_v2};
use edgewatch::echo::{EchoSettings, ProxyMode};
use edgewatch::probe::echo_reply::EchoResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_millis(400);

async fn echo(mode: ProxyMode) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let settings = EchoSettings {
        proxy_mode: mode,
        identity: Some("dev/echo-0".into()),
        header_timeout: HEADER_TIMEOUT,
        ..EchoSettings::default()
    };
    tokio::spawn(edgewatch::echo::serve(
        listener,
        settings,
        std::future::pending(),
    ));
    addr
}

const REQUEST: &[u8] = b"GET /healthz?x=1 HTTP/1.1\r\nhost: myapp.example.test\r\n\
x-edgewatch-nonce: n-42\r\nx-forwarded-for: 192.0.2.1\r\nconnection: close\r\n\r\n";

/// Sends `bytes`, reads until the server closes (within 5 s); returns (status, body).
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out))
        .await
        .expect("server answered and closed")
        .ok();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn echoed(addr: SocketAddr, prefix: &[u8]) -> EchoResponse {
    let (status, body) = exchange(addr, &[prefix, REQUEST].concat()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not echo JSON ({e}): {body}"))
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn without_proxy_protocol_the_client_is_the_tcp_peer() {
    let addr = echo(ProxyMode::Optional).await;
    let e = echoed(addr, b"").await;
    assert_eq!(e.client_ip, "127.0.0.1");
    assert!(e.tcp_peer.starts_with("127.0.0.1:"));
    assert_eq!(e.proxy, None);
    assert_eq!(e.nonce.as_deref(), Some("n-42"));
    assert_eq!(e.x_forwarded_for.as_deref(), Some("192.0.2.1"));
    assert_eq!(e.identity.as_deref(), Some("dev/echo-0"));
    assert_eq!(e.host.as_deref(), Some("myapp.example.test"));
    assert_eq!(e.path, "/healthz?x=1");
}

#[tokio::test]
async fn v2_with_tlvs_gives_the_client_and_the_vpc_endpoint() {
    let addr = echo(ProxyMode::Required).await;
    let vpce = [&[0x01][..], b"vpce-08d2bf15fac5001c9"].concat();
    let header = encode_v2(
        sa("198.51.100.9:40000"),
        sa("10.0.1.2:443"),
        &[(0x04, vec![0; 3]), (0xEA, vpce)],
        true,
    );
    let e = echoed(addr, &header).await;
    assert_eq!(e.client_ip, "198.51.100.9");
    let p = e.proxy.expect("proxy info");
    assert_eq!((p.version, p.command.as_str()), (2, "proxy"));
    assert_eq!(p.source.as_deref(), Some("198.51.100.9:40000"));
    assert_eq!(p.destination.as_deref(), Some("10.0.1.2:443"));
    assert_eq!(p.vpce_id.as_deref(), Some("vpce-08d2bf15fac5001c9"));
    assert!(p.crc32c_verified);
}

#[tokio::test]
async fn v1_header_gives_the_client() {
    let addr = echo(ProxyMode::Optional).await;
    let e = echoed(addr, b"PROXY TCP4 203.0.113.4 10.0.0.1 5000 443\r\n").await;
    assert_eq!(e.client_ip, "203.0.113.4");
    assert_eq!(e.proxy.map(|p| p.version), Some(1));
}

#[tokio::test]
async fn v2_local_health_check_is_accepted_with_the_peer_as_client() {
    let addr = echo(ProxyMode::Required).await;
    let local = [&V2_SIGNATURE[..], &[0x20, 0x00, 0x00, 0x00]].concat();
    let e = echoed(addr, &local).await;
    assert_eq!(e.client_ip, "127.0.0.1");
    assert_eq!(e.proxy.map(|p| p.command), Some("local".to_string()));
    // A health check that sends only the header and hangs up harms nothing.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&local).await.unwrap();
    drop(tcp);
    assert_eq!(echoed(addr, &local).await.client_ip, "127.0.0.1");
}

#[tokio::test]
async fn a_second_header_is_reported_but_never_trusted() {
    let addr = echo(ProxyMode::Optional).await;
    let nlb = encode_v2(sa("203.0.113.4:5000"), sa("10.0.0.1:443"), &[], true);
    let spoofed = b"PROXY TCP4 1.2.3.4 10.0.0.1 1 443\r\n";
    let e = echoed(addr, &[&nlb[..], spoofed].concat()).await;
    assert_eq!(e.client_ip, "203.0.113.4");
    let p = e.proxy.expect("proxy");
    assert_eq!(p.stacked.len(), 1);
    assert_eq!(p.stacked[0].source.as_deref(), Some("1.2.3.4:1"));
}

#[tokio::test]
async fn required_mode_refuses_a_connection_without_a_header() {
    let addr = echo(ProxyMode::Required).await;
    let (status, body) = exchange(addr, REQUEST).await;
    assert_eq!(status, 400);
    assert!(body.contains("PROXY protocol header is required"), "{body}");
}

#[tokio::test]
async fn off_mode_treats_a_header_as_the_garbage_it_is() {
    let addr = echo(ProxyMode::Off).await;
    let header = encode_v2(sa("203.0.113.4:5000"), sa("10.0.0.1:443"), &[], false);
    let (status, _) = exchange(addr, &[&header[..], REQUEST].concat()).await;
    assert_eq!(status, 400);
    // Without a header it serves normally, the peer being the client.
    assert_eq!(echoed(addr, b"").await.client_ip, "127.0.0.1");
}

#[tokio::test]
async fn a_corrupt_header_is_refused_with_the_reason() {
    let addr = echo(ProxyMode::Optional).await;
    let mut header = encode_v2(sa("203.0.113.4:5000"), sa("10.0.0.1:443"), &[], true);
    header[17] ^= 0xff;
    let (status, body) = exchange(addr, &[&header[..], REQUEST].concat()).await;
    assert_eq!(status, 400);
    assert!(body.contains("CRC32C"), "{body}");
}

/// Connects, then sends `bytes` one at a time every `gap`; returns how long until the server
/// closed the connection.
async fn time_until_dropped(addr: SocketAddr, bytes: &[u8], gap: Duration) -> Duration {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = tcp.split();
    let trickle = async {
        for b in bytes {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(gap).await;
        }
        std::future::pending::<()>().await;
    };
    let mut sink = Vec::new();
    tokio::select! {
        _ = trickle => unreachable!(),
        _ = rd.read_to_end(&mut sink) => {},
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("never dropped"),
    }
    started.elapsed()
}

#[tokio::test]
async fn silent_and_trickling_clients_are_dropped_after_the_header_timeout() {
    let addr = echo(ProxyMode::Optional).await;
    let limit = HEADER_TIMEOUT + Duration::from_millis(1500);
    let silent = time_until_dropped(addr, b"", Duration::ZERO).await;
    assert!(silent < limit, "silent client kept {silent:?}");
    let gap = Duration::from_millis(100);
    let proxy =
        time_until_dropped(addr, b"PROXY TCP4 203.0.113.4 10.0.0.1 5000 443\r\n", gap).await;
    assert!(proxy < limit, "trickled PROXY header kept {proxy:?}");
    let http = time_until_dropped(addr, REQUEST, gap).await;
    assert!(http < limit, "trickled request head kept {http:?}");
}

#[tokio::test]
async fn oversized_heads_and_garbage_are_refused_and_the_server_lives_on() {
    let addr = echo(ProxyMode::Optional).await;
    let huge = format!(
        "GET / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (status, _) = exchange(addr, huge.as_bytes()).await;
    assert!(
        status == 431 || status == 0,
        "oversized head answered {status}"
    );
    let mut x: u32 = 7;
    for round in 0..50 {
        let mut junk: Vec<u8> = (0..(round * 37 % 2000))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        if round % 2 == 0 {
            junk.splice(0..0, V2_SIGNATURE);
        }
        let _ = exchange(addr, &junk).await;
    }
    assert_eq!(echoed(addr, b"").await.client_ip, "127.0.0.1");
}

#[tokio::test]
async fn the_echo_subcommand_serves_with_the_downward_api_identity_and_stops_on_sigterm() {
    let port = crate::support::free_port_on(std::net::Ipv4Addr::new(127, 0, 0, 20));
    let addr = sa(&format!("127.0.0.20:{port}"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .args([
            "echo",
            "--listen",
            &addr.to_string(),
            "--proxy-protocol",
            "required",
        ])
        .env("POD_NAME", "myapp-5f7c9d-abcde")
        .env("POD_NAMESPACE", "dev")
        .env_remove("EDGEWATCH_ECHO_IDENTITY")
        .kill_on_drop(true)
        .spawn()
        .expect("start edgewatch echo");
    let started = Instant::now();
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "echo never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let header = encode_v2(sa("203.0.113.4:5000"), addr, &[], true);
    let e = echoed(addr, &header).await;
    assert_eq!(e.client_ip, "203.0.113.4");
    assert_eq!(e.identity.as_deref(), Some("dev/myapp-5f7c9d-abcde"));
    let (status, _) = exchange(addr, REQUEST).await;
    assert_eq!(status, 400, "required mode refuses a bare request");

    let pid = child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("echo stopped on SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status}");
}

//! Item 2: `/metrics` under slow clients with few descriptors. The daemon runs under
//! `ulimit -n 256` while 300 connections trickle one byte a second at its listener (reconnecting
//! when dropped); a scrape made 10 s in must be answered within 3 s, and a healthy target's
//! probes must keep passing throughout (no probe may fail for lack of descriptors).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, timeout};

use crate::support::pki::Pki;
use crate::world::{BIN, World, free_listen, stderr_after};

const TRICKLERS: usize = 300;

fn daemon_with_nofile(config: &std::path::Path, nofile: u32) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" --config \"$1\""))
        .arg(BIN)
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sh (to set ulimit -n) must be installed")
}

/// `GET path` on a fresh connection: the whole answer, or why there was none within `limit`.
async fn get(addr: SocketAddr, path: &str, limit: Duration) -> Result<String, String> {
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await?;
        let head = format!("GET {path} HTTP/1.1\r\nHost: edgewatch\r\nConnection: close\r\n\r\n");
        tcp.write_all(head.as_bytes()).await?;
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
    };
    match timeout(limit, exchange).await {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}

/// Sends a request head one byte a second, forever; reconnects a second after being dropped.
async fn trickler(addr: SocketAddr) {
    let head = b"GET /metrics HTTP/1.1\r\nHost: slow\r\n";
    loop {
        if let Ok(mut tcp) = TcpStream::connect(addr).await {
            for byte in head.iter().cycle() {
                if tcp.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_is_answered_and_probes_pass_while_300_clients_trickle_under_ulimit_256() {
    let pki = Pki::new();
    let leaf = pki.good(&["good.example.test"]);
    let w = World::start(&pki, "good.example.test", &leaf).await;
    let listen = free_listen();
    let config = w.write_config(
        listen,
        &format!(
            "targets:\n  - host: good.example.test\n    name: good\n    port: {}\n",
            w.port
        ),
    );
    let daemon = daemon_with_nofile(&config, 256);
    let pid = daemon.id().unwrap();
    let mut up = false;
    for _ in 0..100 {
        if get(listen, "/healthz", Duration::from_secs(1))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "the daemon did not come up: {}",
        stderr_after(daemon, Duration::ZERO).await
    );
    let fds_before = open_fds(pid);

    let started = Instant::now();
    let flood: Vec<_> = (0..TRICKLERS)
        .map(|_| tokio::spawn(trickler(listen)))
        .collect();
    tokio::time::sleep_until(started + Duration::from_secs(10)).await;
    let fds_during = open_fds(pid);
    let asked = Instant::now();
    let scrape = get(listen, "/metrics", Duration::from_secs(3)).await;
    let took = asked.elapsed();
    // A second scrape, later in the flood: the probes kept passing all along.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = get(listen, "/metrics", Duration::from_secs(3)).await;
    let fds_late = open_fds(pid);
    for f in flood {
        f.abort();
    }
    let log = stderr_after(daemon, Duration::ZERO).await;
    eprintln!(
        "daemon fds: {fds_before} before, {fds_during} at 10 s, {fds_late} at 13 s; \
         scrape answered in {took:?}"
    );

    let scrape = scrape.unwrap_or_else(|e| panic!("scrape at 10 s: {e}\n{log}"));
    let later = later.unwrap_or_else(|e| panic!("scrape at 13 s: {e}\n{log}"));
    for text in [&scrape, &later] {
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert_eq!(
            sample(text, "edgewatch_probe_success{"),
            Some(1.0),
            "the healthy target must pass: {text}"
        );
        assert_eq!(
            sample(text, "edgewatch_probes_total{result=\"failure\"}"),
            None
        );
        assert_eq!(
            sample(
                text,
                "edgewatch_internal_errors_total{kind=\"no_descriptors\"}"
            ),
            Some(0.0),
            "{text}"
        );
    }
    assert!(
        sample(&later, "edgewatch_probes_total{result=\"success\"}").unwrap_or(0.0)
            > sample(&scrape, "edgewatch_probes_total{result=\"success\"}").unwrap_or(0.0),
        "probing went on"
    );
    assert!(!log.contains("check failing"), "{log}");
    assert!(!log.contains("Too many open files"), "{log}");
}

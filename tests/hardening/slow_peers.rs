//! Item 9: slow peers must not make due probes late. 400 targets every 5 s whose peers accept
//! the connection and never answer (each probe waits out its 2 s TLS timeout) need about 160
//! probes in flight. Two daemons probe the same peers side by side, so they share the machine's
//! load: one with the old fixed `concurrency: 64` (the reproduction: it cannot start the 80
//! probes due each second on time), one with the default sizing (the fix). The test compares
//! the two by counts (late starts, probes started), never by a time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpSocket;
use tokio::process::{Child, Command};

use crate::support::free_port;
use crate::support::pki::Pki;
use crate::world::{BIN, LOCALHOST, World, free_listen};

const TARGETS: usize = 400;
const PEERS: usize = 10;

/// A listener that never accepts: the kernel completes the TCP handshake and queues the
/// connection, the ClientHello is never read, the probe waits for its TLS timeout.
fn silent_peer() -> (tokio::net::TcpListener, u16) {
    let socket = TcpSocket::new_v4().expect("socket");
    let port = free_port();
    socket
        .bind(SocketAddr::from((LOCALHOST, port)))
        .expect("bind a silent peer");
    (socket.listen(4096).expect("listen"), port)
}

/// The daemon on `config`, its log in `log` (a file: 400 failing targets log more than a pipe
/// holds, and a full pipe would stall the daemon).
fn daemon_logging_to(config: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start the daemon")
}

/// The `/metrics` text of the daemon on `listen` (empty when it does not answer in 10 s).
async fn metrics(listen: SocketAddr) -> String {
    let url = format!("http://{listen}/metrics");
    let fetch = async { reqwest::get(&url).await?.text().await };
    match tokio::time::timeout(Duration::from_secs(10), fetch).await {
        Ok(Ok(text)) => text,
        _ => String::new(),
    }
}

/// The sum of every sample of `name` (all label sets).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_concurrency_keeps_probes_on_time_when_most_peers_are_silent() {
    let pki = Pki::new();
    let leaf = pki.good(&["slow.example.test"]);
    let w = World::start(&pki, "slow.example.test", &leaf).await;
    let peers: Vec<_> = (0..PEERS).map(|_| silent_peer()).collect();
    let targets: String = (0..TARGETS)
        .map(|i| {
            format!(
                "  - host: slow.example.test\n    name: slow-{i}\n    port: {}\n",
                peers[i % PEERS].1
            )
        })
        .collect();
    let run = |listen: SocketAddr, concurrency: &str, file: &str| {
        let yaml = format!(
            "interval: 5s\nlisten: {listen}\n{concurrency}resolver:\n  nameservers: [\"{}\"]\n\
             tls:\n  ca_file: {}\ntimeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 3s\n\
             targets:\n{targets}",
            w.dns,
            w.ca.path().display(),
        );
        let path = w.dir.path().join(file);
        std::fs::write(&path, yaml).unwrap();
        let log = path.with_extension("log");
        (daemon_logging_to(&path, &log), log)
    };
    let (old_listen, new_listen) = (free_listen(), free_listen());
    let old = run(old_listen, "concurrency: 64\n", "fixed-64.yaml");
    let new = run(new_listen, "", "default.yaml");

    // Two full intervals after both are up and past their first, randomly phased round.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (old_text, new_text) = (metrics(old_listen).await, metrics(new_listen).await);
    drop((old.0, new.0));
    let old_log = std::fs::read_to_string(&old.1).unwrap_or_default();
    let new_log = std::fs::read_to_string(&new.1).unwrap_or_default();
    assert!(
        !old_text.is_empty(),
        "the concurrency-64 daemon did not answer /metrics:\n{old_log}"
    );
    assert!(
        !new_text.is_empty(),
        "the default daemon did not answer /metrics:\n{new_log}"
    );

    let (old_late, new_late) = (
        total(&old_text, "edgewatch_probes_late_total"),
        total(&new_text, "edgewatch_probes_late_total"),
    );
    let (old_done, new_done) = (
        total(&old_text, "edgewatch_probes_total"),
        total(&new_text, "edgewatch_probes_total"),
    );
    eprintln!(
        "20 s, {TARGETS} silent targets every 5 s: concurrency 64 finished {old_done} probes, \
         {old_late} started late; default sizing finished {new_done}, {new_late} late"
    );
    // The reproduction: 64 slots held 2 s each start at most 32 probes a second of the 80 due.
    assert!(
        old_late > 100.0,
        "concurrency 64 should fall behind: {old_late} late"
    );
    // The fix: the same peers, the same machine, a small fraction of the late starts.
    assert!(
        new_late * 10.0 < old_late,
        "the default sizing must keep up: {new_late} late against {old_late} at 64"
    );
    assert!(
        new_done > old_done * 1.5,
        "the default sizing must finish more probes: {new_done} against {old_done}"
    );
    drop(peers);
}

//! Issue 11, item 1: a panic in one target's probe loop, end to end through the library. The real
//! daemon (`run::daemon::run`: supervisor, guarded loops, HTTP server) runs with the real engine
//! and one extra outcome sink that panics for one target, as a bug in any component would. No
//! input is known to panic any more, so the panic is injected through the public `OutcomeSink`
//! seam; the daemon has no test hook.
//!
//! What must hold: the other targets keep being probed; every panic is counted in
//! `edgewatch_internal_errors_total{kind="probe_loop_panic"}`; the panicking loop is restarted
//! after 1 s, 2 s, 4 s, ... ; `/healthz` answers 200 up to 5 panics and 503 after the sixth.
//! Six panics take 1+2+4+8+16 = 31 s of backoff, so this test runs about 35 s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgewatch::discovery::metrics::DiscoveryMetrics;
use edgewatch::export::OutcomeSink;
use edgewatch::export::metrics::Metrics;
use edgewatch::export::status_page::StatusPage;
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::run::daemon::internal::InternalErrors;
use edgewatch::run::daemon::schedule::ScheduleMetrics;
use edgewatch::run::daemon::{self, DaemonParts};
use edgewatch::run::{app, settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The target whose outcomes make the sink panic.
const BAD: &str = "bad.example.com";

/// Records when each target's outcome arrived, and panics on [`BAD`]'s (after recording it).
#[derive(Default)]
struct PanickingSink {
    seen: Mutex<HashMap<String, Vec<Instant>>>,
}

impl PanickingSink {
    fn times(&self, host: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(host).cloned().unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl OutcomeSink for PanickingSink {
    async fn observe(&self, outcome: &Outcome) {
        let host = outcome.target.hostname.clone();
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host.clone())
            .or_default()
            .push(Instant::now());
        if host == BAD {
            panic!("injected panic for {host} (a bug in a component, as far as the loop knows)");
        }
    }

    async fn forget(&self, _name: &str) {}
}

/// `GET path` on loopback: the status line and the body.
async fn get(port: u16, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the daemon's listener");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    body
}

async fn healthz_status(port: u16) -> u16 {
    let answer = get(port, "/healthz").await;
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

async fn panics_counted(port: u16) -> u64 {
    let metrics = get(port, "/metrics").await;
    metrics
        .lines()
        .find(|l| l.starts_with("edgewatch_internal_errors_total{kind=\"probe_loop_panic\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no probe_loop_panic series in /metrics"))
}

/// Waits (up to `limit`) until `host` has been observed `n` times; returns when it was.
async fn wait_observed(sink: &PanickingSink, host: &str, n: usize, limit: Duration) -> Instant {
    let end = Instant::now() + limit;
    loop {
        if let Some(t) = sink.times(host).get(n - 1) {
            return *t;
        }
        assert!(
            Instant::now() < end,
            "{host} observed {} times, {n} expected within {limit:?}",
            sink.times(host).len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_probe_loop_is_counted_restarted_with_backoff_and_turns_healthz_503() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgewatch.yaml");
    let port = free_port();
    // Every probe fails fast at DNS (a closed loopback port): probing, not passing, is the point.
    let yaml = format!(
        "listen: 127.0.0.1:{port}\ninterval: 1s\nresolver:\n  nameservers: [\"127.0.0.1:{}\"]\n  \
         timeout: 200ms\ntargets:\n  - host: good-a.example.com\n  - host: {BAD}\n  \
         - host: good-b.example.com\n",
        free_port()
    );
    std::fs::write(&path, yaml).unwrap();
    let settings = settings::load(Some(&path), &[]).expect("a valid config");

    let registry = prometheus::Registry::new();
    let metrics = Arc::new(Metrics::new(&registry));
    let engine = Arc::new(app::engine(&settings, &registry, false).expect("engine"));
    // Wired as `run::app` wires it: the status page reads the store the metrics keep.
    let status = Arc::new(StatusPage::new(metrics.latest(), settings.interval));
    let sink = Arc::new(PanickingSink::default());
    let sinks: Vec<Arc<dyn OutcomeSink>> = vec![metrics.clone(), sink.clone()];
    let parts = DaemonParts {
        settings,
        config_path: Some(path.clone()),
        flag_targets: Vec::new(),
        engine,
        metrics,
        discovery_metrics: DiscoveryMetrics::register(&registry),
        schedule_metrics: ScheduleMetrics::register(&registry),
        internal_errors: InternalErrors::register(&registry),
        sinks,
        status,
        sources: Vec::new(),
        hangup: None,
        shard: None,
    };
    let daemon = tokio::spawn(daemon::run(parts));

    // Up to five panics: each is counted, the loop comes back after the doubling backoff, and
    // the daemon still calls itself healthy.
    let mut bad = vec![wait_observed(&sink, BAD, 1, Duration::from_secs(10)).await];
    for n in 2..=5 {
        bad.push(wait_observed(&sink, BAD, n, Duration::from_secs(30)).await);
        let backoff = Duration::from_secs(1 << (n - 2));
        let gap = bad[n - 1] - bad[n - 2];
        assert!(
            gap >= backoff,
            "restart {} came {gap:?} after the panic; backoff is {backoff:?}",
            n - 1
        );
        // Restart after the backoff plus a random phase of the 1 s interval (and a loaded CI).
        assert!(
            gap < backoff + Duration::from_secs(4),
            "restart {} came {gap:?} after the panic; backoff is {backoff:?}",
            n - 1
        );
    }
    wait_until(
        || async { panics_counted(port).await == 5 },
        "5 panics counted",
    )
    .await;
    assert_eq!(
        healthz_status(port).await,
        200,
        "5 panics in 10 min are tolerated"
    );

    // The sixth panic (after 16 s more) turns /healthz red.
    bad.push(wait_observed(&sink, BAD, 6, Duration::from_secs(30)).await);
    assert!(bad[5] - bad[4] >= Duration::from_secs(16));
    wait_until(
        || async { healthz_status(port).await == 503 },
        "/healthz 503",
    )
    .await;
    assert_eq!(panics_counted(port).await, 6);

    // Meanwhile the healthy targets were probed about once a second, through every backoff.
    for host in ["good-a.example.com", "good-b.example.com"] {
        let times = sink.times(host);
        let during: Vec<_> = bad
            .windows(2)
            .map(|w| times.iter().filter(|t| **t > w[0] && **t < w[1]).count())
            .collect();
        assert!(
            during.iter().all(|n| *n >= 1),
            "{host} was probed between every two panics: {during:?}"
        );
        let span = bad[5] - bad[0];
        assert!(
            times.len() as f64 >= span.as_secs_f64() * 0.5,
            "{host}: {} probes in {span:?} at a 1 s interval",
            times.len()
        );
    }
    daemon.abort();
}

/// Polls `f` every 50 ms for up to 10 s.
async fn wait_until<F, Fut>(f: F, what: &str)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

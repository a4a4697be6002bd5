//! The figure run of issue 16 (a measurement, not a test: `#[ignore]`d, figures printed): 10
//! replicas of the built binary share 100,000 static targets through Leases on the test API
//! server. The targets are 100,000 names (`t<i>`) on 4 loopback TLS servers (127.0.0.1-4, one
//! port, a certificate for the 4 addresses): addresses, not DNS names, because the test DNS
//! server looks names up by a scan of its records, too slow for 100,000 of them. Printed: what each
//! replica owns, the probes and late probes of one interval, each replica's peak RSS (VmHWM),
//! and how many targets moved when one replica was killed (SIGKILL) and when it came back.
//!
//! Run (release binary, about 13 minutes):
//! `cargo build --release && EDGEWATCH_BIN=target/release/edgewatch \
//!  cargo test --test shard figure -- --ignored --nocapture`
//! `FIGURE_INTERVAL_S` changes the probe interval (default 600), `FIGURE_RUN_S` how long the
//! replicas probe before one is killed (default: the interval and a tenth, so every target is
//! probed once). On a loaded machine (other builds), the figures of the report were taken with
//! a shorter window: the run says how many probes it saw.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::support::free_port;
use crate::support::kube_api::KubeApi;
use crate::support::pki::Pki;
use crate::support::tls_server::{Reply, TlsServer, bind_same_port};

const REPLICAS: usize = 10;
const TARGETS: usize = 100_000;
const SERVERS: u8 = 4;

struct Fig {
    name: String,
    listen: u16,
    child: Child,
}

impl Fig {
    async fn get(&self, path: &str) -> Option<String> {
        let url = format!("http://127.0.0.1:{}{path}", self.listen);
        reqwest::get(url).await.ok()?.text().await.ok()
    }

    async fn shard(&self) -> Option<Value> {
        serde_json::from_str(&self.get("/shard").await?).ok()
    }

    async fn owned(&self) -> BTreeSet<String> {
        let s = self.shard().await.expect("/shard answers");
        s["owned"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// (VmHWM, VmRSS) in MiB, from /proc.
    fn memory(&self) -> (f64, f64) {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kb = |key: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }

    /// The sum of a fleet counter's samples.
    async fn counter(&self, name: &str) -> f64 {
        let body = self.get("/metrics").await.unwrap_or_default();
        body.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

fn spawn(bin: &str, config: &std::path::Path, api: &KubeApi, name: &str) -> Fig {
    let listen = free_port();
    let child = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .args(["--listen", &format!("127.0.0.1:{listen}")])
        .args(["--replica", name])
        .env_remove("KUBECONFIG")
        .env_remove("POD_NAMESPACE")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    Fig {
        name: name.to_string(),
        listen,
        child,
    }
}

/// Waits (up to 20 minutes: ten processes parse a 3 MB config at once) until `/readyz` is 200.
async fn ready(f: &Fig) {
    let url = format!("http://127.0.0.1:{}/readyz", f.listen);
    let start = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    loop {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1200),
            "{} never ready",
            f.name
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every replica sees exactly `n` members; returns how long that took.
async fn wait_members(figs: &[&Fig], n: usize) -> Duration {
    let start = Instant::now();
    for f in figs {
        loop {
            let m = f
                .shard()
                .await
                .map(|s| s["members"].as_array().map(Vec::len));
            if m == Some(Some(n)) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(300), "{}", f.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    start.elapsed()
}

/// Owner of each target, from every replica's `/shard`; panics on a target owned twice.
async fn owners(figs: &[&Fig]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in figs {
        for t in f.owned().await {
            if let Some(other) = out.insert(t.clone(), f.name.clone()) {
                panic!("{t} owned by {other} and {}", f.name);
            }
        }
    }
    out
}

fn moved(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> usize {
    before
        .iter()
        .filter(|(t, o)| after.get(*t) != Some(*o))
        .count()
}

// More workers than cores: the test process serves the 4 TLS servers, DNS and the API server to
// 10 replicas, and must keep its share of a busy machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
#[ignore = "a 13-minute measurement run; see the module comment"]
async fn figure_ten_replicas_share_100_000_static_targets() {
    let _serial = crate::SERIAL.lock().await;
    let interval: u64 = std::env::var("FIGURE_INTERVAL_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let bin = std::env::var("EDGEWATCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_edgewatch").to_string());
    let pki = Pki::new();
    let leaf = pki.good(&["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let ca = pki.write_root_pem();
    let ips: Vec<Ipv4Addr> = (1..=SERVERS).map(|i| Ipv4Addr::new(127, 0, 0, i)).collect();
    let (port, holders) = bind_same_port(
        &ips.iter()
            .map(|ip| (IpAddr::V4(*ip), true))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let _servers: Vec<TlsServer> = holders
        .into_iter()
        .map(|h| TlsServer::serve(h.listener(), &leaf, Reply::ok()).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "interval: {interval}s\n\
         timeouts: {{connect: 5s, tls: 5s, http: 5s, probe: 15s}}\ntls:\n  ca_file: {}\n\
         shard:\n  enabled: true\n  lease_duration: 15s\n  namespace: edgewatch\ntargets:\n",
        ca.path().display()
    );
    for i in 0..TARGETS {
        let ip = ips[i % ips.len()];
        config.push_str(&format!("- name: t{i}\n  host: {ip}:{port}\n"));
    }
    let path = dir.path().join("edgewatch.yaml");
    std::fs::write(&path, &config).unwrap();
    eprintln!(
        "figure: {REPLICAS} replicas, {TARGETS} targets over {SERVERS} loopback TLS servers, \
         interval {interval}s, lease 15s, config {:.1} MB, binary {bin}",
        config.len() as f64 / 1e6
    );
    let api = KubeApi::start().await;

    // All replicas at once, as a Deployment's pods start.
    let started = Instant::now();
    let mut figs: Vec<Fig> = (0..REPLICAS)
        .map(|i| spawn(&bin, &path, &api, &format!("r{i}")))
        .collect();
    for f in &figs {
        ready(f).await;
    }
    let refs: Vec<&Fig> = figs.iter().collect();
    wait_members(&refs, REPLICAS).await;
    eprintln!(
        "all {REPLICAS} ready and agreeing on the members {:.1}s after start",
        started.elapsed().as_secs_f64()
    );
    let before = owners(&refs).await;
    assert_eq!(before.len(), TARGETS, "every target owned exactly once");
    let mut shares = BTreeMap::new();
    for o in before.values() {
        *shares.entry(o.clone()).or_insert(0usize) += 1;
    }
    eprintln!("owned per replica: {shares:?}");

    // One interval (plus a tenth) so every target is probed at least once, unless told.
    let run_s: u64 = std::env::var("FIGURE_RUN_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(interval + interval / 10);
    let run = Duration::from_secs(run_s);
    let t0 = Instant::now();
    while t0.elapsed() < run {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let mut probes = 0.0;
        for f in &figs {
            probes += f.counter("edgewatch_probes_total").await;
        }
        eprintln!(
            "  {:>4.0}s: {probes} probes so far",
            t0.elapsed().as_secs_f64()
        );
    }
    let (mut probes, mut late, mut failed) = (0.0, 0.0, 0.0);
    for f in &figs {
        probes += f.counter("edgewatch_probes_total").await;
        late += f.counter("edgewatch_probes_late_total").await;
        let body = f.get("/metrics").await.unwrap_or_default();
        failed += body
            .lines()
            .filter(|l| l.starts_with("edgewatch_probes_total{") && l.contains("failure"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    eprintln!(
        "after {:.0}s: {probes} probes ({failed} failed), {late} late",
        t0.elapsed().as_secs_f64()
    );
    for f in &figs {
        let (hwm, rss) = f.memory();
        eprintln!(
            "  {}: owns {}, peak RSS {hwm:.1} MiB, RSS now {rss:.1} MiB",
            f.name, shares[&f.name]
        );
    }

    // One replica dies without a goodbye.
    let mut gone = figs.pop().unwrap();
    let gone_share = shares[&gone.name];
    let killed = Instant::now();
    gone.child.start_kill().unwrap();
    let _ = gone.child.wait().await;
    let refs: Vec<&Fig> = figs.iter().collect();
    let took = wait_members(&refs, REPLICAS - 1).await;
    let after = owners(&refs).await;
    assert_eq!(after.len(), TARGETS, "every target owned after the kill");
    eprintln!(
        "SIGKILL of {} (owned {gone_share}): {} targets moved; the others own everything {:.1}s \
         after the kill (lease 15s; members agreed after {:.1}s)",
        gone.name,
        moved(&before, &after),
        killed.elapsed().as_secs_f64(),
        took.as_secs_f64()
    );

    // It comes back under the same name.
    let back = spawn(&bin, &path, &api, &gone.name);
    ready(&back).await;
    figs.push(back);
    let refs: Vec<&Fig> = figs.iter().collect();
    wait_members(&refs, REPLICAS).await;
    let rejoined = owners(&refs).await;
    assert_eq!(rejoined.len(), TARGETS);
    eprintln!(
        "{} back: {} targets moved (to it: {}); same owners as at the start: {}",
        gone.name,
        moved(&after, &rejoined),
        rejoined.values().filter(|o| **o == gone.name).count(),
        rejoined == before
    );
    for f in &figs {
        let (hwm, rss) = f.memory();
        eprintln!("  {}: peak RSS {hwm:.1} MiB, RSS now {rss:.1} MiB", f.name);
    }
}

//! `--once` at fleet size (issue 15): a measurement harness, not a test of speed. Ignored by
//! default; run it against a release build:
//!
//! ```text
//! cargo build --release --bin edgewatch
//! cargo test --test once_fleet -- --ignored --nocapture
//! FLEET_TARGETS=2000 FLEET_FORMATS=text FLEET_STRACE=1 cargo test --test once_fleet -- --ignored --nocapture
//! ```
//!
//! The fleet, on loopback only: `FLEET_TARGETS` (default 10,000) distinct names
//! `t<i>.fleet.test` served by a hickory DNS server, spread over four TLS servers on
//! 127.0.0.1..4 presenting one wildcard leaf (`*.fleet.test`, rcgen, with its intermediate).
//! For each format in `FLEET_FORMATS` (default `json,text`) it runs the binary at `FLEET_BIN`
//! (default `target/release/edgewatch`) under `/usr/bin/time -v` and prints its peak RSS, CPU
//! (user + system) per target, wall time and document size; for JSON also the first batch's
//! `connect_ms` beside the steady state's. `FLEET_STRACE=1` adds a `strace -c -f` run (syscall
//! counts and kernel time by call). The servers run in this test's process, so their CPU is
//! never counted against edgewatch. The only assertions are that the run worked (exit code 0,
//! every target reported): figures are printed, never judged.

#[path = "../support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::dns::{DnsServer, Zone};
use support::pki::Pki;
use support::tls_server::{Reply, TlsServer, bind_one};

const ZONE: &str = "fleet.test";
const SERVERS: u8 = 4;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn require(tool: &str) {
    assert!(
        Path::new(tool).exists(),
        "{tool} is missing: install it (.ci/install-test-deps.sh installs `time` and `strace`)"
    );
}

/// What `/usr/bin/time -v` said of one run.
#[derive(Debug, Default)]
struct Usage {
    peak_rss_kb: u64,
    user_s: f64,
    system_s: f64,
    wall: String,
}

fn parse_time_v(stderr: &str) -> Usage {
    let mut u = Usage::default();
    for line in stderr.lines().map(str::trim) {
        let value = || line.rsplit(": ").next().unwrap_or("").trim().to_string();
        if line.starts_with("Maximum resident set size") {
            u.peak_rss_kb = value().parse().unwrap_or(0);
        } else if line.starts_with("User time") {
            u.user_s = value().parse().unwrap_or(0.0);
        } else if line.starts_with("System time") {
            u.system_s = value().parse().unwrap_or(0.0);
        } else if line.starts_with("Elapsed (wall clock)") {
            u.wall = value();
        }
    }
    u
}

/// The config for `n` targets: target `i` is `t<i>.fleet.test` on server `i % SERVERS`.
fn config(dir: &Path, dns: std::net::SocketAddr, ca: &Path, ports: &[u16], n: usize) -> PathBuf {
    let mut yaml = format!(
        "resolver:\n  nameservers: [\"{dns}\"]\n  timeout: 2s\n\
         tls:\n  ca_file: {ca}\nbackend:\n  path: /\n  expect_status: \"200\"\ntargets:\n",
        ca = ca.display(),
    );
    if let Ok(c) = std::env::var("FLEET_CONCURRENCY") {
        yaml = format!("concurrency: {c}\n{yaml}");
    }
    for i in 0..n {
        let port = ports[i % ports.len()];
        let _ = writeln!(yaml, "  - host: t{i}.{ZONE}\n    port: {port}");
    }
    let path = dir.join("fleet.yaml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

/// Median of `v` (sorted in place); NaN when empty.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The first batch's connect times (the endpoints of the `batch` earliest-started probes)
/// against the rest's, as medians and maxima.
fn connect_figures(doc: &serde_json::Value, batch: usize) -> String {
    let mut probes: Vec<(String, Vec<f64>)> = doc["targets"]
        .as_array()
        .expect("targets array")
        .iter()
        .filter_map(|t| {
            let facts = &t["facts"];
            let started = facts["started_at"].as_str()?.to_string();
            let connects = facts["endpoints"]
                .as_array()?
                .iter()
                .filter_map(|e| e["connect_ms"].as_f64())
                .collect();
            Some((started, connects))
        })
        .collect();
    probes.sort_by(|a, b| a.0.cmp(&b.0));
    let split = batch.min(probes.len());
    let mut first: Vec<f64> = probes[..split].iter().flat_map(|p| p.1.clone()).collect();
    let mut rest: Vec<f64> = probes[split..].iter().flat_map(|p| p.1.clone()).collect();
    let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    format!(
        "connect_ms first {split} probes: median {:.2} max {:.2}; the other {}: median {:.2} max {:.2}",
        median(&mut first),
        max(&first),
        rest.len(),
        median(&mut rest),
        max(&rest),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement harness: run with --ignored against a release build"]
async fn once_at_fleet_size_figures() {
    require("/usr/bin/time");
    let n: usize = env_or("FLEET_TARGETS", "10000")
        .parse()
        .expect("FLEET_TARGETS");
    let bin = PathBuf::from(env_or(
        "FLEET_BIN",
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/edgewatch"),
    ));
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release",
        bin.display()
    );

    let pki = Pki::new();
    let leaf = pki.good(&[&format!("*.{ZONE}")]);
    let mut servers = Vec::new();
    for k in 1..=SERVERS {
        let listener = bind_one(Ipv4Addr::new(127, 0, 0, k).into()).await.unwrap();
        servers.push(TlsServer::serve(listener, &leaf, Reply::ok()).unwrap());
    }
    let ports: Vec<u16> = servers.iter().map(|s| s.addr().port()).collect();
    let mut zone = Zone::new();
    for i in 0..n {
        let ip = Ipv4Addr::new(127, 0, 0, 1 + (i % SERVERS as usize) as u8);
        zone = zone.a(&format!("t{i}.{ZONE}"), &[ip]);
    }
    let dns = DnsServer::start(zone).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.write_root_pem_in(dir.path());
    let config = config(dir.path(), dns.addr(), ca.path(), &ports, n);

    for format in env_or("FLEET_FORMATS", "json,text").split(',') {
        let out_path = dir.path().join(format!("report.{format}"));
        let (bin, config, out) = (bin.clone(), config.clone(), out_path.clone());
        let format_arg = format.to_string();
        let run = tokio::task::spawn_blocking(move || {
            Command::new("/usr/bin/time")
                .arg("-v")
                .arg(&bin)
                .args(["--once", "--config"])
                .arg(&config)
                .args(["--output", &format_arg])
                .stdout(std::fs::File::create(&out).unwrap())
                .output()
                .expect("run edgewatch under /usr/bin/time")
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.code(),
            Some(0),
            "edgewatch --once failed: {stderr}"
        );
        let u = parse_time_v(&stderr);
        let bytes = std::fs::metadata(&out_path).unwrap().len();
        let cpu_ms = (u.user_s + u.system_s) * 1000.0;
        println!(
            "--once {format}, {n} targets: peak RSS {:.1} MB, CPU {:.2} s (user {:.2}, system {:.2}) = {:.3} ms/target, wall {}, report {:.1} MB",
            u.peak_rss_kb as f64 / 1024.0,
            cpu_ms / 1000.0,
            u.user_s,
            u.system_s,
            cpu_ms / n as f64,
            u.wall,
            bytes as f64 / 1e6,
        );
        let text = std::fs::read_to_string(&out_path).unwrap();
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
            assert_eq!(doc["summary"]["targets"], n, "every target reported");
            assert_eq!(doc["ok"], true, "every target passes: {}", &text[..2000]);
            for batch in [64, 256] {
                println!("  {}", connect_figures(&doc, batch));
            }
        } else {
            let last = text.lines().last().unwrap_or("");
            assert_eq!(last, format!("{n} target(s), 0 failing"));
        }
    }

    if env_or("FLEET_STRACE", "0") == "1" {
        require("/usr/bin/strace");
        let summary = dir.path().join("strace.txt");
        let (bin, config, s) = (bin.clone(), config.clone(), summary.clone());
        let run = tokio::task::spawn_blocking(move || {
            Command::new("/usr/bin/strace")
                .args(["-c", "-f", "-o"])
                .arg(&s)
                .arg(&bin)
                .args(["--once", "--config"])
                .arg(&config)
                .args(["--output", "json"])
                .stdout(std::process::Stdio::null())
                .output()
                .expect("run edgewatch under strace")
        })
        .await
        .unwrap();
        assert_eq!(
            run.status.code(),
            Some(0),
            "edgewatch --once under strace failed"
        );
        println!("strace -c -f, --once json, {n} targets:");
        println!("{}", std::fs::read_to_string(&summary).unwrap());
    }
}

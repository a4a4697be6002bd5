//! Scale: the real `edgewatch` daemon with many targets (`t<i>.bench.test`, spread over the
//! served loopback addresses) at a fixed interval, pinned to one core. After one interval of
//! warm-up (every target has had its first probe), it measures one window: the CPU share of
//! one core, probes done, peak RSS, and the late probes and lag histogram from `/metrics`.
//! Also the idle daemon: one target every hour, so nothing is due while it is watched.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::paired::{self, Paired};
use crate::procfs;
use crate::server::{Endpoints, name_of};
use crate::{edgewatch, pinned, syscalls};

/// What one scale run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleResult {
    /// Targets configured.
    pub targets: usize,
    /// Probe interval, seconds.
    pub interval_s: f64,
    /// Measurement window, seconds.
    pub window_s: f64,
    /// Probes completed in the window (`edgewatch_probes_total`).
    pub probes: u64,
    /// Probes that passed every check.
    pub ok: u64,
    /// CPU seconds / window seconds (1.0 = one core busy).
    pub cpu_share: f64,
    /// CPU milliseconds per probe of the daemon in steady state.
    pub cpu_ms_per_probe: f64,
    /// `edgewatch_probes_late_total` at the end (whole run, warm-up included).
    pub late: u64,
    /// Cumulative `edgewatch_probe_schedule_lag_seconds` buckets: (le, count).
    pub lag_buckets: Vec<(String, u64)>,
    /// Peak RSS before the final scrape, KiB.
    pub hwm_kib: u64,
    /// Peak RSS after the final scrape (rendering /metrics), KiB.
    pub hwm_after_scrape_kib: u64,
    /// CPU milliseconds one /metrics scrape cost the daemon: its CPU during the scrape, less
    /// the probing it went on doing meanwhile (the window's CPU rate times the scrape's wall).
    pub scrape_cpu_ms: f64,
    /// The daemon's CPU milliseconds during the scrape, probing included.
    pub scrape_raw_ms: f64,
    /// The probes started while the scrape was being written, and how late.
    pub during_scrape: LagDuring,
    /// Wall milliseconds one /metrics scrape took.
    pub scrape_wall_ms: f64,
    /// Context switches of the daemon's threads per probe in the window.
    pub switches_per_probe: f64,
    /// Syscalls per probe, from `strace -c -f` attached after the window (`None`: not run).
    pub syscalls: Option<(f64, Vec<(String, u64)>)>,
    /// Allocations per probe, from the same daemon hosted in the bench (`None`: not run).
    pub allocs_per_probe: Option<f64>,
    /// Daemon windows paired with runs of the loop and `--once` (empty: not paired).
    pub paired: Paired,
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(
    dir: &Path,
    bin: &Path,
    config: String,
    core: Option<&str>,
    tag: &str,
) -> (Daemon, String) {
    let listen = crate::free_port();
    let config = config.replace("listen: LISTEN", &format!("listen: {listen}"));
    let path = dir.join(format!("edgewatch-{tag}.yaml"));
    std::fs::write(&path, config).expect("write config");
    let log = std::fs::File::create(dir.join(format!("edgewatch-{tag}.log"))).expect("log file");
    let child = pinned(core, bin)
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start edgewatch");
    let until = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&listen).await.is_err() {
        assert!(Instant::now() < until, "edgewatch did not start listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Daemon(child), listen)
}

/// A scale run's times.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The probe interval.
    pub interval: Duration,
    /// The measured window, after one interval of warm-up.
    pub window: Duration,
    /// How long strace watches after the window (`None`: no syscall count).
    pub strace_window: Option<Duration>,
}

/// Runs the daemon with `n` targets; measures one `window` after one `interval` of warm-up,
/// then (last: stopping the daemon makes its probes late) the windows `pairing` asks for.
pub async fn run(
    dir: &Path,
    ep: &Endpoints,
    bin: &Path,
    n: usize,
    timing: Timing,
    core: Option<&str>,
    pairing: Option<&paired::Plan>,
) -> ScaleResult {
    let Timing {
        interval,
        window,
        strace_window,
    } = timing;
    let hosts: Vec<String> = (0..n).map(name_of).collect();
    let secs = format!("{}ms", interval.as_millis());
    let config = edgewatch::config(dir, ep, &hosts, &secs, 64, "LISTEN", true);
    let (daemon, listen) = start(dir, bin, config, core, &n.to_string()).await;
    let pid = daemon.0.id().to_string();
    tokio::time::sleep(interval + Duration::from_secs(1)).await;
    let before = Scrape::get(&listen).await;
    let sw0 = procfs::ctx_switches(&pid);
    let cpu0 = procfs::cpu_seconds(&pid);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let cpu1 = procfs::cpu_seconds(&pid);
    let sw1 = procfs::ctx_switches(&pid);
    let window_s = started.elapsed().as_secs_f64();
    let hwm_kib = procfs::status_kib(&pid, "VmHWM");
    let scrape_started = Instant::now();
    let after = Scrape::get(&listen).await;
    let scrape_wall_ms = scrape_started.elapsed().as_secs_f64() * 1e3;
    let scrape_raw_ms = (procfs::cpu_seconds(&pid) - cpu1) * 1e3;
    // The daemon keeps probing while it streams the scrape (one core, the scrape yields between
    // chunks): that CPU, at the window's rate, is not the scrape's.
    let cpu_share = (cpu1 - cpu0) / window_s;
    let scrape_cpu_ms = (scrape_raw_ms - cpu_share * scrape_wall_ms).max(0.0);
    // Read right after: its counters (written first) are as of the end of the big scrape, and
    // `after`'s as of its start. Probes that started during the scrape, and how late.
    let post = Scrape::get(&listen).await;
    let during = LagDuring::between(&after, &post);
    let probes = after.probes.saturating_sub(before.probes);
    // Last: tracing slows the daemon, so its late probes were read before.
    let syscalls = match strace_window {
        Some(w) => {
            let s0 = Scrape::get(&listen).await;
            let traced = syscalls::attach(&pid, &dir.join(format!("strace-{n}.txt")));
            tokio::time::sleep(w).await;
            let counts = traced.stop();
            let s1 = Scrape::get(&listen).await;
            let traced_probes = s1.probes.saturating_sub(s0.probes).max(1) as f64;
            counts.map(|c| (c.total as f64 / traced_probes, c.top))
        }
        None => None,
    };
    let paired = match pairing {
        Some(plan) => {
            let at = paired::Bench { dir, ep, bin, core };
            paired::run(&pid, &listen, n, plan, &at).await
        }
        None => Paired::default(),
    };
    ScaleResult {
        targets: n,
        interval_s: interval.as_secs_f64(),
        window_s,
        probes,
        ok: after.ok.saturating_sub(before.ok),
        cpu_share,
        cpu_ms_per_probe: (cpu1 - cpu0) * 1e3 / probes.max(1) as f64,
        late: post.late,
        lag_buckets: post.lag_buckets.clone(),
        hwm_kib,
        hwm_after_scrape_kib: procfs::status_kib(&pid, "VmHWM"),
        scrape_cpu_ms,
        scrape_raw_ms,
        scrape_wall_ms,
        during_scrape: during,
        switches_per_probe: (sw1 - sw0) as f64 / probes.max(1) as f64,
        syscalls,
        allocs_per_probe: None,
        paired,
    }
}

/// CPU seconds an idle daemon (one target, probed hourly) uses over `window`, after start-up.
pub async fn idle(
    dir: &Path,
    ep: &Endpoints,
    bin: &Path,
    window: Duration,
    core: Option<&str>,
) -> f64 {
    let config = edgewatch::config(dir, ep, &[name_of(0)], "1h", 64, "LISTEN", true);
    let (daemon, _) = start(dir, bin, config, core, "idle").await;
    let pid = daemon.0.id().to_string();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu0 = procfs::cpu_seconds(&pid);
    tokio::time::sleep(window).await;
    procfs::cpu_seconds(&pid) - cpu0
}

/// Probes started between two scrapes and their schedule lag (from the lag histogram).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LagDuring {
    /// Probes started.
    pub started: u64,
    /// Of those, started more than 0.1 s after their slot.
    pub over_100ms: u64,
    /// Of those, counted late (`edgewatch_probes_late_total`).
    pub late: u64,
}

impl LagDuring {
    /// What happened between the scrapes `a` and `b` (`b` later).
    pub fn between(a: &Scrape, b: &Scrape) -> LagDuring {
        let bucket = |s: &Scrape, le: &str| {
            s.lag_buckets
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0, |(_, c)| *c)
        };
        let started = bucket(b, "+Inf").saturating_sub(bucket(a, "+Inf"));
        let quick = bucket(b, "0.1").saturating_sub(bucket(a, "0.1"));
        LagDuring {
            started,
            over_100ms: started.saturating_sub(quick),
            late: b.late.saturating_sub(a.late),
        }
    }
}

/// The series of `/metrics` the scale run reads.
#[derive(Debug, Default)]
pub struct Scrape {
    /// `edgewatch_probes_total`, every result.
    pub probes: u64,
    /// `edgewatch_probes_total{result="success"}`.
    pub ok: u64,
    /// `edgewatch_probes_late_total`.
    pub late: u64,
    /// `edgewatch_probe_schedule_lag_seconds` buckets.
    pub lag_buckets: Vec<(String, u64)>,
}

impl Scrape {
    /// Scrapes the daemon listening on `listen`.
    pub async fn get(listen: &str) -> Scrape {
        let text = http_get(listen, "/metrics").await.expect("scrape /metrics");
        let mut s = Scrape::default();
        for line in text.lines() {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let value = value.parse::<f64>().unwrap_or(0.0) as u64;
            if series.starts_with("edgewatch_probes_total{") {
                s.probes += value;
                if series.contains("\"success\"") {
                    s.ok += value;
                }
            } else if series == "edgewatch_probes_late_total" {
                s.late = value;
            } else if let Some(le) = series
                .strip_prefix("edgewatch_probe_schedule_lag_seconds_bucket{le=\"")
                .and_then(|r| r.strip_suffix("\"}"))
            {
                s.lag_buckets.push((le.to_string(), value));
            }
        }
        s
    }
}

/// A plain HTTP/1.0 GET (no chunking); returns the body.
pub async fn http_get(listen: &str, path: &str) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect(listen).await?;
    tcp.write_all(format!("GET {path} HTTP/1.0\r\nhost: {listen}\r\n\r\n").as_bytes())
        .await?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}

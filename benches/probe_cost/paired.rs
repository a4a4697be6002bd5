//! Paired samples: the daemon's CPU per probe measured right after each run of another tool
//! (the in-process loop, `--once`), the daemon stopped (`SIGSTOP`) while that one runs, so the
//! two never share the core. This VM's speed drifts by a quarter from one minute to the next
//! (two identical `--once` passes took 5.7 and 8.9 s of CPU): a ratio of two figures taken
//! minutes apart measures the drift as much as the tools. Samples seconds apart share the
//! conditions, and the medians of several pairs put one unlucky sample aside.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::once::{self, OnceResult};
use crate::procfs::{self, median, range};
use crate::scale::Scrape;
use crate::server::Endpoints;

/// What a daemon window is paired with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Partner {
    /// The in-process loop (one round).
    Loop,
    /// `--once` over as many targets as the daemon has, in this format.
    Once(&'static str),
}

/// Each cycle's partners: a loop round, then `--once` over the daemon's targets in each format.
pub const PARTNERS: [Partner; 3] = [Partner::Loop, Partner::Once("text"), Partner::Once("json")];

/// The partners of cycle `cycle`, in the order they run: the two `--once` formats swap places
/// every other cycle, so neither always runs last, a minute further into a drift of this VM's
/// speed (JSON always ran third, and read 5 to 15 % above text in paired runs where the same
/// two passes run back to back cost the same).
pub fn partners_of(cycle: usize) -> [Partner; 3] {
    let [first, text, json] = PARTNERS;
    if cycle.is_multiple_of(2) {
        [first, text, json]
    } else {
        [first, json, text]
    }
}

/// One partner's run and the daemon window right after it.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub partner: Partner,
    /// The partner's CPU milliseconds per probe.
    pub partner_ms: f64,
    /// The daemon's CPU milliseconds per probe in the window after.
    pub daemon_ms: f64,
}

/// What to pair with a running daemon, and how long each daemon window is.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rounds of every partner.
    pub cycles: usize,
    /// After the daemon resumes, before its window: the probes that came due while it was
    /// stopped run first (a burst of its whole concurrency, not its steady state).
    pub settle: Duration,
    /// A daemon window.
    pub window: Duration,
    /// The in-process loop's role arguments.
    pub loop_args: Vec<String>,
}

/// Where the partners run and what they probe.
pub struct Bench<'a> {
    pub dir: &'a Path,
    pub ep: &'a Endpoints,
    pub bin: &'a Path,
    pub core: Option<&'a str>,
}

/// Every pair's figures and the `--once` runs made for them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Paired {
    pub pairs: Vec<Pair>,
    #[serde(skip)]
    pub once: Vec<OnceResult>,
}

impl Paired {
    /// The medians of `partner`'s samples and of the daemon windows after them: (partner,
    /// daemon), `None` when it was not paired.
    pub fn medians(&self, partner: Partner) -> Option<(f64, f64)> {
        let of: Vec<&Pair> = self.pairs.iter().filter(|p| p.partner == partner).collect();
        (!of.is_empty()).then(|| {
            (
                median(of.iter().map(|p| p.partner_ms).collect()),
                median(of.iter().map(|p| p.daemon_ms).collect()),
            )
        })
    }

    /// `partner`'s samples, or the daemon's after them: (lowest, highest, how many).
    pub fn spread(&self, partner: Partner, daemon: bool) -> Option<(f64, f64, usize)> {
        let v: Vec<f64> = self
            .pairs
            .iter()
            .filter(|p| p.partner == partner)
            .map(|p| if daemon { p.daemon_ms } else { p.partner_ms })
            .collect();
        let (lo, hi) = range(&v);
        (!v.is_empty()).then_some((lo, hi, v.len()))
    }
}

/// Runs `plan`'s partners in turn beside the daemon `pid` (its targets: `targets`, its
/// metrics on `listen`), each followed by a daemon window.
pub async fn run(pid: &str, listen: &str, targets: usize, plan: &Plan, at: &Bench<'_>) -> Paired {
    let mut out = Paired::default();
    for cycle in 0..plan.cycles {
        for partner in partners_of(cycle) {
            let stopped = Stopped::new(pid);
            let partner_ms = match partner {
                Partner::Loop => {
                    let r = crate::run_role(at.core, &plan.loop_args);
                    assert_eq!(
                        r.ok, r.probes,
                        "a paired loop round found the endpoint unhealthy"
                    );
                    r.cpu_ms_per_probe()
                }
                Partner::Once(format) => {
                    let r = once::run(at.dir, at.ep, at.bin, targets, format, at.core);
                    assert_eq!(r.exit, 0, "--once over {targets} targets ({format}) failed");
                    let ms = r.cpu_ms_per_probe();
                    out.once.push(r);
                    ms
                }
            };
            drop(stopped);
            tokio::time::sleep(plan.settle).await;
            let daemon_ms = window(pid, listen, plan.window).await;
            out.pairs.push(Pair {
                partner,
                partner_ms,
                daemon_ms,
            });
        }
    }
    out
}

/// The daemon's CPU milliseconds per probe over `window`.
async fn window(pid: &str, listen: &str, window: Duration) -> f64 {
    // As in the main window: the scrapes (tens of ms of the daemon's CPU at 10,000 targets)
    // fall outside the CPU reading.
    let before = Scrape::get(listen).await;
    let cpu0 = procfs::cpu_seconds(pid);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let cpu1 = procfs::cpu_seconds(pid);
    let after = Scrape::get(listen).await;
    let probes = after.probes.saturating_sub(before.probes);
    assert!(
        probes > 0,
        "the daemon probed nothing in a {:.1} s paired window",
        started.elapsed().as_secs_f64()
    );
    (cpu1 - cpu0) * 1e3 / probes as f64
}

/// The daemon stopped (`SIGSTOP`) until this is dropped (`SIGCONT`), also when a partner
/// panics: the daemon itself is killed later, stopped or not.
struct Stopped(libc::pid_t);

impl Stopped {
    fn new(pid: &str) -> Self {
        let pid: libc::pid_t = pid.parse().expect("the daemon's pid");
        signal(pid, libc::SIGSTOP);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

fn signal(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        rc,
        0,
        "signal {sig} to the daemon (pid {pid}): {}",
        std::io::Error::last_os_error()
    );
}

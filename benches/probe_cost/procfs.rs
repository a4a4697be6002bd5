//! Process accounting from /proc: CPU seconds (utime + stime, what the OS charged the process)
//! and peak resident memory (VmHWM). Plus the per-round result every measured tool reports, and
//! medians over rounds.

use serde::{Deserialize, Serialize};

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI).
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds charged to process `pid` so far (`"self"` works too).
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime is field 14 and stime field 15 of the whole line: index 11 and 12 after ')'.
    (tick(11) + tick(12)) / TICKS_PER_SEC
}

/// A `Vm*` line of /proc/<pid>/status in KiB (e.g. `VmHWM`, `VmRSS`).
pub fn status_kib(pid: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Context switches (voluntary + involuntary) of every thread of process `pid` so far: how
/// often its threads went to sleep or were put off the CPU. A thread that waits for the network
/// and is woken counts one voluntary switch, so this is the process's wake-ups. Threads that
/// already exited are not counted (the daemon's and the tools' threads live as long as they do).
pub fn ctx_switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut total = 0;
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for l in status.lines() {
            let v = l
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"));
            if let Some(v) = v.and_then(|v| v.trim().parse::<u64>().ok()) {
                total += v;
            }
        }
    }
    total
}

/// What one measured round of one tool did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// Probes completed.
    pub probes: u64,
    /// Probes that succeeded (the tool said the endpoint is healthy).
    pub ok: u64,
    /// CPU seconds the tool's process spent on them.
    pub cpu_s: f64,
    /// Wall seconds they took.
    pub wall_s: f64,
    /// Peak RSS of the tool's process, KiB.
    pub hwm_kib: u64,
    /// Context switches of the tool's threads during the probes (`None`: not measured).
    #[serde(default)]
    pub switches: Option<u64>,
    /// Allocations the tool made during the probes (`None`: not measured).
    #[serde(default)]
    pub allocs: Option<u64>,
}

impl Round {
    /// CPU milliseconds per probe.
    pub fn cpu_ms_per_probe(&self) -> f64 {
        self.cpu_s * 1e3 / self.probes.max(1) as f64
    }

    /// `value` per probe, when measured.
    pub fn per_probe(&self, value: Option<u64>) -> Option<f64> {
        value.map(|v| v as f64 / self.probes.max(1) as f64)
    }

    /// Probes per wall second.
    pub fn rate(&self) -> f64 {
        self.probes as f64 / self.wall_s.max(1e-9)
    }
}

/// The lowest and highest of `values` ((inf, 0) when empty).
pub fn range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    (lo, hi)
}

/// The median of `values` (0 when empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

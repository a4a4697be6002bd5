//! `--once` at scale: the real `edgewatch` binary run as a child with `--once` over N targets,
//! in text and in JSON, under GNU time (`/usr/bin/time`, Debian `time`), which reports the
//! child's CPU, wall time and peak RSS after it exits (its /proc entry is gone by then).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::server::{Endpoints, name_of};

/// GNU time, which reports a finished child's CPU and peak RSS.
const GNU_TIME: &str = "/usr/bin/time";

/// What one `--once` run cost.
#[derive(Debug, Clone)]
pub struct OnceResult {
    /// `text` or `json`.
    pub format: &'static str,
    /// Targets probed.
    pub targets: usize,
    /// User + system CPU seconds.
    pub cpu_s: f64,
    /// System CPU seconds (part of `cpu_s`).
    pub sys_s: f64,
    /// Wall seconds.
    pub wall_s: f64,
    /// Peak RSS, KiB.
    pub hwm_kib: u64,
    /// Exit code (0: every check passed).
    pub exit: i32,
    /// Bytes of the report on stdout.
    pub report_bytes: u64,
}

impl OnceResult {
    /// CPU milliseconds per target.
    pub fn cpu_ms_per_probe(&self) -> f64 {
        self.cpu_s * 1e3 / self.targets.max(1) as f64
    }
}

/// Runs `bin --once --output <format>` over `n` targets pinned to `core`.
pub fn run(
    dir: &Path,
    ep: &Endpoints,
    bin: &Path,
    n: usize,
    format: &'static str,
    core: Option<&str>,
) -> OnceResult {
    assert!(
        Path::new(GNU_TIME).exists(),
        "the benchmark measures --once with GNU time: install Debian's `time` ({GNU_TIME} is missing)"
    );
    let hosts: Vec<String> = (0..n).map(name_of).collect();
    let config = dir.join(format!("once-{n}.yaml"));
    let yaml = crate::edgewatch::config(dir, ep, &hosts, "30s", 64, "127.0.0.1:0", true);
    std::fs::write(&config, yaml).expect("write config");
    let times = dir.join(format!("once-{n}-{format}.time"));
    let report = dir.join(format!("once-{n}-{format}.out"));
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", "%U %S %e %M", "-o"]).arg(&times);
    if let Some(core) = core {
        cmd.args(["/usr/bin/taskset", "-c", core]);
    }
    let status = cmd
        .arg(bin)
        .args(["--once", "--output", format, "--config"])
        .arg(&config)
        .stdout(std::fs::File::create(&report).expect("report file"))
        .stderr(Stdio::null())
        .status()
        .expect("run edgewatch --once");
    let text = std::fs::read_to_string(&times).unwrap_or_default();
    // GNU time writes "Command exited with non-zero status 1" before the figures then.
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(f.len(), 4, "GNU time's figures: {text:?}");
    OnceResult {
        format,
        targets: n,
        cpu_s: f[0] + f[1],
        sys_s: f[1],
        wall_s: f[2],
        hwm_kib: f[3] as u64,
        exit: status.code().unwrap_or(-1),
        report_bytes: std::fs::metadata(&report).map_or(0, |m| m.len()),
    }
}

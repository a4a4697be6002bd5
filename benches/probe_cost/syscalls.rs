//! Syscalls per probe, counted by `strace -c -f` (Debian `strace`): in a pass of its own, never
//! in the rounds whose CPU is measured (tracing stops the process at every syscall). Either the
//! tool runs under strace from its start (the in-process roles; their start-up, a few hundred
//! calls, is counted with their probes), or strace attaches to a running process (the daemon,
//! blackbox_exporter) for a window and is stopped with SIGINT, when it writes its summary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// strace, which the syscall counts need; the bench fails naming it when it is missing.
pub const STRACE: &str = "/usr/bin/strace";

/// Panics naming strace unless it is installed.
pub fn require() {
    assert!(
        Path::new(STRACE).exists(),
        "the benchmark counts syscalls with strace: install Debian's `strace` ({STRACE} is missing)"
    );
}

/// What `strace -c` counted: the total, and the busiest syscalls (name, calls).
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Calls of every syscall.
    pub total: u64,
    /// The most frequent syscalls, most first.
    pub top: Vec<(String, u64)>,
}

/// Parses `strace -c`'s table (`% time seconds usecs/call calls errors syscall`, then `total`).
pub fn parse(text: &str) -> Option<Counts> {
    let mut counts = Counts::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(name), Some(calls)) = (f.last(), f.get(3).and_then(|c| c.parse::<u64>().ok()))
        else {
            continue;
        };
        if f[0].parse::<f64>().is_err() {
            continue;
        }
        if *name == "total" {
            counts.total = calls;
        } else {
            counts.top.push((name.to_string(), calls));
        }
    }
    counts.top.sort_by_key(|t| std::cmp::Reverse(t.1));
    counts.top.truncate(6);
    (counts.total > 0).then_some(counts)
}

/// `command`'s program and arguments run under `strace -f -c -o out`.
pub fn traced(out: &Path, program: &Path, args: &[String]) -> Command {
    let mut c = Command::new(STRACE);
    c.args(["-f", "-c", "-o"]).arg(out).arg(program).args(args);
    c
}

/// A strace attached to a running process and its threads.
pub struct Attached {
    child: Child,
    out: PathBuf,
}

/// Attaches `strace -f -c` to process `pid`, writing its summary to `out` when stopped.
pub fn attach(pid: &str, out: &Path) -> Attached {
    let child = Command::new(STRACE)
        .args(["-f", "-c", "-p", pid, "-o"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start strace");
    Attached {
        child,
        out: out.to_path_buf(),
    }
}

impl Attached {
    /// Stops strace (SIGINT: it detaches and writes its summary) and reads the counts.
    pub fn stop(mut self) -> Option<Counts> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        parse(&std::fs::read_to_string(&self.out).unwrap_or_default())
    }
}

/// The self-check of the parser on strace's own output format.
pub fn check_parser() {
    let text = "% time     seconds  usecs/call     calls    errors syscall\n\
        ------ ----------- ----------- --------- --------- ----------------\n \
        60.00    0.000600           6       100        10 recvfrom\n \
        40.00    0.000400           2       200           epoll_wait\n\
        ------ ----------- ----------- --------- --------- ----------------\n\
        100.00    0.001000           3       300        10 total\n";
    let c = parse(text).expect("parsed");
    assert_eq!(c.total, 300);
    assert_eq!(c.top[0], ("epoll_wait".to_string(), 200));
}

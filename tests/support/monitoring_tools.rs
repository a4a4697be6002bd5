//! Debian's Prometheus and Alertmanager as child processes on loopback, for the monitoring
//! tests (tests/alertmanager.rs, tests/prometheus_e2e.rs), and promtool (tests/monitoring.rs,
//! tests/cli.rs). A missing tool panics with a message that says how to install it: these tests
//! never skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// Debian's Alertmanager.
pub const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
/// Debian's Prometheus server.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Prometheus's command-line tool (Debian package `prometheus`).
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// Runs promtool with `args` in `dir`, feeding it `stdin`; returns whether it succeeded and
/// its stdout and stderr. Panics, saying how to install it, when promtool is missing.
pub fn promtool(dir: &Path, args: &[&str], stdin: &[u8]) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {PROMTOOL} ({e}): install Debian's `prometheus` package (.ci/install-test-deps.sh)")
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("write promtool's stdin");
    let out = child.wait_with_output().expect("promtool's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A child process killed (and reaped) on drop, with its base URL and a temp dir it owns.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The server's config and storage (and its log, `log.txt`).
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's combined stdout/stderr so far (for assertion messages).
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

/// The log a server started in `dir` writes (`dir/log.txt`); empty when there is none yet.
fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("log.txt")).unwrap_or_default()
}

/// How many ports a server is tried on: a port found free can be taken (by any test's client
/// socket) before the server binds it.
const PORT_TRIES: usize = 5;

/// Starts `program` with `args_for(port)` on a free loopback port (its log in `dir/log.txt`),
/// then waits for `/-/ready`. When the port was taken meanwhile, the server exits saying
/// "address already in use", and another port is tried.
pub async fn start(
    program: &str,
    args_for: impl Fn(u16) -> Vec<String>,
    dir: tempfile::TempDir,
) -> Server {
    assert!(
        Path::new(program).exists(),
        "{program} is missing: run .ci/install-test-deps.sh (Debian packages prometheus, prometheus-alertmanager)"
    );
    for _ in 0..PORT_TRIES {
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("log.txt")).unwrap();
        let mut child = Command::new(program)
            .args(args_for(port))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        match poll_ready(&format!("{url}/-/ready"), Some(&mut child)).await {
            Waited::Ready => return Server { child, url, dir },
            Waited::Exited if read_log(dir.path()).contains("address already in use") => continue,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{program} at {url}: {outcome:?} before it was ready; log:\n{}",
                    read_log(dir.path())
                );
            }
        }
    }
    panic!("{program}: each of {PORT_TRIES} free ports was taken before it could bind it");
}

/// How waiting for a server's readiness ended.
#[derive(Debug)]
enum Waited {
    Ready,
    Exited,
    TimedOut,
}

/// Polls `url` until it answers 2xx, `child` (when given) exits, or 30 s pass.
async fn poll_ready(url: &str, mut child: Option<&mut Child>) -> Waited {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return Waited::Ready;
        }
        if let Some(child) = child.as_deref_mut()
            && matches!(child.try_wait(), Ok(Some(_)))
        {
            return Waited::Exited;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Waited::TimedOut
}

/// Polls `url` until it answers 2xx (30s at most).
pub async fn wait_ready(url: &str, log: impl Fn() -> String) {
    if !matches!(poll_ready(url, None).await, Waited::Ready) {
        panic!("{url} never became ready; log:\n{}", log());
    }
}

/// A real Alertmanager on 127.0.0.1 with a blackhole receiver and no clustering.
pub async fn start_alertmanager() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let args_for = |port: u16| {
        vec![
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", data.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_string(),
        ]
    };
    start(ALERTMANAGER, args_for, dir).await
}

/// A real Prometheus on 127.0.0.1 scraping `scrape_target` (host:port) every second as job
/// `edgewatch`, evaluating `rule_files` every second.
pub async fn start_prometheus(scrape_target: &str, rule_files: &[PathBuf]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let rules: Vec<String> = rule_files
        .iter()
        .map(|p| format!("  - {}\n", p.display()))
        .collect();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{}\
             scrape_configs:\n  - job_name: edgewatch\n    static_configs:\n      - targets: ['{scrape_target}']\n",
            rules.concat()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args_for = |port: u16| {
        vec![
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ]
    };
    start(PROMETHEUS, args_for, dir).await
}

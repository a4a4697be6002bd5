//! `probe_cost`: what one probe costs in CPU, edgewatch beside a bare rustls floor and
//! blackbox_exporter, against the same loopback endpoints; then the edgewatch daemon at scale.
//! See benches/README.md. `cargo bench --bench probe_cost` runs the full benchmark; under
//! `cargo test` (no `--bench` argument) it runs a quick self-check: every tool completes a few
//! probes and the daemon answers, and nothing about speed is asserted.
//!
//! One binary, several roles: the driver re-runs itself as `serve` (the endpoints), `floor` and
//! `edgewatch` (the in-process tools), so each measured tool has a process of its own and the
//! servers' CPU is never counted.

mod alloc;
mod blackbox;
mod daemon_host;
mod dns;
mod edgewatch;
mod floor;
mod load;
mod once;
mod paired;
mod pki;
mod procfs;
mod report;
mod scale;
mod server;
mod syscalls;
mod verdict;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use procfs::Round;
use server::Endpoints;

/// Benchmark options (`cargo bench --bench probe_cost -- --rounds 7 ...`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Full benchmark (`--bench`, passed by cargo bench) or quick self-check.
    pub full: bool,
    /// Rounds per tool; the report shows medians.
    pub rounds: usize,
    /// Measured probes per round per tool.
    pub probes: u64,
    /// Probes in flight per tool.
    pub concurrency: usize,
    /// The scale runs: target count and interval (empty: none).
    pub scale: Vec<(usize, Duration)>,
    /// Target counts of the `--once` runs (each in text and JSON; empty: none).
    pub once: Vec<usize>,
    /// Rounds of the loop and of `--once` (both formats), each paired with a window of the
    /// daemon with as many targets, for the scale runs that have a `--once` count.
    pub pair_cycles: usize,
    /// Target counts of the hosted daemon runs that count allocations (empty: none).
    pub host: Vec<usize>,
    /// How long strace watches each daemon (none: no syscall counts).
    pub strace_window: Option<Duration>,
    /// Measurement window of the scale runs.
    pub window: Duration,
    /// Core the measured tools are pinned to (`taskset -c`), when the machine has two or more.
    pub tool_core: Option<String>,
    /// Core the endpoints are pinned to.
    pub server_core: Option<String>,
    /// The edgewatch binary the daemon and `--once` runs start (`--bin`; default: this build's).
    pub bin: PathBuf,
    /// Set up the endpoints and configs, print how to run each role, and wait for Enter
    /// (for profiling one role by hand, e.g. under callgrind).
    pub hold: bool,
}

fn parse_options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num =
        |name: &str, default: u64| value(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let dur = |name: &str, default: &str| {
        humantime::parse_duration(&value(name).unwrap_or_else(|| default.to_string()))
            .expect("a duration such as 30s")
    };
    let two_cores = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let interval = dur("--interval", if full { "30s" } else { "1s" });
    // `N` or `N@interval`, comma-separated; `none` for no run.
    let scale = match value("--scale") {
        Some(list) if list == "none" => Vec::new(),
        Some(list) => list
            .split(',')
            .filter_map(|item| match item.split_once('@') {
                Some((n, every)) => Some((
                    n.parse().ok()?,
                    humantime::parse_duration(every).expect("an interval such as 5m"),
                )),
                None => Some((item.parse().ok()?, interval)),
            })
            .collect(),
        None if full => vec![
            (1000, interval),
            (10_000, interval),
            (100_000, Duration::from_secs(300)),
        ],
        None => vec![(20, interval)],
    };
    let counts = |name: &str, full_default: Vec<usize>| match value(name) {
        Some(list) if list == "none" => Vec::new(),
        Some(list) => list.split(',').filter_map(|n| n.parse().ok()).collect(),
        None if full => full_default,
        None => vec![20],
    };
    Options {
        full,
        rounds: num("--rounds", if full { 5 } else { 1 }) as usize,
        probes: num("--probes", if full { 3000 } else { 20 }),
        concurrency: num("--concurrency", 8) as usize,
        scale,
        once: counts("--once-targets", vec![10_000]),
        pair_cycles: num("--pair-cycles", if full { 5 } else { 2 }) as usize,
        host: counts("--host-scale", vec![10_000]),
        strace_window: match value("--strace-window").as_deref() {
            Some("none") => None,
            Some(w) => Some(humantime::parse_duration(w).expect("a duration such as 10s")),
            None => Some(Duration::from_secs(if full { 10 } else { 1 })),
        },
        window: dur("--window", if full { "30s" } else { "2s" }),
        tool_core: two_cores.then(|| value("--tool-core").unwrap_or_else(|| "0".into())),
        server_core: two_cores.then(|| value("--server-core").unwrap_or_else(|| "1".into())),
        hold: args.iter().any(|a| a == "--hold"),
        bin: value("--bin").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_edgewatch")),
            PathBuf::from,
        ),
    }
}

/// `program` under `taskset -c core` when a core is given and taskset exists.
pub fn pinned(core: Option<&str>, program: &Path) -> Command {
    match core {
        Some(core) if Path::new("/usr/bin/taskset").exists() => {
            let mut c = Command::new("/usr/bin/taskset");
            c.arg("-c").arg(core).arg(program);
            c
        }
        _ => Command::new(program),
    }
}

/// A loopback `127.0.0.1:port` free right now.
pub fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("bound").to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let role = args.get(1).map(String::as_str).unwrap_or("");
    ::edgewatch::crypto::install();
    match role {
        "serve" => current_thread_or_multi(true).block_on(server::serve(
            Path::new(&args[2]),
            args[3].parse().expect("ips"),
            args[4].parse().expect("names"),
        )),
        "floor" => {
            let round = current_thread_or_multi(false).block_on(floor::run(
                args[2].parse().expect("address"),
                &args[3],
                Path::new(&args[4]),
                args[5].parse().expect("concurrency"),
                args[6].parse().expect("warmup"),
                args[7].parse().expect("count"),
            ));
            println!("{}", serde_json::to_string(&round).expect("json"));
        }
        "daemon-host" => {
            let ms = |i: usize| Duration::from_millis(args[i].parse().expect("milliseconds"));
            let rt = ::edgewatch::run::app::runtime_builder()
                .build()
                .expect("tokio runtime");
            let round = rt.block_on(daemon_host::run(
                Path::new(&args[2]),
                &args[3],
                ms(4),
                ms(5),
            ));
            println!("{}", serde_json::to_string(&round).expect("json"));
            std::process::exit(0);
        }
        "edgewatch" => {
            // The runtime the edgewatch binary picks: one worker per core, or a current-thread
            // runtime on one core (the tools run pinned to one).
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let round = current_thread_or_multi(cores > 1).block_on(edgewatch::run(
                Path::new(&args[2]),
                args[3].parse().expect("concurrency"),
                args[4].parse().expect("warmup"),
                args[5].parse().expect("count"),
            ));
            println!("{}", serde_json::to_string(&round).expect("json"));
        }
        _ => {
            let options = parse_options();
            current_thread_or_multi(true).block_on(drive(options));
        }
    }
}

fn current_thread_or_multi(multi: bool) -> tokio::runtime::Runtime {
    let mut b = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all().build().expect("tokio runtime")
}

/// The endpoints' process; it exits when its stdin closes (with this handle).
struct ServerProcess {
    child: Child,
    endpoints: Endpoints,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path, ips: u8, names: usize, core: Option<&str>) -> ServerProcess {
    let exe = std::env::current_exe().expect("own path");
    let mut child = pinned(core, &exe)
        .args([
            "serve",
            &dir.display().to_string(),
            &ips.to_string(),
            &names.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the bench server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("server ready line");
    let endpoints = serde_json::from_str(&line).expect("server endpoints JSON");
    ServerProcess { child, endpoints }
}

/// Runs this binary as `role` pinned to `core` and reads the round it reports.
fn run_role(core: Option<&str>, args: &[String]) -> Round {
    let exe = std::env::current_exe().expect("own path");
    let out = pinned(core, &exe)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run a bench role");
    assert!(
        out.status.success(),
        "bench role {:?} failed: {}",
        args[0],
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).expect("role result JSON")
}

async fn drive(o: Options) {
    if o.strace_window.is_some() {
        syscalls::require();
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    pki::write(&dir).expect("write the bench PKI");
    let max_names = o
        .scale
        .iter()
        .map(|s| s.0)
        .chain(o.once.iter().copied())
        .chain(o.host.iter().copied())
        .max()
        .unwrap_or(0);
    let server = start_server(&dir, 4, max_names, o.server_core.as_deref());
    let ep = server.endpoints.clone();
    let core = o.tool_core.as_deref();
    println!(
        "probe_cost: {} rounds x {} probes, concurrency {}, tools on core {:?}, endpoints on core {:?}",
        o.rounds, o.probes, o.concurrency, o.tool_core, o.server_core
    );
    let target = SocketAddr::from(([127, 0, 0, 1], ep.port));
    let configs: Vec<(String, PathBuf)> = [
        (report::LOOP.to_string(), true),
        (format!("{} (no DNS cache)", report::LOOP), false),
    ]
    .into_iter()
    .map(|(name, cache)| {
        let path = dir.join(format!("probe-cache-{cache}.yaml"));
        let yaml = edgewatch::config(
            &dir,
            &ep,
            &[pki::ZONE.to_string()],
            "30s",
            o.concurrency,
            "127.0.0.1:0",
            cache,
        );
        std::fs::write(&path, yaml).expect("write config");
        (name, path)
    })
    .collect();
    // The loop again over the 10,000-target daemon's names, each in turn (as many as the
    // endpoints serve, up to that: a self-check's few), after a warm-up that probes each once,
    // as the daemon's first pass does.
    let fleet_names = max_names.min(10_000);
    let fleet = (fleet_names > 0).then(|| {
        let path = dir.join("probe-fleet.yaml");
        let hosts: Vec<String> = (0..fleet_names).map(server::name_of).collect();
        let yaml = edgewatch::config(&dir, &ep, &hosts, "30s", o.concurrency, "127.0.0.1:0", true);
        std::fs::write(&path, yaml).expect("write config");
        path
    });
    if o.hold {
        hold(&dir, &ep, &configs);
        return;
    }
    let bb = blackbox::start(&dir, &ep, core).await;
    let warmup = (o.probes / 10).clamp(2, 200).to_string();
    let (c, n) = (o.concurrency.to_string(), o.probes.to_string());
    let floor_args: Vec<String> = vec![
        "floor".into(),
        target.to_string(),
        pki::ZONE.into(),
        dir.join(pki::ROOT_PEM).display().to_string(),
        c.clone(),
        warmup.clone(),
        n.clone(),
    ];
    let loop_args = |path: &Path, warmup: &str| -> Vec<String> {
        vec![
            "edgewatch".into(),
            path.display().to_string(),
            c.clone(),
            warmup.to_string(),
            n.clone(),
        ]
    };
    // The fleet loop warms up as the others do, and probes each of its names once besides.
    let fleet_warmup = (warmup.parse::<usize>().unwrap_or(0) + fleet_names).to_string();
    let mut table = report::Table::default();
    for round in 1..=o.rounds {
        table.add(report::FLOOR, run_role(core, &floor_args));
        for (name, path) in &configs {
            table.add(name, run_role(core, &loop_args(path, &warmup)));
        }
        if let Some(path) = &fleet {
            table.add(
                report::LOOP_FLEET,
                run_role(core, &loop_args(path, &fleet_warmup)),
            );
        }
        let r = bb.round(o.concurrency, o.probes / 10 + 2, o.probes).await;
        table.add(report::BLACKBOX, r);
        println!("round {round}/{} done", o.rounds);
        let _ = std::io::stdout().flush();
    }
    table.check_complete(o.probes);
    if o.strace_window.is_some() {
        // A pass of its own: tracing slows every syscall, so these rounds' CPU is not used.
        let total = o.probes + warmup.parse::<u64>().unwrap_or(0);
        let per = |c: syscalls::Counts| (c.total as f64 / total as f64, c.top);
        if let Some(c) = run_traced(&dir, core, &floor_args) {
            table.syscalls.insert(report::FLOOR.into(), per(c));
        }
        if let Some(c) = run_traced(&dir, core, &loop_args(&configs[0].1, &warmup)) {
            table.syscalls.insert(report::LOOP.into(), per(c));
        }
        let traced = syscalls::attach(&bb.pid(), &dir.join("strace-blackbox.txt"));
        bb.round(o.concurrency, 2, o.probes).await;
        if let Some(c) = traced.stop() {
            // The exporter's own answers to the bench's requests are counted too.
            let per = (c.total as f64 / o.probes as f64, c.top);
            table.syscalls.insert(report::BLACKBOX.into(), per);
        }
        println!("syscall pass done");
    }
    drop(bb);
    verdict::check_wording();
    syscalls::check_parser();

    let bin = o.bin.as_path();
    let mut results = Vec::new();
    for &(n, interval) in &o.scale {
        let timing = scale::Timing {
            interval,
            window: o.window,
            strace_window: o.strace_window,
        };
        // The loop and `--once` each paired with a daemon window, where `--once` runs at this
        // scale: the ratios of the goals, with the VM's drift paired out.
        let pairing = (o.once.contains(&n) && o.pair_cycles > 0).then(|| paired::Plan {
            cycles: o.pair_cycles,
            settle: Duration::from_millis(if o.full { 4000 } else { 500 }),
            window: Duration::from_secs(if o.full { 10 } else { 1 }),
            loop_args: loop_args(&configs[0].1, &warmup),
        });
        let mut r = scale::run(&dir, &ep, bin, n, timing, core, pairing.as_ref()).await;
        assert!(
            r.probes > 0,
            "the daemon with {n} targets completed no probe in the window"
        );
        if o.host.contains(&n) {
            let host = daemon_host::measure(&dir, &ep, n, interval, o.window, core);
            assert!(
                host.probes > 0,
                "the hosted daemon with {n} targets probed nothing"
            );
            r.allocs_per_probe = host.per_probe(host.allocs);
            println!(
                "hosted daemon, {n} targets: {:.3} CPU ms/probe, {:.1} allocs/probe, {:.1} \
                 wake-ups/probe ({} probes)",
                host.cpu_ms_per_probe(),
                r.allocs_per_probe.unwrap_or(0.0),
                host.per_probe(host.switches).unwrap_or(0.0),
                host.probes
            );
        }
        println!("daemon with {n} targets done");
        let _ = std::io::stdout().flush();
        results.push(r);
    }
    let mut once_runs: Vec<_> = results
        .iter()
        .flat_map(|r| r.paired.once.iter().cloned())
        .collect();
    for &n in &o.once {
        if once_runs.iter().any(|r| r.targets == n) {
            continue;
        }
        for format in ["text", "json"] {
            let r = once::run(&dir, &ep, bin, n, format, core);
            assert_eq!(
                r.exit, 0,
                "--once over {n} targets ({format}) found a failing check"
            );
            once_runs.push(r);
        }
    }
    let idle_window = if o.full {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    };
    let idle = scale::idle(&dir, &ep, bin, idle_window, core).await;
    let run = report::Run {
        table: &table,
        scale: &results,
        once: &once_runs,
        measured: o.full,
    };
    println!(
        "\n{}\n{}\n{}\n{}",
        run.table(),
        run.goals(),
        run.details(),
        report::idle(idle, idle_window)
    );
    drop(server);
}

/// Runs a bench role under `strace -f -c` (pinned like the measured rounds) and reads the counts.
fn run_traced(dir: &Path, core: Option<&str>, args: &[String]) -> Option<syscalls::Counts> {
    let exe = std::env::current_exe().expect("own path");
    let out = dir.join(format!("strace-{}.txt", args[0]));
    let mut cmd = syscalls::traced(&out, &exe, args);
    if let Some(core) = core {
        let mut pinned = Command::new("/usr/bin/taskset");
        pinned.args(["-c", core, syscalls::STRACE, "-f", "-c", "-o"]);
        pinned.arg(&out).arg(&exe).args(args);
        cmd = pinned;
    }
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run strace");
    assert!(
        status.success(),
        "traced role {:?} failed: {status}",
        args[0]
    );
    syscalls::parse(&std::fs::read_to_string(&out).unwrap_or_default())
}

/// Prints how to run each role against the running endpoints, then waits for Enter.
fn hold(dir: &Path, ep: &Endpoints, configs: &[(String, PathBuf)]) {
    let exe = std::env::current_exe().expect("own path");
    let exe = exe.display();
    println!("endpoints: {ep:?}; files in {}", dir.display());
    println!(
        "floor:     {exe} floor 127.0.0.1:{} {} {} 1 20 500",
        ep.port,
        pki::ZONE,
        dir.join(pki::ROOT_PEM).display()
    );
    for (name, path) in configs {
        println!("{name}: {exe} edgewatch {} 1 20 500", path.display());
    }
    println!("press Enter to stop");
    let _ = std::io::stdin().read_line(&mut String::new());
}

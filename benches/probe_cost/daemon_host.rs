//! The daemon hosted in the bench's own process (`probe_cost daemon-host`): the same
//! `run::app::run` the binary runs, on the runtime the binary builds, so the bench's counting
//! allocator sees the daemon's allocations (the real binary, measured for CPU in `scale.rs`,
//! has no counter). After one interval of warm-up it counts allocations, context switches and
//! CPU over one window, and the probes `/metrics` says were done in it.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::procfs::{self, Round};
use crate::scale::Scrape;

/// Runs the daemon on `config` (which listens on `listen`) and measures one `window`.
pub async fn run(config: &Path, listen: &str, interval: Duration, window: Duration) -> Round {
    let cli = edgewatch::cli::Cli::parse_from([
        "edgewatch".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let settings = edgewatch::run::app::load_settings(&cli.probe).expect("bench config is valid");
    tokio::spawn(edgewatch::run::app::run(cli.probe, settings));
    let until = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(listen).await.is_err() {
        assert!(
            Instant::now() < until,
            "the hosted daemon did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(interval + Duration::from_secs(1)).await;
    let before = Scrape::get(listen).await;
    let (sw0, al0) = (procfs::ctx_switches("self"), crate::alloc::count());
    let cpu0 = procfs::cpu_seconds("self");
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let cpu_s = procfs::cpu_seconds("self") - cpu0;
    let (sw1, al1) = (procfs::ctx_switches("self"), crate::alloc::count());
    let wall_s = started.elapsed().as_secs_f64();
    let after = Scrape::get(listen).await;
    Round {
        probes: after.probes.saturating_sub(before.probes),
        ok: after.ok.saturating_sub(before.ok),
        cpu_s,
        wall_s,
        hwm_kib: procfs::status_kib("self", "VmHWM"),
        switches: Some(sw1 - sw0),
        allocs: Some(al1 - al0),
    }
}

/// Runs the hosted daemon with `n` targets in a process of its own and reads its round.
pub fn measure(
    dir: &Path,
    ep: &crate::server::Endpoints,
    n: usize,
    interval: Duration,
    window: Duration,
    core: Option<&str>,
) -> Round {
    let hosts: Vec<String> = (0..n).map(crate::server::name_of).collect();
    let listen = crate::free_port();
    let every = format!("{}ms", interval.as_millis());
    let yaml = crate::edgewatch::config(dir, ep, &hosts, &every, 64, &listen, true);
    let path = dir.join(format!("edgewatch-host-{n}.yaml"));
    std::fs::write(&path, yaml).expect("write config");
    crate::run_role(
        core,
        &[
            "daemon-host".into(),
            path.display().to_string(),
            listen,
            interval.as_millis().to_string(),
            window.as_millis().to_string(),
        ],
    )
}

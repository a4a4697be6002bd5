//! How much memory discovery takes with 5,000 Services. Ignored by default (it takes a while in
//! debug builds); run with
//!
//! ```text
//! cargo test --release --test kube memory::discovery_of_5000_services -- --ignored --nocapture
//! ```
//!
//! The API server holds 5,000 Services itself, so the discovery side runs in a child process
//! (this same test binary, `memory::discovery_child`) whose peak RSS (VmHWM) is the figure.

use std::process::Command;
use std::time::Duration;

use edgewatch::discovery::TargetUpdate;

use crate::support::kube_api::KubeApi;
use crate::{all_namespaces, service};

const SERVICES: usize = 5000;
const ENV: &str = "EDGEWATCH_MEMORY_KUBECONFIG";

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "memory figure: run explicitly (see the module doc)"]
async fn discovery_of_5000_services() {
    let api = KubeApi::start().await;
    for i in 0..SERVICES {
        let ns = format!("team-{:02}", i % 50);
        let name = format!("svc-{i:05}");
        api.apply(&service(
            &ns,
            &name,
            &format!("{name}.{ns}.example.com"),
            &[("tier", "web")],
        ));
    }
    let out = tokio::task::spawn_blocking({
        let exe = std::env::current_exe().unwrap();
        let kc = api.kubeconfig().to_path_buf();
        move || {
            Command::new(exe)
                .args([
                    "--ignored",
                    "--exact",
                    "memory::discovery_child",
                    "--nocapture",
                ])
                .env(ENV, kc)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("MEMORY "))
        .unwrap_or_else(|| panic!("no MEMORY line:\n{stdout}"));
    println!("{line}");
}

#[tokio::test]
#[ignore = "child of discovery_of_5000_services"]
async fn discovery_child() {
    let Some(kubeconfig) = std::env::var_os(ENV) else {
        panic!("run through memory::discovery_of_5000_services, which sets {ENV}");
    };
    let before = status_kb("VmHWM:");
    let client = edgewatch::discovery::kube::client(Some(kubeconfig.into()), None)
        .await
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let metrics = edgewatch::discovery::metrics::DiscoveryMetrics::register(&Default::default());
    let started = std::time::Instant::now();
    let task = tokio::spawn(async move {
        let settings = all_namespaces();
        edgewatch::discovery::kube::run(client, &settings, Default::default(), tx, metrics).await
    });
    let mut count = 0;
    let mut synced = false;
    while !(synced && count == SERVICES) {
        match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
            Ok(Some(TargetUpdate::Replace { targets, .. })) => count = targets.len(),
            Ok(Some(TargetUpdate::Synced(_))) => synced = true,
            other => panic!("discovery stopped early: {other:?} after {count} targets"),
        }
    }
    let took = started.elapsed();
    // Let the watch settle (bookmarks, the page buffers freed), then read the figures.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (hwm, rss) = (status_kb("VmHWM:"), status_kb("VmRSS:"));
    task.abort();
    println!(
        "MEMORY services={SERVICES} targets={count} synced_in={took:?} \
         peak_rss_kb={hwm} rss_kb={rss} baseline_peak_kb={before}"
    );
}

//! edgewatch's probe path, in its own process: the daemon's per-probe work exactly — the
//! daemon's `Engine` (DNS on the loopback server, TCP, TLS, HTTP, every judge) and then the
//! daemon's observers (state-change log, metrics, the status page's latest outcomes) — without
//! the daemon's scheduler, measured by this process's CPU accounting.
//! Also writes the edgewatch config files the benchmark uses.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use edgewatch::checks::Status;
use edgewatch::discovery::target::Target;
use edgewatch::export::metrics::Metrics;
use edgewatch::run::daemon::Observers;
use edgewatch::run::daemon::internal::InternalErrors;

use crate::load;
use crate::pki;
use crate::procfs::Round;
use crate::server::Endpoints;

/// An edgewatch config probing `hosts` (names in the bench zone) on the bench endpoints.
pub fn config(
    dir: &Path,
    ep: &Endpoints,
    hosts: &[String],
    interval: &str,
    concurrency: usize,
    listen: &str,
    dns_cache: bool,
) -> String {
    let mut yaml = format!(
        "interval: {interval}\nconcurrency: {concurrency}\nlisten: {listen}\n\
         resolver:\n  nameservers: [\"{dns}\"]\n  timeout: 2s\n  cache: {dns_cache}\n\
         tls:\n  ca_file: {ca}\nbackend:\n  path: /\n  expect_status: \"200\"\ntargets:\n",
        dns = ep.dns,
        ca = dir.join(pki::ROOT_PEM).display(),
    );
    for h in hosts {
        let _ = writeln!(yaml, "  - host: {h}\n    port: {}", ep.port);
    }
    yaml
}

/// Measures `count` probes through edgewatch's daemon path, of the config's targets in turn (one
/// target, probed again and again, in the loop's own config; the daemon's names, in turn, in
/// the fleet loop's: the same work with as many names, answers and outcomes as the daemon's).
pub async fn run(config: &Path, concurrency: usize, warmup: u64, count: u64) -> Round {
    let settings =
        edgewatch::run::settings::load(Some(config), &[]).expect("bench config is valid");
    let targets: Arc<[Arc<Target>]> = settings.targets.iter().cloned().map(Arc::new).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(Metrics::new(&registry));
    // The daemon's engine (every enricher; off unless the settings turn it on) and its sink:
    // metrics, which keep the status page's store of latest outcomes.
    let engine =
        Arc::new(edgewatch::run::app::engine(&settings, &registry, false).expect("engine"));
    let latest = metrics.latest();
    let observers = Arc::new(Observers::new(
        vec![metrics],
        InternalErrors::register(&registry),
        latest,
    ));
    load::measure(concurrency, warmup, count, move || {
        let i = next.fetch_add(1, Ordering::Relaxed) % targets.len();
        let (engine, observers, target) = (engine.clone(), observers.clone(), targets[i].clone());
        async move {
            let outcome = Arc::new(engine.run(target).await);
            observers.observe(&outcome).await;
            if !outcome.ok() {
                report_failure(&outcome);
            }
            outcome.ok()
        }
    })
    .await
}

/// Says why a probe failed (once per process): a failing probe measures nothing.
fn report_failure(outcome: &edgewatch::pipeline::outcome::Outcome) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for r in outcome.results.iter().filter(|r| r.status == Status::Fail) {
            eprintln!(
                "edgewatch probe failed: {} {}: {}",
                r.check,
                r.reason_code(),
                r.reason()
            );
        }
    });
}

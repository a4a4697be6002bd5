//! The scheduler with the real engine: every target is a loopback address (no DNS) on a closed
//! port, so every probe fails fast at TCP, since what is scheduled, not what passes, is the
//! point.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;
use crate::export::OutcomeSink;
use crate::export::latest::LatestOutcomes;
use crate::pipeline::outcome::Outcome;
use crate::run::daemon::Observers;
use crate::run::daemon::guard::LoopHealth;
use crate::run::daemon::schedule::ScheduleMetrics;

/// When each target's outcomes arrived.
#[derive(Default)]
struct Recorder {
    seen: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Recorder {
    fn count(&self, host: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.get(host).map_or(0, Vec::len)
    }
}

#[async_trait::async_trait]
impl OutcomeSink for Recorder {
    async fn observe(&self, outcome: &Outcome) {
        let mut seen = self.seen.lock().unwrap();
        let times = seen.entry(outcome.target.hostname.clone()).or_default();
        times.push(Instant::now());
    }

    async fn forget(&self, _name: &str) {}
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("addr").port()
}

/// A scheduler over `hosts` (loopback addresses), probing every `interval`, and what its probes
/// recorded.
fn scheduler(hosts: &[String], interval: Duration) -> (Scheduler, Vec<Arc<Target>>, Arc<Recorder>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("edgewatch.yaml");
    let port = closed_port();
    let targets: String = hosts
        .iter()
        .map(|h| format!("  - host: {h}\n    port: {port}\n"))
        .collect();
    let yaml = format!("targets:\n{targets}");
    std::fs::write(&path, yaml).expect("write config");
    let settings = crate::run::settings::load(Some(&path), &[]).expect("a valid config");
    let registry = prometheus::Registry::new();
    let engine = crate::run::app::engine(&settings, &registry, false).expect("engine");
    let recorder = Arc::new(Recorder::default());
    let internal_errors = InternalErrors::register(&registry);
    let shared = Arc::new(LoopShared {
        engine: Arc::new(engine),
        permits: Arc::new(Semaphore::new(16)),
        metrics: ScheduleMetrics::register(&registry),
        discovery: crate::discovery::metrics::DiscoveryMetrics::register(&registry),
        observers: Arc::new(Observers::new(
            vec![recorder.clone()],
            internal_errors.clone(),
            Arc::new(LatestOutcomes::new()),
        )),
        // Below the 1 s a config may ask for, so the test is short; the scheduler takes any.
        interval,
        internal_errors,
        health: Arc::new(LoopHealth::default()),
        epoch: Instant::now(),
    });
    let targets = settings.targets.into_iter().map(Arc::new).collect();
    (Scheduler::new(shared), targets, recorder)
}

/// `n` distinct loopback addresses (127.0.0.1 on), as target hosts.
fn loopback_hosts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("127.0.{}.{}", i / 250, i % 250 + 1))
        .collect()
}

/// Tasks alive in the test's runtime.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Drives the scheduler for `how_long`.
async fn drive(scheduler: &mut Scheduler, how_long: Duration) {
    let end = tokio::time::sleep(how_long);
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = &mut end => return,
            () = scheduler.next_event() => {}
        }
    }
}

#[tokio::test]
async fn a_waiting_target_holds_no_task() {
    let hosts = loopback_hosts(2_000);
    let (mut scheduler, targets, _) = scheduler(&hosts, Duration::from_secs(3600));
    let before = alive_tasks();
    for t in targets {
        scheduler.add(t, FirstProbe::AtRandomPhase);
    }
    assert_eq!(scheduler.len(), 2_000);
    drive(&mut scheduler, Duration::from_millis(300)).await;
    let alive = alive_tasks();
    // Within an hour's interval about 0.2 of the 2,000 probes fall in the first 300 ms.
    assert!(
        alive <= before + 10,
        "{alive} tasks alive for 2,000 waiting targets ({before} before)"
    );
}

#[tokio::test]
async fn targets_are_probed_every_interval_and_a_removed_one_no_more() {
    let hosts = ["127.0.0.1".to_string(), "127.0.0.2".to_string()];
    let interval = Duration::from_millis(300);
    let (mut scheduler, targets, recorder) = scheduler(&hosts, interval);
    let a_name = targets[0].name.clone();
    for t in targets {
        scheduler.add(t, FirstProbe::AtOnce);
    }
    drive(&mut scheduler, Duration::from_millis(1_400)).await;
    for host in &hosts {
        let n = recorder.count(host);
        // At 0, 0.3, 0.6, 0.9 and 1.2 s: 5 (4 on a slow machine), never more.
        assert!(
            (3..=5).contains(&n),
            "{host} probed {n} times in 1.4 s: {:?}",
            recorder.seen.lock().unwrap()
        );
    }
    // Not two at once and no burst: each probe started at least an interval after the last.
    {
        let seen = recorder.seen.lock().unwrap();
        for times in seen.values() {
            for w in times.windows(2) {
                assert!(
                    w[1] - w[0] >= interval - Duration::from_millis(100),
                    "{w:?}"
                );
            }
        }
    }

    assert!(scheduler.remove(&a_name));
    assert!(!scheduler.remove(&a_name), "removed once");
    let a_before = recorder.count("127.0.0.1");
    let b_before = recorder.count("127.0.0.2");
    drive(&mut scheduler, Duration::from_millis(1_000)).await;
    assert_eq!(recorder.count("127.0.0.1"), a_before, "removed: no more");
    assert!(
        recorder.count("127.0.0.2") >= b_before + 2,
        "the other goes on"
    );
    assert_eq!(scheduler.len(), 1);

    scheduler.stop().await;
}

#[tokio::test]
async fn an_interval_too_long_for_an_instant_is_held_to_a_day() {
    let hosts = ["127.0.0.1".to_string()];
    let (mut scheduler, targets, _) = scheduler(&hosts, Duration::from_secs(30));
    // Built by hand (discovery and the config refuse such an interval): no overflow, no panic.
    let target = Target {
        interval: Some(Duration::MAX),
        ..(*targets[0]).clone()
    };
    scheduler.add(Arc::new(target), FirstProbe::AtRandomPhase);
    drive(&mut scheduler, Duration::from_millis(50)).await;
    assert_eq!(scheduler.len(), 1);
}

#[tokio::test]
async fn due_targets_without_a_permit_wait_as_names_not_tasks_and_all_run_once_freed() {
    let hosts = loopback_hosts(400);
    let (mut scheduler, targets, recorder) = scheduler(&hosts, Duration::from_secs(3600));
    // Every permit taken: as a daemon whose probes all hang is.
    let permits = scheduler.shared.permits.clone();
    let held = permits
        .clone()
        .acquire_many_owned(16)
        .await
        .expect("the permits");
    let before = alive_tasks();
    let removed = targets[0].name.clone();
    for t in targets {
        scheduler.add(t, FirstProbe::AtOnce);
    }
    drive(&mut scheduler, Duration::from_millis(300)).await;
    let alive = alive_tasks();
    assert!(
        alive <= before + 2,
        "{alive} tasks alive for 400 due targets without a permit ({before} before)"
    );
    assert_eq!(scheduler.ready.len(), 400);
    // A target removed while it waits is never probed.
    assert!(scheduler.remove(&removed));

    drop(held);
    drive(&mut scheduler, Duration::from_millis(3_000)).await;
    let probed: Vec<usize> = hosts.iter().map(|h| recorder.count(h)).collect();
    assert_eq!(probed[0], 0, "removed while waiting for a permit");
    assert!(
        probed[1..].iter().all(|n| *n == 1),
        "each waiting target probed once when permits came: {probed:?}"
    );
    assert!(scheduler.ready.is_empty());
    assert_eq!(permits.available_permits(), 16, "every permit given back");
    scheduler.stop().await;
}

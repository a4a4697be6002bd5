//! Several replicas of the built binary sharing targets through Leases on the test API server
//! (`support::kube_api`), everything on loopback (300 discovered Services for the main test,
//! static targets for the others): each target is probed by exactly one
//! replica per interval; a replica killed with SIGKILL has its targets taken over (and only its
//! share moves back when it returns); with the API server down each keeps probing what it owned;
//! two vantage points each cover the whole fleet. Figures (overlap, largest gap, handover time)
//! are printed, not asserted beyond correctness. `figure.rs` is the (ignored) measurement run:
//! 10 replicas sharing 100,000 static targets.

mod figure;
mod fleet;
mod leases;
#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use fleet::{Fleet, INTERVAL, LEASE, Probes, Stage, coverage, names, now_ms, wait_members};
use support::kube_api::Down;

/// One stage at a time: each runs several daemons probing hundreds of targets.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long the API server is down in the outage test: a minute, 30 Lease durations.
const DOWN_FOR: f64 = 60.0;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_probe_each_target_once_and_take_over_a_killed_one() {
    let _serial = SERIAL.lock().await;
    // 300 annotated Services in the API server, found by each replica's own discovery (so the
    // targets are keyed by Service UID, host and port, as in a cluster).
    let stage = Stage::with(Fleet::Services(300)).await;
    let r0 = stage.replica("r0", "").await;
    let r1 = stage.replica("r1", "").await;
    let mut r2 = stage.replica("r2", "").await;
    wait_members(&[&r0, &r1, &r2], &["r0", "r1", "r2"]).await;

    // The owned sets partition the fleet.
    let owned = [r0.owned().await, r1.owned().await, r2.owned().await];
    let union: BTreeSet<&String> = owned.iter().flatten().collect();
    assert_eq!(union.len(), 300, "every target owned");
    assert_eq!(
        owned.iter().map(BTreeSet::len).sum::<usize>(),
        300,
        "no target owned twice"
    );
    let all: Vec<String> = union.into_iter().cloned().collect();
    eprintln!(
        "owned: {:?}",
        owned.iter().map(BTreeSet::len).collect::<Vec<_>>()
    );

    // Steady state: one interval to settle (probes of the handovers at start), then three.
    let mut probes = Probes::default();
    probes.sample(&[&r0, &r1, &r2], secs(INTERVAL)).await;
    let from = now_ms();
    probes.sample(&[&r0, &r1, &r2], secs(3.0 * INTERVAL)).await;
    let to = now_ms();
    let c = coverage(&probes, &all, from, to);
    eprintln!(
        "steady, 3 replicas x 300 Services over {:.1}s: {} probes, {} targets probed by 2+ replicas, \
         {} overlaps ({} probes less than half an interval after the previous), \
         largest gap {:.2}s, unprobed {}",
        (to - from) as f64 / 1000.0,
        c.probes,
        c.multi_replica.len(),
        c.overlaps,
        c.close_pairs,
        c.largest_gap,
        c.unprobed.len()
    );
    assert!(c.unprobed.is_empty(), "unprobed: {:?}", c.unprobed);
    assert!(
        c.multi_replica.is_empty(),
        "probed by two replicas: {:?}",
        c.multi_replica
    );
    assert_eq!(c.overlaps, 0);

    // SIGKILL r2: no goodbye, its Lease just stops being renewed.
    let r2_owned = owned[2].clone();
    r2.child.start_kill().unwrap();
    let _ = r2.child.wait().await;
    let killed = now_ms();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut taken = 0;
    while taken < r2_owned.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {taken} of r2's targets taken over"
        );
        probes.sample(&[&r0, &r1], Duration::from_millis(200)).await;
        let after = probes.within(killed, u64::MAX);
        taken = r2_owned
            .iter()
            .filter(|t| after.get(t.as_str()).is_some_and(|p| !p.is_empty()))
            .count();
    }
    let after = probes.within(killed, u64::MAX);
    let handover = r2_owned
        .iter()
        .map(|t| after[t.as_str()].iter().map(|(ts, _)| *ts).min().unwrap() - killed)
        .max()
        .unwrap();
    eprintln!(
        "after SIGKILL of r2 ({} targets): all taken over {:.2}s after the kill \
         (lease {LEASE}s, interval {INTERVAL}s)",
        r2_owned.len(),
        handover as f64 / 1000.0
    );
    wait_members(&[&r0, &r1], &["r0", "r1"]).await;
    let survivors = [r0.owned().await, r1.owned().await];
    assert_eq!(survivors.iter().map(BTreeSet::len).sum::<usize>(), 300);
    // Only r2's share moved.
    assert!(owned[0].is_subset(&survivors[0]) && owned[1].is_subset(&survivors[1]));

    // r2 comes back: it gets its own share again, and only that moves.
    let r2 = stage.replica("r2", "").await;
    wait_members(&[&r0, &r1, &r2], &["r0", "r1", "r2"]).await;
    assert_eq!(r2.owned().await, r2_owned, "r2 gets back exactly its share");
    assert_eq!(r0.owned().await, owned[0]);
    assert_eq!(r1.owned().await, owned[1]);

    // The Leases on the server are the members' own, labelled, with the configured duration.
    let leases = stage.api.leases();
    let lease_names: BTreeSet<&str> = leases
        .iter()
        .filter_map(|l| l["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        lease_names,
        BTreeSet::from(["edgewatch-r0", "edgewatch-r1", "edgewatch-r2"])
    );
    for l in &leases {
        assert_eq!(l["spec"]["leaseDurationSeconds"], 2);
        assert_eq!(l["metadata"]["labels"]["edgewatch.io/vantage"], "");
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", r0.listen))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("edgewatch_shard_handovers_total{direction=\"acquired\",replica=\"r0\"}"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("shard"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_api_server_down_each_replica_keeps_probing_what_it_owned() {
    let _serial = SERIAL.lock().await;
    let stage = Stage::new(100).await;
    let all = names(100);
    let r0 = stage.replica("r0", "").await;
    let r1 = stage.replica("r1", "").await;
    wait_members(&[&r0, &r1], &["r0", "r1"]).await;
    let before = [r0.owned().await, r1.owned().await];
    let mut probes = Probes::default();
    probes.sample(&[&r0, &r1], secs(INTERVAL)).await;

    // A minute of trouble, far longer than the Lease (every Lease would have expired): half of
    // it with the port closed, half with requests accepted and never answered (only the
    // replicas' own timeouts end them).
    for how in [Down::Refusing, Down::Stalled] {
        stage.api.go_down(how);
        let from = now_ms();
        probes.sample(&[&r0, &r1], secs(DOWN_FOR / 2.0)).await;
        let to = now_ms();
        let c = coverage(&probes, &all, from, to);
        eprintln!(
            "API server down ({how:?}) {:.1}s: {} probes, {} targets probed by both, {} overlaps, \
             largest gap {:.2}s, unprobed {}",
            (to - from) as f64 / 1000.0,
            c.probes,
            c.multi_replica.len(),
            c.overlaps,
            c.largest_gap,
            c.unprobed.len()
        );
        assert!(c.unprobed.is_empty() && c.multi_replica.is_empty() && c.overlaps == 0);
        assert_eq!([r0.owned().await, r1.owned().await], before);
        assert_eq!(r0.shard().await.unwrap()["api_reachable"], false);
        if how == Down::Refusing {
            stage.api.come_up().await;
        }
    }

    stage.api.come_up().await;
    let from = now_ms();
    probes.sample(&[&r0, &r1], secs(2.0 * INTERVAL)).await;
    let to = now_ms();
    let c = coverage(&probes, &all, from, to);
    eprintln!(
        "after it came back: {} targets probed by both, {} overlaps, largest gap {:.2}s",
        c.multi_replica.len(),
        c.overlaps,
        c.largest_gap
    );
    assert!(c.unprobed.is_empty() && c.multi_replica.is_empty() && c.overlaps == 0);
    wait_members(&[&r0, &r1], &["r0", "r1"]).await;
    assert_eq!([r0.owned().await, r1.owned().await], before);
    assert_eq!(r0.shard().await.unwrap()["api_reachable"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_vantage_points_each_probe_every_target_once() {
    let _serial = SERIAL.lock().await;
    let stage = Stage::new(100).await;
    let all = names(100);
    let a0 = stage.replica("a0", "eu-west-1").await;
    let a1 = stage.replica("a1", "eu-west-1").await;
    let b0 = stage.replica("b0", "us-east-1").await;
    let b1 = stage.replica("b1", "us-east-1").await;
    wait_members(&[&a0, &a1], &["a0", "a1"]).await;
    wait_members(&[&b0, &b1], &["b0", "b1"]).await;
    for (pair, name) in [([&a0, &a1], "eu-west-1"), ([&b0, &b1], "us-east-1")] {
        let mut probes = Probes::default();
        probes.sample(&pair, secs(INTERVAL)).await;
        let from = now_ms();
        probes.sample(&pair, secs(2.0 * INTERVAL)).await;
        let to = now_ms();
        let c = coverage(&probes, &all, from, to);
        eprintln!(
            "vantage {name}: {} probes, {} targets probed by both, {} overlaps, largest gap {:.2}s",
            c.probes,
            c.multi_replica.len(),
            c.overlaps,
            c.largest_gap
        );
        assert!(c.unprobed.is_empty() && c.multi_replica.is_empty() && c.overlaps == 0);
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", b1.listen))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // SIGTERM: a1 empties its Lease's holder on the way out, so a0 takes its share at once
    // (without waiting for the Lease to expire), and the other vantage point is untouched.
    let a1_owned = a1.owned().await;
    let pid = a1.child.id().unwrap().to_string();
    let stopped = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if a0.owned().await.len() == 100 {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "a0 never took a1's share"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "after SIGTERM of a1 ({} targets): a0 owns them {:.2}s later (lease {LEASE}s)",
        a1_owned.len(),
        stopped.elapsed().as_secs_f64()
    );
    let released = stage.api.leases();
    let a1_lease = released
        .iter()
        .find(|l| l["metadata"]["name"] == "edgewatch-a1")
        .unwrap();
    assert!(a1_lease["spec"]["holderIdentity"].is_null(), "{a1_lease}");
    assert_eq!(b0.owned().await.len() + b1.owned().await.len(), 100);
    assert!(
        // The constant labels come out in either order (a HashMap's).
        metrics
            .lines()
            .any(|l| l.starts_with("edgewatch_shard_members{")
                && l.contains("replica=\"b1\"")
                && l.contains("vantage=\"us-east-1\"")
                && l.ends_with("} 2")),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("shard_members"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

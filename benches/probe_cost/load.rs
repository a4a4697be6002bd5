//! The load loop shared by the in-process tools (floor, edgewatch): `concurrency` workers take
//! probes from one counter until `count` are done, after an untimed warm-up; the process's own
//! CPU accounting before and after gives the round's cost.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::procfs::{self, Round};

/// Runs `count` probes, `concurrency` at a time; returns (probes, ok).
pub async fn drive<F, Fut>(concurrency: usize, count: u64, probe: F) -> (u64, u64)
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let claimed = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (claimed, ok, probe) = (claimed.clone(), ok.clone(), probe.clone());
            tokio::spawn(async move {
                while claimed.fetch_add(1, Ordering::Relaxed) < count {
                    if probe().await {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    (count, ok.load(Ordering::Relaxed))
}

/// Warms up with `warmup` probes, then measures `count` probes by this process's CPU time.
pub async fn measure<F, Fut>(concurrency: usize, warmup: u64, count: u64, probe: F) -> Round
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    drive(concurrency, warmup, probe.clone()).await;
    let (sw0, al0) = (procfs::ctx_switches("self"), crate::alloc::count());
    let cpu0 = procfs::cpu_seconds("self");
    let started = Instant::now();
    let (probes, ok) = drive(concurrency, count, probe).await;
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = procfs::cpu_seconds("self") - cpu0;
    let (sw1, al1) = (procfs::ctx_switches("self"), crate::alloc::count());
    Round {
        probes,
        ok,
        cpu_s,
        wall_s,
        hwm_kib: procfs::status_kib("self", "VmHWM"),
        switches: Some(sw1 - sw0),
        allocs: Some(al1 - al0),
    }
}

//! The default `concurrency:`: enough probes in flight for every due probe to start on time even
//! when peers are slow, and no more than the process's file descriptors allow.
//!
//! A slow or silent peer holds its probe (and a socket) until the probe's deadline, so in the
//! worst case a target needs `deadline / interval` of a slot on average (at most one: a target's
//! probes never overlap). 1,000 targets every 5 s with a 20 s deadline need 1,000 slots; the
//! old fixed default of 64 ran 45 of the 201 probes due each second and counted thousands late.

use std::time::Duration;

use crate::discovery::target::Target;

/// The least default (a small fleet keeps the old default).
pub const FLOOR: usize = 64;
/// Headroom over the worst-case demand (bursts, the random phases bunching up).
const HEADROOM: f64 = 1.25;
/// File descriptors kept back for everything else: the listener and its connections, the
/// resolver, Kubernetes, ACM, logs.
pub const FD_RESERVE: u64 = 256;
/// Descriptors one probe may hold at once (its TCP socket, a DNS socket).
pub const FDS_PER_PROBE: u64 = 2;

/// The default concurrency for `targets` probed every `interval` (unless a target sets its
/// own) with a probe `deadline`, capped by the soft descriptor limit `fd_limit`.
pub fn default_concurrency(
    targets: &[Target],
    interval: Duration,
    deadline: Duration,
    fd_limit: Option<u64>,
) -> usize {
    let demand: f64 = targets
        .iter()
        .map(|t| {
            let every = t.interval.unwrap_or(interval).as_secs_f64().max(1e-3);
            (deadline.as_secs_f64() / every).min(1.0)
        })
        .sum();
    let wanted = ((demand * HEADROOM).ceil() as usize).max(FLOOR);
    wanted.min(cap(fd_limit))
}

/// The most probes in flight the descriptor limit leaves room for (at least [`FLOOR`]).
pub fn cap(fd_limit: Option<u64>) -> usize {
    let Some(limit) = fd_limit else {
        return crate::config::validate::MAX_CONCURRENCY as usize;
    };
    let room = limit.saturating_sub(FD_RESERVE) / FDS_PER_PROBE;
    (room as usize).clamp(FLOOR, crate::config::validate::MAX_CONCURRENCY as usize)
}

/// The soft `RLIMIT_NOFILE` of this process (Linux: `/proc/self/limits`); `None` when unknown
/// or unlimited.
pub fn fd_soft_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::target::TargetSource;

    fn fleet(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target::new(format!("t{i}.example.com"), 443, TargetSource::Config))
            .collect()
    }

    #[test]
    fn a_small_fleet_keeps_the_floor() {
        let c = default_concurrency(
            &fleet(10),
            Duration::from_secs(30),
            Duration::from_secs(20),
            None,
        );
        assert_eq!(c, FLOOR);
    }

    #[test]
    fn a_large_fast_fleet_gets_a_slot_per_target_plus_headroom() {
        let c = default_concurrency(
            &fleet(1000),
            Duration::from_secs(5),
            Duration::from_secs(20),
            Some(1_048_576),
        );
        assert_eq!(c, 1250);
        // Slower intervals need fewer: 1,000 targets every 60 s, 20 s deadline.
        let c = default_concurrency(
            &fleet(1000),
            Duration::from_secs(60),
            Duration::from_secs(20),
            Some(1_048_576),
        );
        assert_eq!(c, 417);
    }

    #[test]
    fn the_descriptor_limit_caps_it() {
        let c = default_concurrency(
            &fleet(1000),
            Duration::from_secs(5),
            Duration::from_secs(20),
            Some(1024),
        );
        assert_eq!(c, (1024 - FD_RESERVE as usize) / 2);
        assert_eq!(cap(Some(100)), FLOOR);
    }
}

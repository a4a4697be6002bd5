//! When to scan: on the first probe of an address, then every `tls.scan_interval`, or sooner
//! when the served leaf changes (a new certificate often comes with a new listener or policy).
//! The daemon scans in the background and shows the last finished scan, so a probe never waits
//! for one; `--once` waits, since it has no next probe. A scan cache keyed by (address, leaf
//! served): the policy is the listener's, and what else changes the answer is the leaf (its key
//! type decides the suites the server can pick), so the names behind one listener that are
//! served one certificate (a wildcard, or one ACM certificate with many SANs) share one scan:
//! a fleet of 10,000 names on a few NLBs costs a few scans, not 10,000 (each scan is about 23
//! connections). A name whose handshake gave no leaf is keyed by its name. Scans run at most
//! [`MAX_CONCURRENT_SCANS`] at a time across all targets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::{ScanSettings, TlsScan, scan};
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::certinfo;
use crate::probe::enrich::Enricher;

/// Most scans in flight at once (each is one connection at a time).
pub const MAX_CONCURRENT_SCANS: usize = 4;

/// What a scan is shared by: the listener, and the leaf it served.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Served {
    /// The SHA-256 of the leaf the probe's handshake got.
    Leaf([u8; 32]),
    /// No leaf (the handshake failed): only this name's probes share the scan.
    NoLeaf(String),
}

type Key = (SocketAddr, Served);

fn key(address: SocketAddr, leaf: Option<[u8; 32]>, name: &str) -> Key {
    match leaf {
        Some(leaf) => (address, Served::Leaf(leaf)),
        None => (address, Served::NoLeaf(name.to_string())),
    }
}

#[derive(Default)]
struct Entry {
    /// The last finished scan.
    scan: Option<Arc<TlsScan>>,
    /// When the last scan was started; `None` before the first.
    started: Option<Instant>,
    /// A scan is in flight.
    running: bool,
    /// Turns true when the last scan started has finished (what `--once` waits on, also for a
    /// scan another target on the same address and name started).
    finished: Option<watch::Receiver<bool>>,
}

struct Inner {
    settings: ScanSettings,
    interval: Duration,
    cache: Mutex<HashMap<Key, Entry>>,
    limit: Semaphore,
    last_sweep: Mutex<Option<Instant>>,
}

/// Adds each address's last TLS scan to the observation, starting scans when due.
pub struct TlsScanEnricher {
    inner: Arc<Inner>,
    wait: bool,
}

impl TlsScanEnricher {
    /// Scans bounded by `settings`, repeated every `interval`; `wait`: finish a due scan before
    /// returning (for `--once`) instead of in the background.
    pub fn new(settings: ScanSettings, interval: Duration, wait: bool) -> Self {
        TlsScanEnricher {
            inner: Arc::new(Inner {
                settings,
                interval,
                cache: Mutex::new(HashMap::new()),
                limit: Semaphore::new(MAX_CONCURRENT_SCANS),
                last_sweep: Mutex::new(None),
            }),
            wait,
        }
    }

    /// Starts the scans that are due for these (address, leaf) pairs, sending `name` as the
    /// SNI; returns what tells when each one's current scan (new or already running) has
    /// finished.
    fn start_due(
        &self,
        name: &str,
        served: &[(SocketAddr, Option<[u8; 32]>)],
    ) -> Vec<watch::Receiver<bool>> {
        let mut pending = Vec::new();
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (address, leaf) in served {
            let key = key(*address, *leaf, name);
            let entry = cache.entry(key.clone()).or_default();
            // A new leaf is a new key: scanned at once (a new certificate often comes with a
            // new listener or policy).
            let stale = entry
                .started
                .is_none_or(|s| s.elapsed() >= self.inner.interval);
            if entry.running || !stale {
                if entry.running {
                    pending.extend(entry.finished.clone());
                }
                continue;
            }
            let (done, finished) = watch::channel(false);
            entry.running = true;
            entry.started = Some(Instant::now());
            entry.finished = Some(finished.clone());
            pending.push(finished);
            let inner = self.inner.clone();
            let sni = name.to_string();
            tokio::spawn(async move {
                let result = match inner.limit.acquire().await {
                    Ok(_permit) => Some(scan(key.0, &sni, &inner.settings).await),
                    Err(_) => None,
                };
                {
                    let mut cache = inner.cache.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(entry) = cache.get_mut(&key) {
                        entry.running = false;
                        if let Some(r) = result {
                            entry.scan = Some(Arc::new(r));
                        }
                    }
                }
                let _ = done.send(true);
            });
        }
        pending
    }

    /// Forgets (address, leaf) pairs not scanned for three intervals (targets gone, addresses changed);
    /// at most once a minute, so a large fleet does not walk the cache on every probe.
    fn sweep(&self) {
        let mut last = self
            .inner
            .last_sweep
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| l.elapsed() < Duration::from_secs(60)) {
            return;
        }
        *last = Some(Instant::now());
        let keep = self.inner.interval * 3;
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, e| e.running || e.started.is_some_and(|s| s.elapsed() < keep));
    }
}

#[async_trait::async_trait]
impl Enricher for TlsScanEnricher {
    async fn enrich(&self, target: &Target, observation: &mut Observation) {
        // Only where TCP connected: a scan of a dead address would only time out again.
        let served: Vec<(SocketAddr, Option<[u8; 32]>)> = observation
            .endpoints
            .iter()
            .filter(|e| e.connect.is_ok())
            .map(|e| {
                let leaf = e.tls.as_ref().and_then(|t| t.chain.first());
                (e.address, leaf.map(|d| certinfo::sha256(d)))
            })
            .collect();
        let pending = self.start_due(&target.hostname, &served);
        if self.wait {
            for mut finished in pending {
                // Err: the scan task is gone (runtime shutting down); nothing to wait for.
                let _ = finished.wait_for(|done| *done).await;
            }
        }
        self.sweep();
        let cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (address, leaf) in &served {
            if let Some(scan) = cache
                .get(&key(*address, *leaf, &target.hostname))
                .and_then(|e| e.scan.clone())
            {
                observation.tls_scans.push(scan);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rustls::pki_types::CertificateDer;

    use super::*;
    use crate::discovery::target::TargetSource;
    use crate::probe::dns::DnsObservation;
    use crate::probe::{EndpointObservation, TlsObservation};

    /// A listener that closes every connection at once (every hello refused: 4 per scan).
    async fn closing_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                drop(tcp);
            }
        });
        (addr, count)
    }

    fn observation(addr: SocketAddr, leaf: &[u8]) -> Observation {
        observation_of("app.example.test", addr, leaf)
    }

    fn observation_of(name: &str, addr: SocketAddr, leaf: &[u8]) -> Observation {
        let mut obs = Observation::from_dns(
            std::time::SystemTime::now(),
            DnsObservation::answered(name, vec![addr.ip()]),
        );
        obs.endpoints.push(EndpointObservation {
            address: addr,
            connect: Ok(Duration::ZERO),
            tls: Some(TlsObservation {
                chain: Arc::from([CertificateDer::from(leaf.to_vec())]),
                ..TlsObservation::before_handshake()
            }),
            http: None,
        });
        obs
    }

    async fn settle(count: &AtomicUsize, expect: usize) {
        for _ in 0..200 {
            if count.load(Ordering::SeqCst) >= expect {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Let the scan task store its result.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test]
    async fn the_daemon_scans_in_the_background_once_per_interval_and_again_when_the_leaf_changes()
    {
        let (addr, count) = closing_server().await;
        let settings = ScanSettings {
            connect_timeout: Duration::from_secs(1),
            tls_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(5),
            source_ip: None,
        };
        let enricher = TlsScanEnricher::new(settings, Duration::from_secs(3600), false);
        let target = Target::new("app.example.test", addr.port(), TargetSource::Flag);

        let mut first = observation(addr, b"leaf-1");
        enricher.enrich(&target, &mut first).await;
        assert!(
            first.tls_scans.is_empty(),
            "the probe does not wait for the scan"
        );
        settle(&count, 4).await;

        let mut second = observation(addr, b"leaf-1");
        enricher.enrich(&target, &mut second).await;
        assert_eq!(second.tls_scans.len(), 1);
        assert!(second.tls_scans[0].versions.is_empty());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            4,
            "no rescan within the interval"
        );

        let mut renewed = observation(addr, b"leaf-2");
        enricher.enrich(&target, &mut renewed).await;
        settle(&count, 8).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            8,
            "a new leaf is scanned again"
        );
    }

    fn scan_settings() -> ScanSettings {
        ScanSettings {
            connect_timeout: Duration::from_secs(1),
            tls_timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(5),
            source_ip: None,
        }
    }

    #[tokio::test]
    async fn names_served_one_leaf_by_one_listener_share_one_scan_and_other_leaves_get_their_own() {
        let (addr, count) = closing_server().await;
        // `--once`: every probe waits for its scan, so the counts are exact.
        let enricher = TlsScanEnricher::new(scan_settings(), Duration::from_secs(3600), true);
        for i in 0..20 {
            let name = format!("t{i}.example.test");
            let target = Target::new(&name, addr.port(), TargetSource::Flag);
            let mut obs = observation_of(&name, addr, b"one wildcard leaf");
            enricher.enrich(&target, &mut obs).await;
            assert_eq!(obs.tls_scans.len(), 1, "{name} shows the shared scan");
        }
        assert_eq!(
            count.load(Ordering::SeqCst),
            4,
            "20 names, one listener, one leaf: one scan (4 hellos), not 20"
        );

        let other = Target::new("other.example.test", addr.port(), TargetSource::Flag);
        let mut obs = observation_of("other.example.test", addr, b"another leaf");
        enricher.enrich(&other, &mut obs).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            8,
            "another leaf: its own scan"
        );

        // No leaf (the handshake failed): keyed by the name, never shared with another name.
        for name in ["a.example.test", "b.example.test", "a.example.test"] {
            let target = Target::new(name, addr.port(), TargetSource::Flag);
            let mut obs = observation_of(name, addr, b"");
            obs.endpoints[0].tls = None;
            enricher.enrich(&target, &mut obs).await;
            assert_eq!(obs.tls_scans.len(), 1);
        }
        assert_eq!(
            count.load(Ordering::SeqCst),
            16,
            "a and b scanned once each"
        );
    }
}

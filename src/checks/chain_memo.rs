//! A memo of chains that verified. The same chain bytes against the same trust anchors verify the
//! same way for as long as every presented certificate is within its validity period, so a
//! prober that sees an identical chain every interval need not redo its signature checks. Only
//! successes are kept, with that validity window: a chain outside it, or one that failed, is
//! verified (and explained) afresh. The verdict is exactly what verification would return.

use std::collections::HashMap;
use std::sync::Mutex;

use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::probe::certinfo;

/// At most this many chains are remembered; past it the memo starts afresh (a fleet has far
/// fewer distinct chains than targets).
const MAX_ENTRIES: usize = 65_536;

/// The chains that verified, each with the Unix-seconds window in which that still holds.
#[derive(Debug, Default)]
pub struct VerifiedChains {
    entries: Mutex<HashMap<[u8; 32], (i64, i64)>>,
}

/// The memo key: SHA-256 over the chain's certificates, each length-prefixed.
pub fn key(chain: &[CertificateDer<'_>]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for der in chain {
        hash.update((der.len() as u64).to_be_bytes());
        hash.update(der.as_ref());
    }
    hash.finalize().into()
}

impl VerifiedChains {
    /// Whether the chain with `key` verified and `now` is inside its validity window.
    pub fn holds(&self, key: &[u8; 32], now: i64) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .is_some_and(|&(from, until)| from <= now && now <= until)
    }

    /// Remembers that `chain` verified; its window is where every certificate in it is valid.
    pub fn remember(&self, key: [u8; 32], chain: &[CertificateDer<'_>]) {
        let Some(window) = validity_window(chain) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, window);
    }

    /// How many chains are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// (latest notBefore, earliest notAfter) over the chain; `None` if a certificate does not parse.
fn validity_window(chain: &[CertificateDer<'_>]) -> Option<(i64, i64)> {
    let mut window = (i64::MIN, i64::MAX);
    for der in chain {
        let (not_before, not_after) = certinfo::validity(der)?;
        window.0 = window.0.max(not_before);
        window.1 = window.1.min(not_after);
    }
    Some(window)
}

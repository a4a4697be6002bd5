//! The chains servers present, kept once however many targets and probes see them.
//!
//! A fleet's listeners serve a few distinct chains (one per ACM certificate), and every probe
//! of every target receives one of them again. Without this memo each probe copied the chain's
//! DER (about 3 KB) into its observation and parsed the leaf with x509-parser, and the daemon's
//! status store then kept a copy per target: at 100,000 targets, 100,000 copies of the same
//! few chains. Here a presented chain that matches one seen before gets the shared `Arc`s (the
//! DER and the parsed leaf) instead; only a chain not seen yet is copied and parsed.
//!
//! The key is cheap (each certificate's length and last bytes, which are its signature, unique
//! per certificate); a hit is confirmed by comparing the whole DER, so two chains never mix.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use rustls::pki_types::CertificateDer;

use super::certinfo;
use super::tls::{IssuerFacts, ParsedLeaf};

/// Distinct chains kept at most; past this, chains nobody else holds are dropped first, and a
/// chain that still does not fit is simply not shared (the probe keeps its own copy).
const MAX_CHAINS: usize = 4096;

/// How many trailing bytes of each certificate go into the key (its signature's tail).
const TAIL: usize = 32;

/// A chain as presented, shared, with its leaf parsed.
#[derive(Debug, Clone)]
pub struct SharedChain {
    /// The chain, leaf first (DER).
    pub chain: Arc<[CertificateDer<'static>]>,
    /// The leaf parsed (`None`: the chain is empty).
    pub leaf: Option<ParsedLeaf>,
    /// The rest of the chain, parsed when a report first asks.
    pub issuers: Arc<IssuerFacts>,
}

impl SharedChain {
    /// Copies and parses `presented` (no sharing).
    pub fn new(presented: &[CertificateDer<'_>]) -> Self {
        let chain: Arc<[CertificateDer<'static>]> =
            presented.iter().map(|c| c.clone().into_owned()).collect();
        let leaf = chain.first().map(|l| Arc::new(certinfo::parse(l)));
        SharedChain {
            chain,
            leaf,
            issuers: Arc::default(),
        }
    }
}

/// The memo of presented chains (see the module's doc).
#[derive(Debug, Default)]
pub struct ServedChains {
    by_key: Mutex<HashMap<u64, SharedChain>>,
}

impl ServedChains {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared form of `presented`: the kept one when it was seen before, else a new one
    /// (kept when there is room).
    pub fn intern(&self, presented: &[CertificateDer<'_>]) -> SharedChain {
        let key = key_of(presented);
        let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = map.get(&key) {
            if same(&kept.chain, presented) {
                return kept.clone();
            }
            // A key collision (never seen in practice): this chain is not shared.
            drop(map);
            return SharedChain::new(presented);
        }
        if map.len() >= MAX_CHAINS {
            map.retain(|_, kept| Arc::strong_count(&kept.chain) > 1);
        }
        drop(map);
        // Parsed outside the lock: x509 parsing is the costly part.
        let fresh = SharedChain::new(presented);
        let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() < MAX_CHAINS {
            map.entry(key).or_insert_with(|| fresh.clone());
        }
        fresh
    }

    /// Distinct chains kept now.
    pub fn len(&self) -> usize {
        self.by_key.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no chain is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key_of(chain: &[CertificateDer<'_>]) -> u64 {
    let mut h = DefaultHasher::new();
    chain.len().hash(&mut h);
    for cert in chain {
        let der: &[u8] = cert.as_ref();
        der.len().hash(&mut h);
        der[der.len().saturating_sub(TAIL)..].hash(&mut h);
    }
    h.finish()
}

fn same(kept: &[CertificateDer<'static>], presented: &[CertificateDer<'_>]) -> bool {
    kept.len() == presented.len()
        && kept
            .iter()
            .zip(presented)
            .all(|(a, b)| a.as_ref() == b.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(bytes: &[u8]) -> CertificateDer<'static> {
        CertificateDer::from(bytes.to_vec())
    }

    #[test]
    fn the_same_chain_is_shared_and_parsed_once() {
        let memo = ServedChains::new();
        let chain = [der(b"leaf-one"), der(b"intermediate")];
        let a = memo.intern(&chain);
        let b = memo.intern(&chain.clone());
        assert!(Arc::ptr_eq(&a.chain, &b.chain), "one copy of the DER");
        let (la, lb) = (a.leaf.expect("leaf"), b.leaf.expect("leaf"));
        assert!(Arc::ptr_eq(&la, &lb), "one parse of the leaf");
        assert!(
            la.is_err(),
            "not a certificate: the parse error is kept too"
        );
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn the_rest_of_a_shared_chain_is_parsed_once_for_every_observation() {
        use crate::probe::tls::TlsObservation;
        let memo = ServedChains::new();
        let chain = [der(b"leaf-two"), der(b"intermediate"), der(b"root")];
        let observe = || {
            let mut tls = TlsObservation::before_handshake();
            tls.record_shared(memo.intern(&chain));
            tls
        };
        let (a, b) = (observe(), observe());
        let (fa, fb) = (a.issuer_facts(), b.issuer_facts());
        assert_eq!(fa.len(), 2, "everything after the leaf");
        assert!(
            std::ptr::eq(fa.as_ptr(), fb.as_ptr()),
            "one parse, shared by both observations"
        );
        // The same facts as a parse of its own (unshared observations get one).
        let unshared = TlsObservation {
            issuers: None,
            ..a.clone()
        };
        assert_eq!(*unshared.issuer_facts(), *fa);
    }

    #[test]
    fn chains_that_share_the_key_bytes_are_told_apart() {
        let memo = ServedChains::new();
        // Same lengths and same last 32 bytes: the same key, different DER.
        let tail = [7u8; 40];
        let mut one = b"AAAA".to_vec();
        one.extend_from_slice(&tail);
        let mut two = b"BBBB".to_vec();
        two.extend_from_slice(&tail);
        let a = memo.intern(&[der(&one)]);
        let b = memo.intern(&[der(&two)]);
        assert_eq!(a.chain[0].as_ref(), one.as_slice());
        assert_eq!(b.chain[0].as_ref(), two.as_slice());
        assert!(!Arc::ptr_eq(&a.chain, &b.chain));
    }

    #[test]
    fn a_full_memo_drops_chains_nobody_holds_and_still_answers() {
        let memo = ServedChains::new();
        let held: Vec<SharedChain> = (0..10u32)
            .map(|i| memo.intern(&[der(&i.to_be_bytes())]))
            .collect();
        for i in 10..(MAX_CHAINS as u32 + 50) {
            let c = memo.intern(&[der(&i.to_be_bytes())]);
            assert_eq!(c.chain[0].as_ref(), i.to_be_bytes().as_slice());
        }
        assert!(memo.len() <= MAX_CHAINS);
        for (i, h) in held.iter().enumerate() {
            let again = memo.intern(&[der(&(i as u32).to_be_bytes())]);
            assert!(
                Arc::ptr_eq(&again.chain, &h.chain),
                "a held chain stays shared"
            );
        }
    }

    #[test]
    fn an_empty_chain_has_no_leaf() {
        let memo = ServedChains::new();
        assert!(memo.intern(&[]).leaf.is_none());
    }
}

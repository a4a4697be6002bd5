//! The answers of names that resolved, kept until their TTL runs out (the instant the resolver
//! says its answer stops being valid), so a probe of a name asked a moment ago costs one map
//! look-up instead of a trip through the resolver's own cache.
//!
//! Why beside hickory's cache, not instead of it: hickory's cache is what honours TTLs, negative
//! answers and CNAME chains; but a hit there parses the name, walks a concurrent cache (moka)
//! once for A and once for AAAA and builds a fresh `Lookup`: in a profile of the daemon at
//! 10,000 names, about 30 µs of each probe's 480. This memo keeps only what a probe reads (the
//! addresses and the CNAME chain) of a successful answer, under the exact name, and only while
//! hickory's answer would still be served from its cache; failures are never kept (the next
//! probe asks again, as it would through the resolver). Only used with `resolver.cache: true`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use thin_vec::ThinVec;

/// Most names kept; past it, expired answers go, and if that is not enough, all of them.
const MAX_NAMES: usize = 1 << 20;

/// A name's answer while it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// CNAME targets followed, in order.
    pub cname_chain: Vec<String>,
    /// A and AAAA answers, in answer order.
    pub addresses: Vec<IpAddr>,
}

/// An answer as the memo keeps it: 32 bytes, and with its boxed name 48 a name, in a map that
/// holds every name of the fleet (a `Vec`-based answer and an `Instant` made it 88: 5 MB more
/// at 100,000 names). Most answers have no CNAME (alias A records), so the chain is a
/// `ThinVec`, which allocates nothing while empty.
#[derive(Debug)]
struct Kept {
    addresses: Box<[IpAddr]>,
    cname_chain: ThinVec<String>,
    /// When the answer stops being valid, in whole milliseconds after the memo's `epoch`
    /// (rounded down: never served past its TTL).
    valid_until_ms: u64,
}

/// Successful answers by name, until they expire.
#[derive(Debug)]
pub struct AnswerMemo {
    /// What `valid_until_ms` counts from.
    epoch: Instant,
    by_name: Mutex<HashMap<Box<str>, Kept>>,
}

impl Default for AnswerMemo {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            by_name: Mutex::default(),
        }
    }
}

impl AnswerMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// `at` in milliseconds after the epoch (0 for an instant before it).
    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// `name`'s answer, if one was kept and is still valid at `now`.
    pub fn get(&self, name: &str, now: Instant) -> Option<Answer> {
        let now = self.millis(now);
        let map = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name)
            .filter(|k| now < k.valid_until_ms)
            .map(|k| Answer {
                cname_chain: k.cname_chain.to_vec(),
                addresses: k.addresses.to_vec(),
            })
    }

    /// Keeps `name`'s `answer` until `valid_until`; an answer already expired is not kept.
    pub fn keep(&self, name: &str, answer: Answer, valid_until: Instant, now: Instant) {
        let (valid_until_ms, now) = (self.millis(valid_until), self.millis(now));
        if valid_until_ms <= now {
            return;
        }
        let kept = Kept {
            addresses: answer.addresses.into_boxed_slice(),
            cname_chain: answer.cname_chain.into_iter().collect(),
            valid_until_ms,
        };
        let mut map = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_NAMES && !map.contains_key(name) {
            map.retain(|_, k| now < k.valid_until_ms);
            if map.len() >= MAX_NAMES {
                map.clear();
            }
        }
        // In place for a known name: its key stays.
        match map.get_mut(name) {
            Some(slot) => *slot = kept,
            None => {
                map.insert(name.into(), kept);
            }
        }
    }

    /// Names kept (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.by_name.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// The map's entry (boxed name and answer) is 48 bytes; see `Kept`.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<(Box<str>, Kept)>() <= 48);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn answer(ip: &str) -> Answer {
        Answer {
            cname_chain: vec!["nlb-1.elb.us-east-1.amazonaws.com".into()],
            addresses: vec![ip.parse().unwrap()],
        }
    }

    #[test]
    fn an_answer_is_served_until_its_ttl_runs_out_and_then_asked_again() {
        let memo = AnswerMemo::new();
        let now = Instant::now();
        let ttl = Duration::from_secs(60);
        memo.keep("app.example.com", answer("192.0.2.1"), now + ttl, now);
        assert_eq!(
            memo.get("app.example.com", now + Duration::from_secs(59)),
            Some(answer("192.0.2.1"))
        );
        assert_eq!(memo.get("app.example.com", now + ttl), None, "expired");
        assert_eq!(memo.get("other.example.com", now), None);
        // A fresh answer replaces the old one (the record changed at its next TTL).
        memo.keep(
            "app.example.com",
            answer("192.0.2.2"),
            now + ttl * 3,
            now + ttl,
        );
        assert_eq!(
            memo.get("app.example.com", now + ttl * 2),
            Some(answer("192.0.2.2"))
        );
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn an_answer_already_expired_is_not_kept() {
        let memo = AnswerMemo::new();
        let now = Instant::now();
        memo.keep("app.example.com", answer("192.0.2.1"), now, now);
        assert!(memo.is_empty());
    }

    #[test]
    fn a_kept_answer_reads_back_whole() {
        let memo = AnswerMemo::new();
        let now = Instant::now();
        let chained = Answer {
            cname_chain: vec![
                "app.example.com".into(),
                "nlb-1.elb.us-east-1.amazonaws.com".into(),
            ],
            addresses: vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
        };
        let later = now + Duration::from_secs(60);
        memo.keep("www.example.com", chained.clone(), later, now);
        assert_eq!(memo.get("www.example.com", now), Some(chained));
        // An alias A record: no chain.
        let alias = Answer {
            cname_chain: Vec::new(),
            addresses: vec!["192.0.2.9".parse().unwrap()],
        };
        memo.keep("alias.example.com", alias.clone(), later, now);
        assert_eq!(memo.get("alias.example.com", now), Some(alias));
        assert_eq!(memo.len(), 2);
    }
}

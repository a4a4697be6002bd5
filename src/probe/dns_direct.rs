//! The plain answer straight from the nameserver, in front of hickory's resolver.
//!
//! Nearly every lookup a prober makes has the plain answer: NOERROR, not truncated, the address
//! records in the answer section (behind the CNAME chain, when there is one). For these,
//! hickory's resolver layers (name-server pool, retry handle, response cache, lookup strategy,
//! about 10 % of a `--once` pass's CPU) add nothing to what the two datagrams say. Here the
//! AAAA and A queries go over the first nameserver's multiplexed socket ([`super::dns_mux`]),
//! and when both answers are plain their records are the lookup's result, as hickory's resolver
//! would give them: AAAA's answers before A's, valid for the least TTL of the address and CNAME
//! records, at most a day.
//!
//! Anything else goes to hickory's resolver, which then decides: an error code, a truncated
//! answer, a chain whose end is not in the answer, no address in either answer, no answer
//! within [`BUDGET`], a special-use name (`localhost`, `.invalid`), a name in the hosts file.
//! So this path only ever says yes; every failure a report shows is hickory's. After a timeout
//! or a socket error, lookups skip this path for [`PAUSE`]: the nameserver may be down, and
//! hickory's pool knows the other servers.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hickory_resolver::config::ResolverOpts;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::{
    DnsRequest, DnsRequestOptions, DnsResponse, Query, ResponseCode,
};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::{Hosts, MAX_TTL};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::dns_mux::UdpMux;

/// Longest wait for the two answers before the lookup goes to hickory: three sends, 333 ms
/// apart (or the resolver's timeout, when shorter).
pub const BUDGET: Duration = Duration::from_secs(1);

/// How long lookups skip this path after it timed out or its socket failed.
pub const PAUSE: Duration = Duration::from_secs(30);

/// Top-level labels whose names a resolver answers itself or refuses (RFC 6761, 6762, 7686).
const SPECIAL_USE: [&str; 4] = ["localhost", "invalid", "local", "onion"];

/// A plain answer: the answer records of both queries (AAAA's first) and how long they hold.
#[derive(Debug)]
pub struct DirectAnswer {
    pub records: Vec<Record>,
    pub valid_until: Instant,
}

/// Asks the first nameserver directly; see the module documentation.
pub struct DirectAsk {
    server: Option<SocketAddr>,
    budget: Duration,
    options: DnsRequestOptions,
    hosts: Hosts,
    /// The socket, opened at the first lookup; `None` when it could not be.
    mux: OnceCell<Option<UdpMux>>,
    paused_until: Mutex<Option<Instant>>,
}

impl DirectAsk {
    /// Asks `server` (none: never asks) as the resolver with `resolver` would (its timeout,
    /// recursion and EDNS settings); names in `hosts` are left to the resolver.
    pub fn new(server: Option<SocketAddr>, resolver: &ResolverOpts, hosts: Hosts) -> Self {
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = resolver.recursion_desired;
        options.use_edns = resolver.edns0;
        options.edns_payload_len = resolver.edns_payload_len;
        DirectAsk {
            server,
            budget: BUDGET.min(resolver.timeout),
            options,
            hosts,
            mux: OnceCell::new(),
            paused_until: Mutex::new(None),
        }
    }

    /// The plain answer for `name` (absolute), or `None`: then the resolver must ask.
    pub async fn ask(&self, name: &Name) -> Option<DirectAnswer> {
        let server = self.server?;
        if self.paused() || is_special_use(name) || self.in_hosts(name) {
            return None;
        }
        let mux = self
            .mux
            .get_or_init(|| async move { UdpMux::connect(server, None, self.budget).await.ok() })
            .await
            .as_ref()?;
        let ask = |record_type| {
            let query = Query::query(name.clone(), record_type);
            mux.exchange(DnsRequest::from_query(query, self.options))
        };
        // Each exchange ends within the budget: the socket's timeout.
        let (aaaa, a) = match tokio::join!(ask(RecordType::AAAA), ask(RecordType::A)) {
            (Ok(aaaa), Ok(a)) => (aaaa, a),
            (Err(e), _) | (_, Err(e)) => {
                self.pause(&e);
                return None;
            }
        };
        let now = Instant::now();
        match (
            plain(name, RecordType::AAAA, aaaa),
            plain(name, RecordType::A, a),
        ) {
            (Some(Plain::Found(mut records, t1)), Some(Plain::Found(more, t2))) => {
                records.extend(more);
                Some(DirectAnswer {
                    records,
                    valid_until: now + t1.min(t2),
                })
            }
            (Some(Plain::Found(records, ttl)), Some(Plain::Nodata))
            | (Some(Plain::Nodata), Some(Plain::Found(records, ttl))) => Some(DirectAnswer {
                records,
                valid_until: now + ttl,
            }),
            _ => None,
        }
    }

    fn paused(&self) -> bool {
        let paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        paused.is_some_and(|until| Instant::now() < until)
    }

    fn pause(&self, why: &NetError) {
        tracing::debug!(error = %why, "asking the nameserver directly paused; the resolver asks");
        *self.paused_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + PAUSE);
    }

    fn in_hosts(&self, name: &Name) -> bool {
        [RecordType::A, RecordType::AAAA]
            .into_iter()
            .any(|record_type| {
                self.hosts
                    .lookup_static_host(&Query::query(name.clone(), record_type))
                    .is_some()
            })
    }
}

/// One query's answer, when it is the plain case.
enum Plain {
    /// Address records of the asked type (for the name or the end of its chain) in the answer
    /// section: every answer record, and the TTL the lookup holds for.
    Found(Vec<Record>, Duration),
    /// NOERROR and an empty answer section: the name has no record of this type.
    Nodata,
}

fn plain(name: &Name, record_type: RecordType, response: DnsResponse) -> Option<Plain> {
    if response.response_code != ResponseCode::NoError || response.truncation {
        return None;
    }
    let message = response.into_message();
    // hickory's pool turns down a response with a record of another class.
    if message.all_sections().any(|r| r.dns_class != DNSClass::IN) {
        return None;
    }
    if message.answers.is_empty() {
        return Some(Plain::Nodata);
    }
    // The chain, as hickory follows it: each CNAME whose owner is the name reached so far.
    let mut end = name.clone();
    for record in &message.answers {
        if let RData::CNAME(target) = &record.data
            && record.name == end
        {
            end = target.0.clone();
        }
    }
    let found = message
        .answers
        .iter()
        .any(|r| r.record_type() == record_type && (r.name == end || r.name == *name));
    if !found {
        return None;
    }
    let ttl = message
        .answers
        .iter()
        .filter(|r| r.record_type() == record_type || r.record_type() == RecordType::CNAME)
        // At most a day, as hickory's cache holds an answer.
        .map(|r| r.ttl.min(MAX_TTL))
        .min()
        .unwrap_or(0);
    Some(Plain::Found(
        message.answers,
        Duration::from_secs(ttl.into()),
    ))
}

fn is_special_use(name: &Name) -> bool {
    name.iter().next_back().is_some_and(|label| {
        SPECIAL_USE
            .iter()
            .any(|s| label.eq_ignore_ascii_case(s.as_bytes()))
    })
}

#[cfg(test)]
mod tests;

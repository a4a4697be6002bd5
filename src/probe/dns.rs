//! DNS: resolve a name with hickory-resolver, keeping the CNAME chain and the A/AAAA answers,
//! and classify failures (NXDOMAIN, SERVFAIL, no answer, timeout) without judging them. The
//! plain answers come straight from the nameserver ([`super::dns_direct`]); everything else,
//! every failure included, is hickory's.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::Hosts;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup_ip::LookupIp;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use serde::Serialize;
use tokio::time::Instant;

use super::dns_direct::{DirectAnswer, DirectAsk};
use super::dns_memo::{Answer, AnswerMemo};
use super::dns_mux::MuxProvider;
use crate::discovery::target::normalise_hostname;

/// The answer to one name.
#[derive(Debug, Clone, Serialize)]
pub struct DnsObservation {
    /// The name asked for.
    pub name: String,
    /// CNAME targets followed, in order (lowercase, no trailing dot). Empty for alias A records.
    pub cname_chain: Vec<String>,
    /// A and AAAA answers, deduplicated, in answer order.
    pub addresses: Vec<IpAddr>,
    /// The nameservers asked (`ip:port`); empty for an address literal or when unknown. Shared
    /// with the prober (and so by every observation it makes): the list is the resolver's.
    pub nameservers: Arc<[SocketAddr]>,
    /// Why resolution failed, when it did.
    pub failure: Option<DnsFailure>,
    /// Time taken.
    #[serde(
        rename = "duration_ms",
        serialize_with = "crate::timefmt::serialize_ms"
    )]
    pub duration: Duration,
}

impl DnsObservation {
    /// `name` answered with `addresses` (no CNAME), in no time: a plain answer.
    pub fn answered(name: &str, addresses: Vec<IpAddr>) -> Self {
        DnsObservation {
            name: name.to_string(),
            cname_chain: Vec::new(),
            addresses,
            nameservers: Arc::from([]),
            failure: None,
            duration: Duration::ZERO,
        }
    }
}

/// Why a name did not resolve to an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DnsFailure {
    /// The name does not exist.
    #[error("NXDOMAIN: the name does not exist")]
    Nxdomain,
    /// The server failed to answer (SERVFAIL).
    #[error("SERVFAIL from the DNS server")]
    Servfail,
    /// The name exists but has no A/AAAA records.
    #[error("no A/AAAA records (NOERROR, empty answer)")]
    NoAnswer,
    /// No answer within the timeout.
    #[error("DNS query timed out")]
    Timeout,
    /// This process ran out of file descriptors for the query's socket: edgewatch's trouble,
    /// not the name's (see [`super::descriptors`]).
    #[error("edgewatch is out of file descriptors: {0}")]
    NoDescriptors(Box<str>),
    /// The nameserver's port is closed: the query was refused (ICMP port unreachable).
    #[error("DNS query refused: nothing listens on the nameserver's port")]
    Refused,
    /// Another response code, or a transport error.
    #[error("DNS error: {0}")]
    Other(Box<str>),
}

impl DnsFailure {
    /// Stable short name for metric labels and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            DnsFailure::Nxdomain => "nxdomain",
            DnsFailure::Servfail => "servfail",
            DnsFailure::NoAnswer => "no_answer",
            DnsFailure::Timeout => "timeout",
            DnsFailure::NoDescriptors(_) => "no_descriptors",
            DnsFailure::Refused => "refused",
            DnsFailure::Other(_) => "error",
        }
    }

    fn from_error(err: &NetError) -> Self {
        match err {
            NetError::Timeout => DnsFailure::Timeout,
            NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
                ResponseCode::NXDomain => DnsFailure::Nxdomain,
                ResponseCode::ServFail => DnsFailure::Servfail,
                ResponseCode::NoError => DnsFailure::NoAnswer,
                other => DnsFailure::Other(format!("response code {other}").into()),
            },
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => DnsFailure::Servfail,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => DnsFailure::Nxdomain,
            NetError::Io(io) if super::descriptors::is_out_of_descriptors(io) => {
                DnsFailure::NoDescriptors(io.to_string().into())
            }
            // The connected UDP socket heard "port unreachable" (see super::dns_mux).
            NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                DnsFailure::Refused
            }
            other => {
                let text = other.to_string();
                // hickory reports "all nameservers failed/timed out" through several variants.
                if text.contains("timed out") || text.contains("timeout") {
                    DnsFailure::Timeout
                } else {
                    DnsFailure::Other(text.into())
                }
            }
        }
    }
}

/// How the resolver is set up: the system's (`/etc/resolv.conf`) or explicit servers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolverSettings {
    /// Explicit `ip:port` nameservers; empty uses the system configuration.
    pub nameservers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Option<Duration>,
    /// Whether to cache answers for their TTL (a client would).
    pub cache: bool,
}

/// Answers the resolver's own cache holds (one per name and record type asked). Small: the
/// prober keeps every successful answer for its TTL in front of it ([`super::dns_memo`], up to
/// 2^20 names), so this cache only sees a name again when that answer expired or failed, and it
/// holds negative answers and the CNAME steps shared by several names. At 1,000,000 entries it
/// cost about 1.4 KB per name of a fleet (two copies of every answer, for A and AAAA, in a
/// concurrent cache) for answers the prober already keeps.
pub const CACHE_ANSWERS: u64 = 4096;

/// The resolver every probe shares: hickory's, over one UDP socket per nameserver
/// ([`super::dns_mux`]), with the plain answers asked for directly in front of it
/// ([`super::dns_direct`]).
#[derive(Clone)]
pub struct Resolver {
    hickory: hickory_resolver::Resolver<MuxProvider>,
    direct: Arc<DirectAsk>,
}

/// Builds the one resolver shared by every probe.
pub fn build_resolver(settings: &ResolverSettings) -> Result<Resolver, String> {
    let hickory = build_hickory(settings)?;
    let options = hickory.options();
    let hosts = match options.use_hosts_file {
        ResolveHosts::Never => Hosts::default(),
        ResolveHosts::Always | ResolveHosts::Auto => Hosts::from_system().unwrap_or_default(),
    };
    let direct = DirectAsk::new(nameserver_addrs(settings).first().copied(), options, hosts);
    Ok(Resolver {
        hickory,
        direct: Arc::new(direct),
    })
}

fn build_hickory(
    settings: &ResolverSettings,
) -> Result<hickory_resolver::Resolver<MuxProvider>, String> {
    type Hickory = hickory_resolver::Resolver<MuxProvider>;
    let provider = MuxProvider::default();
    let mut builder = if settings.nameservers.is_empty() {
        Hickory::builder(provider)
            .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?
    } else {
        let servers = settings
            .nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                ns.connections = vec![udp, tcp];
                ns
            })
            .collect();
        let mut b =
            Hickory::builder_with_config(ResolverConfig::from_name_servers(servers), provider);
        *b.options_mut() = ResolverOpts::default();
        b
    };
    let opts = builder.options_mut();
    if let Some(t) = settings.timeout {
        opts.timeout = t;
    }
    // Two tries, so one lost UDP packet is not reported as a DNS failure.
    opts.attempts = 2;
    // With caching on, the prober's answer memo keeps every name's answer for its TTL; this
    // cache is the second level (see CACHE_ANSWERS).
    opts.cache_size = if settings.cache { CACHE_ANSWERS } else { 0 };
    // Answers are looked at as given: no search domains for fully qualified probe names.
    opts.ndots = 0;
    builder
        .build()
        .map_err(|e| format!("cannot build the DNS resolver: {e}"))
}

/// The `ip:port` of every nameserver the resolver asks: the configured ones, or the system's
/// (`/etc/resolv.conf`); empty when the system configuration cannot be read.
pub fn nameserver_addrs(settings: &ResolverSettings) -> Vec<SocketAddr> {
    if !settings.nameservers.is_empty() {
        return settings.nameservers.clone();
    }
    #[cfg(unix)]
    if let Ok((config, _)) = hickory_resolver::system_conf::read_system_conf() {
        let mut out = Vec::new();
        for ns in config.name_servers() {
            let port = ns.connections.first().map_or(53, |c| c.port);
            push_unique_addr(&mut out, SocketAddr::new(ns.ip, port));
        }
        return out;
    }
    Vec::new()
}

fn push_unique_addr(list: &mut Vec<SocketAddr>, addr: SocketAddr) {
    if !list.contains(&addr) {
        list.push(addr);
    }
}

/// Resolves `name` to its addresses, recording the CNAME chain; `nameservers` are the servers
/// the resolver asks (see [`nameserver_addrs`]), named in the observation and checked for a
/// closed port when no answer comes quickly. With `memo`, an answer still valid is taken from
/// it, and a successful one is kept in it (see [`super::dns_memo`]).
pub async fn resolve(
    resolver: &Resolver,
    nameservers: &Arc<[SocketAddr]>,
    name: &str,
    memo: Option<&AnswerMemo>,
) -> DnsObservation {
    let started = Instant::now();
    if let Some(answer) = memo.and_then(|m| m.get(name, std::time::Instant::now())) {
        return DnsObservation {
            name: name.to_string(),
            cname_chain: answer.cname_chain,
            addresses: answer.addresses,
            nameservers: nameservers.clone(),
            failure: None,
            duration: started.elapsed(),
        };
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        // An address literal needs no DNS.
        return DnsObservation {
            name: name.to_string(),
            cname_chain: Vec::new(),
            addresses: vec![ip],
            nameservers: Arc::from([]),
            failure: None,
            duration: started.elapsed(),
        };
    }
    // A trailing dot makes the name absolute: no search list, no ndots surprises.
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let lookup = async {
        // The plain answer straight from the nameserver; anything else is hickory's to decide.
        if let Ok(absolute) = Name::from_utf8(&fqdn)
            && let Some(answer) = resolver.direct.ask(&absolute).await
        {
            return Ok(Answered::Direct(answer));
        }
        resolver
            .hickory
            .lookup_ip(fqdn.as_str())
            .await
            .map(Answered::Resolver)
    };
    // A closed nameserver port that neither path reports as refused (hickory's pool may say
    // "timed out" after its tries) would read as a timeout seconds later. When no answer has come
    // quickly, ask the servers once over a connected socket: refused by all is told at once.
    let refused = async {
        tokio::time::sleep(super::dns_refusal::AFTER).await;
        if super::dns_refusal::all_refuse(nameservers).await {
            return;
        }
        std::future::pending::<()>().await
    };
    let result = tokio::select! {
        // The lookup first: a cached answer is ready at once, and then no timer is set.
        biased;
        r = lookup => Some(r),
        () = refused => None,
    };
    let duration = started.elapsed();
    let mut obs = DnsObservation {
        name: name.to_string(),
        cname_chain: Vec::new(),
        addresses: Vec::new(),
        nameservers: nameservers.clone(),
        failure: None,
        duration,
    };
    let Some(result) = result else {
        obs.failure = Some(DnsFailure::Refused);
        return obs;
    };
    match result {
        Ok(answered) => {
            for record in answered.records() {
                match &record.data {
                    RData::CNAME(cname) => {
                        let target = normalise_name(&cname.0.to_string());
                        if !obs.cname_chain.contains(&target) {
                            obs.cname_chain.push(target);
                        }
                    }
                    RData::A(a) => push_unique(&mut obs.addresses, IpAddr::V4(a.0)),
                    RData::AAAA(aaaa) => push_unique(&mut obs.addresses, IpAddr::V6(aaaa.0)),
                    _ => {}
                }
            }
            if obs.addresses.is_empty() {
                obs.failure = Some(DnsFailure::NoAnswer);
            } else if let Some(memo) = memo {
                let answer = Answer {
                    cname_chain: obs.cname_chain.clone(),
                    addresses: obs.addresses.clone(),
                };
                let now = std::time::Instant::now();
                memo.keep(name, answer, answered.valid_until(), now);
            }
        }
        Err(err) => {
            let mut failure = DnsFailure::from_error(&err);
            // Every connection failing at once is, most often, every nameserver's port closed
            // (the connected UDP socket hears it, see super::dns_mux): say so only when each one
            // refuses a query of its own.
            if matches!(err, NetError::NoConnections)
                && super::dns_refusal::all_refuse(nameservers).await
            {
                failure = DnsFailure::Refused;
            }
            if matches!(failure, DnsFailure::Nxdomain | DnsFailure::NoAnswer) {
                obs.cname_chain = follow_cnames(resolver, &fqdn).await;
            }
            obs.failure = Some(failure);
        }
    }
    obs
}

/// A successful lookup: the direct one's records, or hickory's.
enum Answered {
    Direct(DirectAnswer),
    Resolver(LookupIp),
}

impl Answered {
    fn records(&self) -> &[Record] {
        match self {
            Answered::Direct(answer) => &answer.records,
            Answered::Resolver(lookup) => lookup.as_lookup().answers(),
        }
    }

    fn valid_until(&self) -> std::time::Instant {
        match self {
            Answered::Direct(answer) => answer.valid_until.into_std(),
            Answered::Resolver(lookup) => lookup.valid_until(),
        }
    }
}

/// Most CNAME hops followed when rebuilding the chain of a name that did not resolve.
const MAX_CNAME_HOPS: usize = 8;

/// Rebuilds the CNAME chain of a name whose address lookup failed: the resolver's error keeps no
/// answers, and a dangling CNAME (to a load balancer that no longer exists) is exactly what the
/// report must show. One CNAME query per hop; stops at the first name without a CNAME.
async fn follow_cnames(resolver: &Resolver, fqdn: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut name = fqdn.to_string();
    while chain.len() < MAX_CNAME_HOPS {
        let Ok(lookup) = resolver
            .hickory
            .lookup(name.as_str(), RecordType::CNAME)
            .await
        else {
            break;
        };
        let next = lookup.answers().iter().find_map(|r| match &r.data {
            RData::CNAME(cname) => Some(cname.0.to_string()),
            _ => None,
        });
        let Some(next) = next else { break };
        let normal = normalise_name(&next);
        if chain.contains(&normal) {
            break;
        }
        chain.push(normal);
        name = next;
    }
    chain
}

fn push_unique(list: &mut Vec<IpAddr>, ip: IpAddr) {
    if !list.contains(&ip) {
        list.push(ip);
    }
}

/// Lowercase, no trailing dot, no `dualstack.` prefix (Route 53 alias targets carry one).
pub fn normalise_name(name: &str) -> String {
    let name = normalise_hostname(name);
    match name.strip_prefix("dualstack.") {
        Some(rest) => rest.to_string(),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_dualstack_prefix_trailing_dot_and_case() {
        assert_eq!(
            normalise_name("dualstack.K8S-dev-myapp-1.elb.us-east-2.amazonaws.com."),
            "k8s-dev-myapp-1.elb.us-east-2.amazonaws.com"
        );
    }

    #[test]
    fn failure_names_are_stable() {
        assert_eq!(DnsFailure::Refused.as_str(), "refused");
        assert_eq!(DnsFailure::Nxdomain.as_str(), "nxdomain");
        assert_eq!(DnsFailure::Other("x".into()).as_str(), "error");
    }

    #[test]
    fn a_socket_refused_for_lack_of_descriptors_is_no_descriptors() {
        let emfile = NetError::Io(std::sync::Arc::new(std::io::Error::from_raw_os_error(24)));
        assert!(matches!(
            DnsFailure::from_error(&emfile),
            DnsFailure::NoDescriptors(_)
        ));
        let refused = NetError::Io(std::sync::Arc::new(std::io::Error::from_raw_os_error(111)));
        assert_eq!(DnsFailure::from_error(&refused), DnsFailure::Refused);
    }
}

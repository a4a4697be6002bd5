//! One full probe of a target: resolve the friendly name (and the expected load balancer names),
//! then, for every address at once, TCP connect, TLS handshake, HTTP GET. Every phase has its own
//! timeout, bounded by the probe's overall deadline; a phase cut short by the deadline says so.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::dns::{self, DnsObservation};
use super::dns_memo::AnswerMemo;
use super::http::{self, HttpFailure};
use super::served_chains::ServedChains;
use super::tls::{self, TlsFailure};
use super::{ConnectFailure, EndpointObservation, Observation};
use crate::discovery::target::Target;

/// Timeouts and the source address of probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSettings {
    /// TCP connect timeout per address.
    pub connect_timeout: Duration,
    /// TLS handshake timeout per address.
    pub tls_timeout: Duration,
    /// HTTP request timeout per address (until the bounded body is read).
    pub http_timeout: Duration,
    /// Deadline for the whole probe, DNS included.
    pub deadline: Duration,
    /// Local address to connect from (None: the OS chooses).
    pub source_ip: Option<IpAddr>,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            connect_timeout: Duration::from_secs(5),
            tls_timeout: Duration::from_secs(5),
            http_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(20),
            source_ip: None,
        }
    }
}

/// The probe engine: one shared resolver and one shared TLS client config for every probe.
#[derive(Clone)]
pub struct Prober {
    resolver: dns::Resolver,
    /// The nameservers `resolver` asks: named in DNS failures, checked for a closed port.
    nameservers: Arc<[SocketAddr]>,
    connector: TlsConnector,
    settings: ProbeSettings,
    /// Answers still valid, when the resolver caches (see [`super::dns_memo`]).
    answers: Option<Arc<AnswerMemo>>,
    /// The chains servers present, kept once (see [`super::served_chains`]).
    chains: Arc<ServedChains>,
}

impl Prober {
    /// Builds a prober from a resolver, a TLS client config and the timeouts, and does the
    /// startup work of the first handshake now (see [`super::warm`]), off the probing path.
    pub fn new(
        resolver: dns::Resolver,
        tls_config: Arc<rustls::ClientConfig>,
        settings: ProbeSettings,
    ) -> Self {
        super::warm::warm_up(&tls_config);
        Prober {
            resolver,
            nameservers: Arc::from(Vec::new()),
            connector: TlsConnector::from(tls_config),
            settings,
            answers: None,
            chains: Arc::new(ServedChains::new()),
        }
    }

    /// Keeps successful answers until their TTL runs out (for a resolver that caches: one
    /// that does not asks again on every probe, and so must this prober).
    pub fn with_answer_memo(mut self) -> Self {
        self.answers = Some(Arc::new(AnswerMemo::new()));
        self
    }

    /// Names the nameservers the resolver asks (see [`dns::nameserver_addrs`]).
    pub fn with_nameservers(mut self, nameservers: Vec<SocketAddr>) -> Self {
        self.nameservers = Arc::from(nameservers);
        self
    }

    /// Probes `target` once. Never fails: every failure is recorded in the observation.
    pub async fn probe(&self, target: &Target) -> Observation {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let deadline = started + self.settings.deadline;

        let friendly = self.resolve_within(&target.hostname, deadline);
        let lbs = join_all(
            target
                .lb_hostnames
                .iter()
                .map(|lb| self.resolve_within(lb, deadline)),
        );
        let (dns, lb_dns) = tokio::join!(friendly, lbs);

        let endpoints = join_all(
            dns.addresses
                .iter()
                .map(|ip| self.probe_address(target, SocketAddr::new(*ip, target.port), deadline)),
        )
        .await;

        Observation {
            lb_dns: lb_dns.into(),
            endpoints,
            deadline_exceeded: Instant::now() >= deadline,
            duration: started.elapsed(),
            ..Observation::from_dns(started_at, dns)
        }
    }

    async fn resolve_within(&self, name: &str, deadline: Instant) -> DnsObservation {
        let started = Instant::now();
        let memo = self.answers.as_deref();
        let resolving = dns::resolve(&self.resolver, &self.nameservers, name, memo);
        match tokio::time::timeout_at(deadline, resolving).await {
            Ok(obs) => obs,
            Err(_) => DnsObservation {
                name: name.to_string(),
                cname_chain: Vec::new(),
                addresses: Vec::new(),
                nameservers: self.nameservers.clone(),
                failure: Some(dns::DnsFailure::Timeout),
                duration: started.elapsed(),
            },
        }
    }

    async fn probe_address(
        &self,
        target: &Target,
        address: SocketAddr,
        deadline: Instant,
    ) -> EndpointObservation {
        let mut obs = EndpointObservation {
            address,
            connect: Err(ConnectFailure::Deadline),
            tls: None,
            http: None,
        };
        let (limit, by_deadline) = phase_budget(self.settings.connect_timeout, deadline);
        let started = Instant::now();
        let tcp = match tokio::time::timeout(limit, self.connect(address)).await {
            Err(_) if by_deadline => return obs,
            Err(_) => {
                obs.connect = Err(ConnectFailure::Timeout(limit));
                return obs;
            }
            Ok(Err(err)) => {
                obs.connect = Err(match err.kind() {
                    std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
                    _ if super::descriptors::is_out_of_descriptors(&err) => {
                        ConnectFailure::NoDescriptors(err.to_string().into())
                    }
                    _ => ConnectFailure::Other(err.to_string().into()),
                });
                return obs;
            }
            Ok(Ok(tcp)) => tcp,
        };
        obs.connect = Ok(started.elapsed());
        let _ = tcp.set_nodelay(true);

        let (limit, by_deadline) = phase_budget(self.settings.tls_timeout, deadline);
        let (mut tls_obs, stream) =
            tls::handshake(&self.connector, tcp, &target.hostname, limit, &self.chains).await;
        if by_deadline && matches!(tls_obs.failure, Some(TlsFailure::Timeout(_))) {
            tls_obs.failure = Some(TlsFailure::Deadline);
        }
        obs.tls = Some(tls_obs);
        let Some(stream) = stream else { return obs };

        let (limit, by_deadline) = phase_budget(self.settings.http_timeout, deadline);
        // An IPv6 literal goes in `Host` in brackets (RFC 9110 authority form).
        let host = if target.hostname.contains(':') {
            format!("[{}]", target.hostname)
        } else {
            target.hostname.clone()
        };
        let mut http_obs = http::get(stream, &host, &target.backend.path, limit).await;
        if by_deadline && matches!(http_obs.failure, Some(HttpFailure::Timeout(_))) {
            http_obs.failure = Some(HttpFailure::Deadline);
        }
        obs.http = Some(http_obs);
        obs
    }

    async fn connect(&self, address: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = match address {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = self.settings.source_ip {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        socket.connect(address).await
    }
}

/// The time a phase may take: its own timeout, or what is left before the deadline if that is
/// shorter (then `true`: a timeout means the deadline, not the phase, ran out).
fn phase_budget(phase: Duration, deadline: Instant) -> (Duration, bool) {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < phase {
        (left, true)
    } else {
        (phase, false)
    }
}

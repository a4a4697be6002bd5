//! Real DNS servers on loopback for tests: a hickory-server authority for the whole name space
//! (root zone), built per test from a [`Zone`], answering on UDP and TCP on one ephemeral port of
//! 127.0.0.1 with full CNAME chains in the answer section (as a recursive resolver would), and a
//! [`SilentDns`] that accepts queries and never answers.
//!
//! Both stop when dropped. Nothing here judges answers; it only serves them.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::background::Background;
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

const TTL: u32 = 60;
const SERIAL: u32 = 1;

/// The records a test's DNS server serves. Names are absolute (a trailing dot is added).
#[derive(Default, Clone)]
pub struct Zone {
    records: Vec<Record>,
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN until records are added.
    pub fn new() -> Self {
        Zone::default()
    }

    /// Adds A records for `name`.
    pub fn a(mut self, name: &str, ips: &[Ipv4Addr]) -> Self {
        for ip in ips {
            self.push(name, RData::A(A(*ip)));
        }
        self
    }

    /// Adds AAAA records for `name`.
    pub fn aaaa(mut self, name: &str, ips: &[Ipv6Addr]) -> Self {
        for ip in ips {
            self.push(name, RData::AAAA(AAAA(*ip)));
        }
        self
    }

    /// Makes `name` a CNAME to `target` (a name may hold only this record).
    pub fn cname(mut self, name: &str, target: &str) -> Self {
        self.push(name, RData::CNAME(CNAME(fqdn(target))));
        self
    }

    /// Gives `name` a TXT record only: it exists, but an A/AAAA query gets NOERROR and no answer.
    pub fn txt_only(mut self, name: &str) -> Self {
        self.push(name, RData::TXT(TXT::new(vec!["no address here".into()])));
        self
    }

    fn push(&mut self, name: &str, rdata: RData) {
        self.records
            .push(Record::from_rdata(fqdn(name), TTL, rdata));
    }
}

fn fqdn(name: &str) -> Name {
    let absolute = format!("{}.", name.trim_end_matches('.'));
    Name::from_ascii(&absolute).unwrap_or_else(|e| panic!("bad test DNS name `{name}`: {e}"))
}

/// A running hickory DNS server; stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    // Dropping the server drops its JoinSet, which aborts every serving task.
    _server: Server<Catalog>,
}

impl DnsServer {
    /// Starts a server for `zone` on 127.0.0.1 (UDP and TCP, same ephemeral port).
    pub async fn start(zone: Zone) -> io::Result<DnsServer> {
        let (udp, tcp) = bind_udp_and_tcp().await?;
        Self::serve(zone, udp, tcp)
    }

    /// Starts a server for `zone` at `addr` (UDP and TCP): a nameserver coming back where one
    /// was before.
    pub async fn start_at(zone: Zone, addr: SocketAddr) -> io::Result<DnsServer> {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(addr).await?;
        Self::serve(zone, udp, tcp)
    }

    fn serve(zone: Zone, udp: UdpSocket, tcp: TcpListener) -> io::Result<DnsServer> {
        let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            Name::root(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            fqdn("ns.example.test"),
            fqdn("hostmaster.example.test"),
            SERIAL,
            3600,
            600,
            86400,
            TTL,
        );
        let soa_record = Record::from_rdata(Name::root(), TTL, RData::SOA(soa));
        if !handler.upsert_mut(soa_record, SERIAL) {
            return Err(io::Error::other("cannot add the SOA record"));
        }
        for record in zone.records {
            let text = record.to_string();
            if !handler.upsert_mut(record, SERIAL) {
                return Err(io::Error::other(format!("zone rejected record {text}")));
            }
        }
        let mut catalog = Catalog::new();
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        catalog.upsert(LowerName::new(&Name::root()), handlers);

        let addr = udp.local_addr()?;
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
        Ok(DnsServer {
            addr,
            _server: server,
        })
    }

    /// Where the server listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A "DNS server" that reads queries on UDP and TCP and never answers; stops when dropped.
pub struct SilentDns {
    addr: SocketAddr,
    _task: Background,
}

impl SilentDns {
    /// Starts it on 127.0.0.1 (UDP and TCP, same ephemeral port).
    pub async fn start() -> io::Result<SilentDns> {
        let (udp, tcp) = bind_udp_and_tcp().await?;
        let addr = udp.local_addr()?;
        let task = Background::spawn(async move {
            let mut held = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                tokio::select! {
                    _ = udp.recv_from(&mut buf) => {}
                    accepted = tcp.accept() => {
                        if let Ok((stream, _)) = accepted {
                            held.push(stream);
                        }
                    }
                }
            }
        });
        Ok(SilentDns { addr, _task: task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds UDP on an ephemeral port of 127.0.0.1 and TCP on the same port, retrying when the TCP
/// port is already taken.
async fn bind_udp_and_tcp() -> io::Result<(UdpSocket, TcpListener)> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut last_err = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(ip, port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free port")))
}

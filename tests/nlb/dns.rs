//! Route 53's stand-in: a hickory DNS server on 127.0.0.1 (UDP and TCP, one ephemeral port)
//! authoritative for the whole name space, answering CNAME chains in full as a recursive
//! resolver would. Stops when dropped.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{A, CNAME, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// A running DNS server.
pub struct Dns {
    /// Where it answers.
    pub addr: SocketAddr,
    _server: Server<Catalog>,
}

fn fqdn(name: &str) -> Name {
    Name::from_ascii(format!("{}.", name.trim_end_matches('.'))).expect("test DNS name")
}

/// A record set under construction.
#[derive(Default)]
pub struct Records(Vec<Record>);

impl Records {
    /// `name` CNAME `target`.
    pub fn cname(mut self, name: &str, target: &str) -> Self {
        self.0.push(Record::from_rdata(
            fqdn(name),
            60,
            RData::CNAME(CNAME(fqdn(target))),
        ));
        self
    }

    /// `name` A `ip` (an alias record looks exactly like this to a client).
    pub fn a(mut self, name: &str, ip: Ipv4Addr) -> Self {
        self.0
            .push(Record::from_rdata(fqdn(name), 60, RData::A(A(ip))));
        self
    }
}

impl Dns {
    /// Serves `records`.
    pub async fn start(records: Records) -> io::Result<Dns> {
        let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            Name::root(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            fqdn("ns.example.test"),
            fqdn("admin.example.test"),
            1,
            3600,
            600,
            86400,
            60,
        );
        handler.upsert_mut(Record::from_rdata(Name::root(), 60, RData::SOA(soa)), 1);
        for record in records.0 {
            if !handler.upsert_mut(record, 1) {
                return Err(io::Error::other("zone rejected a record"));
            }
        }
        let mut catalog = Catalog::new();
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        catalog.upsert(LowerName::new(&Name::root()), handlers);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..20 {
            let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            let addr = udp.local_addr()?;
            let Ok(tcp) = TcpListener::bind(addr).await else {
                continue;
            };
            let mut server = Server::new(catalog);
            server.register_socket(udp);
            server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
            return Ok(Dns {
                addr,
                _server: server,
            });
        }
        Err(io::Error::other("no free UDP+TCP port pair on 127.0.0.1"))
    }
}

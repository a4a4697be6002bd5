//! The endpoints' DNS server (UDP, 127.0.0.1): `bench.test` -> 127.0.0.1 and `t<i>.bench.test`
//! (for `i < names`) -> 127.0.0.(1 + i % ips), TTL 300 s.
//!
//! Computed from the name, not looked up in a zone: hickory-server's in-memory zone scans its
//! records on every query, so with a 100,000-name zone the server saturated its core and the
//! daemon's probes queued behind DNS, counted late by the daemon for a fault of the bench.
//! Here every answer costs the same whatever the zone's size.

use std::net::{Ipv4Addr, SocketAddr};

use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{A, SOA};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

use crate::pki;
use crate::server::address_of;

/// The answers' TTL, as the zone the bench used before.
const TTL: u32 = 300;

/// Binds 127.0.0.1 (ephemeral port) and serves until the process ends.
pub async fn start(ips: u8, names: usize) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind DNS");
    let addr = socket.local_addr().expect("bound");
    let zone = Zone::new(ips, names);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            if let Some(reply) = zone.answer(&buf[..n]) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
    addr
}

struct Zone {
    origin: Name,
    soa: Record,
    ips: u8,
    names: usize,
}

/// What a name in the zone is.
enum Lookup {
    Address(Ipv4Addr),
    /// In the zone but not a name the bench made: NXDOMAIN.
    Missing,
}

impl Zone {
    fn new(ips: u8, names: usize) -> Self {
        let origin = Name::from_ascii(format!("{}.", pki::ZONE)).expect("zone name");
        let soa = SOA::new(
            Name::from_ascii(format!("ns.{}.", pki::ZONE)).expect("name"),
            Name::from_ascii(format!("admin.{}.", pki::ZONE)).expect("name"),
            1,
            3600,
            600,
            86400,
            TTL,
        );
        let soa = Record::from_rdata(origin.clone(), TTL, RData::SOA(soa));
        Zone {
            origin,
            soa,
            ips,
            names,
        }
    }

    fn lookup(&self, name: &Name) -> Lookup {
        if *name == self.origin {
            return Lookup::Address(Ipv4Addr::LOCALHOST);
        }
        if name.num_labels() != self.origin.num_labels() + 1 {
            return Lookup::Missing;
        }
        let first = name.iter().next().unwrap_or_default();
        let index = first
            .strip_prefix(b"t")
            .or_else(|| first.strip_prefix(b"T"))
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .filter(|digits| !digits.starts_with('0') || digits.len() == 1)
            .and_then(|digits| digits.parse::<usize>().ok());
        match index {
            Some(i) if i < self.names => Lookup::Address(address_of(i, self.ips)),
            _ => Lookup::Missing,
        }
    }

    /// The reply to one query; `None` for input that is not a DNS query (dropped).
    fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let (request, mut reply) = edgewatch::demo::dns::start_reply(query)?;
        let q = request.queries.first()?.clone();
        reply.add_query(q.clone());
        if !self.origin.zone_of(&q.name) {
            reply.metadata.response_code = ResponseCode::Refused;
            return reply.to_vec().ok();
        }
        match self.lookup(&q.name) {
            Lookup::Address(ip) if q.query_type == RecordType::A => {
                reply.add_answer(Record::from_rdata(q.name.clone(), TTL, RData::A(A(ip))));
            }
            // The name exists but has no record of that type: NOERROR, SOA for negative caching.
            Lookup::Address(_) => {
                reply.add_authority(self.soa.clone());
            }
            Lookup::Missing => {
                reply.metadata.response_code = ResponseCode::NXDomain;
                reply.add_authority(self.soa.clone());
            }
        }
        reply.to_vec().ok()
    }
}

//! The demo's own DNS server on loopback (UDP): names under the demo zone answer A 127.0.0.1,
//! everything else is NXDOMAIN. The demo's daemon asks only this server, so the demo needs no
//! DNS from outside and still shows the real `dns` check (resolution, answer, timing).

use std::net::{Ipv4Addr, SocketAddr};

use hickory_resolver::proto::op::{Message, MessageType, Metadata, ResponseCode};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// The zone the demo serves: every demo endpoint is `<name>.demo.edgewatch.test` (`.test` is
/// reserved, so it can never clash with a real name).
pub const ZONE: &str = "demo.edgewatch.test";

/// Largest query read; a DNS query over UDP fits in 512 bytes without EDNS.
const MAX_QUERY: usize = 4096;

/// Binds the server on 127.0.0.1 (ephemeral port) and returns its address and its task.
pub async fn start() -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = socket.local_addr()?;
    Ok((addr, tokio::spawn(serve(socket))))
}

async fn serve(socket: UdpSocket) {
    let mut buf = vec![0u8; MAX_QUERY];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(reply) = answer(&buf[..n]) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Parses `query` and starts its authoritative reply (the header, no sections yet): the
/// request and the reply. `None` for input that is not a DNS query (dropped silently). Also
/// what the bench's DNS server answers with (`benches/probe_cost/dns.rs`).
pub fn start_reply(query: &[u8]) -> Option<(Message, Message)> {
    let request = Message::from_vec(query).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    reply.metadata = Metadata::response_from_request(&request.metadata);
    reply.metadata.authoritative = true;
    Some((request, reply))
}

/// The reply to one query, or `None` for input that is not a DNS query (dropped silently).
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let (request, mut reply) = start_reply(query)?;
    let zone = Name::from_ascii(format!("{ZONE}.")).ok()?;
    for q in &request.queries {
        reply.add_query(q.clone());
        if !zone.zone_of(&q.name) {
            reply.metadata.response_code = ResponseCode::NXDomain;
            continue;
        }
        // In the zone: A 127.0.0.1; any other type exists but is empty (NOERROR, no answer).
        if q.query_type == RecordType::A {
            reply.add_answer(Record::from_rdata(
                q.name.clone(),
                60,
                RData::A(A(Ipv4Addr::LOCALHOST)),
            ));
        }
    }
    reply.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::Query;

    fn ask(name: &str, kind: RecordType) -> Message {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        Message::from_vec(&answer(&q.to_vec().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn names_in_the_zone_answer_loopback_and_others_do_not_exist() {
        let r = ask("healthy.demo.edgewatch.test.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(r.answers.len(), 1);
        let r = ask("healthy.demo.edgewatch.test.", RecordType::AAAA);
        assert_eq!(
            (r.metadata.response_code, r.answers.len()),
            (ResponseCode::NoError, 0)
        );
        let r = ask("example.com.", RecordType::A);
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    }

    #[test]
    fn garbage_gets_no_reply() {
        assert!(answer(b"not dns").is_none());
    }
}

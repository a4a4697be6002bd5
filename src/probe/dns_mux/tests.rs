//! The multiplexed UDP connection against hand-driven loopback nameservers: answers out of
//! order, forged and late answers, a lost datagram, a silent server and a closed port.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_resolver::proto::op::{DnsRequestOptions, Message, OpCode, Query};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

use super::*;

fn request(name: &str) -> DnsRequest {
    let query = Query::query(Name::from_str(name).unwrap(), RecordType::A);
    DnsRequest::from_query(query, DnsRequestOptions::default())
}

/// The answer to `query` (from its bytes): one A record, 127.0.0.N where N is the name's length.
fn answer_to(query: &[u8]) -> Vec<u8> {
    let query = Message::from_vec(query).unwrap();
    let name = query.queries[0].name().clone();
    let ip = Ipv4Addr::new(127, 0, 0, name.to_string().len() as u8);
    a_answer(query.id, &name, ip)
}

/// An answer under `id` to the question "A of `name`": `ip`.
fn a_answer(id: u16, name: &Name, ip: Ipv4Addr) -> Vec<u8> {
    let mut reply = Message::response(id, OpCode::Query);
    reply.add_query(Query::query(name.clone(), RecordType::A));
    reply.add_answer(Record::from_rdata(name.clone(), 60, RData::A(A(ip))));
    reply.to_vec().unwrap()
}

fn first_a(response: &DnsResponse) -> Ipv4Addr {
    response
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .expect("an A record")
}

/// A loopback "nameserver" driven by the test, and a connection to it with `timeout`.
async fn server_and_mux(timeout: Duration) -> (UdpSocket, UdpMux) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let mux = UdpMux::connect(addr, None, timeout).await.unwrap();
    (socket, mux)
}

async fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 4096];
    let (len, from) = socket.recv_from(&mut buf).await.unwrap();
    buf.truncate(len);
    (buf, from)
}

#[tokio::test]
async fn answers_out_of_order_reach_their_own_queries_over_one_socket() {
    let (socket, mux) = server_and_mux(Duration::from_secs(5)).await;
    let names = ["a.test.", "bb.test.", "ccc.test.", "dddd.test."];
    let asking = futures::future::join_all(names.iter().map(|n| mux.exchange(request(n))));
    let answering = async {
        let mut queries = Vec::new();
        for _ in &names {
            queries.push(receive(&socket).await);
        }
        let sources: Vec<SocketAddr> = queries.iter().map(|(_, from)| *from).collect();
        // Answer the last first.
        for (query, from) in queries.iter().rev() {
            socket.send_to(&answer_to(query), from).await.unwrap();
        }
        sources
    };
    let (answers, sources) = tokio::join!(asking, answering);
    assert!(
        sources.windows(2).all(|w| w[0] == w[1]),
        "every query from one socket: {sources:?}"
    );
    for (name, answer) in names.iter().zip(answers) {
        let answer = answer.expect("answered");
        assert_eq!(answer.queries[0].name().to_string(), *name);
        assert_eq!(first_a(&answer), Ipv4Addr::new(127, 0, 0, name.len() as u8));
    }
    assert!(lock(&mux.shared.pending).is_empty(), "nothing left pending");
}

#[tokio::test]
async fn an_answer_with_another_question_is_ignored_and_the_real_one_taken() {
    let (socket, mux) = server_and_mux(Duration::from_secs(5)).await;
    let answering = async {
        let (query, from) = receive(&socket).await;
        let id = Message::from_vec(&query).unwrap().id;
        // Same ID, another question: a forgery, or an answer to something else.
        let evil = Name::from_str("evil.test.").unwrap();
        let forged = a_answer(id, &evil, Ipv4Addr::new(127, 6, 6, 6));
        socket.send_to(&forged, from).await.unwrap();
        // Garbage and a datagram too short for an ID.
        socket.send_to(&[0xff; 7], from).await.unwrap();
        socket.send_to(&[1], from).await.unwrap();
        socket.send_to(&answer_to(&query), from).await.unwrap();
    };
    let (answer, ()) = tokio::join!(mux.exchange(request("real.test.")), answering);
    assert_eq!(
        first_a(&answer.expect("answered")),
        Ipv4Addr::new(127, 0, 0, 10)
    );
}

#[tokio::test]
async fn a_lost_query_is_sent_again_within_the_timeout() {
    let (socket, mux) = server_and_mux(Duration::from_secs(5)).await;
    let answering = async {
        let (first, _) = receive(&socket).await; // dropped, as if lost
        let (again, from) = receive(&socket).await;
        assert_eq!(first, again, "the same query, same ID, sent again");
        socket.send_to(&answer_to(&again), from).await.unwrap();
    };
    let (answer, ()) = tokio::join!(mux.exchange(request("lost.test.")), answering);
    assert!(answer.is_ok(), "{answer:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_a_late_answer_disturbs_nothing() {
    let (socket, mux) = server_and_mux(Duration::from_millis(300)).await;
    let silent = mux.exchange(request("slow.test.")).await;
    assert!(matches!(silent, Err(NetError::Timeout)), "{silent:?}");
    assert!(
        lock(&mux.shared.pending).is_empty(),
        "the timed-out query is forgotten"
    );
    // Its answer arrives late, then the next query is asked and answered.
    let (late, from) = receive(&socket).await;
    socket.send_to(&answer_to(&late), from).await.unwrap();
    let answering = async {
        loop {
            let (query, from) = receive(&socket).await;
            if Message::from_vec(&query).unwrap().queries[0]
                .name()
                .to_string()
                == "next.test."
            {
                socket.send_to(&answer_to(&query), from).await.unwrap();
                return;
            }
        }
    };
    let (answer, ()) = tokio::join!(mux.exchange(request("next.test.")), answering);
    assert_eq!(
        answer.expect("answered").queries[0].name().to_string(),
        "next.test."
    );
}

#[tokio::test]
async fn a_closed_port_is_told_as_refused_to_every_query_on_the_socket() {
    // A timeout shorter than the first resend: a query that only learnt of the refusal by
    // sending again would time out instead.
    let (socket, mux) = server_and_mux(Duration::from_millis(200)).await;
    drop(socket);
    let (one, two) = tokio::join!(
        mux.exchange(request("closed.test.")),
        mux.exchange(request("also-closed.test."))
    );
    for refused in [one, two] {
        let Err(NetError::Io(e)) = &refused else {
            panic!("expected an I/O error, got {refused:?}");
        };
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_reader() {
    let (_socket, mux) = server_and_mux(Duration::from_secs(5)).await;
    let reader = mux.shared.reader.abort_handle();
    drop(mux);
    tokio::task::yield_now().await;
    for _ in 0..100 {
        if reader.is_finished() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the reader task outlived its connection");
}

#[tokio::test]
async fn an_answered_query_leaving_does_not_take_a_later_query_under_its_id() {
    let (_socket, mux) = server_and_mux(Duration::from_secs(5)).await;
    let pending = &mux.shared.pending;
    let (first_reply, _first_answer) = oneshot::channel();
    let id = mux
        .register(Pending {
            question: None,
            reply: first_reply,
            ticket: 1,
        })
        .unwrap();
    let first = Forget {
        pending,
        id,
        ticket: 1,
    };
    // The first query is answered (the reader takes it off), and its ID goes to a second query
    // before the first one's exchange has ended.
    lock(pending).remove(&id);
    let (second_reply, mut second_answer) = oneshot::channel();
    lock(pending).insert(
        id,
        Pending {
            question: None,
            reply: second_reply,
            ticket: 2,
        },
    );
    drop(first);
    assert!(
        lock(pending).contains_key(&id),
        "the second query still waits"
    );
    assert!(
        second_answer
            .try_recv()
            .is_err_and(|e| e == oneshot::error::TryRecvError::Empty)
    );
}

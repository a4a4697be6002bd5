//! Asking directly against a loopback nameserver that answers as each test scripts: the plain
//! answers are taken, everything else is left to the resolver, and a silent server pauses it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_resolver::proto::op::{Message, OpCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME};
use tokio::net::UdpSocket;

use super::*;

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

/// A loopback nameserver: each query is answered by `script` (or not, when it returns `None`).
/// Returns its address and the number of queries it received.
async fn nameserver(
    script: impl Fn(&Query) -> Option<Message> + Send + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            counter.fetch_add(1, Ordering::SeqCst);
            let query = Message::from_vec(&buf[..len]).unwrap();
            if let Some(mut reply) = script(&query.queries[0]) {
                reply.metadata.id = query.id;
                reply.add_query(query.queries[0].clone());
                socket
                    .send_to(&reply.to_vec().unwrap(), from)
                    .await
                    .unwrap();
            }
        }
    });
    (addr, asked)
}

fn asker(server: SocketAddr) -> DirectAsk {
    DirectAsk::new(Some(server), &options(), Hosts::default())
}

/// The resolver's options, with a 5 s timeout (direct asking waits 1 s of it).
fn options() -> ResolverOpts {
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(5);
    options
}

fn reply(code: ResponseCode, answers: Vec<Record>) -> Option<Message> {
    let mut message = Message::response(0, OpCode::Query);
    message.metadata.response_code = code;
    message.answers = answers;
    Some(message)
}

fn a(owner: &str, ttl: u32, last: u8) -> Record {
    Record::from_rdata(
        name(owner),
        ttl,
        RData::A(A(Ipv4Addr::new(127, 0, 0, last))),
    )
}

fn aaaa(owner: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)))
}

fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

fn addresses(answer: &DirectAnswer) -> Vec<String> {
    answer
        .records
        .iter()
        .filter(|r| matches!(r.data, RData::A(_) | RData::AAAA(_)))
        .map(|r| r.data.to_string())
        .collect()
}

/// `answer` holds for `secs` from when it arrived (between `before` and now).
fn assert_held_for(answer: &DirectAnswer, before: Instant, secs: u64) {
    let ttl = Duration::from_secs(secs);
    let held = answer.valid_until;
    assert!(
        held >= before + ttl && held <= Instant::now() + ttl,
        "held {:?}",
        held - before
    );
}

#[tokio::test]
async fn a_chain_to_an_address_with_no_aaaa_is_taken_with_its_least_ttl() {
    let (server, _) = nameserver(|q| match q.query_type() {
        RecordType::A => reply(
            ResponseCode::NoError,
            vec![
                cname("app.test.", 300, "LB-1.elb.test."),
                a("lb-1.elb.test.", 60, 7),
            ],
        ),
        _ => reply(ResponseCode::NoError, vec![]),
    })
    .await;
    let before = Instant::now();
    let answer = asker(server).ask(&name("app.test.")).await.expect("plain");
    assert_held_for(&answer, before, 60);
    assert_eq!(addresses(&answer), ["127.0.0.7"]);
    assert_eq!(answer.records.len(), 2, "the CNAME is kept for the chain");
}

#[tokio::test]
async fn aaaa_answers_come_before_a_answers_and_the_shorter_ttl_holds() {
    let (server, _) = nameserver(|q| match q.query_type() {
        RecordType::A => reply(ResponseCode::NoError, vec![a("dual.test.", 30, 9)]),
        _ => reply(ResponseCode::NoError, vec![aaaa("dual.test.", 20)]),
    })
    .await;
    let before = Instant::now();
    let answer = asker(server).ask(&name("dual.test.")).await.expect("plain");
    assert_held_for(&answer, before, 20);
    assert_eq!(addresses(&answer), ["::1", "127.0.0.9"]);
}

#[tokio::test]
async fn a_ttl_over_a_day_is_held_for_a_day() {
    let (server, _) = nameserver(|q| match q.query_type() {
        RecordType::A => reply(ResponseCode::NoError, vec![a("long.test.", u32::MAX, 1)]),
        _ => reply(ResponseCode::NoError, vec![]),
    })
    .await;
    let before = Instant::now();
    let answer = asker(server).ask(&name("long.test.")).await.expect("plain");
    assert_held_for(&answer, before, 86_400);
}

#[tokio::test]
async fn every_answer_that_is_not_plain_is_left_to_the_resolver() {
    type Script = fn(&Query) -> Option<Message>;
    let cases: [(&str, Script); 5] = [
        ("NXDOMAIN", |_| reply(ResponseCode::NXDomain, vec![])),
        ("SERVFAIL for AAAA", |q| match q.query_type() {
            RecordType::A => reply(ResponseCode::NoError, vec![a("x.test.", 60, 1)]),
            _ => reply(ResponseCode::ServFail, vec![]),
        }),
        ("no address in either answer", |_| {
            reply(ResponseCode::NoError, vec![])
        }),
        ("a chain whose end is not answered", |_| {
            reply(
                ResponseCode::NoError,
                vec![cname("x.test.", 60, "gone.elb.test.")],
            )
        }),
        ("a truncated answer", |q| {
            let mut message = reply(ResponseCode::NoError, vec![a("x.test.", 60, 1)])?;
            message.metadata.truncation = q.query_type() == RecordType::A;
            Some(message)
        }),
    ];
    for (case, script) in cases {
        let (server, asked) = nameserver(script).await;
        let direct = asker(server);
        assert!(direct.ask(&name("x.test.")).await.is_none(), "{case}");
        // An answer, even one left to the resolver, does not pause: the next name is asked.
        assert!(direct.ask(&name("y.test.")).await.is_none(), "{case}");
        assert_eq!(asked.load(Ordering::SeqCst), 4, "{case}");
    }
}

#[tokio::test]
async fn records_of_unrelated_names_alone_are_not_an_answer() {
    let (server, _) =
        nameserver(|_| reply(ResponseCode::NoError, vec![a("other.test.", 60, 1)])).await;
    assert!(asker(server).ask(&name("x.test.")).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_silent_nameserver_pauses_direct_asking() {
    let (server, asked) = nameserver(|_| None).await;
    let direct = asker(server);
    assert!(direct.ask(&name("x.test.")).await.is_none());
    let sent = asked.load(Ordering::SeqCst);
    assert!(sent >= 2, "both queries were sent ({sent})");
    // Paused: the resolver is asked at once, and the server hears nothing more.
    assert!(direct.ask(&name("y.test.")).await.is_none());
    tokio::task::yield_now().await;
    assert_eq!(asked.load(Ordering::SeqCst), sent);
    tokio::time::advance(PAUSE).await;
    assert!(direct.ask(&name("z.test.")).await.is_none());
    assert!(
        asked.load(Ordering::SeqCst) > sent,
        "asked again after the pause"
    );
}

#[tokio::test]
async fn special_use_names_and_hosts_file_names_are_not_asked() {
    let (server, asked) = nameserver(|_| reply(ResponseCode::NoError, vec![])).await;
    let mut hosts = Hosts::default();
    hosts
        .read_hosts_conf(&b"127.0.0.9 pinned.test\n"[..])
        .unwrap();
    let direct = DirectAsk::new(Some(server), &options(), hosts);
    for special in [
        "localhost.",
        "db.localhost.",
        "x.invalid.",
        "printer.local.",
        "pinned.test.",
    ] {
        assert!(direct.ask(&name(special)).await.is_none(), "{special}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_a_nameserver_nothing_is_asked() {
    let direct = DirectAsk::new(None, &options(), Hosts::default());
    assert!(direct.ask(&name("x.test.")).await.is_none());
}

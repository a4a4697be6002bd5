//! The egress IP: learned from a loopback reflector (never the real checkip service), trimmed,
//! cached, shared by concurrent probes; reflector failures become named errors; filled only for
//! targets that check the client IP.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::get;
use edgewatch::discovery::target::{ClientIpSpec, Target, TargetSource};
use edgewatch::probe::egress::ClientIpSettings;
use edgewatch::probe::egress::{EgressEnricher, EgressError};
use edgewatch::probe::enrich::Enricher;
use edgewatch::probe::{DnsObservation, Observation};

/// How the reflector answers.
#[derive(Clone, Copy)]
enum Answer {
    /// The caller's address and a newline, like checkip.amazonaws.com.
    CallerIp,
    /// Something that is not an IP.
    Garbage,
    /// A 500.
    Error,
}

struct Reflector {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn reflector(answer: Answer) -> Reflector {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/",
            get(
                move |State(hits): State<Arc<AtomicUsize>>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    // Slow enough that concurrent callers overlap.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    match answer {
                        Answer::CallerIp => (StatusCode::OK, format!("{}\n", peer.ip())),
                        Answer::Garbage => (StatusCode::OK, "<html>hello</html>".to_string()),
                        Answer::Error => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                    }
                },
            ),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Reflector { url, hits }
}

fn settings(url: &str, egress_ip: Option<IpAddr>) -> ClientIpSettings {
    ClientIpSettings {
        egress_ip,
        reflector_url: url.to_string(),
        cache_ttl: Duration::from_secs(300),
    }
}

fn observation() -> Observation {
    Observation::from_dns(
        SystemTime::now(),
        DnsObservation::answered("x.example.test", vec![]),
    )
}

#[tokio::test]
async fn learns_the_trimmed_ip_from_the_source_address_and_caches_it() {
    let r = reflector(Answer::CallerIp).await;
    let source: IpAddr = "127.0.0.2".parse().unwrap();
    let egress = Arc::new(EgressEnricher::from_settings(
        &settings(&r.url, None),
        Some(source),
    ));
    // Ten probes at once share one reflector request.
    let lookups: Vec<_> = (0..10)
        .map(|_| {
            let e = egress.clone();
            tokio::spawn(async move { e.egress_ip().await })
        })
        .collect();
    for l in lookups {
        assert_eq!(l.await.unwrap(), Ok(source));
    }
    assert_eq!(egress.egress_ip().await, Ok(source));
    assert_eq!(r.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_configured_ip_never_asks_the_reflector() {
    let r = reflector(Answer::CallerIp).await;
    let ip: IpAddr = "198.51.100.7".parse().unwrap();
    let egress = EgressEnricher::from_settings(&settings(&r.url, Some(ip)), None);
    assert_eq!(egress.egress_ip().await, Ok(ip));
    assert_eq!(r.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn reflector_failures_are_named_and_remembered_briefly() {
    let r = reflector(Answer::Garbage).await;
    let egress = EgressEnricher::from_settings(&settings(&r.url, None), None);
    let err = egress.egress_ip().await.unwrap_err();
    assert_eq!(err.as_str(), "reflector_not_an_ip", "{err}");
    assert!(err.to_string().contains("<html>hello</html>"));
    let _ = egress.egress_ip().await;
    assert_eq!(r.hits.load(Ordering::SeqCst), 1, "a failure is cached too");

    let r = reflector(Answer::Error).await;
    let egress = EgressEnricher::from_settings(&settings(&r.url, None), None);
    assert_eq!(
        egress.egress_ip().await.unwrap_err(),
        EgressError::Status {
            url: r.url.clone(),
            status: 500
        }
    );

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let egress = EgressEnricher::from_settings(&settings(&closed, None), None);
    assert_eq!(
        egress.egress_ip().await.unwrap_err().as_str(),
        "reflector_unreachable"
    );
}

#[tokio::test]
async fn enrich_fills_only_targets_that_check_the_client_ip() {
    let r = reflector(Answer::CallerIp).await;
    // Wired as run::app wires it: only when the client_ip judge will look.
    let egress = EgressEnricher::from_settings(&settings(&r.url, None), None)
        .only_when(edgewatch::checks::client_ip::will_be_judged);
    let mut off = Target::new("x.example.test", 443, TargetSource::Flag);
    let mut obs = observation();
    egress.enrich(&off, &mut obs).await;
    assert_eq!(obs.egress_ip, None);
    assert_eq!(r.hits.load(Ordering::SeqCst), 0);
    off.client_ip = ClientIpSpec::Echo;
    egress.enrich(&off, &mut obs).await;
    assert_eq!(obs.egress_ip, Some(Ok("127.0.0.1".parse().unwrap())));
}

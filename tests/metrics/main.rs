//! Metrics: an outcome's series appear with the right values, a series the next outcome no
//! longer has is removed, and forgetting a target removes every series that names it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use edgewatch::checks::{CheckName, CheckResult};
use edgewatch::discovery::target::{Target, TargetSource};
use edgewatch::export::metrics::Metrics;
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::probe::{
    AcmCertificate, AcmObservation, DnsObservation, EndpointObservation, Observation,
};

fn target() -> Arc<Target> {
    Arc::new(Target::new(
        "tls-demo.example.com",
        443,
        TargetSource::Kubernetes {
            namespace: "dev".into(),
            service: "myapp".into(),
        },
    ))
}

fn outcome(addresses: &[&str], failing_backend: bool) -> Outcome {
    let endpoints = addresses
        .iter()
        .map(|a| EndpointObservation {
            address: SocketAddr::new(a.parse().unwrap(), 443),
            connect: Ok(Duration::from_millis(1)),
            tls: None,
            http: None,
        })
        .collect();
    let mut results = vec![CheckResult::pass(CheckName::Dns, "resolves")];
    for a in addresses {
        let ip = a.parse().unwrap();
        results.push(if failing_backend {
            CheckResult::fail(CheckName::Backend, "bad_status", "GET / answered 503").at(ip)
        } else {
            CheckResult::pass(CheckName::Backend, "GET / answered 200").at(ip)
        });
        results.push(CheckResult::skip(CheckName::CertExpected, "no_expectation", "none").at(ip));
    }
    Outcome {
        target: target(),
        observation: Some(Observation {
            started_at: SystemTime::now(),
            dns: DnsObservation {
                name: "tls-demo.example.com".into(),
                cname_chain: vec![],
                addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
                nameservers: std::sync::Arc::from([]),
                failure: None,
                duration: Duration::from_millis(2),
            },
            lb_dns: Default::default(),
            endpoints,
            deadline_exceeded: false,
            duration: Duration::from_millis(5),
            acm: Default::default(),
            egress_ip: None,
            aws: None,
            tls_scans: Default::default(),
        }),
        results: results.into(),
    }
}

const IDS: &str = r#"namespace="dev",service="myapp",target="tls-demo.example.com:443""#;

#[test]
fn outcome_series_carry_the_right_values_and_skips_are_absent() {
    let m = Metrics::new(&prometheus::Registry::new());
    m.record(&outcome(&["127.0.0.1"], true));
    let text = m.render();
    assert!(
        text.contains(&format!(
            r#"edgewatch_check_success{{address="127.0.0.1",check="backend",{IDS}}} 0"#
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"edgewatch_check_success{{address="",check="dns",{IDS}}} 1"#
        )),
        "{text}"
    );
    assert!(text.contains(r#"edgewatch_check_failure_info{address="127.0.0.1",check="backend",namespace="dev",reason="bad_status",service="myapp",target="tls-demo.example.com:443"} 1"#), "{text}");
    assert!(
        text.contains(&format!(r#"edgewatch_probe_success{{{IDS}}} 0"#)),
        "{text}"
    );
    assert!(
        text.contains(r#"edgewatch_check_failures_total{check="backend",reason="bad_status"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"edgewatch_probes_total{result="failure"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains(r#"check="cert_expected""#),
        "a skipped check must have no series: {text}"
    );
    assert!(text.contains(r#"edgewatch_build_info{version=""#), "{text}");
}

#[test]
fn a_recovered_check_loses_its_failure_series_and_a_vanished_address_its_series() {
    let m = Metrics::new(&prometheus::Registry::new());
    m.record(&outcome(&["127.0.0.1", "127.0.0.2"], true));
    m.record(&outcome(&["127.0.0.1"], false));
    let text = m.render();
    assert!(!text.contains("edgewatch_check_failure_info{"), "{text}");
    assert!(!text.contains(r#"address="127.0.0.2""#), "{text}");
    assert!(
        text.contains(&format!(
            r#"edgewatch_check_success{{address="127.0.0.1",check="backend",{IDS}}} 1"#
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"edgewatch_probe_success{{{IDS}}} 1"#)),
        "{text}"
    );
}

#[test]
fn forgetting_a_target_removes_every_series_that_names_it() {
    let m = Metrics::new(&prometheus::Registry::new());
    m.record(&outcome(&["127.0.0.1"], true));
    m.forget("tls-demo.example.com:443");
    let text = m.render();
    assert!(!text.contains("tls-demo.example.com"), "{text}");
    // Fleet-wide counters stay: they are not per target.
    assert!(
        text.contains(r#"edgewatch_probes_total{result="failure"} 1"#),
        "{text}"
    );
}

#[test]
fn acm_not_after_follows_the_last_outcome_and_goes_with_the_target() {
    let arn = "arn:aws:acm:us-east-2:123456789012:certificate/aaaa";
    let with_acm = |arns: &[&str]| {
        let mut o = outcome(&["127.0.0.1"], false);
        let obs = o.observation.as_mut().unwrap();
        obs.acm = arns
            .iter()
            .map(|a| AcmObservation {
                arn: a.to_string(),
                result: Ok(AcmCertificate {
                    not_after: Some(1_900_000_000),
                    ..Default::default()
                }),
            })
            .collect();
        o
    };
    let m = Metrics::new(&prometheus::Registry::new());
    m.record(&with_acm(&[arn]));
    let text = m.render();
    assert!(
        text.contains(&format!(
            r#"edgewatch_acm_cert_not_after_timestamp_seconds{{arn="{arn}",{IDS}}} 1900000000"#
        )),
        "{text}"
    );
    m.record(&with_acm(&[]));
    let text = m.render();
    assert!(!text.contains("edgewatch_acm_cert_not_after"), "{text}");
    m.record(&with_acm(&[arn]));
    m.forget("tls-demo.example.com:443");
    assert!(!m.render().contains("edgewatch_acm_cert_not_after"));
}

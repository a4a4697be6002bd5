//! The stand-in's scenarios: a throttled API for one NLB delays and skips only the targets of
//! that NLB; `/net/` ARNs and `DescribeTargetHealth` `Reason` in AWS's real shape.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use edgewatch::discovery::convert::service_to_targets;
use edgewatch::discovery::target::{BackendSpec, Target};
use edgewatch::probe::Observation;
use edgewatch::probe::aws::{AwsEnricher, AwsLookup, AwsLookupOptions};
use edgewatch::probe::dns::DnsObservation;
use edgewatch::probe::enrich::Enricher;
use k8s_openapi::api::core::v1::Service;

use crate::seed::{self, Aws};
use crate::stage::{Stage, as_annotated, certs, scenario_via, service};
use crate::standin::{self, Rules};
use crate::support::moto::{self, client_options};
use crate::support::pki::Pki;
use crate::{assert_check, check};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nlb_arns_with_net_and_unhealthy_targets_with_reason_fail_no_healthy_targets() {
    let rules = Rules {
        net_arns: true,
        unhealthy: true,
        ..Rules::default()
    };
    let (code, report) = scenario_via("netarn", Some(rules), |aws, arns, port| async move {
        let nlb = seed::nlb(
            &aws,
            &as_annotated("netarn", "ns-netarn/web", port, &arns[..2]),
        )
        .await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    let facts = &report["targets"][0]["facts"]["aws"]["load_balancer"];
    let arn = facts["arn"].as_str().unwrap();
    assert!(
        arn.contains(":loadbalancer/net/"),
        "AWS's NLB ARN shape: {arn}"
    );
    assert_check(&report, None, "load_balancer", "pass", "ok");
    assert_check(&report, None, "lb_listener", "pass", "ok");
    assert_check(
        &report,
        None,
        "lb_target_group",
        "fail",
        "no_healthy_targets",
    );
    let reason = check(&report, None, "lb_target_group")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("0 of 2") && reason.contains("Target.FailedHealthChecks"),
        "{reason}"
    );
    assert_eq!(facts["target_groups"][0]["health"]["unhealthy"], 2);
}

/// Two Services (`a`, `b`), each with its NLB, in namespace `ns`: the Services, their targets,
/// the NLB ARNs and the names the data plane resolves.
struct Two {
    services: Vec<Service>,
    targets: Vec<Target>,
    arns: [String; 2],
    names: Vec<String>,
}

async fn two_services(ns: &str, pki: &Pki, port: u16) -> Two {
    let aws = Aws::new(moto::shared());
    let mut targets = Vec::new();
    let mut arns = Vec::new();
    let mut names = Vec::new();
    let mut services = Vec::new();
    for svc in ["a", "b"] {
        let host = format!("{svc}.{ns}.example.test");
        let c = certs(pki, &host).await;
        let lb_name = format!("{ns}-{svc}");
        let stack = format!("{ns}/{svc}");
        let nlb = seed::nlb(&aws, &as_annotated(&lb_name, &stack, port, &c.arns[..2])).await;
        let s = service(ns, svc, &host, port, &c.arns[..2], &nlb.dns_name);
        targets.extend(service_to_targets(&s, &BackendSpec::default()).unwrap());
        arns.push(nlb.arn);
        names.push(host);
        names.push(nlb.dns_name);
        services.push(s);
    }
    Two {
        services,
        targets,
        arns: arns.try_into().unwrap(),
        names,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_nlb_skips_only_its_own_targets_through_the_binary() {
    let pki = Pki::new();
    let leaf = pki.expiring_in("a.thr.example.test", 90);
    let tls = Stage::tls(&leaf).await;
    let port = tls.addr().port();
    let two = two_services("thr", &pki, port).await;
    let rules = Rules {
        throttle: Some((two.arns[0].clone(), Duration::from_millis(300))),
        ..Rules::default()
    };
    let standin = standin::start(&moto::shared().endpoint, rules).await;
    let names: Vec<&str> = two.names.iter().map(String::as_str).collect();
    let stage = Stage::start(&pki, tls, &names).await;
    for s in &two.services {
        stage.api.apply(s);
    }
    let (_, report) = stage.run(&standin.endpoint, &["--namespace", "thr"]).await;
    assert_check(&report, Some("thr/a/"), "load_balancer", "pass", "ok");
    assert_check(
        &report,
        Some("thr/a/"),
        "lb_listener",
        "skip",
        "aws_unavailable",
    );
    let reason = check(&report, Some("thr/a/"), "lb_listener")["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("throttled"), "{reason}");
    assert_check(&report, Some("thr/b/"), "lb_listener", "pass", "ok");
    assert_check(&report, Some("thr/b/"), "lb_target_group", "pass", "ok");
    assert!(standin.throttled.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_throttled_nlb_does_not_delay_the_other_services_lookup() {
    let pki = Pki::new();
    let two = two_services("slow", &pki, 8443).await;
    let targets = two.targets;
    let rules = Rules {
        throttle: Some((two.arns[0].clone(), Duration::from_secs(2))),
        ..Rules::default()
    };
    let standin = standin::start(&moto::shared().endpoint, rules).await;
    let options = AwsLookupOptions {
        required: false,
        cluster_name: None,
        cache_ttl: Duration::from_secs(300),
        failure_ttl: Duration::from_secs(30),
        timeout: Duration::from_secs(5),
        client: client_options(&standin.endpoint),
    };
    let lookup = Arc::new(AwsLookup::new(
        options,
        edgewatch::probe::aws::AwsMetrics::register(&Default::default()),
    ));
    let enricher = Arc::new(AwsEnricher::new(lookup));
    let run = |target: Target| {
        let enricher = enricher.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let dns = DnsObservation::answered(&target.hostname, Vec::new());
            let mut obs = Observation::from_dns(SystemTime::now(), dns);
            enricher.enrich(&target, &mut obs).await;
            (
                started.elapsed(),
                edgewatch::checks::aws::judge(&target, &obs),
            )
        })
    };
    let slow = run(targets[0].clone());
    let fast = run(targets[1].clone());
    let (fast_took, fast_results) = fast.await.unwrap();
    assert!(
        !slow.is_finished(),
        "the other Service's lookup finished first ({fast_took:?}) while the throttled one \
         still waits"
    );
    // load_balancer, lb_listener, lb_target_group (no Route 53 zone here: dns_record skips).
    assert!(
        fast_results[..3].iter().all(|r| r.reason_code() == "ok"),
        "{fast_results:#?}"
    );
    let (slow_took, slow_results) = slow.await.unwrap();
    let listener = &slow_results[1];
    assert_eq!(listener.reason_code(), "aws_unavailable", "{listener:?}");
    eprintln!("figure: unthrottled Service {fast_took:?}, throttled Service {slow_took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_fails_every_aws_check_when_required_within_the_budget() {
    let pki = Pki::new();
    let two = two_services("down", &pki, 9443).await;
    let options = AwsLookupOptions {
        required: true,
        cluster_name: None,
        cache_ttl: Duration::from_secs(300),
        failure_ttl: Duration::from_secs(30),
        timeout: Duration::from_secs(2),
        // Nothing listens there.
        client: client_options(&format!("http://127.0.0.1:{}", crate::support::free_port())),
    };
    let lookup = Arc::new(AwsLookup::new(
        options,
        edgewatch::probe::aws::AwsMetrics::register(&Default::default()),
    ));
    let target = two.targets[0].clone();
    let started = Instant::now();
    let mut obs = Observation::from_dns(
        SystemTime::now(),
        DnsObservation::answered(&target.hostname, Vec::new()),
    );
    AwsEnricher::new(lookup).enrich(&target, &mut obs).await;
    let took = started.elapsed();
    for r in edgewatch::checks::aws::judge(&target, &obs) {
        assert_eq!(
            (r.status, r.reason_code()),
            (edgewatch::checks::Status::Fail, "aws_unavailable"),
            "{r:?}"
        );
    }
    eprintln!("figure: lookups against a closed port gave up after {took:?} (budget 2 s)");
}

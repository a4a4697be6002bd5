//! The figure the issue asks for: AWS API calls for 100 Services over 10 probe intervals, on a
//! moto of its own (so other tests' load balancers do not count). The cache keeps one describe
//! per NLB per cache period: the count must not grow with the intervals.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use edgewatch::discovery::convert::service_to_targets;
use edgewatch::discovery::target::BackendSpec;
use edgewatch::export::metrics::Metrics;
use edgewatch::probe::Observation;
use edgewatch::probe::aws::{AwsEnricher, AwsLookup, AwsLookupOptions, AwsMetrics};
use edgewatch::probe::dns::DnsObservation;
use edgewatch::probe::enrich::Enricher;

use crate::seed::{self, Aws, NlbSpec};
use crate::stage::{POLICY, service};
use crate::support::moto::{Moto, client_options};

const SERVICES: usize = 100;
const INTERVALS: usize = 10;

/// `edgewatch_aws_requests_total` by operation, from the rendered metrics.
fn calls_by_operation(metrics: &Metrics) -> Vec<(String, u64)> {
    let text = metrics.render();
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("edgewatch_aws_requests_total{"))
    {
        let op = line
            .split("operation=\"")
            .nth(1)
            .and_then(|s| s.split('"').next());
        let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let (Some(op), Some(v)) = (op, value) {
            assert!(
                line.contains("result=\"ok\""),
                "only successful calls: {line}"
            );
            out.push((op.to_string(), v as u64));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_services_over_ten_intervals_make_one_describe_per_nlb() {
    let moto = Moto::start();
    let aws = Aws::new(&moto);
    // Every Service's listener carries one certificate (moto checks it exists in its ACM).
    let leaf = crate::support::pki::Pki::new().expiring_in("calls.example.test", 90);
    let cert = vec![
        moto.import(seed::REGION, leaf.cert_pem(), leaf.key_pem())
            .await,
    ];
    let mut targets = Vec::new();
    let zone_target = {
        let spec = NlbSpec {
            stack: Some("calls/svc-0"),
            ..crate::stage::as_annotated("calls-0", "", 443, &cert)
        };
        seed::nlb(&aws, &spec).await
    };
    seed::alias_record(
        &aws,
        "calls.example.test",
        "svc-0.calls.example.test",
        &zone_target,
    )
    .await;
    for i in 0..SERVICES {
        let stack = format!("calls/svc-{i}");
        let nlb = if i == 0 {
            zone_target.clone()
        } else {
            let name = format!("calls-{i}");
            let spec = NlbSpec {
                stack: Some(&stack),
                ..crate::stage::as_annotated(&name, "", 443, &cert)
            };
            seed::nlb(&aws, &spec).await
        };
        let host = format!("svc-{i}.calls.example.test");
        let s = service(
            "calls",
            &format!("svc-{i}"),
            &host,
            443,
            &cert,
            &nlb.dns_name,
        );
        targets.extend(service_to_targets(&s, &BackendSpec::default()).unwrap());
    }
    assert_eq!(targets.len(), SERVICES);
    let registry = prometheus::Registry::new();
    let metrics = Metrics::new(&registry);
    let options = AwsLookupOptions {
        required: false,
        cluster_name: None,
        cache_ttl: Duration::from_secs(300),
        failure_ttl: Duration::from_secs(30),
        timeout: Duration::from_secs(10),
        client: client_options(&moto.endpoint),
    };
    let enricher = Arc::new(AwsEnricher::new(Arc::new(AwsLookup::new(
        options,
        AwsMetrics::register(&registry),
    ))));
    let started = Instant::now();
    let mut first_round = Vec::new();
    for interval in 0..INTERVALS {
        let rounds = targets.iter().cloned().map(|t| {
            let enricher = enricher.clone();
            tokio::spawn(async move {
                let dns = DnsObservation::answered(&t.hostname, Vec::new());
                let mut obs = Observation::from_dns(SystemTime::now(), dns);
                enricher.enrich(&t, &mut obs).await;
                edgewatch::checks::aws::judge(&t, &obs)
            })
        });
        let results = futures::future::join_all(rounds).await;
        for r in results {
            let r = r.unwrap();
            // Every Service's load balancer is found and its listener as annotated.
            assert_eq!(r[0].reason_code(), "ok", "{:?}", r[0]);
            assert_eq!(r[1].reason_code(), "ok", "{:?}", r[1]);
        }
        if interval == 0 {
            first_round = calls_by_operation(&metrics);
        }
    }
    let total = calls_by_operation(&metrics);
    assert_eq!(
        total, first_round,
        "intervals 2-10 were answered from the cache"
    );
    let count = |op: &str| total.iter().find(|(o, _)| o == op).map_or(0, |(_, n)| *n);
    let per_nlb = [
        "DescribeListeners",
        "DescribeListenerCertificates",
        "DescribeTargetGroups",
        "DescribeTargetGroupAttributes",
        "DescribeTargetHealth",
    ];
    for op in per_nlb {
        assert_eq!(count(op), SERVICES as u64, "{op}: one per NLB");
    }
    assert_eq!(count("DescribeLoadBalancers"), 1);
    assert_eq!(count("DescribeTags"), SERVICES.div_ceil(20) as u64);
    assert_eq!(count("ListHostedZonesByName"), 1);
    assert_eq!(count("ListResourceRecordSets"), SERVICES as u64);
    let sum: u64 = total.iter().map(|(_, n)| n).sum();
    eprintln!(
        "figure: {SERVICES} Services x {INTERVALS} intervals within one cache period: {sum} AWS \
         calls ({total:?}), {:?} in all",
        started.elapsed()
    );
    let _ = POLICY;
}

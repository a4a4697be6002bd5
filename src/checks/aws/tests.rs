//! The four AWS judges on hand-built observations: each reason code, the defaults the Service
//! leaves implicit, and skip vs fail when the APIs cannot be asked.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::judge;
use crate::checks::{CheckName, CheckResult, Status};
use crate::discovery::lb_intent::LbIntent;
use crate::discovery::target::{Target, TargetSource};
use crate::probe::Observation;
use crate::probe::aws::{
    AwsLookupFailure, AwsObservation, DnsRecordFacts, DnsRecordLookup, LbDetails, LbFacts,
    LbSearch, LbSummary, ListenerFacts, TargetGroupFacts, TargetHealthFacts,
};
use crate::probe::dns::DnsObservation;

const LB_DNS: &str = "k8s-dev-web-1234.elb.us-east-1.amazonaws.com";
const CERT_A: &str = "arn:aws:acm:us-east-1:123456789012:certificate/a";
const CERT_B: &str = "arn:aws:acm:us-east-1:123456789012:certificate/b";
const POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

fn target() -> Target {
    let source = TargetSource::Kubernetes {
        namespace: "dev".into(),
        service: "web".into(),
    };
    let mut t = Target::new("app.example.com", 443, source);
    t.lb_hostnames = vec![LB_DNS.into()].into();
    t.tls_policy = Some(POLICY.into());
    t.lb_intent = Some(Box::new(LbIntent {
        stack: "dev/web".into(),
        scheme: Some("internet-facing".into()),
        tls_ports: vec![443],
        cert_arns: vec![CERT_A.into(), CERT_B.into()],
        target_type: Some("ip".into()),
        preserve_client_ip: Some(true),
        proxy_protocol_v2: None,
    }));
    t
}

fn healthy(id: &str) -> TargetHealthFacts {
    TargetHealthFacts {
        id: id.into(),
        port: Some(8080),
        state: "healthy".into(),
        reason: None,
    }
}

fn lb() -> LbFacts {
    let tg = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/k8s-dev-web/1";
    LbFacts {
        summary: LbSummary {
            arn: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/k8s-dev-web/1".into(),
            dns_name: LB_DNS.into(),
            scheme: "internet-facing".into(),
            lb_type: "network".into(),
            canonical_zone_id: "Z26RNL4JYFTOTI".into(),
            tags: BTreeMap::new(),
        },
        details: Ok(LbDetails {
            listeners: vec![ListenerFacts {
                arn: "listener/net/1".into(),
                port: 443,
                protocol: "TLS".into(),
                ssl_policy: Some(POLICY.into()),
                default_certificate: Some(CERT_A.into()),
                certificates: vec![CERT_A.into(), CERT_B.into()],
                target_group_arns: vec![tg.into()],
            }],
            target_groups: vec![TargetGroupFacts {
                arn: tg.into(),
                name: "k8s-dev-web".into(),
                target_type: "ip".into(),
                attributes: [("preserve_client_ip.enabled".to_string(), "true".to_string())].into(),
                targets: vec![healthy("10.0.1.1"), healthy("10.0.2.2")],
            }],
        }),
    }
}

fn record(target: &str) -> Result<DnsRecordLookup, AwsLookupFailure> {
    Ok(DnsRecordLookup::Zone {
        zone_id: "Z1".into(),
        zone_name: "example.com".into(),
        records: vec![DnsRecordFacts {
            record_type: "A".into(),
            alias: true,
            target: target.into(),
        }],
    })
}

fn observe(lb: Result<LbSearch, AwsLookupFailure>) -> Observation {
    let mut obs = Observation::from_dns(
        SystemTime::UNIX_EPOCH,
        DnsObservation::answered("app.example.com", Vec::new()),
    );
    obs.aws = Some(Box::new(AwsObservation {
        searched_by: "tag service.k8s.aws/stack=dev/web".into(),
        lb,
        record: record(LB_DNS),
    }));
    obs
}

fn found(edit: impl FnOnce(&mut LbFacts)) -> Observation {
    let mut facts = lb();
    edit(&mut facts);
    observe(Ok(LbSearch::Found(Box::new(facts))))
}

fn details(facts: &mut LbFacts) -> &mut LbDetails {
    facts.details.as_mut().unwrap()
}

fn group(facts: &mut LbFacts) -> &mut TargetGroupFacts {
    &mut details(facts).target_groups[0]
}

fn verdict(results: &[CheckResult], check: CheckName) -> (Status, &'static str, String) {
    let r = results.iter().find(|r| r.check == check).unwrap();
    (r.status, r.reason_code(), r.reason.to_string())
}

fn assert_fails(obs: &Observation, t: &Target, check: CheckName, code: &str) -> String {
    let (status, got, reason) = verdict(&judge(t, obs), check);
    assert_eq!((status, got), (Status::Fail, code), "{reason}");
    reason
}

#[test]
fn everything_as_declared_passes_all_four() {
    let results = judge(&target(), &found(|_| {}));
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }
}

#[test]
fn without_the_aws_enricher_every_check_skips_as_disabled() {
    let mut obs = observe(Ok(LbSearch::NotFound));
    obs.aws = None;
    for r in judge(&target(), &obs) {
        assert_eq!((r.status, r.reason_code()), (Status::Skip, "aws_disabled"));
    }
}

#[test]
fn api_failures_skip_or_fail_when_required() {
    let failure = |required| AwsLookupFailure {
        kind: "throttled",
        operation: "DescribeLoadBalancers",
        message: "Rate exceeded".into(),
        required,
    };
    let skipped = judge(&target(), &observe(Err(failure(false))));
    assert_eq!(
        verdict(&skipped, CheckName::LoadBalancer).0,
        Status::Skip,
        "not required"
    );
    let failed = judge(&target(), &observe(Err(failure(true))));
    let (status, code, reason) = verdict(&failed, CheckName::LbListener);
    assert_eq!((status, code), (Status::Fail, "aws_unavailable"));
    assert!(reason.contains("DescribeLoadBalancers") && reason.contains("throttled"));
}

#[test]
fn load_balancer_reason_codes() {
    let t = target();
    assert_fails(
        &observe(Ok(LbSearch::NotFound)),
        &t,
        CheckName::LoadBalancer,
        "not_found",
    );
    let two = LbSearch::Ambiguous(vec!["arn:1".into(), "arn:2".into()]);
    let reason = assert_fails(&observe(Ok(two)), &t, CheckName::LoadBalancer, "ambiguous");
    assert!(
        reason.contains("arn:1") && reason.contains("arn:2"),
        "{reason}"
    );
    let alb = found(|f| f.summary.lb_type = "application".into());
    assert_fails(&alb, &t, CheckName::LoadBalancer, "not_network");
    let internal = found(|f| f.summary.scheme = "internal".into());
    assert_fails(&internal, &t, CheckName::LoadBalancer, "scheme_mismatch");
    let moved = found(|f| f.summary.dns_name = "other.elb.us-east-1.amazonaws.com".into());
    assert_fails(&moved, &t, CheckName::LoadBalancer, "hostname_mismatch");
}

#[test]
fn an_unannotated_scheme_expects_the_controllers_default_internal() {
    let mut t = target();
    t.lb_intent.as_mut().unwrap().scheme = None;
    let reason = assert_fails(
        &found(|_| {}),
        &t,
        CheckName::LoadBalancer,
        "scheme_mismatch",
    );
    assert!(reason.contains("`internal` (the default)"), "{reason}");
}

#[test]
fn lb_listener_reason_codes() {
    let t = target();
    let moved = found(|f| details(f).listeners[0].port = 8443);
    let reason = assert_fails(&moved, &t, CheckName::LbListener, "no_listener");
    assert!(
        reason.contains("port 443") && reason.contains("8443/TLS"),
        "{reason}"
    );
    let tcp = found(|f| details(f).listeners[0].protocol = "TCP".into());
    assert_fails(&tcp, &t, CheckName::LbListener, "not_tls");
    let other = "arn:aws:acm:us-east-1:123456789012:certificate/c";
    let swapped = found(|f| details(f).listeners[0].default_certificate = Some(other.into()));
    let reason = assert_fails(&swapped, &t, CheckName::LbListener, "wrong_certificate");
    assert!(
        reason.contains(other) && reason.contains(CERT_A),
        "{reason}"
    );
    let sni_gone = found(|f| details(f).listeners[0].certificates = vec![CERT_A.into()]);
    assert_fails(&sni_gone, &t, CheckName::LbListener, "missing_certificate");
    let old =
        found(|f| details(f).listeners[0].ssl_policy = Some("ELBSecurityPolicy-2016-08".into()));
    let reason = assert_fails(&old, &t, CheckName::LbListener, "policy_drift");
    assert!(
        reason.contains(POLICY) && reason.contains("2016-08"),
        "{reason}"
    );
}

#[test]
fn an_unannotated_policy_expects_the_controllers_default() {
    let mut t = target();
    t.tls_policy = None;
    let reason = assert_fails(&found(|_| {}), &t, CheckName::LbListener, "policy_drift");
    assert!(
        reason.contains("asks for ELBSecurityPolicy-2016-08"),
        "{reason}"
    );
}

#[test]
fn lb_target_group_reason_codes() {
    let t = target();
    let off = found(|f| {
        group(f)
            .attributes
            .insert("preserve_client_ip.enabled".into(), "false".into());
    });
    assert_fails(
        &off,
        &t,
        CheckName::LbTargetGroup,
        "client_ip_not_preserved",
    );
    let proxy = found(|f| {
        group(f)
            .attributes
            .insert("proxy_protocol_v2.enabled".into(), "true".into());
    });
    assert_fails(
        &proxy,
        &t,
        CheckName::LbTargetGroup,
        "proxy_protocol_mismatch",
    );
    let instance = found(|f| group(f).target_type = "instance".into());
    assert_fails(
        &instance,
        &t,
        CheckName::LbTargetGroup,
        "target_type_mismatch",
    );
    let empty = found(|f| group(f).targets.clear());
    assert_fails(&empty, &t, CheckName::LbTargetGroup, "no_targets");
    let sick = found(|f| {
        for target in &mut group(f).targets {
            target.state = "unhealthy".into();
            target.reason = Some("Target.FailedHealthChecks".into());
        }
    });
    let reason = assert_fails(&sick, &t, CheckName::LbTargetGroup, "no_healthy_targets");
    assert!(
        reason.contains("0 of 2") && reason.contains("unhealthy: 2 (Target.FailedHealthChecks)"),
        "{reason}"
    );
}

#[test]
fn absent_attributes_count_as_awss_defaults_for_the_target_type() {
    // ip targets: preservation off by default, so an annotation asking for it fails when AWS
    // returns no attribute; unannotated, the default passes.
    let t = target();
    let bare = found(|f| details(f).target_groups[0].attributes.clear());
    assert_fails(
        &bare,
        &t,
        CheckName::LbTargetGroup,
        "client_ip_not_preserved",
    );
    let mut unannotated = target();
    unannotated.lb_intent.as_mut().unwrap().preserve_client_ip = None;
    let (status, _, reason) = verdict(&judge(&unannotated, &bare), CheckName::LbTargetGroup);
    assert_eq!(status, Status::Pass, "{reason}");
}

#[test]
fn dns_record_reason_codes() {
    let t = target();
    let mut obs = found(|_| {});
    obs.aws.as_mut().unwrap().record = record("old-nlb.elb.us-east-1.amazonaws.com");
    let reason = assert_fails(&obs, &t, CheckName::DnsRecord, "wrong_target");
    assert!(
        reason.contains("old-nlb") && reason.contains(LB_DNS),
        "{reason}"
    );
    obs.aws.as_mut().unwrap().record = Ok(DnsRecordLookup::Zone {
        zone_id: "Z1".into(),
        zone_name: "example.com".into(),
        records: Vec::new(),
    });
    assert_fails(&obs, &t, CheckName::DnsRecord, "no_record");
    obs.aws.as_mut().unwrap().record = Ok(DnsRecordLookup::ZoneNotFound);
    let (status, code, _) = verdict(&judge(&t, &obs), CheckName::DnsRecord);
    assert_eq!((status, code), (Status::Skip, "zone_not_found"));
}

#[test]
fn a_static_target_is_judged_on_what_it_names() {
    // No Service: the load balancer by lb_hostname, the listener on the target's port, no
    // attribute expectations, no policy unless configured.
    let mut t = Target::new("app.example.com", 443, TargetSource::Config);
    t.lb_hostnames = vec![LB_DNS.into()].into();
    let obs = found(|f| details(f).listeners[0].ssl_policy = Some("anything".into()));
    for r in judge(&t, &obs) {
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }
    let nothing = Target::new("app.example.com", 443, TargetSource::Flag);
    let results = judge(&nothing, &observe(Ok(LbSearch::NotSearched)));
    let (status, code, _) = verdict(&results, CheckName::LoadBalancer);
    assert_eq!((status, code), (Status::Skip, "no_expectation"));
}

#[test]
fn a_service_without_a_certificate_has_no_listener_expectation() {
    // TLS passthrough: the controller makes TCP listeners; not_tls would be a false alarm.
    let mut t = target();
    t.lb_intent.as_mut().unwrap().cert_arns.clear();
    let obs = found(|f| details(f).listeners[0].protocol = "TCP".into());
    let (status, code, _) = verdict(&judge(&t, &obs), CheckName::LbListener);
    assert_eq!((status, code), (Status::Skip, "no_expectation"));
}

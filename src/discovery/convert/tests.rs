//! Fixtures for `service_to_targets`: the reference Service of issue 3 and its variants.

use std::time::Duration;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};

use super::*;
use crate::discovery::target::ClientIpSpec;

const REFERENCE: &str = include_str!("../../../tests/fixtures/k8s/myapp.yaml");
const BROKEN: &str = include_str!("../../../tests/fixtures/k8s/myapp-broken.yaml");
const ARN: &str =
    "arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e";
const LB: &str = "k8s-dev-myapp-0123456789-0123456789abcdef.elb.us-east-2.amazonaws.com";

fn reference() -> Service {
    serde_norway::from_str(REFERENCE).expect("reference fixture parses")
}

fn with(mut svc: Service, key: &str, value: Option<&str>) -> Service {
    let a = svc.metadata.annotations.get_or_insert_default();
    match value {
        Some(v) => a.insert(key.to_string(), v.to_string()),
        None => a.remove(key),
    };
    svc
}

fn targets(svc: &Service) -> Vec<Target> {
    service_to_targets(svc, &BackendSpec::default()).expect("selected")
}

fn names(ts: &[Target]) -> Vec<&str> {
    ts.iter().map(|t| &*t.name).collect()
}

#[test]
fn reference_service_gives_one_target_with_every_expectation() {
    let ts = targets(&reference());
    assert_eq!(names(&ts), ["dev/myapp/tls-demo.example.com:443"]);
    let t = &ts[0];
    assert_eq!((t.hostname.as_str(), t.port), ("tls-demo.example.com", 443));
    assert_eq!(
        t.source,
        TargetSource::Kubernetes {
            namespace: "dev".into(),
            service: "myapp".into()
        }
    );
    assert_eq!(t.lb_hostnames, [LB]);
    assert_eq!(t.expected_certs, [ExpectedCert::AcmArn(ARN.into())]);
    assert_eq!(t.backend, BackendSpec::default());
    assert!(t.config_problems.is_empty(), "{:?}", t.config_problems);
    assert!(t.notes.is_empty() && t.not_ready.is_none() && t.interval.is_none());
}

#[test]
fn enabled_false_opts_an_aws_tls_load_balancer_out() {
    assert!(
        service_to_targets(
            &with(reference(), ENABLED, Some("false")),
            &Default::default()
        )
        .is_none()
    );
    assert!(
        service_to_targets(
            &with(reference(), ENABLED, Some("False")),
            &Default::default()
        )
        .is_none()
    );
}

#[test]
fn load_balancer_without_certificate_is_not_selected_unless_enabled() {
    let plain = with(reference(), SSL_CERT, None);
    assert!(service_to_targets(&plain, &BackendSpec::default()).is_none());
    let ts = targets(&with(plain, ENABLED, Some("true")));
    assert_eq!(names(&ts), ["dev/myapp/tls-demo.example.com:443"]);
    assert!(ts[0].expected_certs.is_empty());
}

#[test]
fn cluster_ip_service_is_selected_only_by_enabled_true() {
    let mut svc = with(reference(), EXTERNAL_DNS_HOSTNAME, None);
    svc.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
    svc.status = None;
    assert!(service_to_targets(&svc, &BackendSpec::default()).is_none());
    let ts = targets(&with(svc, ENABLED, Some("true")));
    assert_eq!(names(&ts), ["dev/myapp/myapp.dev.svc:443"]);
    assert!(
        ts[0].not_ready.is_none(),
        "a ClusterIP Service has no load balancer to wait for"
    );
    assert!(ts[0].notes[0].contains("in-cluster name `myapp.dev.svc`"));
}

#[test]
fn edgewatch_hostname_wins_and_each_name_and_port_is_a_target() {
    let mut svc = with(
        reference(),
        HOSTNAME,
        Some("a.example.com, B.example.com.,a.example.com"),
    );
    svc = with(svc, SSL_PORTS, Some("443,https-alt"));
    let mut http = svc.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].clone();
    http.name = Some("https-alt".into());
    http.port = 8443;
    let mut udp = http.clone();
    udp.port = 53;
    udp.protocol = Some("UDP".into());
    svc.spec
        .as_mut()
        .unwrap()
        .ports
        .as_mut()
        .unwrap()
        .extend([http, udp]);
    let ts = targets(&svc);
    assert_eq!(
        names(&ts),
        [
            "dev/myapp/a.example.com:443",
            "dev/myapp/a.example.com:8443",
            "dev/myapp/b.example.com:443",
            "dev/myapp/b.example.com:8443",
        ]
    );
    assert!(ts.iter().all(|t| t.config_problems.is_empty()));
}

#[test]
fn absent_ssl_ports_means_every_tcp_port() {
    let mut svc = with(reference(), SSL_PORTS, None);
    let mut other = svc.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].clone();
    other.port = 8443;
    other.name = Some("admin".into());
    svc.spec
        .as_mut()
        .unwrap()
        .ports
        .as_mut()
        .unwrap()
        .push(other);
    let ports: Vec<u16> = targets(&svc).iter().map(|t| t.port).collect();
    assert_eq!(ports, [443, 8443]);
}

#[test]
fn star_ssl_ports_matches_no_port_and_says_so() {
    let ts = targets(&with(reference(), SSL_PORTS, Some("*")));
    assert_eq!(ts.len(), 1, "every port is still probed");
    let problems = ts[0].config_problems.join("; ");
    assert!(problems.contains(SSL_PORTS), "{problems}");
    assert!(problems.contains("`*` names no TCP port"), "{problems}");
    assert!(problems.contains("no TLS listener"), "{problems}");
}

#[test]
fn edgewatch_ports_overrides_ssl_ports_by_name() {
    let ts = targets(&with(reference(), PORTS, Some("http")));
    assert_eq!(ts[0].port, 443);
    assert!(ts[0].config_problems.is_empty());
}

#[test]
fn no_friendly_name_probes_the_load_balancer_and_says_so() {
    let ts = targets(&with(reference(), EXTERNAL_DNS_HOSTNAME, None));
    assert_eq!(*ts[0].name, *format!("dev/myapp/{LB}:443"));
    assert_eq!(ts[0].hostname, LB);
    assert!(ts[0].notes[0].contains("probing the load balancer hostname itself"));
    assert!(ts[0].config_problems.is_empty());
}

#[test]
fn empty_status_is_not_provisioned_rather_than_a_dns_failure() {
    let mut svc = reference();
    svc.status = None;
    let ts = targets(&svc);
    let why = ts[0].not_ready.as_deref().expect("not ready");
    assert!(
        why.starts_with("load balancer not provisioned yet: "),
        "{why}"
    );
    assert!(ts[0].lb_hostnames.is_empty());
    assert_eq!(&*ts[0].name, "dev/myapp/tls-demo.example.com:443");
}

#[test]
fn ingress_ips_count_as_load_balancer_names() {
    let mut svc = with(reference(), EXTERNAL_DNS_HOSTNAME, None);
    let status = svc.status.as_mut().unwrap().load_balancer.as_mut().unwrap();
    status.ingress = Some(vec![LoadBalancerIngress {
        ip: Some("192.0.2.10".into()),
        ..Default::default()
    }]);
    let ts = targets(&svc);
    assert_eq!(ts[0].lb_hostnames, ["192.0.2.10"]);
    assert_eq!(ts[0].hostname, "192.0.2.10");
}

#[test]
fn overrides_are_read() {
    let pin = "ab".repeat(32);
    let mut svc = with(reference(), PATH, Some("/healthz"));
    svc = with(svc, EXPECT_STATUS, Some("200-299,301"));
    svc = with(svc, INTERVAL, Some("2m"));
    svc = with(svc, CLIENT_IP, Some("json_pointer:/origin"));
    svc = with(svc, EXPECTED_SHA256, Some(&pin));
    svc = with(svc, SSL_CERT, Some(&format!("{ARN}, {ARN}2")));
    let t = &targets(&svc)[0];
    assert_eq!(&*t.backend.path, "/healthz");
    assert_eq!(t.backend.expect_status.to_string(), "200-299,301");
    assert_eq!(t.interval, Some(Duration::from_secs(120)));
    assert_eq!(t.client_ip, ClientIpSpec::JsonPointer("/origin".into()));
    assert_eq!(
        t.expected_certs,
        [
            ExpectedCert::AcmArn(ARN.into()),
            ExpectedCert::AcmArn(format!("{ARN}2")),
            ExpectedCert::Sha256([0xab; 32]),
        ]
    );
    assert!(t.config_problems.is_empty(), "{:?}", t.config_problems);
}

#[test]
fn an_interval_outside_a_second_to_a_day_is_a_problem_not_a_schedule() {
    for (text, why) in [
        ("500ms", "shorter than 1s"),
        ("25h", "longer than 24h"),
        // Far enough to overflow an instant when the next probe is scheduled.
        ("10000000000000h", "longer than 24h"),
    ] {
        let svc = with(reference(), INTERVAL, Some(text));
        let t = &targets(&svc)[0];
        assert_eq!(t.interval, None, "{text}: the default interval is used");
        let problems = t.config_problems.join("\n");
        assert!(problems.contains(why), "{text}: {problems}");
    }
    let svc = with(reference(), INTERVAL, Some("24h"));
    assert_eq!(targets(&svc)[0].interval, Some(Duration::from_secs(86_400)));
}

#[test]
fn every_malformed_annotation_is_named_and_the_rest_is_still_probed() {
    let svc: Service = serde_norway::from_str(BROKEN).expect("broken fixture parses");
    let ts = targets(&svc);
    assert_eq!(names(&ts), ["dev/myapp/tls-demo.example.com:443"]);
    let t = &ts[0];
    let problems = t.config_problems.join("\n");
    for key in [
        SSL_CERT,
        SSL_PORTS,
        EXTERNAL_DNS_HOSTNAME,
        PATH,
        EXPECT_STATUS,
        EXPECTED_SHA256,
        INTERVAL,
        CLIENT_IP,
    ] {
        assert!(
            problems.contains(&format!("annotation {key}: ")),
            "no problem names {key}:\n{problems}"
        );
    }
    assert_eq!(t.config_problems.len(), 8, "{problems}");
    assert_eq!(t.expected_certs, [ExpectedCert::AcmArn(ARN.into())]);
    assert_eq!(
        t.backend,
        BackendSpec::default(),
        "bad overrides fall back to defaults"
    );
    assert_eq!(t.lb_hostnames, [LB]);
}

#[test]
fn unclear_enabled_value_probes_and_names_the_annotation() {
    let ts = targets(&with(reference(), ENABLED, Some("yes")));
    assert_eq!(ts.len(), 1);
    assert!(ts[0].config_problems[0].contains("annotation edgewatch.io/enabled: `yes`"));
}

#[test]
fn defaults_come_from_the_caller() {
    let defaults = BackendSpec {
        path: "/ready".into(),
        expect_status: StatusRanges::parse("204").unwrap(),
    };
    let t = &service_to_targets(&reference(), &defaults).unwrap()[0];
    assert_eq!(t.backend, defaults);
}

mod lb_intent {
    use super::super::service_to_targets;
    use crate::discovery::target::BackendSpec;
    use k8s_openapi::api::core::v1::Service;

    const BASE: &str = include_str!("../../../tests/fixtures/k8s/myapp.yaml");

    fn with(extra: &[(&str, &str)]) -> crate::discovery::target::Target {
        let mut svc: Service = serde_norway::from_str(BASE).unwrap();
        let ann = svc.metadata.annotations.as_mut().unwrap();
        for (k, v) in extra {
            ann.insert(
                format!("service.beta.kubernetes.io/aws-load-balancer-{k}"),
                v.to_string(),
            );
        }
        service_to_targets(&svc, &BackendSpec::default())
            .unwrap()
            .remove(0)
    }

    #[test]
    fn the_reference_service_declares_its_nlb() {
        let t = with(&[]);
        let intent = t.lb_intent.expect("a LoadBalancer Service has an intent");
        assert_eq!(intent.stack, "dev/myapp");
        assert_eq!(intent.scheme.as_deref(), Some("internet-facing"));
        assert_eq!(intent.target_type.as_deref(), Some("ip"));
        assert_eq!(intent.tls_ports, [443]);
        assert_eq!(intent.cert_arns.len(), 1);
        assert_eq!(
            (intent.preserve_client_ip, intent.proxy_protocol_v2),
            (None, None)
        );
        assert_eq!(t.tls_policy, None);
    }

    #[test]
    fn listener_ports_follow_ssl_ports_not_edgewatchs_probe_ports() {
        let mut svc: Service = serde_norway::from_str(BASE).unwrap();
        let ann = svc.metadata.annotations.as_mut().unwrap();
        ann.insert("edgewatch.io/ports".into(), "443".into());
        ann.insert(
            "service.beta.kubernetes.io/aws-load-balancer-ssl-ports".into(),
            "https,8443".into(),
        );
        let ports = svc.spec.as_mut().unwrap().ports.as_mut().unwrap();
        let mut second = ports[0].clone();
        second.name = Some("alt".into());
        second.port = 8443;
        ports[0].name = Some("https".into());
        ports.push(second);
        let targets = service_to_targets(&svc, &BackendSpec::default()).unwrap();
        assert_eq!(targets.len(), 1, "probed: edgewatch.io/ports only");
        let intent = targets[0].lb_intent.clone().unwrap();
        assert_eq!(intent.tls_ports, [443, 8443], "listeners: ssl-ports");
    }

    #[test]
    fn attributes_policy_and_proxy_protocol_are_read() {
        let t = with(&[
            (
                "ssl-negotiation-policy",
                " ELBSecurityPolicy-TLS13-1-2-2021-06 ",
            ),
            (
                "target-group-attributes",
                "deregistration_delay.timeout_seconds=30, preserve_client_ip.enabled=true,proxy_protocol_v2.enabled=false",
            ),
            ("proxy-protocol", "*"),
        ]);
        assert_eq!(
            t.tls_policy.as_deref(),
            Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
        );
        let intent = t.lb_intent.unwrap();
        assert_eq!(intent.preserve_client_ip, Some(true));
        assert_eq!(intent.proxy_protocol_v2, Some(true), "proxy-protocol wins");
        assert!(t.config_problems.is_empty(), "{:?}", t.config_problems);
    }

    #[test]
    fn malformed_values_are_config_problems_naming_the_annotation() {
        let t = with(&[
            ("scheme", "public"),
            ("nlb-target-type", "pod"),
            (
                "target-group-attributes",
                "preserve_client_ip.enabled=yes,garbage",
            ),
            ("proxy-protocol", "v2"),
        ]);
        let problems = t.config_problems.join("\n");
        for key in [
            "scheme",
            "nlb-target-type",
            "target-group-attributes",
            "proxy-protocol",
        ] {
            assert!(
                problems.contains(&format!("aws-load-balancer-{key}")),
                "{problems}"
            );
        }
        let intent = t.lb_intent.unwrap();
        assert_eq!((intent.scheme, intent.target_type), (None, None));
        assert_eq!(intent.preserve_client_ip, None);
    }
}

#[test]
fn ssl_negotiation_policy_annotation_names_the_listener_policy() {
    let svc = with(
        reference(),
        SSL_POLICY,
        Some(" ELBSecurityPolicy-TLS13-1-2-Res-2021-06 "),
    );
    let t = &targets(&svc)[0];
    assert_eq!(
        t.tls_policy.as_deref(),
        Some("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    );
    assert!(t.config_problems.is_empty());
    assert_eq!(targets(&reference())[0].tls_policy, None);
    let bad = with(reference(), SSL_POLICY, Some("TLS 1.2 please"));
    let t = &targets(&bad)[0];
    assert_eq!(t.tls_policy, None);
    assert!(
        t.config_problems[0].contains(SSL_POLICY),
        "{:?}",
        t.config_problems
    );
}

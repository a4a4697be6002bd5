//! The scenarios through the built binary, each asserting exit code, check, status and
//! reason code.

use aws_sdk_elasticloadbalancingv2::types::Certificate;

use crate::seed::{self, NlbSpec};
use crate::stage::{as_annotated, scenario};
use crate::{assert_check, check};

const AWS_CHECKS: [&str; 4] = [
    "load_balancer",
    "lb_listener",
    "lb_target_group",
    "dns_record",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_as_annotated_passes_every_check_and_exits_0() {
    let (code, report) = scenario("pass", |aws, arns, port| async move {
        let nlb = seed::nlb(&aws, &as_annotated("pass", "ns-pass/web", port, &arns[..2])).await;
        (nlb.clone(), nlb)
    })
    .await;
    for name in AWS_CHECKS {
        assert_check(&report, None, name, "pass", "ok");
    }
    assert_eq!(code, Some(0), "{report:#}");
    let facts = &report["targets"][0]["facts"]["aws"]["load_balancer"];
    assert_eq!(facts["type"], "network");
    assert_eq!(facts["listeners"][0]["protocol"], "TLS");
    assert_eq!(
        facts["listeners"][0]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(facts["target_groups"][0]["health"]["healthy"], 2);
    assert_eq!(
        facts["target_groups"][0]["attributes"]["preserve_client_ip.enabled"],
        "true"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_listener_certificate_fails_lb_listener_wrong_certificate_naming_both() {
    let mut third = String::new();
    let (code, report) = scenario("cert", |aws, arns, port| {
        third = arns[2].clone();
        async move {
            let nlb = seed::nlb(&aws, &as_annotated("cert", "ns-cert/web", port, &arns[..2])).await;
            // What a console edit leaves: the default certificate replaced by another ARN, the
            // SNI one kept. (moto's ModifyListener ignores certificates on TLS listeners, so the
            // list is rebuilt; moto's first listener certificate is the default.)
            let listener = &nlb.listener_arn;
            let cert = |arn: &str| Certificate::builder().certificate_arn(arn).build();
            aws.elbv2
                .remove_listener_certificates()
                .listener_arn(listener)
                .certificates(cert(&arns[0]))
                .certificates(cert(&arns[1]))
                .send()
                .await
                .expect("moto removes the certificates");
            for arn in [&arns[2], &arns[1]] {
                aws.elbv2
                    .add_listener_certificates()
                    .listener_arn(listener)
                    .certificates(cert(arn))
                    .send()
                    .await
                    .expect("moto adds the certificate");
            }
            (nlb.clone(), nlb)
        }
    })
    .await;
    assert_check(&report, None, "lb_listener", "fail", "wrong_certificate");
    assert_eq!(code, Some(1));
    let reason = check(&report, None, "lb_listener")["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains(&third), "names the attached ARN: {reason}");
    assert_check(&report, None, "load_balancer", "pass", "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ssl_policy_fails_lb_listener_policy_drift() {
    let (code, report) = scenario("policy", |aws, arns, port| async move {
        let spec = NlbSpec {
            policy: "ELBSecurityPolicy-2016-08",
            ..as_annotated("policy", "ns-policy/web", port, &arns[..2])
        };
        let nlb = seed::nlb(&aws, &spec).await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(&report, None, "lb_listener", "fail", "policy_drift");
    let reason = check(&report, None, "lb_listener")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("ELBSecurityPolicy-2016-08")
            && reason.contains("ELBSecurityPolicy-TLS13-1-2-2021-06"),
        "names both policies: {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_preservation_off_while_annotated_on_fails_lb_target_group() {
    let (code, report) = scenario("preserve", |aws, arns, port| async move {
        let spec = NlbSpec {
            attributes: &[
                ("preserve_client_ip.enabled", "false"),
                ("proxy_protocol_v2.enabled", "false"),
            ],
            ..as_annotated("preserve", "ns-preserve/web", port, &arns[..2])
        };
        let nlb = seed::nlb(&aws, &spec).await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(
        &report,
        None,
        "lb_target_group",
        "fail",
        "client_ip_not_preserved",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_protocol_v2_on_while_not_annotated_fails_lb_target_group() {
    let (code, report) = scenario("proxy", |aws, arns, port| async move {
        let spec = NlbSpec {
            attributes: &[
                ("preserve_client_ip.enabled", "true"),
                ("proxy_protocol_v2.enabled", "true"),
            ],
            ..as_annotated("proxy", "ns-proxy/web", port, &arns[..2])
        };
        let nlb = seed::nlb(&aws, &spec).await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(
        &report,
        None,
        "lb_target_group",
        "fail",
        "proxy_protocol_mismatch",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_nlb_for_an_internet_facing_service_fails_scheme_mismatch() {
    let (code, report) = scenario("internal", |aws, arns, port| async move {
        let spec = NlbSpec {
            scheme: "internal",
            ..as_annotated("internal", "ns-internal/web", port, &arns[..2])
        };
        let nlb = seed::nlb(&aws, &spec).await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(&report, None, "load_balancer", "fail", "scheme_mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_to_another_nlb_fails_dns_record_wrong_target_naming_both() {
    let mut names = (String::new(), String::new());
    let (code, report) = scenario("alias", |aws, arns, port| {
        let names = &mut names;
        async move {
            let nlb = seed::nlb(
                &aws,
                &as_annotated("alias", "ns-alias/web", port, &arns[..2]),
            )
            .await;
            let spec = NlbSpec {
                stack: None,
                ..as_annotated("alias-old", "", port, &arns[..2])
            };
            let old = seed::nlb(&aws, &spec).await;
            *names = (nlb.dns_name.clone(), old.dns_name.clone());
            (nlb, old)
        }
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(&report, None, "dns_record", "fail", "wrong_target");
    let reason = check(&report, None, "dns_record")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains(&names.0) && reason.contains(&names.1),
        "{reason}"
    );
    assert_check(&report, None, "load_balancer", "pass", "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_nlb_with_the_tag_fails_load_balancer_not_found_and_skips_the_rest() {
    let (code, report) = scenario("untagged", |aws, arns, port| async move {
        let spec = NlbSpec {
            stack: None,
            ..as_annotated("untagged", "", port, &arns[..2])
        };
        let nlb = seed::nlb(&aws, &spec).await;
        (nlb.clone(), nlb)
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(&report, None, "load_balancer", "fail", "not_found");
    assert_check(&report, None, "lb_listener", "skip", "no_load_balancer");
    assert_check(&report, None, "lb_target_group", "skip", "no_load_balancer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nlbs_with_the_tag_fail_load_balancer_ambiguous_naming_both() {
    let mut arns_seen = Vec::new();
    let (code, report) = scenario("twice", |aws, arns, port| {
        let seen = &mut arns_seen;
        async move {
            let a = seed::nlb(
                &aws,
                &as_annotated("twice-a", "ns-twice/web", port, &arns[..2]),
            )
            .await;
            let b = seed::nlb(
                &aws,
                &as_annotated("twice-b", "ns-twice/web", port, &arns[..2]),
            )
            .await;
            seen.extend([a.arn.clone(), b.arn.clone()]);
            (a.clone(), a)
        }
    })
    .await;
    assert_eq!(code, Some(1));
    assert_check(&report, None, "load_balancer", "fail", "ambiguous");
    let reason = check(&report, None, "load_balancer")["reason"]
        .as_str()
        .unwrap();
    for arn in &arns_seen {
        assert!(reason.contains(arn.as_str()), "{reason}");
    }
}

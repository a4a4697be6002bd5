//! The AWS facts of an observation as the `--once` report shows them: JSON (what was read: LB
//! ARN, listener ports, policies, certificate ARNs, target-group attributes, health counts) and
//! a short text line under the target. Reads observations only.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::probe::aws::{AwsLookupFailure, AwsObservation, DnsRecordLookup, LbFacts, LbSearch};

/// The `facts.aws` object.
pub fn to_json(aws: &AwsObservation) -> Value {
    let lb = match &aws.lb {
        Err(f) => failure(f),
        Ok(LbSearch::NotSearched) => json!({"found": "not_searched"}),
        Ok(LbSearch::NotFound) => json!({"found": "none"}),
        Ok(LbSearch::Ambiguous(arns)) => json!({"found": "several", "arns": arns}),
        Ok(LbSearch::Found(lb)) => lb_json(lb),
    };
    let record = match &aws.record {
        Err(f) => failure(f),
        Ok(DnsRecordLookup::ZoneNotFound) => json!({"zone": null}),
        Ok(DnsRecordLookup::Zone {
            zone_id,
            zone_name,
            records,
        }) => json!({
            "zone": {"id": zone_id, "name": zone_name},
            "records": records.iter().map(|r| json!({
                "type": r.record_type, "alias": r.alias, "target": r.target,
            })).collect::<Vec<_>>(),
        }),
    };
    json!({"searched_by": aws.searched_by, "load_balancer": lb, "route53": record})
}

fn failure(f: &AwsLookupFailure) -> Value {
    json!({"error": f.kind, "operation": f.operation, "message": f.message})
}

fn lb_json(lb: &LbFacts) -> Value {
    let s = &lb.summary;
    let mut v = json!({
        "found": "one",
        "arn": s.arn,
        "type": s.lb_type,
        "scheme": s.scheme,
        "dns_name": s.dns_name,
        "canonical_hosted_zone_id": s.canonical_zone_id,
    });
    match &lb.details {
        Err(f) => v["details"] = failure(f),
        Ok(d) => {
            v["listeners"] = d
                .listeners
                .iter()
                .map(|l| {
                    json!({
                        "arn": l.arn, "port": l.port, "protocol": l.protocol,
                        "ssl_policy": l.ssl_policy,
                        "default_certificate": l.default_certificate,
                        "certificates": l.certificates,
                        "target_groups": l.target_group_arns,
                    })
                })
                .collect();
            v["target_groups"] = d
                .target_groups
                .iter()
                .map(|g| {
                    let mut health: BTreeMap<&str, usize> = BTreeMap::new();
                    for t in &g.targets {
                        *health.entry(t.state.as_str()).or_default() += 1;
                    }
                    json!({
                        "arn": g.arn, "name": g.name, "target_type": g.target_type,
                        "attributes": g.attributes,
                        "targets": g.targets.len(),
                        "health": health,
                        "reasons": g.targets.iter().filter_map(|t| t.reason.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
        }
    }
    v
}

/// One line for the text report, e.g. `NLB arn:... (network, internet-facing): 443/TLS`.
pub fn text_line(aws: &AwsObservation) -> Option<String> {
    match &aws.lb {
        Ok(LbSearch::Found(lb)) => {
            let s = &lb.summary;
            let listeners = match &lb.details {
                Ok(d) => d
                    .listeners
                    .iter()
                    .map(|l| format!("{}/{}", l.port, l.protocol))
                    .collect::<Vec<_>>()
                    .join(" "),
                Err(f) => format!("listeners unknown ({})", f.kind),
            };
            Some(format!(
                "AWS {} ({}, {}): {listeners}",
                s.arn, s.lb_type, s.scheme
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::aws::{
        DnsRecordFacts, LbDetails, LbSummary, ListenerFacts, TargetGroupFacts, TargetHealthFacts,
    };

    fn observation() -> AwsObservation {
        let health = |state: &str, reason: Option<&str>| TargetHealthFacts {
            id: "10.0.0.1".into(),
            port: Some(80),
            state: state.into(),
            reason: reason.map(str::to_string),
        };
        AwsObservation {
            searched_by: "tag service.k8s.aws/stack=dev/web".into(),
            lb: Ok(LbSearch::Found(Box::new(LbFacts {
                summary: LbSummary {
                    arn: "arn:lb/net/x".into(),
                    dns_name: "x.elb.us-east-1.amazonaws.com".into(),
                    scheme: "internet-facing".into(),
                    lb_type: "network".into(),
                    ..LbSummary::default()
                },
                details: Ok(LbDetails {
                    listeners: vec![ListenerFacts {
                        port: 443,
                        protocol: "TLS".into(),
                        ssl_policy: Some("P".into()),
                        certificates: vec!["c1".into(), "c2".into()],
                        ..ListenerFacts::default()
                    }],
                    target_groups: vec![TargetGroupFacts {
                        targets: vec![
                            health("healthy", None),
                            health("unhealthy", Some("Target.Timeout")),
                        ],
                        ..TargetGroupFacts::default()
                    }],
                }),
            }))),
            record: Ok(DnsRecordLookup::Zone {
                zone_id: "Z1".into(),
                zone_name: "example.com".into(),
                records: vec![DnsRecordFacts {
                    record_type: "A".into(),
                    alias: true,
                    target: "x.elb.us-east-1.amazonaws.com".into(),
                }],
            }),
        }
    }

    #[test]
    fn json_has_what_was_read() {
        let v = to_json(&observation());
        let lb = &v["load_balancer"];
        assert_eq!(lb["found"], "one");
        assert_eq!(lb["listeners"][0]["port"], 443);
        assert_eq!(lb["listeners"][0]["certificates"][1], "c2");
        assert_eq!(lb["target_groups"][0]["health"]["unhealthy"], 1);
        assert_eq!(lb["target_groups"][0]["reasons"][0], "Target.Timeout");
        assert_eq!(v["route53"]["records"][0]["alias"], true);
    }

    #[test]
    fn text_line_names_the_nlb_and_its_listeners() {
        assert_eq!(
            text_line(&observation()).as_deref(),
            Some("AWS arn:lb/net/x (network, internet-facing): 443/TLS")
        );
    }
}

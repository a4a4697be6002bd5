//! The elbv2 calls: the account's load balancers with their tags (the inventory the tag search
//! runs over), and one load balancer's listeners and target groups. Each call is bounded by the
//! time budget and counted in `edgewatch_aws_requests_total{service="elbv2"}`. Enum values are
//! kept with `as_str()` so values newer than the SDK model survive.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{Action, TargetGroup};

use super::classify::classify;
use super::counter::Counted;
use super::counter::FailedCall;
use super::model::{
    LbDetails, LbSummary, ListenerFacts, Outside, TargetGroupFacts, TargetHealthFacts,
    normalise_lb_name,
};

/// `DescribeTags` takes at most 20 ARNs per call.
const TAGS_PER_CALL: usize = 20;
/// Pages of `DescribeLoadBalancers` read at most (400 each): a bound on a runaway marker loop.
const MAX_PAGES: usize = 50;

/// Every load balancer in the region with its tags: `DescribeLoadBalancers` (400 a page) and
/// `DescribeTags` (20 ARNs a call).
pub(crate) async fn inventory(
    client: &Client,
    call: &Counted<'_>,
) -> Result<Vec<LbSummary>, FailedCall> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = call
            .run("DescribeLoadBalancers", async {
                client
                    .describe_load_balancers()
                    .page_size(400)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| classify(&e))
            })
            .await?;
        for lb in page.load_balancers() {
            found.push(LbSummary {
                arn: lb.load_balancer_arn().unwrap_or_default().outside(),
                dns_name: normalise_lb_name(lb.dns_name().unwrap_or_default()),
                scheme: lb
                    .scheme()
                    .map(|s| s.as_str().outside())
                    .unwrap_or_default(),
                lb_type: lb
                    .r#type()
                    .map(|t| t.as_str().outside())
                    .unwrap_or_default(),
                canonical_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().outside(),
                tags: BTreeMap::new(),
            });
        }
        marker = page
            .next_marker()
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    for chunk in found.chunks_mut(TAGS_PER_CALL) {
        let arns: Vec<String> = chunk.iter().map(|lb| lb.arn.clone()).collect();
        let out = call
            .run("DescribeTags", async {
                client
                    .describe_tags()
                    .set_resource_arns(Some(arns))
                    .send()
                    .await
                    .map_err(|e| classify(&e))
            })
            .await?;
        for description in out.tag_descriptions() {
            let arn = description.resource_arn().unwrap_or_default();
            if let Some(lb) = chunk.iter_mut().find(|lb| lb.arn == arn) {
                lb.tags = description
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        let key = t.key()?.outside();
                        Some((key, t.value().unwrap_or_default().outside()))
                    })
                    .collect();
            }
        }
    }
    Ok(found)
}

/// One load balancer's listeners (with every certificate) and target groups (with attributes
/// and health). Listener certificates, attributes and health are asked concurrently.
pub(crate) async fn details(
    client: &Client,
    lb_arn: &str,
    call: &Counted<'_>,
) -> Result<LbDetails, FailedCall> {
    let listeners = call.run("DescribeListeners", async {
        client
            .describe_listeners()
            .load_balancer_arn(lb_arn)
            .send()
            .await
            .map_err(|e| classify(&e))
    });
    let groups = call.run("DescribeTargetGroups", async {
        client
            .describe_target_groups()
            .load_balancer_arn(lb_arn)
            .send()
            .await
            .map_err(|e| classify(&e))
    });
    let (listeners, groups) = tokio::join!(listeners, groups);
    let listeners = listeners?;
    let groups = groups?;
    let listeners = futures::future::try_join_all(
        listeners
            .listeners()
            .iter()
            .map(|l| listener(client, l, call)),
    );
    let groups = futures::future::try_join_all(
        groups
            .target_groups()
            .iter()
            .map(|g| target_group(client, g, call)),
    );
    let (listeners, target_groups) = tokio::try_join!(listeners, groups)?;
    Ok(LbDetails {
        listeners,
        target_groups,
    })
}

async fn listener(
    client: &Client,
    l: &aws_sdk_elasticloadbalancingv2::types::Listener,
    call: &Counted<'_>,
) -> Result<ListenerFacts, FailedCall> {
    let arn = l.listener_arn().unwrap_or_default().outside();
    let protocol = l
        .protocol()
        .map(|p| p.as_str().outside())
        .unwrap_or_default();
    let mut facts = ListenerFacts {
        port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        ssl_policy: l.ssl_policy().map(str::to_string),
        target_group_arns: forwarded_groups(l.default_actions()),
        ..ListenerFacts::default()
    };
    // `Certificates` of DescribeListeners is the default certificate only (moto lists the SNI
    // ones too); IsDefault in DescribeListenerCertificates says which is which everywhere.
    facts.default_certificate = l
        .certificates()
        .first()
        .and_then(|c| c.certificate_arn())
        .map(str::to_string);
    if protocol == "TLS" || protocol == "HTTPS" {
        let out = call
            .run("DescribeListenerCertificates", async {
                client
                    .describe_listener_certificates()
                    .listener_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| classify(&e))
            })
            .await?;
        for c in out.certificates() {
            let Some(cert) = c.certificate_arn() else {
                continue;
            };
            if c.is_default() == Some(true) {
                facts.default_certificate = Some(cert.outside());
            }
            if !facts.certificates.iter().any(|x| x == cert) {
                facts.certificates.push(cert.outside());
            }
        }
    }
    facts.arn = arn;
    facts.protocol = protocol;
    Ok(facts)
}

/// The target groups a listener's default actions forward to.
fn forwarded_groups(actions: &[Action]) -> Vec<String> {
    let mut arns: Vec<String> = Vec::new();
    for action in actions {
        let tuples = action
            .forward_config()
            .map(|f| f.target_groups())
            .unwrap_or_default();
        let direct = action.target_group_arn().into_iter();
        for arn in direct.chain(tuples.iter().filter_map(|t| t.target_group_arn())) {
            if !arns.iter().any(|a| a == arn) {
                arns.push(arn.outside());
            }
        }
    }
    arns
}

async fn target_group(
    client: &Client,
    g: &TargetGroup,
    call: &Counted<'_>,
) -> Result<TargetGroupFacts, FailedCall> {
    let arn = g.target_group_arn().unwrap_or_default();
    let attributes = call.run("DescribeTargetGroupAttributes", async {
        client
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&e))
    });
    let health = call.run("DescribeTargetHealth", async {
        client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&e))
    });
    let (attributes, health) = tokio::join!(attributes, health);
    Ok(TargetGroupFacts {
        arn: arn.outside(),
        name: g.target_group_name().unwrap_or_default().outside(),
        target_type: g
            .target_type()
            .map(|t| t.as_str().outside())
            .unwrap_or_default(),
        attributes: attributes?
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.outside(), a.value()?.outside())))
            .collect(),
        targets: health?
            .target_health_descriptions()
            .iter()
            .map(|d| TargetHealthFacts {
                id: d
                    .target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .outside(),
                port: d
                    .target()
                    .and_then(|t| t.port())
                    .and_then(|p| u16::try_from(p).ok()),
                state: d
                    .target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().outside())
                    .unwrap_or_default(),
                reason: d
                    .target_health()
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().outside()),
            })
            .collect(),
    })
}

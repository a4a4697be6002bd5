//! Seeding moto's server with what the AWS Load Balancer Controller and external-dns create: an
//! NLB tagged for a Service, its TLS listener with certificates, a target group with attributes
//! and registered targets, and a Route 53 zone with an alias record. Each test uses its own
//! names, so tests share one moto.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_route53 as r53;
use elbv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    ProtocolEnum, Tag, TargetDescription, TargetGroupAttribute, TargetTypeEnum,
};
use r53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};

use crate::support::moto::{Moto, test_credentials};

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// SDK clients pointed at one moto server.
pub struct Aws {
    /// elbv2.
    pub elbv2: elbv2::Client,
    /// Route 53.
    pub r53: r53::Client,
    /// The server's endpoint.
    pub endpoint: String,
}

impl Aws {
    /// Clients for `moto`.
    pub fn new(moto: &Moto) -> Aws {
        Aws::at(&moto.endpoint)
    }

    /// Clients for any endpoint.
    pub fn at(endpoint: &str) -> Aws {
        let e = elbv2::Config::builder()
            .behavior_version(elbv2::config::BehaviorVersion::latest())
            .region(elbv2::config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(test_credentials())
            .build();
        let r = r53::Config::builder()
            .behavior_version(r53::config::BehaviorVersion::latest())
            .region(r53::config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(test_credentials())
            .build();
        Aws {
            elbv2: elbv2::Client::from_conf(e),
            r53: r53::Client::from_conf(r),
            endpoint: endpoint.to_string(),
        }
    }

    /// The default VPC and its subnets (moto creates them), read with a plain EC2 Query call.
    pub async fn default_subnets(&self) -> (String, Vec<String>) {
        let body = reqwest::Client::new()
            .post(&self.endpoint)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=DescribeSubnets&Version=2016-11-15")
            .send()
            .await
            .expect("moto answers DescribeSubnets")
            .text()
            .await
            .expect("body");
        let values = |tag: &str| -> Vec<String> {
            body.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|s| s.split('<').next())
                .map(str::to_string)
                .collect()
        };
        let subnets = values("subnetId");
        let vpc = values("vpcId").into_iter().next().expect("a default VPC");
        assert!(subnets.len() >= 2, "moto's default subnets: {body}");
        (vpc, subnets.into_iter().take(2).collect())
    }
}

/// What one NLB should look like.
pub struct NlbSpec<'a> {
    /// Load balancer name (unique per test).
    pub name: &'a str,
    /// `service.k8s.aws/stack` value; `None`: untagged.
    pub stack: Option<&'a str>,
    /// `internet-facing` or `internal`.
    pub scheme: &'a str,
    /// Listener port.
    pub port: u16,
    /// Listener certificates: the first is the default, the rest are added as SNI certificates.
    pub certs: &'a [String],
    /// `SslPolicy`.
    pub policy: &'a str,
    /// Target-group attributes set (key, value).
    pub attributes: &'a [(&'a str, &'a str)],
    /// Registered target IPs.
    pub targets: &'a [&'a str],
}

/// One seeded NLB.
#[derive(Debug, Clone)]
pub struct Nlb {
    /// Its ARN.
    pub arn: String,
    /// Its DNS name (moto's fake).
    pub dns_name: String,
    /// Its canonical hosted zone.
    pub zone_id: String,
    /// The TLS listener.
    pub listener_arn: String,
}

/// Creates the NLB, its target group (type ip, TCP) and its TLS listener.
pub async fn nlb(aws: &Aws, spec: &NlbSpec<'_>) -> Nlb {
    let (vpc, subnets) = aws.default_subnets().await;
    let mut create = aws
        .elbv2
        .create_load_balancer()
        .name(spec.name)
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::from(spec.scheme))
        .set_subnets(Some(subnets));
    if let Some(stack) = spec.stack {
        create = create
            .tags(tag("service.k8s.aws/stack", stack))
            .tags(tag("service.k8s.aws/resource", "LoadBalancer"))
            .tags(tag("elbv2.k8s.aws/cluster", "test-cluster"));
    }
    let out = create.send().await.expect("moto creates the NLB");
    let lb = &out.load_balancers()[0];
    let arn = lb.load_balancer_arn().unwrap().to_string();
    let tg = aws
        .elbv2
        .create_target_group()
        .name(format!("{}-tg", spec.name))
        .protocol(ProtocolEnum::Tcp)
        .port(80)
        .vpc_id(vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .expect("moto creates the target group");
    let tg_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    if !spec.attributes.is_empty() {
        let mut modify = aws
            .elbv2
            .modify_target_group_attributes()
            .target_group_arn(&tg_arn);
        for (k, v) in spec.attributes {
            modify = modify.attributes(TargetGroupAttribute::builder().key(*k).value(*v).build());
        }
        modify.send().await.expect("moto sets the attributes");
    }
    if !spec.targets.is_empty() {
        let mut register = aws.elbv2.register_targets().target_group_arn(&tg_arn);
        for ip in spec.targets {
            register = register.targets(TargetDescription::builder().id(*ip).port(80).build());
        }
        register.send().await.expect("moto registers the targets");
    }
    let listener = aws
        .elbv2
        .create_listener()
        .load_balancer_arn(&arn)
        .port(i32::from(spec.port))
        .protocol(ProtocolEnum::Tls)
        .ssl_policy(spec.policy)
        .certificates(
            Certificate::builder()
                .certificate_arn(&spec.certs[0])
                .build(),
        )
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build(),
        )
        .send()
        .await
        .expect("moto creates the listener");
    let listener_arn = listener.listeners()[0].listener_arn().unwrap().to_string();
    if spec.certs.len() > 1 {
        let mut add = aws
            .elbv2
            .add_listener_certificates()
            .listener_arn(&listener_arn);
        for c in &spec.certs[1..] {
            add = add.certificates(Certificate::builder().certificate_arn(c).build());
        }
        add.send().await.expect("moto adds the SNI certificates");
    }
    Nlb {
        arn,
        dns_name: lb.dns_name().unwrap().to_ascii_lowercase(),
        zone_id: lb
            .canonical_hosted_zone_id()
            .unwrap_or("Z26RNL4JYFTOTI")
            .to_string(),
        listener_arn,
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A public hosted zone `zone` with an alias A record `name` -> `dualstack.<target>.`.
pub async fn alias_record(aws: &Aws, zone: &str, name: &str, target: &Nlb) {
    let created = aws
        .r53
        .create_hosted_zone()
        .name(zone)
        .caller_reference(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .expect("moto creates the zone");
    let zone_id = created.hosted_zone().unwrap().id().to_string();
    let alias = AliasTarget::builder()
        .dns_name(format!("dualstack.{}.", target.dns_name))
        .hosted_zone_id(&target.zone_id)
        .evaluate_target_health(true)
        .build()
        .unwrap();
    let record = ResourceRecordSet::builder()
        .name(format!("{name}."))
        .r#type(RrType::A)
        .alias_target(alias)
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(record)
        .build()
        .unwrap();
    aws.r53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .expect("moto writes the alias record");
}

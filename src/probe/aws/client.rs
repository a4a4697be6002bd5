//! elbv2 clients (one per region) and the Route 53 client, built on first use from the SDK's own
//! configuration: credential chain, `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2` / `AWS_ENDPOINT_URL_ROUTE_53`. The overrides are
//! the ACM ones ([`AcmClientOptions`]): an endpoint and credentials, for tests.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use crate::probe::acm::AcmClientOptions;

/// Endpoint / credential overrides for the AWS lookups (the same as ACM's).
pub type AwsClientOptions = AcmClientOptions;

/// The clients, shared by every lookup.
pub(crate) struct AwsClients {
    options: AwsClientOptions,
    base: OnceCell<SdkConfig>,
    elbv2: Mutex<HashMap<String, aws_sdk_elasticloadbalancingv2::Client>>,
    route53: OnceCell<aws_sdk_route53::Client>,
}

impl AwsClients {
    /// Reads no configuration until the first lookup.
    pub(crate) fn new(options: AwsClientOptions) -> Self {
        AwsClients {
            options,
            base: OnceCell::new(),
            elbv2: Mutex::new(HashMap::new()),
            route53: OnceCell::new(),
        }
    }

    /// The region the SDK configuration names (`AWS_REGION`, profile), if any.
    pub(crate) async fn default_region(&self) -> Option<String> {
        self.base().await.region().map(|r| r.to_string())
    }

    /// The elbv2 client for `region`.
    pub(crate) async fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        let base = self.base().await;
        let mut clients = self.elbv2.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut config = aws_sdk_elasticloadbalancingv2::config::Builder::from(base)
                    .region(Region::new(region.to_string()));
                if let Some(url) = &self.options.endpoint_url {
                    config = config.endpoint_url(url);
                }
                aws_sdk_elasticloadbalancingv2::Client::from_conf(config.build())
            })
            .clone()
    }

    /// The Route 53 client (a global service, signed for us-east-1).
    pub(crate) async fn route53(&self) -> aws_sdk_route53::Client {
        let base = self.base().await;
        self.route53
            .get_or_init(|| async {
                let mut config = aws_sdk_route53::config::Builder::from(base)
                    .region(Region::from_static("us-east-1"));
                if let Some(url) = &self.options.endpoint_url {
                    config = config.endpoint_url(url);
                }
                aws_sdk_route53::Client::from_conf(config.build())
            })
            .await
            .clone()
    }

    async fn base(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(credentials) = &self.options.credentials {
                    loader = loader.credentials_provider(credentials.clone());
                }
                loader.load().await
            })
            .await
    }
}

/// The region in an ELB hostname: `name-hash.elb.<region>.amazonaws.com` (NLB) or
/// `name-id.<region>.elb.amazonaws.com` (classic and moto's fakes).
pub fn region_of_lb_hostname(hostname: &str) -> Option<String> {
    let labels: Vec<&str> = hostname.trim_end_matches('.').split('.').collect();
    let elb = labels.iter().position(|l| *l == "elb")?;
    let candidates = [
        labels.get(elb + 1),
        elb.checked_sub(1).and_then(|i| labels.get(i)),
    ];
    candidates
        .into_iter()
        .flatten()
        .copied()
        .find(|r| {
            r.split('-').count() >= 3
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::region_of_lb_hostname;

    #[test]
    fn the_region_is_read_from_both_hostname_forms() {
        assert_eq!(
            region_of_lb_hostname("k8s-dev-app-0a1b.elb.eu-west-3.amazonaws.com").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            region_of_lb_hostname("my-lb-1.us-east-1.elb.amazonaws.com.").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(region_of_lb_hostname("lb.example.test"), None);
    }
}

//! [`AwsLookup`]: the elbv2 and Route 53 questions, cached and shared. The account's load
//! balancers (with tags) are read once per region per cache period and searched in memory; each
//! load balancer's listeners and target groups once per period whatever the number of targets
//! behind it; Route 53 zones once per period, each name's records once. Concurrent askers share
//! one call (single flight); every fetch is bounded by the time budget, so a slow or throttled
//! API delays only the targets that need that answer.

use std::sync::Arc;
use std::time::Duration;

use super::AwsSettings;
use super::client::{AwsClientOptions, AwsClients, region_of_lb_hostname};
use super::counter::AwsMetrics;
use super::counter::{Counted, FailedCall};
use super::model::{
    AwsLookupFailure, DnsRecordLookup, LbDetails, LbFacts, LbSearch, LbSummary, normalise_lb_name,
};
use super::route53::{self, Zone};
use super::{AwsError, elbv2};
use crate::probe::cache::SingleFlightCache;

/// How long failures are reused at most: the API recovering shows within a probe or two.
pub const DEFAULT_FAILURE_TTL: Duration = Duration::from_secs(30);
/// The time budget of one fetch (all its calls together).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The tag the AWS Load Balancer Controller puts on what it creates for a Service.
pub const STACK_TAG: &str = "service.k8s.aws/stack";
/// The controller's cluster tag.
pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";
/// Region used when neither the load balancer's hostname nor the SDK configuration names one.
const FALLBACK_REGION: &str = "us-east-1";

/// How lookups behave.
#[derive(Clone, Debug)]
pub struct AwsLookupOptions {
    /// `aws.required`: copied into each failure so the judges fail instead of skipping.
    pub required: bool,
    /// `aws.cluster_name`: the `elbv2.k8s.aws/cluster` tag must match when set.
    pub cluster_name: Option<String>,
    /// How long an answer is reused (`aws.cache_ttl`).
    pub cache_ttl: Duration,
    /// How long a failure is reused (never longer than `cache_ttl`).
    pub failure_ttl: Duration,
    /// Time budget per fetch.
    pub timeout: Duration,
    /// Endpoint / credential overrides (empty in production).
    pub client: AwsClientOptions,
}

impl AwsLookupOptions {
    /// From the validated config, with the default failure TTL and budget.
    pub fn from_settings(settings: &AwsSettings) -> Self {
        AwsLookupOptions {
            required: settings.required,
            cluster_name: settings.cluster_name.clone(),
            cache_ttl: settings.cache_ttl,
            failure_ttl: DEFAULT_FAILURE_TTL.min(settings.cache_ttl),
            timeout: DEFAULT_TIMEOUT,
            client: AwsClientOptions::default(),
        }
    }
}

/// How a target's load balancer is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LbKey {
    /// By the controller's `service.k8s.aws/stack` tag (`<namespace>/<service>`).
    Stack(String),
    /// By `DNSName` (a static target's `lb_hostname`).
    DnsName(String),
}

type Shared<T> = Result<Arc<T>, AwsLookupFailure>;

/// Cached, single-flight elbv2 and Route 53 lookups. Cheap to share behind an `Arc`.
pub struct AwsLookup {
    options: AwsLookupOptions,
    clients: AwsClients,
    metrics: AwsMetrics,
    inventories: SingleFlightCache<Shared<Vec<LbSummary>>>,
    details: SingleFlightCache<Shared<LbDetails>>,
    zones: SingleFlightCache<Shared<Vec<Zone>>>,
    records: SingleFlightCache<Result<DnsRecordLookup, AwsLookupFailure>>,
}

impl AwsLookup {
    /// A lookup service; reads no configuration and builds no client until first used.
    pub fn new(options: AwsLookupOptions, metrics: AwsMetrics) -> Self {
        AwsLookup {
            clients: AwsClients::new(options.client.clone()),
            options,
            metrics,
            inventories: SingleFlightCache::new(),
            details: SingleFlightCache::new(),
            zones: SingleFlightCache::new(),
            records: SingleFlightCache::new(),
        }
    }

    /// Finds the load balancer `key` names, with its listeners and target groups. `lb_hostname`
    /// (the Service's status) gives the region when it is an AWS name.
    pub async fn find_lb(&self, key: &LbKey, lb_hostname: Option<&str>) -> Shared<LbSearch> {
        let region = match lb_hostname.and_then(region_of_lb_hostname) {
            Some(r) => r,
            None => self.default_region().await,
        };
        let all = Box::pin(self.inventory(&region)).await?;
        let matches: Vec<&LbSummary> = all.iter().filter(|lb| self.matches(lb, key)).collect();
        let lb = match matches.as_slice() {
            [] => return Ok(Arc::new(LbSearch::NotFound)),
            [one] => (*one).clone(),
            many => {
                let arns = many.iter().map(|lb| lb.arn.clone()).collect();
                return Ok(Arc::new(LbSearch::Ambiguous(arns)));
            }
        };
        let details = Box::pin(self.lb_details(&region, &lb.arn))
            .await
            .map(|d| (*d).clone());
        Ok(Arc::new(LbSearch::Found(Box::new(LbFacts {
            summary: lb,
            details,
        }))))
    }

    /// What Route 53 holds for `name`.
    pub async fn record(&self, name: &str) -> Result<DnsRecordLookup, AwsLookupFailure> {
        let zones = self
            .zones
            .get_or_fetch("zones", || async {
                let client = self
                    .bounded("ListHostedZonesByName", self.clients.route53())
                    .await;
                let result = match client {
                    Ok(c) => {
                        self.fetch(
                            "ListHostedZonesByName",
                            Box::pin(route53::zones(&c, &self.counted("route53"))),
                        )
                        .await
                    }
                    Err(f) => Err(f),
                };
                self.ttl(result.map(Arc::new))
            })
            .await?;
        let Some(zone) = route53::zone_for(&zones, name) else {
            return Ok(DnsRecordLookup::ZoneNotFound);
        };
        let key = format!("{}|{name}", zone.id);
        self.records
            .get_or_fetch(&key, || async {
                let client = self.clients.route53().await;
                let call = self.counted("route53");
                let result = self
                    .fetch(
                        "ListResourceRecordSets",
                        route53::records(&client, &zone.id, name, &call),
                    )
                    .await
                    .map(|records| DnsRecordLookup::Zone {
                        zone_id: zone.id.clone(),
                        zone_name: zone.name.clone(),
                        records,
                    });
                self.ttl(result)
            })
            .await
    }

    fn matches(&self, lb: &LbSummary, key: &LbKey) -> bool {
        match key {
            LbKey::DnsName(name) => lb.dns_name == normalise_lb_name(name),
            LbKey::Stack(stack) => {
                lb.tags.get(STACK_TAG) == Some(stack)
                    && self
                        .options
                        .cluster_name
                        .as_ref()
                        .is_none_or(|c| lb.tags.get(CLUSTER_TAG) == Some(c))
            }
        }
    }

    async fn default_region(&self) -> String {
        match self.bounded("config", self.clients.default_region()).await {
            Ok(Some(r)) => r,
            _ => FALLBACK_REGION.to_string(),
        }
    }

    async fn inventory(&self, region: &str) -> Shared<Vec<LbSummary>> {
        self.inventories
            .get_or_fetch(region, || async {
                let result = match self
                    .bounded("DescribeLoadBalancers", self.clients.elbv2(region))
                    .await
                {
                    Ok(c) => {
                        self.fetch(
                            "DescribeLoadBalancers",
                            Box::pin(elbv2::inventory(&c, &self.counted("elbv2"))),
                        )
                        .await
                    }
                    Err(f) => Err(f),
                };
                self.ttl(result.map(Arc::new))
            })
            .await
    }

    async fn lb_details(&self, region: &str, arn: &str) -> Shared<LbDetails> {
        self.details
            .get_or_fetch(arn, || async {
                let client = self.clients.elbv2(region).await;
                let call = self.counted("elbv2");
                let result = self
                    .fetch(
                        "DescribeListeners",
                        Box::pin(elbv2::details(&client, arn, &call)),
                    )
                    .await;
                self.ttl(result.map(Arc::new))
            })
            .await
    }

    fn counted(&self, service: &'static str) -> Counted<'_> {
        Counted {
            service,
            counter: self.metrics.requests(),
            timeout: self.options.timeout,
        }
    }

    /// Runs a whole fetch under the budget and turns its failure into what judges read.
    async fn fetch<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = Result<T, FailedCall>>,
    ) -> Result<T, AwsLookupFailure> {
        match tokio::time::timeout(self.options.timeout, work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(self.failure(f)),
            Err(_) => Err(self.failure(FailedCall {
                operation,
                error: AwsError::Timeout(self.options.timeout),
            })),
        }
    }

    /// Building the first client reads the SDK configuration: bounded too.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = T>,
    ) -> Result<T, AwsLookupFailure> {
        tokio::time::timeout(self.options.timeout, work)
            .await
            .map_err(|_| {
                self.failure(FailedCall {
                    operation,
                    error: AwsError::Timeout(self.options.timeout),
                })
            })
    }

    fn failure(&self, f: FailedCall) -> AwsLookupFailure {
        tracing::warn!(
            operation = f.operation,
            kind = f.error.as_str(),
            error = %f.error,
            "AWS lookup failed"
        );
        AwsLookupFailure {
            kind: f.error.as_str(),
            operation: f.operation,
            message: f.error.to_string(),
            required: self.options.required,
        }
    }

    fn ttl<T>(
        &self,
        result: Result<T, AwsLookupFailure>,
    ) -> (Result<T, AwsLookupFailure>, Duration) {
        let ttl = match &result {
            Ok(_) => self.options.cache_ttl,
            Err(_) => self.options.failure_ttl,
        };
        (result, ttl)
    }
}

//! [`AwsEnricher`]: adds what elbv2 and Route 53 say of a target's load balancer and DNS record
//! to its observation. It observes only; `checks::aws` judges.

use std::sync::Arc;

use super::AwsSettings;
use super::counter::AwsMetrics;
use super::lookup::{AwsLookup, AwsLookupOptions, LbKey, STACK_TAG};
use super::model::{AwsObservation, LbSearch};
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::enrich::Enricher;

/// Fills `Observation.aws`. Disabled (`aws.enabled: false`, no `--aws`) it adds nothing, and
/// the judges say the AWS lookups are not enabled.
pub struct AwsEnricher {
    lookup: Option<Arc<AwsLookup>>,
}

impl AwsEnricher {
    /// From the validated config; the SDK configuration is read at the first lookup.
    pub fn from_settings(settings: &AwsSettings, metrics: AwsMetrics) -> Self {
        if !settings.enabled {
            return AwsEnricher { lookup: None };
        }
        let options = AwsLookupOptions::from_settings(settings);
        AwsEnricher::new(Arc::new(AwsLookup::new(options, metrics)))
    }

    /// Around an existing lookup service (tests, or sharing one cache).
    pub fn new(lookup: Arc<AwsLookup>) -> Self {
        AwsEnricher {
            lookup: Some(lookup),
        }
    }
}

/// How `target`'s load balancer is searched for: a Service's by the controller's stack tag, a
/// static target's by its `lb_hostname`; `None` when neither is known.
pub fn lb_key(target: &Target) -> Option<LbKey> {
    match (&target.lb_intent, target.lb_hostnames.first()) {
        (Some(intent), _) => Some(LbKey::Stack(intent.stack.clone())),
        (None, Some(host)) => Some(LbKey::DnsName(host.clone())),
        (None, None) => None,
    }
}

#[async_trait::async_trait]
impl Enricher for AwsEnricher {
    async fn enrich(&self, target: &Target, observation: &mut Observation) {
        let Some(lookup) = &self.lookup else {
            return;
        };
        let key = lb_key(target);
        let searched_by = match &key {
            Some(LbKey::Stack(s)) => format!("tag {STACK_TAG}={s}"),
            Some(LbKey::DnsName(d)) => format!("DNSName {d}"),
            None => "nothing (no Service and no lb_hostname)".to_string(),
        };
        let lb_hostname = target.lb_hostnames.first().map(String::as_str);
        let lb = async {
            match &key {
                Some(key) => Box::pin(lookup.find_lb(key, lb_hostname))
                    .await
                    .map(|found| (*found).clone()),
                None => Ok(LbSearch::NotSearched),
            }
        };
        let (lb, record) = tokio::join!(lb, Box::pin(lookup.record(&target.hostname)));
        observation.aws = Some(Box::new(AwsObservation {
            searched_by,
            lb,
            record,
        }));
    }
}

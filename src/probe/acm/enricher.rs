//! [`AcmEnricher`]: adds ACM's view of each expected ACM certificate to a target's observation.

use std::sync::Arc;

use futures::future::join_all;

use super::AcmSettings;
use super::lookup::{AcmLookup, AcmLookupOptions};
use super::metrics::AcmMetrics;
use crate::discovery::target::{ExpectedCert, Target};
use crate::probe::Observation;
use crate::probe::enrich::Enricher;

/// Fills `Observation.acm`, one entry per `ExpectedCert::AcmArn` of the target. Disabled
/// (`acm.enabled: false`) it adds nothing, and the judges say ACM lookup is not enabled.
pub struct AcmEnricher {
    lookup: Option<Arc<AcmLookup>>,
}

impl AcmEnricher {
    /// From the validated config; SDK configuration is read lazily, at the first lookup.
    pub fn from_settings(settings: &AcmSettings, metrics: AcmMetrics) -> Self {
        if !settings.enabled {
            return AcmEnricher { lookup: None };
        }
        let options = AcmLookupOptions::from_settings(settings);
        AcmEnricher::new(Arc::new(AcmLookup::new(options, metrics)))
    }

    /// Around an existing lookup service (tests, or sharing one cache between users).
    pub fn new(lookup: Arc<AcmLookup>) -> Self {
        AcmEnricher {
            lookup: Some(lookup),
        }
    }

    /// The lookup service, when enabled.
    pub fn lookup(&self) -> Option<&Arc<AcmLookup>> {
        self.lookup.as_ref()
    }
}

#[async_trait::async_trait]
impl Enricher for AcmEnricher {
    async fn enrich(&self, target: &Target, observation: &mut Observation) {
        let Some(lookup) = &self.lookup else {
            return;
        };
        let mut arns: Vec<&str> = Vec::new();
        for expected in &target.expected_certs {
            if let ExpectedCert::AcmArn(arn) = expected
                && !arns.contains(&arn.as_str())
            {
                arns.push(arn);
            }
        }
        // Concurrently: a target's ARNs may live in different regions.
        let found = join_all(arns.into_iter().map(|arn| lookup.observe(arn))).await;
        observation.acm.extend(found);
    }
}

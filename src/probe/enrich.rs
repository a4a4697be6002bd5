//! Enrichers: sources other than the probe itself (ACM, the prober's egress IP) that add facts to
//! an observation. They observe; they never judge.

use crate::discovery::target::Target;
use crate::probe::Observation;

/// Adds what other sources know to an observation (ACM facts, the prober's egress IP).
#[async_trait::async_trait]
pub trait Enricher: Send + Sync {
    /// Fills the parts of `observation` this source knows about.
    async fn enrich(&self, target: &Target, observation: &mut Observation);
}

/// An enricher that adds nothing.
pub struct NoEnrichment;

#[async_trait::async_trait]
impl Enricher for NoEnrichment {
    async fn enrich(&self, _target: &Target, _observation: &mut Observation) {}
}

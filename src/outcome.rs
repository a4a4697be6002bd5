//! `Outcome`: a target, what its probe observed and what the judges concluded. The one thing
//! the exporters (metrics, report, events, alerts) read.

use std::sync::Arc;

use crate::checks::{self, CheckResult, JudgeContext};
use crate::probe::{Observation, Prober};
use crate::target::Target;

/// One probe's full result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target probed.
    pub target: Arc<Target>,
    /// What was observed; `None` when the target could not be probed (not provisioned).
    pub observation: Option<Observation>,
    /// The verdicts, in report order.
    pub results: Vec<CheckResult>,
}

impl Outcome {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        checks::all_ok(&self.results)
    }
}

/// Probes and judges one target: the unit both the daemon and `--once` run.
pub async fn probe_and_judge(
    prober: &Prober,
    target: Arc<Target>,
    enrich: &dyn Enricher,
    ctx: impl FnOnce() -> JudgeContext,
) -> Outcome {
    if let Some(why) = &target.not_ready {
        let results = checks::judge_unprobed(&target, why);
        return Outcome {
            target,
            observation: None,
            results,
        };
    }
    let mut observation = prober.probe(&target).await;
    enrich.enrich(&target, &mut observation).await;
    let results = checks::judge(&target, &observation, &ctx());
    Outcome {
        target,
        observation: Some(observation),
        results,
    }
}

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

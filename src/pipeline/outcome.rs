//! `Outcome`: a target, what its probe observed and what the judges concluded. The one thing
//! the exporters (metrics, report, events, alerts) read.

use std::sync::Arc;

use crate::checks::verdicts::Verdicts;
use crate::checks::{self, JudgeContext};
use crate::discovery::target::Target;
use crate::probe::enrich::Enricher;
use crate::probe::{Observation, Prober};

/// One probe's full result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target probed.
    pub target: Arc<Target>,
    /// What was observed; `None` when the target could not be probed (not provisioned).
    pub observation: Option<Observation>,
    /// The verdicts, in report order, packed: the status store keeps every target's.
    pub results: Verdicts,
}

// The status store keeps one, shared, per target: 304 bytes and the `Arc`'s 16 fill the
// allocator's 320-byte class (368 took the 384 class).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Outcome>() <= 304);

impl Outcome {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        self.results.all_ok()
    }

    /// A copy to keep once the judges are done: exact-sized (a probe's own buffers have spare
    /// capacity), with each response body cut to what the reports show of it.
    pub fn copy_to_keep(&self) -> Outcome {
        let mut kept = self.clone();
        if let Some(observation) = &mut kept.observation {
            for http in observation
                .endpoints
                .iter_mut()
                .filter_map(|e| e.http.as_mut())
            {
                http.keep_preview();
            }
        }
        kept
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
            results: results.into(),
        };
    }
    let mut observation = prober.probe(&target).await;
    enrich.enrich(&target, &mut observation).await;
    let results = checks::judge(&target, &observation, &ctx());
    Outcome {
        target,
        observation: Some(observation),
        results: results.into(),
    }
}

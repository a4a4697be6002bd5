//! Export: everything that reads outcomes and shows them to someone — Prometheus metrics, the
//! `--once` report, Alertmanager, Kubernetes Events, the HTTP server. Exporters read results
//! only; they never probe or judge.

pub mod alertmanager;
pub mod aws_facts;
pub mod events;
pub mod latest;
pub mod listener;
pub mod metrics;
pub mod report;
pub mod server;
pub mod status_page;
pub mod tls_facts;

use std::sync::Arc;

use crate::pipeline::outcome::Outcome;

/// Something that consumes outcomes besides metrics and logs.
#[async_trait::async_trait]
pub trait OutcomeSink: Send + Sync {
    /// Sees every outcome.
    async fn observe(&self, outcome: &Outcome);
    /// Sees every outcome, shared: a sink that keeps outcomes keeps this one instead of a
    /// deep copy (the daemon calls this one).
    async fn observe_shared(&self, outcome: &Arc<Outcome>) {
        self.observe(outcome).await;
    }
    /// The target named `name` is gone.
    async fn forget(&self, name: &str);
}

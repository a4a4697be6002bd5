//! Discovery's own metrics: targets by source, whether each source has synced, its errors.

use prometheus::{IntCounterVec, IntGaugeVec, Registry};

/// Handles registered by discovery (shared by every source).
#[derive(Clone)]
pub struct DiscoveryMetrics {
    /// `edgewatch_targets{source}`: targets being probed, by source kind.
    pub targets: IntGaugeVec,
    /// `edgewatch_discovery_synced{source}`: 1 once the source has listed everything once.
    pub synced: IntGaugeVec,
    /// `edgewatch_discovery_errors_total{source,reason}`.
    pub errors: IntCounterVec,
}

impl DiscoveryMetrics {
    /// Registers discovery's series in `registry`.
    pub fn register(registry: &Registry) -> Self {
        use crate::registry::{counter, gauge};
        DiscoveryMetrics {
            targets: gauge(
                registry,
                "edgewatch_targets",
                "Targets being probed, by source.",
                &["source"],
            ),
            synced: gauge(
                registry,
                "edgewatch_discovery_synced",
                "1 when the discovery source has completed a full list.",
                &["source"],
            ),
            errors: counter(
                registry,
                "edgewatch_discovery_errors_total",
                "Discovery errors, by source and reason.",
                &["source", "reason"],
            ),
        }
    }
}

//! ACM's own metric: API calls by operation and result.

use prometheus::{IntCounterVec, Registry};

/// Handles registered by the ACM lookups.
#[derive(Clone)]
pub struct AcmMetrics {
    requests: IntCounterVec,
}

impl AcmMetrics {
    /// Registers `edgewatch_acm_requests_total` in `registry`.
    pub fn register(registry: &Registry) -> Self {
        AcmMetrics {
            requests: crate::registry::counter(
                registry,
                "edgewatch_acm_requests_total",
                "ACM API calls, by operation and result.",
                &["operation", "result"],
            ),
        }
    }

    /// Counts one call of `operation` that ended with `result` (`ok` or an error code).
    pub(super) fn count(&self, operation: &str, result: &str) {
        self.requests.with_label_values(&[operation, result]).inc();
    }

    /// How many calls of `operation` ended with `result` so far.
    pub fn calls(&self, operation: &str, result: &str) -> u64 {
        self.requests.with_label_values(&[operation, result]).get()
    }
}

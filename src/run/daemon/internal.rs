//! `edgewatch_internal_errors_total{kind}`: edgewatch's own failures, never a target's. A probe
//! spoiled by running out of file descriptors counts here, not as the target failing; so does a
//! probe that panicked (its target probed again after `guard`'s backoff). The kind keeps its
//! name from when each target had a probe loop: it is a label value dashboards and alerts use.

use prometheus::{IntCounterVec, Registry};

/// Kinds present from the start, so `increase()` sees the first one.
const KINDS: &[&str] = &["no_descriptors", InternalErrors::PROBE_LOOP_PANIC];

/// The handle; cheap to clone.
#[derive(Clone)]
pub struct InternalErrors {
    counter: IntCounterVec,
}

impl InternalErrors {
    /// The kind counted when a target's probe panicked.
    pub const PROBE_LOOP_PANIC: &'static str = "probe_loop_panic";

    /// Registers the counter in `registry`, with every kind at zero.
    pub fn register(registry: &Registry) -> Self {
        let counter = crate::registry::counter(
            registry,
            "edgewatch_internal_errors_total",
            "edgewatch's own failures (not the targets'), by kind.",
            &["kind"],
        );
        for kind in KINDS {
            counter.with_label_values(&[kind]);
        }
        InternalErrors { counter }
    }

    /// Counts one internal error of `kind`.
    pub fn count(&self, kind: &str) {
        self.counter.with_label_values(&[kind]).inc();
    }

    /// How many internal errors of `kind` were counted.
    pub fn get(&self, kind: &str) -> u64 {
        self.counter.with_label_values(&[kind]).get()
    }
}

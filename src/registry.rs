//! Registering metric handles. Each component registers its own handles in the one
//! `prometheus::Registry` when it is built (the registry is made by `run::app` and handed down),
//! so no component reaches into another's metrics; `export::metrics` only renders the registry.

use prometheus::core::Collector;
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Registers `metric` in `registry` and returns it. Metric definitions are constants of the
/// program, so a clash is a programming error, found by any test that builds the component.
pub fn register<M: Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

/// A registered counter family.
pub fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    register(registry, c)
}

/// A registered gauge family.
pub fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    register(registry, g)
}

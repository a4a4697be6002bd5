//! ACM against moto's server on loopback: lookups (fingerprint, status, region from the ARN,
//! caching, single-flight, ACM down or hung, missing credentials) and the `cert_expected` /
//! `acm_status` verdicts through the real probe pipeline against a rustls server.
//!
//! Needs `moto_server` on PATH (`pip install 'moto[server]'`); fails loudly without it.

mod env;
mod lookup;
mod pipeline;
mod pki;
mod standin;
#[path = "../support/mod.rs"]
mod support;

use support::moto;

use std::sync::Arc;
use std::time::Duration;

use edgewatch::probe::acm::{AcmClientOptions, AcmLookup, AcmLookupOptions, AcmMetrics};

/// moto's fixed account.
pub const ACCOUNT: &str = "123456789012";

/// Lookup options for tests: the given client, 10 min cache, 30 s for failures, 5 s budget.
pub fn options(client: AcmClientOptions) -> AcmLookupOptions {
    AcmLookupOptions {
        cache_ttl: Duration::from_secs(600),
        failure_ttl: Duration::from_secs(30),
        timeout: Duration::from_secs(5),
        client,
    }
}

/// A lookup service with its own metrics (in a registry of their own).
pub fn lookup(options: AcmLookupOptions) -> (Arc<AcmLookup>, AcmMetrics) {
    let metrics = AcmMetrics::register(&prometheus::Registry::new());
    (Arc::new(AcmLookup::new(options, metrics.clone())), metrics)
}

/// `edgewatch_acm_requests_total{operation, result}`.
pub fn calls(metrics: &AcmMetrics, operation: &str, result: &str) -> u64 {
    metrics.calls(operation, result)
}

/// An ARN in moto's account that names no certificate.
pub fn unknown_arn(region: &str) -> String {
    format!(
        "arn:aws:acm:{region}:{ACCOUNT}:certificate/{}",
        uuid::Uuid::new_v4()
    )
}

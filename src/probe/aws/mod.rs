//! AWS: what elbv2 and Route 53 say exists behind a target — the load balancer found by the
//! AWS Load Balancer Controller's tags (or by DNS name), its listeners with their certificates
//! and policy, its target groups with attributes and health, and the Route 53 record of the
//! friendly name.
//!
//! Owns the SDK clients, the caches (one inventory per region, one describe per load balancer,
//! per cache period; single flight, shared with ACM's cache type) and the mapping of SDK errors
//! to a few kinds. It observes only: `checks::aws` compares with the Service's intent.

//!
//! The SDK side (clients, calls, lookups, the enricher and its metrics) is built only with the
//! `aws` cargo feature; the facts (`model`), the error kinds and the settings are always here,
//! since the observation, the judges, the report and the config read them.

#[cfg(feature = "aws")]
mod classify;
#[cfg(feature = "aws")]
mod client;
#[cfg(feature = "aws")]
mod counter;
#[cfg(feature = "aws")]
mod elbv2;
#[cfg(feature = "aws")]
mod enricher;
mod error;
#[cfg(feature = "aws")]
mod lookup;
pub mod model;
#[cfg(feature = "aws")]
pub mod route53;
mod settings;

pub use error::AwsError;
pub use model::*;
pub use settings::AwsSettings;
#[cfg(feature = "aws")]
pub use {
    client::{AwsClientOptions, region_of_lb_hostname},
    counter::AwsMetrics,
    enricher::{AwsEnricher, lb_key},
    lookup::{
        AwsLookup, AwsLookupOptions, CLUSTER_TAG, DEFAULT_FAILURE_TTL, DEFAULT_TIMEOUT, LbKey,
        STACK_TAG,
    },
};

//! AWS: what elbv2 and Route 53 say exists behind a target — the load balancer found by the
//! AWS Load Balancer Controller's tags (or by DNS name), its listeners with their certificates
//! and policy, its target groups with attributes and health, and the Route 53 record of the
//! friendly name.
//!
//! Owns the SDK clients, the caches (one inventory per region, one describe per load balancer,
//! per cache period; single flight, shared with ACM's cache type) and the mapping of SDK errors
//! to a few kinds. It observes only: `checks::aws` compares with the Service's intent.

mod client;
mod counter;
mod elbv2;
mod enricher;
mod error;
mod lookup;
pub mod model;
pub mod route53;
mod settings;

pub use client::{AwsClientOptions, region_of_lb_hostname};
pub use counter::AwsMetrics;
pub use enricher::{AwsEnricher, lb_key};
pub use error::AwsError;
pub use lookup::{
    AwsLookup, AwsLookupOptions, CLUSTER_TAG, DEFAULT_FAILURE_TTL, DEFAULT_TIMEOUT, LbKey,
    STACK_TAG,
};
pub use model::*;
pub use settings::AwsSettings;

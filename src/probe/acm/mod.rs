//! ACM: what AWS Certificate Manager says of the certificates a target is expected to serve.
//!
//! Owns the SDK clients (one per region, from the ARN), the cache and the single-flight of
//! lookups, and the mapping of SDK errors to a few stable kinds. It observes only: the verdicts
//! (`cert_expected`, `acm_status`) are the judges' in `checks`.

mod arn;
mod client;
mod enricher;
pub(crate) mod error;
mod fetch;
mod lookup;
mod metrics;
mod settings;

pub use arn::CertArn;
pub use client::AcmClientOptions;
pub use enricher::AcmEnricher;
pub use error::AcmError;
pub use lookup::{AcmLookup, AcmLookupOptions, DEFAULT_FAILURE_TTL, DEFAULT_TIMEOUT};
pub use metrics::AcmMetrics;
pub use settings::AcmSettings;

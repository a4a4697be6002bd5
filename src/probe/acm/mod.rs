//! ACM: what AWS Certificate Manager says of the certificates a target is expected to serve.
//!
//! Owns the SDK clients (one per region, from the ARN), the cache and the single-flight of
//! lookups, and the mapping of SDK errors to a few stable kinds. It observes only: the verdicts
//! (`cert_expected`, `acm_status`) are the judges' in `checks`.

//!
//! The SDK side (clients, lookups, the enricher and its metrics) is built only with the `aws`
//! cargo feature; the error kinds, the ARN parser and the settings are always here, since the
//! observation, the judges and the config read them.

mod arn;
#[cfg(feature = "aws")]
pub(crate) mod classify;
#[cfg(feature = "aws")]
mod client;
#[cfg(feature = "aws")]
mod enricher;
pub(crate) mod error;
#[cfg(feature = "aws")]
mod fetch;
#[cfg(feature = "aws")]
mod lookup;
#[cfg(feature = "aws")]
mod metrics;
mod settings;

pub use arn::CertArn;
pub use error::AcmError;
pub use settings::AcmSettings;
#[cfg(feature = "aws")]
pub use {
    client::AcmClientOptions,
    enricher::AcmEnricher,
    lookup::{AcmLookup, AcmLookupOptions, DEFAULT_FAILURE_TTL, DEFAULT_TIMEOUT},
    metrics::AcmMetrics,
};

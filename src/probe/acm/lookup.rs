//! [`AcmLookup`]: what edgewatch asks ACM, cached and shared. Answers (good or bad) are reused for
//! a while so 500 Services do not mean 500 calls per interval; concurrent lookups of one ARN
//! share one call; every lookup is bounded in time so a slow ACM delays nobody for long.

use std::time::Duration;

use super::arn::CertArn;
use super::client::{AcmClientOptions, AcmClients};
use super::fetch::fetch;
use super::metrics::AcmMetrics;
use super::{AcmError, AcmSettings};
use crate::probe::cache::SingleFlightCache;
use crate::probe::{AcmCertificate, AcmObservation};

/// How failures are cached at most: ACM recovering should show within a probe or two.
pub const DEFAULT_FAILURE_TTL: Duration = Duration::from_secs(30);

/// The time budget of one lookup (both calls run concurrently within it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How lookups behave.
#[derive(Clone, Debug)]
pub struct AcmLookupOptions {
    /// How long a successful answer is reused (`acm.cache_ttl`).
    pub cache_ttl: Duration,
    /// How long a failure is reused (never longer than `cache_ttl`).
    pub failure_ttl: Duration,
    /// Time budget per lookup.
    pub timeout: Duration,
    /// Endpoint / credential overrides (empty in production).
    pub client: AcmClientOptions,
}

impl AcmLookupOptions {
    /// Options from the validated config, with the default failure TTL and timeout.
    pub fn from_settings(settings: &AcmSettings) -> Self {
        AcmLookupOptions {
            cache_ttl: settings.cache_ttl,
            failure_ttl: DEFAULT_FAILURE_TTL.min(settings.cache_ttl),
            timeout: DEFAULT_TIMEOUT,
            client: AcmClientOptions::default(),
        }
    }
}

/// Cached, single-flight ACM lookups. Cheap to share behind an `Arc`.
pub struct AcmLookup {
    options: AcmLookupOptions,
    clients: AcmClients,
    cache: SingleFlightCache<Result<AcmCertificate, AcmError>>,
    metrics: AcmMetrics,
}

impl AcmLookup {
    /// A lookup service; builds no client and reads no configuration until first used.
    pub fn new(options: AcmLookupOptions, metrics: AcmMetrics) -> Self {
        AcmLookup {
            clients: AcmClients::new(options.client.clone()),
            options,
            cache: SingleFlightCache::new(),
            metrics,
        }
    }

    /// What ACM says of `arn`: from the cache when fresh, else from ACM (one call shared by all
    /// concurrent askers). Returns within the configured timeout plus scheduling noise.
    pub async fn lookup(&self, arn: &str) -> Result<AcmCertificate, AcmError> {
        let parsed = CertArn::parse(arn)?;
        let options = &self.options;
        self.cache
            .get_or_fetch(arn, || async {
                // Building the first client reads the SDK configuration: bounded too.
                let result =
                    match tokio::time::timeout(options.timeout, self.clients.get(&parsed.region))
                        .await
                    {
                        Ok(client) => fetch(&client, &parsed, options.timeout, &self.metrics).await,
                        Err(_) => Err(AcmError::Timeout(options.timeout)),
                    };
                if let Err(e) = &result {
                    tracing::warn!(arn, kind = e.as_str(), error = %e, "ACM lookup failed");
                }
                let ttl = match result {
                    Ok(_) => options.cache_ttl,
                    Err(_) => options.failure_ttl,
                };
                (result, ttl)
            })
            .await
    }

    /// [`lookup`](Self::lookup) as an observation.
    pub async fn observe(&self, arn: &str) -> AcmObservation {
        AcmObservation {
            arn: arn.to_string(),
            result: self.lookup(arn).await,
        }
    }
}

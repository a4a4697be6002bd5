//! `Engine`: what both the daemon and `--once` run for a target — probe, enrich, judge — built
//! once from the settings and shared. Owns the one resolver, TLS config and chain verifier.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{TrustAnchor, UnixTime};

use crate::checks::JudgeContext;
use crate::checks::chain::ChainVerifier;
use crate::discovery::target::Target;
use crate::pipeline::outcome::{self, Outcome};
use crate::probe::dns::ResolverSettings;
use crate::probe::enrich::Enricher;
use crate::probe::{ProbeSettings, Prober, dns, tls};

/// Why the engine could not be built (each is a configuration problem: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The DNS resolver could not be set up.
    #[error("{0}")]
    Resolver(String),
    /// rustls refused the TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// What the engine is built from (the parts of the settings it reads).
#[derive(Debug, Clone, Copy)]
pub struct EngineSettings<'a> {
    /// DNS resolver setup.
    pub resolver: &'a ResolverSettings,
    /// Timeouts and source address.
    pub probe: &'a ProbeSettings,
    /// Trusted besides Mozilla's roots.
    pub extra_anchors: &'a [TrustAnchor<'static>],
    /// `cert_expiry` threshold in days.
    pub min_days_left: u32,
    /// Lowest acceptable TLS version.
    pub min_tls_version: crate::checks::tls::TlsVersion,
    /// `acm.required`: ACM that cannot be asked fails the ACM checks instead of skipping them.
    pub acm_required: bool,
    /// What `tls_policy` holds every listener to.
    pub tls_floor: crate::checks::tls_policy::TlsFloor,
}

/// The shared probe-and-judge machinery.
pub struct Engine {
    prober: Prober,
    verifier: Arc<ChainVerifier>,
    enrichers: Vec<Arc<dyn Enricher>>,
    min_days_left: u32,
    min_tls_version: crate::checks::tls::TlsVersion,
    acm_required: bool,
    tls_floor: crate::checks::tls_policy::TlsFloor,
}

/// The crypto provider edgewatch uses everywhere (aws-lc-rs; see [`crate::crypto`]).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    crate::crypto::provider()
}

impl Engine {
    /// Builds the resolver, TLS client config and verifier from `settings`.
    pub fn new(settings: EngineSettings<'_>) -> Result<Self, EngineError> {
        let provider = crypto_provider();
        let resolver = dns::build_resolver(settings.resolver).map_err(EngineError::Resolver)?;
        let tls_config = tls::client_config(provider.clone())?;
        let verifier = ChainVerifier::new(
            settings.extra_anchors,
            provider.signature_verification_algorithms,
        );
        let mut prober = Prober::new(resolver, tls_config, settings.probe.clone())
            .with_nameservers(dns::nameserver_addrs(settings.resolver));
        if settings.resolver.cache {
            prober = prober.with_answer_memo();
        }
        Ok(Engine {
            prober,
            verifier: Arc::new(verifier),
            enrichers: Vec::new(),
            min_days_left: settings.min_days_left,
            min_tls_version: settings.min_tls_version,
            acm_required: settings.acm_required,
            tls_floor: settings.tls_floor,
        })
    }

    /// Adds a source of extra facts (ACM, egress IP), consulted after every probe.
    pub fn with_enricher(mut self, enricher: Arc<dyn Enricher>) -> Self {
        self.enrichers.push(enricher);
        self
    }

    /// Probes, enriches and judges one target, at the current time.
    pub async fn run(&self, target: Arc<Target>) -> Outcome {
        outcome::probe_and_judge(&self.prober, target, self, || {
            self.judge_context(UnixTime::now())
        })
        .await
    }

    /// The judge context at time `now`.
    pub fn judge_context(&self, now: UnixTime) -> JudgeContext {
        JudgeContext {
            now,
            verifier: self.verifier.clone(),
            min_days_left: self.min_days_left,
            min_tls_version: self.min_tls_version,
            acm_required: self.acm_required,
            tls_floor: self.tls_floor,
        }
    }
}

#[async_trait::async_trait]
impl Enricher for Engine {
    async fn enrich(&self, target: &Target, observation: &mut crate::probe::Observation) {
        for e in &self.enrichers {
            e.enrich(target, observation).await;
        }
    }
}

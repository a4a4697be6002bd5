//! The prober's own egress IP, the address a backend should see as the client: configured
//! (`client_ip.egress_ip`) or learned from a reflector URL (default
//! `https://checkip.amazonaws.com`, which answers the caller's IP and a newline), cached.
//!
//! Behind a NAT gateway the reflector sees the NAT's public address, which is also what an
//! internet-facing NLB sees; for an internal NLB reached without NAT, configure `egress_ip`
//! (e.g. the pod IP through the downward API) instead.
//!
//! Owns only the learning and caching; `checks::client_ip` compares.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::file::ClientIpSection;
use crate::discovery::target::Target;
use crate::probe::Observation;
use crate::probe::enrich::Enricher;
use crate::textsafe::redact_userinfo;

/// Client-IP check: the `client_ip:` section with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpSettings {
    /// Known egress IP.
    pub egress_ip: Option<IpAddr>,
    /// Reflector URL answering the caller's IP.
    pub reflector_url: String,
    /// Reuse a reflected IP this long.
    pub cache_ttl: Duration,
}

impl ClientIpSettings {
    /// The reflector asked when `client_ip.reflector_url` is not set.
    pub const DEFAULT_REFLECTOR_URL: &str = "https://checkip.amazonaws.com";
    /// How long a reflected IP is reused when `client_ip.cache_ttl` is not set.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

    /// From the validated `client_ip:` section (`config` has checked the URL and ranges).
    pub fn from_config(section: &ClientIpSection) -> Self {
        ClientIpSettings {
            egress_ip: section.egress_ip,
            reflector_url: section
                .reflector_url
                .clone()
                .unwrap_or_else(|| Self::DEFAULT_REFLECTOR_URL.to_string()),
            cache_ttl: section.cache_ttl.unwrap_or(Self::DEFAULT_CACHE_TTL),
        }
    }
}

/// How long a failed reflector lookup is remembered (at most the cache TTL), so a down reflector
/// is not asked once per target.
pub const FAILURE_TTL: Duration = Duration::from_secs(30);

/// Time allowed for one reflector request.
pub const REFLECTOR_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the egress IP could not be learned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The reflector could not be reached or did not answer in time.
    #[error("reflector {url} unreachable: {detail}")]
    Unreachable {
        /// The reflector URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The reflector answered with a non-2xx status.
    #[error("reflector {url} answered {status}")]
    Status {
        /// The reflector URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer is not an IP address.
    #[error("reflector {url} answered `{body}`, not an IP address")]
    NotAnIp {
        /// The reflector URL.
        url: String,
        /// The (trimmed, truncated) body.
        body: String,
    },
}

impl EgressError {
    /// Stable short name for JSON and metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            EgressError::Unreachable { .. } => "reflector_unreachable",
            EgressError::Status { .. } => "reflector_status",
            EgressError::NotAnIp { .. } => "reflector_not_an_ip",
        }
    }
}

/// Whether a probe's outcome needs the egress IP: decided by whoever wires the enricher (the
/// `client_ip` judge knows), so the enricher itself judges nothing.
pub type Wanted = fn(&Target, &Observation) -> bool;

/// Fills `Observation::egress_ip` for the probes that need it.
pub struct EgressEnricher {
    wanted: Wanted,
    configured: Option<IpAddr>,
    url: String,
    ttl: Duration,
    /// The HTTP client, or why it could not be built (reported as the lookup's error).
    client: Result<reqwest::Client, String>,
    /// The last answer and when it was learned. The lock is held during a lookup, so targets
    /// probed at once share one reflector request.
    cache: Mutex<Option<(Instant, Result<IpAddr, EgressError>)>>,
}

impl EgressEnricher {
    /// Builds the enricher; `source_ip` (the probes' `source_ip:`) is also the reflector
    /// request's source, so the reflector sees what the probes' backends see.
    pub fn from_settings(settings: &ClientIpSettings, source_ip: Option<IpAddr>) -> Self {
        let client = crate::http_client::builder()
            .timeout(REFLECTOR_TIMEOUT)
            .local_address(source_ip)
            .user_agent(concat!("edgewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| error_chain(&e));
        EgressEnricher {
            wanted: |_, _| true,
            configured: settings.egress_ip,
            url: settings.reflector_url.clone(),
            ttl: settings.cache_ttl,
            client,
            cache: Mutex::new(None),
        }
    }

    /// Looks only for the probes `wanted` says need it (by default, every probe).
    pub fn only_when(mut self, wanted: Wanted) -> Self {
        self.wanted = wanted;
        self
    }

    /// The egress IP: the configured one, or the reflector's answer (cached).
    pub async fn egress_ip(&self) -> Result<IpAddr, EgressError> {
        if let Some(ip) = self.configured {
            return Ok(ip);
        }
        let mut cache = self.cache.lock().await;
        if let Some((at, result)) = cache.as_ref() {
            let ttl = if result.is_ok() {
                self.ttl
            } else {
                self.ttl.min(FAILURE_TTL)
            };
            if at.elapsed() < ttl {
                return result.clone();
            }
        }
        let result = self.ask_reflector().await;
        if let Err(err) = &result {
            tracing::warn!(error = %err, "egress IP: reflector lookup failed");
        }
        *cache = Some((Instant::now(), result.clone()));
        result
    }

    async fn ask_reflector(&self) -> Result<IpAddr, EgressError> {
        // Errors become check reasons, JSON and log lines: never with the URL's password.
        let url = redact_userinfo(&self.url).into_owned();
        let unreachable = |e: reqwest::Error| EgressError::Unreachable {
            url: url.clone(),
            detail: redact_userinfo(&error_chain(&e)).into_owned(),
        };
        let client = self
            .client
            .as_ref()
            .map_err(|detail| EgressError::Unreachable {
                url: url.clone(),
                detail: format!("cannot build an HTTP client: {detail}"),
            })?;
        let response = client.get(&self.url).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(EgressError::Status { url, status });
        }
        let body = response.text().await.map_err(unreachable)?;
        let text = body.trim();
        text.parse().map_err(|_| EgressError::NotAnIp {
            url: url.clone(),
            body: text.chars().take(64).collect(),
        })
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[async_trait::async_trait]
impl Enricher for EgressEnricher {
    async fn enrich(&self, target: &Target, observation: &mut Observation) {
        // Only when the outcome needs it, so nothing reaches out to a reflector needlessly.
        if !(self.wanted)(target, observation) {
            return;
        }
        observation.egress_ip = Some(self.egress_ip().await.map_err(Box::new));
    }
}

/// A shared enricher, as the engine takes it, looking only when `wanted`.
pub fn enricher(
    settings: &ClientIpSettings,
    source_ip: Option<IpAddr>,
    wanted: Wanted,
) -> Arc<dyn Enricher> {
    Arc::new(EgressEnricher::from_settings(settings, source_ip).only_when(wanted))
}

//! Validated settings with defaults applied: what the rest of the program reads.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;
use rustls::pki_types::TrustAnchor;

use super::file::ConfigFile;
use crate::checks::JudgeContext;
use crate::checks::chain::read_anchors;
use crate::checks::tls::TlsVersion;
use crate::discovery::static_targets;
use crate::discovery::target::{BackendSpec, StatusRanges, Target};
use crate::probe::ProbeSettings;
use crate::probe::dns::ResolverSettings;

/// The default address of `/metrics`, `/healthz`, `/readyz`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9815";

/// Everything the program needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Probe interval.
    pub interval: Duration,
    /// Most probes in flight at once.
    pub concurrency: usize,
    /// Metrics / health server address.
    pub listen: SocketAddr,
    /// DNS resolver setup.
    pub resolver: ResolverSettings,
    /// Timeouts and source address.
    pub probe: ProbeSettings,
    /// Lowest acceptable TLS version.
    pub min_tls_version: TlsVersion,
    /// Extra trusted CAs (`tls.ca_file`).
    pub ca_file: Option<PathBuf>,
    /// The trust anchors read from `ca_file`.
    pub extra_anchors: Vec<TrustAnchor<'static>>,
    /// `cert_expiry` threshold in days.
    pub min_days_left: u32,
    /// Default backend request.
    pub backend: BackendSpec,
    /// ACM lookups.
    pub acm: AcmSettings,
    /// Client-IP check.
    pub client_ip: ClientIpSettings,
    /// Alertmanager URL, when alerts are posted.
    pub alertmanager_url: Option<String>,
    /// How often firing alerts are re-posted.
    pub alertmanager_resend: Duration,
    /// Kubernetes discovery.
    pub kubernetes: KubernetesSettings,
    /// Sharing the fleet between replicas.
    pub shard: ShardSettings,
    /// This replica's vantage point (a label value); empty: one vantage point.
    pub vantage: String,
    /// Static targets (config file, then flags).
    pub targets: Vec<Target>,
}

/// Sharing the fleet between replicas (`shard:`); see `run::shard`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardSettings {
    /// Whether targets are shared through Leases.
    pub enabled: bool,
    /// The Leases' namespace; `None`: the pod's own.
    pub namespace: Option<String>,
    /// The Lease duration; `None`: derived from the probe intervals.
    pub lease_duration: Option<Duration>,
}

/// Longest `shard.lease_duration`: longer leaves a dead replica's targets unprobed for longer.
pub const MAX_LEASE_DURATION: Duration = Duration::from_secs(3600);

/// Whether `v` can be a `vantage` (a label value on every series and a Lease label): at most 63
/// characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric (a Kubernetes label value).
pub fn valid_vantage(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

fn validate_shard(file: &ConfigFile, origin: &str) -> Result<(ShardSettings, String), ConfigError> {
    let vantage = file.vantage.clone().unwrap_or_default();
    if !valid_vantage(&vantage) {
        return Err(ConfigError::new(
            origin,
            "vantage",
            "must be at most 63 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit",
        ));
    }
    let s = &file.shard;
    if let Some(d) = s.lease_duration
        && (d < Duration::from_secs(1) || d > MAX_LEASE_DURATION)
    {
        return Err(ConfigError::new(
            origin,
            "shard.lease_duration",
            "must be between 1s and 1h",
        ));
    }
    if let Some(ns) = &s.namespace
        && (ns.is_empty()
            || ns.len() > 63
            || !ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(ConfigError::new(
            origin,
            "shard.namespace",
            "is not a Kubernetes namespace name",
        ));
    }
    let shard = ShardSettings {
        enabled: s.enabled.unwrap_or(false),
        namespace: s.namespace.clone(),
        lease_duration: s.lease_duration,
    };
    Ok((shard, vantage))
}

/// ACM lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmSettings {
    /// Whether ACM is asked at all.
    pub enabled: bool,
    /// Fail instead of skip when ACM cannot be asked.
    pub required: bool,
    /// Reuse answers this long.
    pub cache_ttl: Duration,
}

/// Client-IP check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIpSettings {
    /// Known egress IP.
    pub egress_ip: Option<IpAddr>,
    /// Reflector URL answering the caller's IP.
    pub reflector_url: String,
    /// Reuse a reflected IP this long.
    pub cache_ttl: Duration,
}

/// Kubernetes discovery.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KubernetesSettings {
    /// Whether Services are discovered.
    pub enabled: bool,
    /// Namespaces watched; empty: all.
    pub namespaces: Vec<String>,
    /// Label selector.
    pub selector: Option<String>,
    /// Post Events on state changes.
    pub events: bool,
}

fn positive(
    d: Option<Duration>,
    default: Duration,
    origin: &str,
    field: &str,
) -> Result<Duration, ConfigError> {
    match d {
        Some(d) if d.is_zero() => Err(ConfigError::new(origin, field, "must be greater than zero")),
        Some(d) => Ok(d),
        None => Ok(default),
    }
}

/// Applies defaults and checks values; `origin` names the file in errors.
pub fn validate(
    file: ConfigFile,
    origin: &str,
    flag_targets: &[String],
) -> Result<Settings, ConfigError> {
    let interval = positive(file.interval, Duration::from_secs(30), origin, "interval")?;
    let concurrency = file.concurrency.unwrap_or(64);
    if concurrency == 0 {
        return Err(ConfigError::new(
            origin,
            "concurrency",
            "must be at least 1",
        ));
    }
    let t = &file.timeouts;
    let probe = ProbeSettings {
        connect_timeout: positive(
            t.connect,
            Duration::from_secs(5),
            origin,
            "timeouts.connect",
        )?,
        tls_timeout: positive(t.tls, Duration::from_secs(5), origin, "timeouts.tls")?,
        http_timeout: positive(t.http, Duration::from_secs(10), origin, "timeouts.http")?,
        deadline: positive(t.probe, Duration::from_secs(20), origin, "timeouts.probe")?,
        source_ip: file.source_ip,
    };
    let min_tls_version = match &file.tls.min_version {
        None => JudgeContext::DEFAULT_MIN_TLS_VERSION,
        Some(v) => TlsVersion::parse(v).ok_or_else(|| {
            ConfigError::new(
                origin,
                "tls.min_version",
                format!("`{v}` is not a TLS version edgewatch can require (\"1.2\" or \"1.3\")"),
            )
        })?,
    };
    let extra_anchors = match &file.tls.ca_file {
        Some(ca) if !ca.is_file() => {
            return Err(ConfigError::new(
                origin,
                "tls.ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
        Some(ca) => {
            read_anchors(ca).map_err(|e| ConfigError::new(origin, "tls.ca_file", e.to_string()))?
        }
        None => Vec::new(),
    };
    let backend = BackendSpec {
        path: match &file.backend.path {
            Some(p) => static_targets::check_path(p)
                .map_err(|m| ConfigError::new(origin, "backend.path", m))?,
            None => "/".to_string(),
        },
        expect_status: match &file.backend.expect_status {
            Some(s) => StatusRanges::parse(s)
                .map_err(|m| ConfigError::new(origin, "backend.expect_status", m))?,
            None => StatusRanges::default(),
        },
    };
    if let Some(url) = &file.alertmanager.url {
        check_url(url).map_err(|m| ConfigError::new(origin, "alertmanager.url", m))?;
    }
    let reflector_url = file
        .client_ip
        .reflector_url
        .clone()
        .unwrap_or_else(|| "https://checkip.amazonaws.com".to_string());
    check_url(&reflector_url)
        .map_err(|m| ConfigError::new(origin, "client_ip.reflector_url", m))?;
    let mut targets = Vec::new();
    for (i, entry) in file.targets.iter().enumerate() {
        let target = static_targets::from_entry(entry, &backend).map_err(|(field, msg)| {
            ConfigError::new(origin, format!("targets[{i}]{field}"), msg)
        })?;
        targets.push(target);
    }
    for flag in flag_targets {
        let target = static_targets::from_flag(flag, &backend)
            .map_err(|m| ConfigError::new("--target", flag.clone(), m))?;
        targets.push(target);
    }
    let (shard, vantage) = validate_shard(&file, origin)?;
    if let Some(dup) = static_targets::first_duplicate(&targets) {
        return Err(ConfigError::new(
            origin,
            "targets",
            format!("target name `{dup}` is used twice; give one a distinct `name`"),
        ));
    }
    Ok(Settings {
        interval,
        concurrency,
        listen: file
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
        resolver: ResolverSettings {
            nameservers: file.resolver.nameservers.clone(),
            timeout: Some(positive(
                file.resolver.timeout,
                Duration::from_secs(2),
                origin,
                "resolver.timeout",
            )?),
            cache: file.resolver.cache.unwrap_or(true),
        },
        probe,
        min_tls_version,
        ca_file: file.tls.ca_file.clone(),
        extra_anchors,
        min_days_left: file
            .cert
            .min_days_left
            .unwrap_or(JudgeContext::DEFAULT_MIN_DAYS_LEFT),
        backend,
        acm: AcmSettings {
            enabled: file.acm.enabled.unwrap_or(false),
            required: file.acm.required.unwrap_or(false),
            cache_ttl: positive(
                file.acm.cache_ttl,
                Duration::from_secs(600),
                origin,
                "acm.cache_ttl",
            )?,
        },
        client_ip: ClientIpSettings {
            egress_ip: file.client_ip.egress_ip,
            reflector_url,
            cache_ttl: positive(
                file.client_ip.cache_ttl,
                Duration::from_secs(300),
                origin,
                "client_ip.cache_ttl",
            )?,
        },
        alertmanager_url: file.alertmanager.url.clone(),
        alertmanager_resend: positive(
            file.alertmanager.resend_interval,
            Duration::from_secs(60),
            origin,
            "alertmanager.resend_interval",
        )?,
        kubernetes: KubernetesSettings {
            enabled: file.kubernetes.enabled.unwrap_or(false),
            namespaces: file.kubernetes.namespaces.clone(),
            selector: file.kubernetes.selector.clone(),
            events: file.kubernetes.events.unwrap_or(true),
        },
        shard,
        vantage,
        targets,
    })
}

fn check_url(url: &str) -> Result<(), String> {
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        _ => Err(format!(
            "`{}` is not an http:// or https:// URL",
            crate::textsafe::redact_userinfo(url)
        )),
    }
}

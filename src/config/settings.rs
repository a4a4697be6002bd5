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
use crate::checks::tls_policy::TlsFloor;
use crate::discovery::static_targets;
use crate::discovery::target::{BackendSpec, StatusRanges, Target};
use crate::probe::ProbeSettings;
use crate::probe::dns::ResolverSettings;
use crate::probe::tls_scan::TlsProtocol;

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
    /// AWS API lookups (load balancer, listeners, target groups, Route 53).
    pub aws: AwsSettings,
    /// Client-IP check.
    pub client_ip: ClientIpSettings,
    /// Alertmanager URL, when alerts are posted.
    pub alertmanager_url: Option<String>,
    /// How often firing alerts are re-posted.
    pub alertmanager_resend: Duration,
    /// Kubernetes discovery.
    pub kubernetes: KubernetesSettings,
    /// Static targets (config file, then flags).
    pub targets: Vec<Target>,
    /// What `tls_policy` holds every listener to.
    pub tls_floor: TlsFloor,
    /// The TLS scan behind `tls_policy`.
    pub tls_scan: TlsScanSettings,
}

/// The TLS scan: whether, how often and how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsScanSettings {
    /// Whether listeners are scanned at all (`tls.scan`).
    pub enabled: bool,
    /// `tls.scan_interval`: rescan period per address.
    pub interval: Duration,
    /// `tls.scan_deadline`: bound of one scan of one address.
    pub deadline: Duration,
}

fn within(
    d: Option<Duration>,
    default: Duration,
    range: std::ops::RangeInclusive<Duration>,
    origin: &str,
    field: &str,
) -> Result<Duration, ConfigError> {
    let d = d.unwrap_or(default);
    if range.contains(&d) {
        Ok(d)
    } else {
        Err(ConfigError::new(
            origin,
            field,
            format!(
                "must be between {} and {}",
                humantime::format_duration(*range.start()),
                humantime::format_duration(*range.end())
            ),
        ))
    }
}

fn tls_scan_settings(
    file: &ConfigFile,
    origin: &str,
) -> Result<(TlsFloor, TlsScanSettings), ConfigError> {
    let t = &file.tls;
    let min_accepted = match &t.min_accepted_version {
        None => TlsFloor::default().min_accepted,
        Some(v) => TlsProtocol::parse(v).ok_or_else(|| {
            ConfigError::new(
                origin,
                "tls.min_accepted_version",
                format!("`{v}` is not a TLS version (\"1.0\", \"1.1\", \"1.2\" or \"1.3\")"),
            )
        })?,
    };
    let floor = TlsFloor {
        min_accepted,
        forbid_weak_ciphers: t.forbid_weak_ciphers.unwrap_or(true),
    };
    let scan = TlsScanSettings {
        enabled: t.scan.unwrap_or(true),
        interval: within(
            t.scan_interval,
            Duration::from_secs(3600),
            Duration::from_secs(60)..=Duration::from_secs(7 * 86400),
            origin,
            "tls.scan_interval",
        )?,
        deadline: within(
            t.scan_deadline,
            Duration::from_secs(30),
            Duration::from_secs(1)..=Duration::from_secs(600),
            origin,
            "tls.scan_deadline",
        )?,
    };
    Ok((floor, scan))
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

/// AWS API lookups for `load_balancer`, `lb_listener`, `lb_target_group`, `dns_record`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// Whether the AWS APIs are asked at all (`aws.enabled` or `--aws`).
    pub enabled: bool,
    /// Fail instead of skip when the APIs cannot be asked.
    pub required: bool,
    /// Value of the `elbv2.k8s.aws/cluster` tag the load balancer must carry, when set.
    pub cluster_name: Option<String>,
    /// Reuse answers this long (one describe per load balancer per period).
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
    let (tls_floor, tls_scan) = tls_scan_settings(&file, origin)?;
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
        aws: aws_settings(&file, origin)?,
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
        targets,
        tls_floor,
        tls_scan,
    })
}

/// `aws:` with defaults; a cluster name must be a plausible tag value, the TTL 10 s to 1 day.
fn aws_settings(file: &ConfigFile, origin: &str) -> Result<AwsSettings, ConfigError> {
    let a = &file.aws;
    let cache_ttl = positive(
        a.cache_ttl,
        Duration::from_secs(300),
        origin,
        "aws.cache_ttl",
    )?;
    if !(Duration::from_secs(10)..=Duration::from_secs(86_400)).contains(&cache_ttl) {
        return Err(ConfigError::new(
            origin,
            "aws.cache_ttl",
            "must be between 10s and 24h",
        ));
    }
    let cluster_name = match a.cluster_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) if c.len() <= 256 && !c.chars().any(char::is_control) => Some(c.to_string()),
        Some(_) => {
            return Err(ConfigError::new(
                origin,
                "aws.cluster_name",
                "must be a tag value: at most 256 characters, no control characters",
            ));
        }
    };
    Ok(AwsSettings {
        enabled: a.enabled.unwrap_or(false),
        required: a.required.unwrap_or(false),
        cluster_name,
        cache_ttl,
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

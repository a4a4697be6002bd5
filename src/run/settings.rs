//! The whole program's settings: each component's own settings type, built from its validated
//! config section, plus the static targets. Assembled here, in the wiring layer, so that
//! `config` needs to know none of the components.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::TrustAnchor;

use crate::checks::JudgeContext;
use crate::checks::chain::read_anchors;
use crate::checks::tls::TlsVersion;
use crate::checks::tls_policy::TlsFloor;
use crate::config::{self, ConfigError, ConfigFile};
use crate::discovery::kube::KubernetesSettings;
use crate::discovery::static_targets;
use crate::discovery::target::{BackendSpec, StatusRanges, Target};
use crate::pipeline::engine::EngineSettings;
use crate::probe::ProbeSettings;
use crate::probe::acm::AcmSettings;
use crate::probe::aws::AwsSettings;
use crate::probe::dns::ResolverSettings;
use crate::probe::egress::ClientIpSettings;
use crate::probe::tls_scan::{TlsProtocol, TlsScanSettings};
use crate::run::concurrency;
use crate::run::shard::ShardSettings;

/// The default address of `/metrics`, `/healthz`, `/readyz`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9815";

/// Everything the program needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Probe interval.
    pub interval: Duration,
    /// Most probes in flight at once.
    pub concurrency: usize,
    /// Whether `concurrency` was given in the file (else it is sized for the daemon, and
    /// `--once` uses its own, smaller default: see `run::once::default_concurrency`).
    pub concurrency_set: bool,
    /// Metrics / health server address.
    pub listen: SocketAddr,
    /// DNS resolver setup.
    pub resolver: ResolverSettings,
    /// Timeouts and source address.
    pub probe: ProbeSettings,
    /// Lowest acceptable TLS version.
    pub min_tls_version: TlsVersion,
    /// The trust anchors read from `tls.ca_file`.
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
    /// Sharing the fleet between replicas.
    pub shard: ShardSettings,
    /// This replica's vantage point (a label value); empty: one vantage point.
    pub vantage: String,
    /// Static targets (config file, then flags).
    pub targets: Vec<Target>,
    /// What `tls_policy` holds every listener to.
    pub tls_floor: TlsFloor,
    /// The TLS scan behind `tls_policy`.
    pub tls_scan: TlsScanSettings,
}

impl Settings {
    /// What the probe engine is built from.
    pub fn engine(&self) -> EngineSettings<'_> {
        EngineSettings {
            resolver: &self.resolver,
            probe: &self.probe,
            extra_anchors: &self.extra_anchors,
            min_days_left: self.min_days_left,
            min_tls_version: self.min_tls_version,
            acm_required: self.acm.required,
            tls_floor: self.tls_floor,
        }
    }
}

/// Reads, parses and validates the file at `path` (none: every default), then builds the
/// settings with the `--target` flags added.
pub fn load(path: Option<&Path>, flag_targets: &[String]) -> Result<Settings, ConfigError> {
    let (file, origin) = config::load(path)?;
    build(file, &origin, flag_targets)
}

/// Validates `file` and builds the settings from it; `origin` names the file in errors.
pub fn validate(
    file: ConfigFile,
    origin: &str,
    flag_targets: &[String],
) -> Result<Settings, ConfigError> {
    config::validate(&file, origin)?;
    build(file, origin, flag_targets)
}

/// Builds the settings from a validated `file`: each component from its section, then the
/// static targets (which need the component parsers).
fn build(file: ConfigFile, origin: &str, flag_targets: &[String]) -> Result<Settings, ConfigError> {
    let err = |field: &str, message: String| ConfigError::new(origin, field, message);
    let t = &file.timeouts;
    let probe = ProbeSettings {
        connect_timeout: t.connect.unwrap_or(Duration::from_secs(5)),
        tls_timeout: t.tls.unwrap_or(Duration::from_secs(5)),
        http_timeout: t.http.unwrap_or(Duration::from_secs(10)),
        deadline: t.probe.unwrap_or(Duration::from_secs(20)),
        source_ip: file.source_ip,
    };
    let min_tls_version = match &file.tls.min_version {
        None => JudgeContext::DEFAULT_MIN_TLS_VERSION,
        Some(v) => TlsVersion::parse(v).ok_or_else(|| {
            err(
                "tls.min_version",
                format!(
                    "`{}` is not a TLS version edgewatch can require (\"1.2\" or \"1.3\")",
                    config::Excerpt(v)
                ),
            )
        })?,
    };
    let min_accepted = match &file.tls.min_accepted_version {
        None => TlsFloor::default().min_accepted,
        Some(v) => TlsProtocol::parse(v).ok_or_else(|| {
            err(
                "tls.min_accepted_version",
                format!(
                    "`{}` is not a TLS version (\"1.0\", \"1.1\", \"1.2\" or \"1.3\")",
                    config::Excerpt(v)
                ),
            )
        })?,
    };
    let tls_floor = TlsFloor {
        min_accepted,
        forbid_weak_ciphers: file.tls.forbid_weak_ciphers.unwrap_or(true),
    };
    let extra_anchors = match &file.tls.ca_file {
        Some(ca) if !ca.is_file() => {
            let message = format!("{} is not a readable file", ca.display());
            return Err(err("tls.ca_file", message));
        }
        Some(ca) => read_anchors(ca).map_err(|e| err("tls.ca_file", e.to_string()))?,
        None => Vec::new(),
    };
    let backend = BackendSpec {
        path: match &file.backend.path {
            Some(p) => static_targets::check_path(p)
                .map_err(|e| err("backend.path", e.to_string()))?
                .into(),
            None => "/".into(),
        },
        expect_status: match &file.backend.expect_status {
            Some(s) => StatusRanges::parse(s).map_err(|m| err("backend.expect_status", m))?,
            None => StatusRanges::default(),
        },
    };
    let mut targets = Vec::new();
    for (i, entry) in file.targets.iter().enumerate() {
        let target = static_targets::from_entry(entry, &backend).map_err(|e| {
            ConfigError::new(
                origin,
                format!("targets[{i}]{}", e.field),
                e.source.to_string(),
            )
        })?;
        targets.push(target);
    }
    for flag in flag_targets {
        let target = static_targets::from_flag(flag, &backend)
            .map_err(|e| ConfigError::new("--target", flag.clone(), e.to_string()))?;
        targets.push(target);
    }
    if let Some(dup) = static_targets::first_duplicate(&targets) {
        let message = format!("target name `{dup}` is used twice; give one a distinct `name`");
        return Err(err("targets", message));
    }
    let interval = file.interval.unwrap_or(Duration::from_secs(30));
    // `validate` bounds it to MAX_CONCURRENCY, which fits a usize.
    let concurrency = match file.concurrency {
        Some(n) => n as usize,
        None => concurrency::default_concurrency(
            &targets,
            interval,
            probe.deadline,
            concurrency::fd_soft_limit(),
        ),
    };
    Ok(Settings {
        interval,
        concurrency,
        concurrency_set: file.concurrency.is_some(),
        listen: file
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
        resolver: ResolverSettings {
            nameservers: file.resolver.nameservers.clone(),
            timeout: Some(file.resolver.timeout.unwrap_or(Duration::from_secs(2))),
            cache: file.resolver.cache.unwrap_or(true),
        },
        probe,
        min_tls_version,
        extra_anchors,
        min_days_left: file
            .cert
            .min_days_left
            .map_or(JudgeContext::DEFAULT_MIN_DAYS_LEFT, |d| d as u32),
        backend,
        acm: AcmSettings::from_config(&file.acm),
        aws: AwsSettings::from_config(&file.aws),
        client_ip: ClientIpSettings::from_config(&file.client_ip),
        alertmanager_url: file.alertmanager.url.clone(),
        alertmanager_resend: file
            .alertmanager
            .resend_interval
            .unwrap_or(Duration::from_secs(60)),
        kubernetes: KubernetesSettings::from_config(&file.kubernetes),
        shard: ShardSettings::from_config(&file.shard),
        vantage: file.vantage.clone().unwrap_or_default(),
        targets,
        tls_floor,
        tls_scan: TlsScanSettings::from_config(&file.tls),
    })
}

//! Checks every value of the file that can be judged without the components: durations and
//! counts in range, URLs that are URLs. The components' own parsers (target specs, TLS versions,
//! CA bundles) run when the settings are assembled (`run::settings`).

use std::time::Duration;

use super::ConfigError;
use super::file::ConfigFile;

/// Checks `file`; `origin` names it in errors.
pub fn validate(file: &ConfigFile, origin: &str) -> Result<(), ConfigError> {
    let err = |field: &str, message: String| ConfigError::new(origin, field, message);
    let positive = |d: Option<Duration>, field: &str| match d {
        Some(d) if d.is_zero() => Err(err(field, "must be greater than zero".into())),
        _ => Ok(()),
    };
    positive(file.interval, "interval")?;
    if file.concurrency == Some(0) {
        return Err(err("concurrency", "must be at least 1".into()));
    }
    let t = &file.timeouts;
    positive(t.connect, "timeouts.connect")?;
    positive(t.tls, "timeouts.tls")?;
    positive(t.http, "timeouts.http")?;
    positive(t.probe, "timeouts.probe")?;
    if let Some(url) = &file.alertmanager.url {
        check_url(url).map_err(|m| err("alertmanager.url", m))?;
    }
    if let Some(url) = &file.client_ip.reflector_url {
        check_url(url).map_err(|m| err("client_ip.reflector_url", m))?;
    }
    positive(file.resolver.timeout, "resolver.timeout")?;
    positive(file.acm.cache_ttl, "acm.cache_ttl")?;
    positive(file.client_ip.cache_ttl, "client_ip.cache_ttl")?;
    positive(
        file.alertmanager.resend_interval,
        "alertmanager.resend_interval",
    )?;
    Ok(())
}

/// An `http://` or `https://` URL with something after the scheme.
pub fn check_url(url: &str) -> Result<(), String> {
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        _ => Err(format!("`{url}` is not an http:// or https:// URL")),
    }
}

//! [`TlsScanSettings`]: whether, how often and how long listeners are scanned (`tls.scan*`),
//! with defaults applied; owned here, beside the scan.

use std::time::Duration;

use crate::config::file::TlsSection;

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

impl TlsScanSettings {
    /// `tls.scan_interval` when not set.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
    /// `tls.scan_deadline` when not set.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

    /// From the validated `tls:` section (`config` has checked the ranges).
    pub fn from_config(section: &TlsSection) -> Self {
        TlsScanSettings {
            enabled: section.scan.unwrap_or(true),
            interval: section.scan_interval.unwrap_or(Self::DEFAULT_INTERVAL),
            deadline: section.scan_deadline.unwrap_or(Self::DEFAULT_DEADLINE),
        }
    }
}

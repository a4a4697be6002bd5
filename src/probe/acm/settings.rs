//! [`AcmSettings`]: the `acm:` section with defaults applied; owned here, beside its user.

use std::time::Duration;

use crate::config::file::AcmSection;

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

impl AcmSettings {
    /// How long ACM answers are reused when `acm.cache_ttl` is not set.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(600);

    /// From the validated `acm:` section (`config` has checked its ranges).
    pub fn from_config(section: &AcmSection) -> Self {
        AcmSettings {
            enabled: section.enabled.unwrap_or(false),
            required: section.required.unwrap_or(false),
            cache_ttl: section.cache_ttl.unwrap_or(Self::DEFAULT_CACHE_TTL),
        }
    }
}

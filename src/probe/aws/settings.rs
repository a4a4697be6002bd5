//! [`AwsSettings`]: the `aws:` section with defaults applied; owned here, beside its user.

use std::time::Duration;

use crate::config::file::AwsSection;

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

impl AwsSettings {
    /// How long AWS answers are reused when `aws.cache_ttl` is not set.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

    /// From the validated `aws:` section (`config` has checked the TTL's range and the
    /// cluster name); a blank cluster name means none.
    pub fn from_config(section: &AwsSection) -> Self {
        AwsSettings {
            enabled: section.enabled.unwrap_or(false),
            required: section.required.unwrap_or(false),
            cluster_name: section
                .cluster_name
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            cache_ttl: section.cache_ttl.unwrap_or(Self::DEFAULT_CACHE_TTL),
        }
    }
}

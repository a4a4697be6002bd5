//! What the AWS APIs said about one target's load balancer and DNS record: plain facts, read by
//! the `load_balancer`, `lb_listener`, `lb_target_group` and `dns_record` judges and the report.

use std::collections::BTreeMap;

/// Why the AWS APIs could not be asked. `required` decides whether the judges fail or skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLookupFailure {
    /// Stable short name: `no_credentials`, `access_denied`, `throttled`, `unreachable`, `error`.
    pub kind: &'static str,
    /// The API operation that failed, e.g. `DescribeLoadBalancers`.
    pub operation: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// `aws.required`: the judges fail instead of skipping.
    pub required: bool,
}

/// Everything the AWS enricher found for one target.
#[derive(Debug, Clone)]
pub struct AwsObservation {
    /// How the load balancer was searched for, e.g. `tag service.k8s.aws/stack=dev/myapp`.
    pub searched_by: String,
    /// The load balancer(s) found, or why the search could not be made.
    pub lb: Result<LbSearch, AwsLookupFailure>,
    /// The Route 53 record of the friendly name, or why it could not be read.
    pub record: Result<DnsRecordLookup, AwsLookupFailure>,
}

/// The outcome of searching for a target's load balancer.
#[derive(Debug, Clone)]
pub enum LbSearch {
    /// Not searched: the target names no Service and no load balancer hostname.
    NotSearched,
    /// None matches.
    NotFound,
    /// Several match: their ARNs (the judge names them).
    Ambiguous(Vec<String>),
    /// Exactly one: its description, listeners and target groups.
    Found(Box<LbFacts>),
}

/// One load balancer as `DescribeLoadBalancers` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LbSummary {
    /// `LoadBalancerArn`.
    pub arn: String,
    /// `DNSName`, lowercase, without a trailing dot.
    pub dns_name: String,
    /// `Scheme`: `internal` or `internet-facing`.
    pub scheme: String,
    /// `Type`: `network`, `application`, `gateway`.
    pub lb_type: String,
    /// `CanonicalHostedZoneId` (the zone an alias to it names).
    pub canonical_zone_id: String,
    /// Its tags (from `DescribeTags`).
    pub tags: BTreeMap<String, String>,
}

/// One load balancer and what hangs off it.
#[derive(Debug, Clone)]
pub struct LbFacts {
    /// The load balancer itself.
    pub summary: LbSummary,
    /// Its listeners and target groups, or why they could not be read.
    pub details: Result<LbDetails, AwsLookupFailure>,
}

/// Listeners and target groups of one load balancer.
#[derive(Debug, Clone, Default)]
pub struct LbDetails {
    /// `DescribeListeners` + `DescribeListenerCertificates`.
    pub listeners: Vec<ListenerFacts>,
    /// `DescribeTargetGroups` + attributes + health.
    pub target_groups: Vec<TargetGroupFacts>,
}

/// One listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerFacts {
    /// `ListenerArn`.
    pub arn: String,
    /// `Port`.
    pub port: u16,
    /// `Protocol`: `TLS`, `TCP`, `UDP`, ...
    pub protocol: String,
    /// `SslPolicy` (TLS listeners).
    pub ssl_policy: Option<String>,
    /// The default certificate's ARN.
    pub default_certificate: Option<String>,
    /// Every certificate on the listener (default and SNI list).
    pub certificates: Vec<String>,
    /// Target groups its default action forwards to.
    pub target_group_arns: Vec<String>,
}

/// One target group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetGroupFacts {
    /// `TargetGroupArn`.
    pub arn: String,
    /// `TargetGroupName`.
    pub name: String,
    /// `TargetType`: `ip`, `instance`, `alb`.
    pub target_type: String,
    /// `DescribeTargetGroupAttributes`: only the attributes AWS returned.
    pub attributes: BTreeMap<String, String>,
    /// `DescribeTargetHealth`.
    pub targets: Vec<TargetHealthFacts>,
}

/// One registered target and its health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetHealthFacts {
    /// Instance id or IP.
    pub id: String,
    /// Target port.
    pub port: Option<u16>,
    /// `State`: `healthy`, `unhealthy`, `initial`, `unused`, `draining`, `unavailable`.
    pub state: String,
    /// `Reason`, e.g. `Target.FailedHealthChecks`.
    pub reason: Option<String>,
}

/// What Route 53 holds for a friendly name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsRecordLookup {
    /// No hosted zone the account can read contains the name.
    ZoneNotFound,
    /// The zone that holds the name, and its A/AAAA/CNAME records for it (maybe none).
    Zone {
        /// Hosted zone id (without `/hostedzone/`).
        zone_id: String,
        /// Zone name without the trailing dot.
        zone_name: String,
        /// The records of the name.
        records: Vec<DnsRecordFacts>,
    },
}

/// One A, AAAA or CNAME record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecordFacts {
    /// `A`, `AAAA` or `CNAME`.
    pub record_type: String,
    /// Whether it is an alias record.
    pub alias: bool,
    /// The alias target or CNAME value, normalised ([`normalise_lb_name`]); for a plain A
    /// record, its addresses joined by commas.
    pub target: String,
}

/// Most characters kept of one string from an AWS answer.
const MAX_TEXT: usize = 1024;

/// Strings from AWS answers go into reports, logs and alerts: control characters are escaped and
/// the length bounded, so an odd answer cannot rewrite a terminal or flood a page.
pub(crate) trait Outside {
    /// The string, safe to show.
    fn outside(&self) -> String;
}

impl Outside for str {
    fn outside(&self) -> String {
        let mut out = String::new();
        for c in self.chars().take(MAX_TEXT) {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// A load balancer name as written in DNS or an alias target: lowercase, no trailing dot, no
/// `dualstack.` prefix (Route 53 aliases carry it; the NLB's `DNSName` does not).
pub fn normalise_lb_name(name: &str) -> String {
    let name = name
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .outside();
    match name.strip_prefix("dualstack.") {
        Some(rest) => rest.to_string(),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_targets_are_compared_without_dualstack_and_trailing_dot() {
        assert_eq!(
            normalise_lb_name("dualstack.K8S-dev-app-1.elb.us-east-1.amazonaws.com."),
            "k8s-dev-app-1.elb.us-east-1.amazonaws.com"
        );
        assert_eq!(normalise_lb_name("a.example.com"), "a.example.com");
    }

    #[test]
    fn control_characters_from_aws_are_escaped_and_length_bounded() {
        assert_eq!("arn\x1b[31m\n".outside(), "arn\\u{1b}[31m\\n");
        assert_eq!("x".repeat(5000).outside().len(), MAX_TEXT);
    }
}

//! One Alertmanager alert (the v2 API's `postableAlert`) built from one failing check. Pure: the
//! time comes in as an argument.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::checks::{CheckName, CheckResult};
use crate::discovery::target::Target;

/// The `alertname` of every alert edgewatch posts itself.
pub const ALERT_NAME: &str = "EdgewatchCheckFailing";

/// The body of one alert as Alertmanager's `POST /api/v2/alerts` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Identity: alertname, target, namespace, service, address, check, reason, severity.
    pub labels: BTreeMap<String, String>,
    /// summary, description, runbook_url.
    pub annotations: BTreeMap<String, String>,
    /// When the check was first seen failing (RFC 3339).
    pub starts_at: String,
    /// Firing: when Alertmanager may consider it resolved if not re-posted; resolved: now.
    pub ends_at: String,
}

/// `critical` or `warning`, as the matching Prometheus rule in deploy/prometheus has it.
pub fn severity(check: CheckName) -> &'static str {
    match check {
        CheckName::Config
        | CheckName::LbProvisioned
        | CheckName::ClientIp
        | CheckName::AcmStatus
        | CheckName::LoadBalancer
        | CheckName::LbListener
        | CheckName::LbTargetGroup
        | CheckName::DnsRecord
        | CheckName::TlsPolicy => "warning",
        _ => "critical",
    }
}

/// The runbook section (deploy/prometheus/RUNBOOK.md) that explains a failing check.
pub fn runbook_anchor(check: CheckName) -> &'static str {
    match check {
        CheckName::Config => "edgewatchtargetmisconfigured",
        CheckName::LbProvisioned => "edgewatchloadbalancernotprovisioned",
        CheckName::DnsAlias => "edgewatchdnsdrift",
        CheckName::Backend => "edgewatchbackendunreachable",
        CheckName::ClientIp => "edgewatchclientipnotpreserved",
        CheckName::CertExpected => "edgewatchcertificatenotexpected",
        CheckName::CertExpiry => "edgewatchcertificateexpirycritical",
        CheckName::AcmStatus => "edgewatchacmcertificateunhealthy",
        CheckName::LoadBalancer => "edgewatchloadbalancerdrift",
        CheckName::LbListener => "edgewatchlistenerdrift",
        CheckName::LbTargetGroup => "edgewatchtargetgroupdrift",
        CheckName::DnsRecord => "edgewatchdnsrecorddrift",
        CheckName::TlsPolicy => "edgewatchlisteneracceptslegacytls",
        _ => "edgewatchendpointfailing",
    }
}

/// The firing alert for one failing check of `target`. Empty label values (a target-level
/// check's address, a static target's namespace) are left out, as Prometheus does.
pub fn firing(
    target: &Target,
    result: &CheckResult,
    starts_at: SystemTime,
    ends_at: SystemTime,
) -> PostableAlert {
    let address = result.address.map(|a| a.to_string()).unwrap_or_default();
    let check = result.check.as_str();
    let mut labels = BTreeMap::new();
    let pairs = [
        ("alertname", ALERT_NAME),
        ("target", &*target.name),
        ("namespace", target.source.namespace()),
        ("service", target.source.service()),
        ("address", address.as_str()),
        ("check", check),
        ("reason", result.reason_code()),
        ("severity", severity(result.check)),
    ];
    for (k, v) in pairs {
        if !v.is_empty() {
            labels.insert(k.to_string(), v.to_string());
        }
    }
    let at = if address.is_empty() {
        String::new()
    } else {
        format!(" at {address}")
    };
    let owner = match target.source.service() {
        "" => String::new(),
        svc => format!(" (Service {}/{svc})", target.source.namespace()),
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "summary".to_string(),
        format!(
            "{}: check {check} failing{at} ({})",
            target.name,
            result.reason_code()
        ),
    );
    annotations.insert(
        "description".to_string(),
        format!(
            "{}{owner}: {check} failed{at}: {}",
            target.name, result.reason
        ),
    );
    annotations.insert(
        "runbook_url".to_string(),
        format!(
            "deploy/prometheus/RUNBOOK.md#{}",
            runbook_anchor(result.check)
        ),
    );
    PostableAlert {
        labels,
        annotations,
        starts_at: rfc3339(starts_at),
        ends_at: rfc3339(ends_at),
    }
}

/// `time` as RFC 3339 with milliseconds, UTC.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::target::TargetSource;
    use std::time::{Duration, UNIX_EPOCH};

    fn service_target() -> Target {
        Target::new(
            "shop.example.com",
            443,
            TargetSource::Kubernetes {
                namespace: "shop".into(),
                service: "web".into(),
            },
        )
    }

    #[test]
    fn firing_alert_carries_identity_labels_and_the_reason_text() {
        let r = CheckResult::fail(CheckName::Backend, "bad_status", "GET /: status 503")
            .at("127.0.0.1".parse().unwrap());
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = firing(&service_target(), &r, t0, t0 + Duration::from_secs(240));
        let labels: Vec<_> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            labels,
            [
                "address=127.0.0.1",
                "alertname=EdgewatchCheckFailing",
                "check=backend",
                "namespace=shop",
                "reason=bad_status",
                "service=web",
                "severity=critical",
                "target=shop.example.com:443",
            ]
        );
        assert_eq!(
            a.annotations["description"],
            "shop.example.com:443 (Service shop/web): backend failed at 127.0.0.1: GET /: status 503"
        );
        assert_eq!(a.starts_at, "2023-11-14T22:13:20.000Z");
        assert_eq!(a.ends_at, "2023-11-14T22:17:20.000Z");
        let body = serde_json::to_value(&a).unwrap();
        assert!(body.get("startsAt").is_some() && body.get("endsAt").is_some());
    }

    #[test]
    fn target_level_check_of_a_static_target_has_no_empty_labels() {
        let t = Target::new("api.example.com", 443, TargetSource::Config);
        let r = CheckResult::fail(
            CheckName::Dns,
            "nxdomain",
            "`api.example.com` does not resolve",
        );
        let a = firing(&t, &r, UNIX_EPOCH, UNIX_EPOCH);
        assert!(!a.labels.contains_key("address"));
        assert!(!a.labels.contains_key("namespace"));
        assert!(!a.labels.contains_key("service"));
        assert_eq!(
            a.annotations["runbook_url"],
            "deploy/prometheus/RUNBOOK.md#edgewatchendpointfailing"
        );
    }
}

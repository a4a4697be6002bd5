//! The control-plane checks (`load_balancer`, `lb_listener`, `lb_target_group`, `dns_record`)
//! against moto's server on loopback holding what the AWS Load Balancer Controller and
//! external-dns create; the Service comes from the test API server and the data plane is a
//! rustls server and a DNS server on loopback. Scenarios run the built binary
//! (`--once --kubernetes --aws --service ns/name --output json`). A stand-in between the binary
//! and moto answers in elbv2's wire format where moto cannot: throttling, `/net/` ARNs and
//! `DescribeTargetHealth` `Reason`.
//!
//! Needs `moto_server` on PATH (`pip install 'moto[server]'`); fails loudly without it.

mod calls;
mod scenarios;
mod seed;
mod stage;
mod standin;
#[path = "../support/mod.rs"]
mod support;
mod throttle;

use serde_json::Value;

/// The check `name` of the target in `report` (the first target unless `target` is given).
pub fn check<'a>(report: &'a Value, target: Option<&str>, name: &str) -> &'a Value {
    let targets = report["targets"].as_array().expect("targets");
    let t = match target {
        Some(n) => targets
            .iter()
            .find(|t| t["name"].as_str().is_some_and(|s| s.contains(n)))
            .unwrap_or_else(|| panic!("no target {n} in {report:#}")),
        None => &targets[0],
    };
    t["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {t:#}"))
}

/// Asserts `check`'s status and reason code, showing its reason on failure.
pub fn assert_check(report: &Value, target: Option<&str>, name: &str, status: &str, code: &str) {
    let c = check(report, target, name);
    assert_eq!(
        (c["status"].as_str(), c["reason_code"].as_str()),
        (Some(status), Some(code)),
        "{name}: {}",
        c["reason"]
    );
}

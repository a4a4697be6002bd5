//! The shipped monitoring against the real thing: the edgewatch binary probes one healthy and one
//! broken loopback TLS endpoint; Debian's Prometheus scrapes it every second and evaluates the
//! shipped rules; Debian's Alertmanager receives edgewatch's own alerts. Then, through the
//! Prometheus HTTP API: every PromQL expression of every dashboard panel and every alert rule
//! parses and returns data (or is on the documented allow-list), the broken target's alerts are
//! pending or firing and the healthy one's are not. No `for:` is shortened: pending is enough.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::free_port;
use support::pki::Pki;
use support::tls_server::{Reply, TlsServer, bind_one};

#[path = "../support/mod.rs"]
mod support;
use support::monitoring_tools::{Server, start_alertmanager, start_prometheus, wait_ready};

/// Expressions that legitimately return no data here, and why.
const NO_DATA_ALLOWED: &[(&str, &str)] = &[
    (
        "edgewatch_acm_cert_not_after_timestamp_seconds",
        "ACM is not enabled: loopback targets expect no ACM ARN, so ACM has nothing to report",
    ),
    (
        "edgewatch_acm_requests_total",
        "ACM is not enabled: no ACM API call is made, and the labelled counter has no series",
    ),
    (
        "check=~\"load_balancer|lb_listener|lb_target_group|dns_record\"",
        "the AWS checks are off (no aws.enabled): they skip, so none fails",
    ),
    (
        "edgewatch_shard_",
        "sharding is off (one replica, no shard.enabled): the shard's series are not registered",
    ),
    (
        "min by (target, namespace, service, check, vantage)",
        "one vantage point (no `vantage` label): nothing to disagree with",
    ),
    (
        "edgewatch_discovery_errors_total",
        "no discovery error happens (static targets, valid config); series appear on the first error",
    ),
];

/// Alerts the broken target must raise (pending or firing): (alertname, check, reason labels).
const BROKEN_ALERTS: &[(&str, &str, &str)] = &[
    ("EdgewatchEndpointFailing", "chain_trusted", "self_signed"),
    ("EdgewatchBackendUnreachable", "backend", "bad_status"),
    ("EdgewatchCertificateExpiryCritical", "", ""),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The edgewatch daemon, killed on drop; its log in `log`.
struct Edgewatch {
    child: Child,
    log: PathBuf,
}

impl Drop for Edgewatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_edgewatch(dir: &Path, config: &str) -> Edgewatch {
    let path = dir.join("edgewatch.yaml");
    std::fs::write(&path, config).unwrap();
    let log = dir.join("edgewatch.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start edgewatch");
    Edgewatch { child, log }
}

/// `GET /api/v1/query`: (status, result list). Status is "success" when the expression parsed.
async fn query(prom: &Server, expr: &str) -> (String, Vec<Value>, Value) {
    let url =
        reqwest::Url::parse_with_params(&format!("{}/api/v1/query", prom.url), [("query", expr)])
            .unwrap();
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let status = body["status"].as_str().unwrap_or_default().to_string();
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (status, result, body)
}

/// Dashboard variables as Grafana would expand them with "All" selected.
fn expand(expr: &str) -> String {
    expr.replace("$__rate_interval", "15s")
        .replace("$namespace", ".*")
        .replace("$service", ".*")
        .replace("$target", ".*")
        .replace("$vantage", ".*")
        .replace("$replica", ".*")
}

/// Metric names an expression reads (`edgewatch_*` and `up`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("edgewatch_") || *t == "up")
        .map(str::to_string)
        .collect()
}

fn allowed_empty(expr: &str) -> Option<&'static str> {
    NO_DATA_ALLOWED
        .iter()
        .find(|(m, _)| expr.contains(m))
        .map(|(_, why)| *why)
}

/// Every (dashboard/panel title, expression) in dashboards/.
fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("dashboards")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut stack: Vec<&Value> = d["panels"].as_array().unwrap().iter().collect();
        while let Some(p) = stack.pop() {
            stack.extend(p["panels"].as_array().into_iter().flatten());
            for t in p["targets"].as_array().into_iter().flatten() {
                let title = format!("{}/{}", d["title"].as_str().unwrap(), p["title"]);
                out.push((title, t["expr"].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

/// Every (alert name, expression) in the shipped rules file.
fn alert_exprs() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("deploy/prometheus/edgewatch-rules.yml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut out = Vec::new();
    for g in doc["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            let name = r["alert"].as_str().unwrap().to_string();
            out.push((name, r["expr"].as_str().unwrap().to_string()));
        }
    }
    out
}

/// Polls `check` every 250ms until it returns Ok, or panics with its last error after `secs`.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alerts_work_on_real_prometheus_against_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();

    // PKI: the test root edgewatch trusts; the healthy leaf chains to it with 198 days left,
    // the broken one is self-signed (untrusted) with 10 days left and its backend answers 503.
    let pki = Pki::new();
    let ca_file = pki.write_root_pem_in(dir.path());
    let localhost = || async { bind_one(Ipv4Addr::LOCALHOST.into()).await.unwrap() };
    let healthy_leaf = pki.expiring_in("127.0.0.1", 198);
    let healthy = TlsServer::serve(localhost().await, &healthy_leaf, Reply::ok()).unwrap();
    let broken_leaf = pki.self_signed_expiring_in("127.0.0.1", 10);
    let broken = TlsServer::serve(localhost().await, &broken_leaf, Reply::status(503)).unwrap();

    let am = start_alertmanager().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "interval: 1s\nlisten: {listen}\ntls:\n  ca_file: {ca}\n\
         alertmanager:\n  url: {am}\n  resend_interval: 2s\n\
         targets:\n  - name: healthy\n    host: 127.0.0.1\n    port: {hp}\n\
         \x20 - name: broken\n    host: 127.0.0.1\n    port: {bp}\n",
        ca = ca_file.path().display(),
        am = am.url,
        hp = healthy.addr().port(),
        bp = broken.addr().port(),
    );
    let edgewatch = start_edgewatch(dir.path(), &config);
    let ew_log = || std::fs::read_to_string(&edgewatch.log).unwrap_or_default();
    wait_ready(&format!("http://{listen}/healthz"), ew_log).await;

    let rules = root().join("deploy/prometheus/edgewatch-rules.yml");
    let prom = start_prometheus(&listen, &[rules]).await;

    // Enough scrapes for rates over 15s, and both targets probed.
    eventually(60, "Prometheus has edgewatch's data", || async {
        let (_, r, _) = query(&prom, "count(edgewatch_probe_success)").await;
        let (_, rate, _) = query(&prom, "rate(edgewatch_probes_total[15s])").await;
        let n = r.first().map(|v| v["value"][1].clone());
        if n == Some(Value::from("2")) && !rate.is_empty() {
            Ok(())
        } else {
            Err(format!("targets: {n:?}, rate series: {}", rate.len()))
        }
    })
    .await;

    // Every dashboard expression parses and returns data (or is allowed not to).
    let mut evaluated = 0;
    let mut allowed = Vec::new();
    for (panel, expr) in dashboard_exprs() {
        let e = expand(&expr);
        let (status, result, body) = query(&prom, &e).await;
        assert_eq!(
            status, "success",
            "{panel}: `{e}` does not evaluate: {body}"
        );
        if result.is_empty() {
            let why = allowed_empty(&e)
                .unwrap_or_else(|| panic!("{panel}: `{e}` returned no data; log:\n{}", ew_log()));
            allowed.push((panel, why));
        }
        evaluated += 1;
    }
    assert!(evaluated >= 30, "only {evaluated} dashboard expressions");
    eprintln!("{evaluated} dashboard expressions evaluated; allowed empty: {allowed:#?}");

    // Every alert expression parses, and every series it reads exists (an empty result is
    // the healthy answer for most alerts), except the documented allow-list.
    for (alert, expr) in alert_exprs() {
        let (status, _, body) = query(&prom, &expr).await;
        assert_eq!(status, "success", "{alert}: does not evaluate: {body}");
        for metric in metric_names(&expr) {
            let (_, r, _) = query(&prom, &format!("count({metric})")).await;
            assert!(
                !r.is_empty() || allowed_empty(&metric).is_some(),
                "{alert}: no `{metric}` series in Prometheus"
            );
        }
    }

    // The broken target's alerts are pending or firing; nothing about the healthy one.
    eventually(30, "the broken target's alerts are active", || async {
        let body: Value = reqwest::get(format!("{}/api/v1/alerts", prom.url))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let alerts = body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let active: BTreeSet<(String, String, String, String)> = alerts
            .iter()
            .filter(|a| matches!(a["state"].as_str(), Some("pending" | "firing")))
            .map(|a| {
                let l = |k: &str| a["labels"][k].as_str().unwrap_or_default().to_string();
                (l("alertname"), l("target"), l("check"), l("reason"))
            })
            .collect();
        if let Some(h) = active.iter().find(|a| a.1 == "healthy") {
            let reasons = alerts.iter().filter(|a| a["labels"]["target"] == "healthy");
            let reasons: Vec<_> = reasons.map(|a| a["labels"].to_string()).collect();
            return Err(format!(
                "healthy target has an alert: {h:?}: {reasons:?}\n{}",
                ew_log()
            ));
        }
        for (name, check, reason) in BROKEN_ALERTS {
            let (name, target) = (name.to_string(), "broken".to_string());
            let key = (name, target, check.to_string(), reason.to_string());
            if !active.contains(&key) {
                return Err(format!("missing {key:?}; active: {active:?}"));
            }
        }
        Ok(())
    })
    .await;

    // The daemon posted its own alerts to Alertmanager: the broken target's checks only.
    eventually(30, "edgewatch's alerts in Alertmanager", || async {
        let list: Value = reqwest::get(format!("{}/api/v2/alerts", am.url))
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let checks: BTreeSet<(String, String)> = list
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let l = |k: &str| a["labels"][k].as_str().unwrap_or_default().to_string();
                (l("target"), l("check"))
            })
            .collect();
        let want: BTreeSet<(String, String)> = ["backend", "cert_expiry", "chain_trusted"]
            .iter()
            .map(|c| ("broken".to_string(), c.to_string()))
            .collect();
        if checks == want {
            Ok(())
        } else {
            Err(format!("Alertmanager has {checks:?}"))
        }
    })
    .await;
    drop(edgewatch);
}

//! The monitoring that ships with edgewatch, checked with the real tools: the alert rules pass
//! `promtool check rules` and their unit tests (`promtool test rules`), every alert is tested
//! firing and silent and has a runbook section, the generated Kubernetes manifests match their
//! sources, and the Grafana dashboards have the structure Grafana and the provisioning expect.

#[path = "../support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use edgewatch::checks::CheckName;
use edgewatch::export::alertmanager::alert;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use support::monitoring_tools::promtool;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn yaml(rel: &str) -> Yaml {
    serde_norway::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (alert name, rule) for every alerting rule in the rules file.
fn alert_rules() -> Vec<(String, Yaml)> {
    let doc = yaml("deploy/prometheus/edgewatch-rules.yml");
    let mut out = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let name = rule["alert"].as_str().expect("every rule is an alert");
            out.push((name.to_string(), rule.clone()));
        }
    }
    out
}

fn s<'a>(v: &'a Yaml, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[test]
fn rules_pass_promtool_check() {
    let dir = root().join("deploy/prometheus");
    let (ok, out) = promtool(&dir, &["check", "rules", "edgewatch-rules.yml"], b"");
    assert!(ok, "promtool check rules failed:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn rules_unit_tests_pass_and_cover_every_alert_firing_and_silent() {
    let dir = root().join("deploy/prometheus/tests");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no promtool unit tests in {dir:?}");
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let (ok, out) = promtool(&dir, &args, b"");
    assert!(ok, "promtool test rules failed:\n{out}");

    let (mut fires, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for f in &files {
        let doc = yaml(&format!("deploy/prometheus/tests/{f}"));
        for test in doc["tests"].as_sequence().unwrap() {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = s(case, "alertname").to_string();
                match case["exp_alerts"].as_sequence().map(Vec::len) {
                    Some(0) | None => silent.insert(name),
                    Some(_) => fires.insert(name),
                };
            }
        }
    }
    for (name, _) in alert_rules() {
        assert!(
            fires.contains(&name),
            "{name}: no unit test shows it firing"
        );
        assert!(
            silent.contains(&name),
            "{name}: no unit test shows it silent"
        );
    }
}

#[test]
fn every_alert_has_annotations_severity_and_a_runbook_section() {
    let runbook = read("deploy/prometheus/RUNBOOK.md");
    let headings: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    for (name, rule) in alert_rules() {
        let ann = &rule["annotations"];
        for key in ["summary", "description", "runbook_url"] {
            assert!(!s(ann, key).is_empty(), "{name}: no {key}");
        }
        let url = s(ann, "runbook_url");
        let anchor = url
            .strip_prefix("deploy/prometheus/RUNBOOK.md#")
            .unwrap_or_else(|| panic!("{name}: runbook_url {url} is not in RUNBOOK.md"));
        assert_eq!(anchor, name.to_lowercase(), "{name}: anchor");
        assert!(
            headings.contains(anchor),
            "{name}: no `## {name}` in RUNBOOK.md"
        );
        let sev = s(&rule["labels"], "severity");
        assert!(
            matches!(sev, "warning" | "critical"),
            "{name}: severity {sev}"
        );
        assert!(!s(&rule, "for").is_empty(), "{name}: no `for:`");
    }
}

/// The check names an alert's expression selects with `check="..."` or `check=~"a|b"`.
fn checks_selected(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in expr.match_indices("check=") {
        let rest = expr[i + "check=".len()..].trim_start_matches('~');
        if let Some(value) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
            out.extend(value.split('|').map(str::to_string));
        }
    }
    out
}

#[test]
fn every_failing_check_pages_through_exactly_one_alert_matching_the_notifier() {
    let mut owner: BTreeMap<String, Vec<(String, Yaml)>> = BTreeMap::new();
    for (name, rule) in alert_rules() {
        for check in checks_selected(s(&rule, "expr")) {
            owner
                .entry(check)
                .or_default()
                .push((name.clone(), rule.clone()));
        }
    }
    for check in CheckName::ALL {
        if check == CheckName::CertExpiry {
            // Covered by the days-left alerts on edgewatch_cert_not_after_timestamp_seconds.
            assert!(!owner.contains_key("cert_expiry"));
            continue;
        }
        let rules = owner.get(check.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        assert_eq!(rules.len(), 1, "check {check}: alerts {rules:?}");
        let (name, rule) = &rules[0];
        assert_eq!(
            s(&rule["labels"], "severity"),
            alert::severity(check),
            "{check}: the Alertmanager notifier and {name} disagree on severity"
        );
        assert_eq!(
            alert::runbook_anchor(check),
            name.to_lowercase(),
            "{check}: the notifier's runbook link"
        );
    }
    assert!(
        owner
            .keys()
            .all(|c| CheckName::ALL.iter().any(|k| k.as_str() == c))
    );
}

#[test]
fn generated_manifests_match_their_sources() {
    let out = Command::new("python3")
        .arg("deploy/prometheus/gen-prometheusrule.py")
        .arg("--check")
        .current_dir(root())
        .output()
        .expect("python3 is needed to check the generated manifests");
    assert!(
        out.status.success(),
        "generated files are stale:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The same, independently of the script: structure, not text.
    let rule = yaml("deploy/kubernetes/base/prometheusrule.yaml");
    assert_eq!(s(&rule, "apiVersion"), "monitoring.coreos.com/v1");
    assert_eq!(s(&rule, "kind"), "PrometheusRule");
    assert_eq!(rule["spec"], yaml("deploy/prometheus/edgewatch-rules.yml"));

    let cm = yaml("deploy/kubernetes/base/grafana-dashboards.yaml");
    assert_eq!(s(&cm, "kind"), "ConfigMap");
    assert_eq!(s(&cm["metadata"]["labels"], "grafana_dashboard"), "1");
    let shipped: BTreeMap<String, Json> = cm["data"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().unwrap();
            (
                k.as_str().unwrap().to_string(),
                serde_json::from_str(text).unwrap(),
            )
        })
        .collect();
    assert_eq!(shipped, dashboards());
}

/// Every dashboard in dashboards/, by file name.
fn dashboards() -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(root().join("dashboards")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            out.insert(name, json);
        }
    }
    out
}

/// Every panel, rows' nested panels included.
fn panels(d: &Json) -> Vec<&Json> {
    fn walk<'a>(list: &'a Json, out: &mut Vec<&'a Json>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    out
}

#[test]
fn dashboards_have_the_structure_grafana_and_provisioning_expect() {
    let all = dashboards();
    assert!(all.len() >= 4, "dashboards: {:?}", all.keys());
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        let uid = d["uid"].as_str().unwrap_or_else(|| panic!("{file}: uid"));
        assert!(uids.insert(uid.to_string()), "{file}: duplicate uid {uid}");
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{file}: title"
        );
        assert!(
            d["schemaVersion"].as_u64().unwrap_or(0) >= 36,
            "{file}: schemaVersion"
        );
        assert!(
            d.get("id").is_none_or(Json::is_null),
            "{file}: a fixed id breaks import"
        );
        let vars: BTreeMap<&str, &Json> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        assert_eq!(vars["datasource"]["type"], "datasource", "{file}");
        assert_eq!(vars["datasource"]["query"], "prometheus", "{file}");
        if file != "edgewatch-health.json" {
            for v in ["namespace", "service", "target"] {
                let var = vars.get(v).unwrap_or_else(|| panic!("{file}: no ${v}"));
                assert_eq!(var["type"], "query", "{file}: ${v}");
                assert_eq!(var["datasource"]["uid"], "${datasource}", "{file}: ${v}");
            }
        }
        let mut ids = BTreeSet::new();
        let mut exprs = 0;
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or_default();
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{file}: panel id reused"
            );
            let g = &p["gridPos"];
            let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
            assert!(
                x + w <= 24 && g["h"].as_u64().unwrap() > 0,
                "{file}/{title}: gridPos"
            );
            if p["type"] == "row" {
                continue;
            }
            assert!(
                p["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{file}/{title}"
            );
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{file}/{title}");
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{file}/{title}: no queries");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{file}/{title}");
                let expr = t["expr"].as_str().unwrap_or_default();
                assert!(expr.contains("edgewatch"), "{file}/{title}: {expr}");
                exprs += 1;
            }
        }
        assert!(exprs >= 4, "{file}: {exprs} queries");
    }
}

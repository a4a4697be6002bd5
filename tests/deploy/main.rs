//! `deploy/` and `Dockerfile`, offline: every manifest (each file, and each kustomization as
//! `kubectl kustomize` builds it) validates strictly against the Kubernetes JSON schemas
//! (`kubernetes-validate`, from PyPI); the CRDs it has no schema for (ServiceMonitor,
//! PrometheusRule) are checked structurally here; the RBAC grants exactly what edgewatch needs;
//! the pod is locked down; the config in the ConfigMap is one edgewatch accepts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const K8S_VERSION: &str = "1.32.0";
const CRDS: [&str; 2] = ["ServiceMonitor", "PrometheusRule"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(name: &str, hint: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{name}` is missing: {hint} (.ci/install-test-deps.sh installs it)"
    );
    Command::new(name)
}

fn kustomize(dir: &str) -> String {
    let out = tool("kubectl", "kubectl (with its built-in kustomize) is needed")
        .args(["kustomize"])
        .arg(root().join(dir))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// Runs kubernetes-validate --strict; returns the kinds it had no schema for.
fn validate(path: &Path) -> BTreeSet<String> {
    let out = tool("kubernetes-validate", "pip install kubernetes-validate")
        .args(["--strict", "-k", K8S_VERSION])
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("ERROR"),
        "{}:\n{text}",
        path.display()
    );
    text.lines()
        .filter_map(|l| l.split("Couldn't find schema for kind ").nth(1))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect()
}

fn manifest_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["deploy/kubernetes/base", "deploy/kubernetes/namespaced"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".yaml") && name != "kustomization.yaml" {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_manifest_file_validates_against_the_kubernetes_schemas() {
    let files = manifest_files();
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let skipped = validate(&f);
        assert!(
            skipped.iter().all(|k| CRDS.contains(&k.as_str())),
            "{}: {skipped:?}",
            f.display()
        );
    }
}

fn built(dir: &str) -> (tempfile::TempDir, PathBuf, Vec<Value>) {
    let text = kustomize(dir);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("built.yaml");
    std::fs::write(&path, &text).unwrap();
    (tmp, path, docs(&text))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn both_kustomizations_build_and_validate_with_only_the_crds_unchecked() {
    for dir in [
        "deploy/kubernetes/base",
        "deploy/kubernetes/namespaced",
        "deploy/kubernetes/vantage-b",
    ] {
        let (_tmp, path, docs) = built(dir);
        let skipped = validate(&path);
        assert_eq!(
            skipped,
            CRDS.iter().map(|s| s.to_string()).collect(),
            "{dir}"
        );
        check_crds(&docs);
        check_deployment(&docs);
        check_network_policy(&docs);
    }
}

/// Only the scraper reaches port 9815: one ingress rule, one peer with both a namespace and a
/// pod selector (two peers would admit a whole namespace, or a label in any namespace).
fn check_network_policy(docs: &[Value]) {
    let policies = of_kind(docs, "NetworkPolicy");
    assert_eq!(policies.len(), 1, "one NetworkPolicy");
    let spec = &policies[0]["spec"];
    let pod_labels = &of_kind(docs, "Deployment")[0]["spec"]["template"]["metadata"]["labels"];
    for (k, v) in spec["podSelector"]["matchLabels"]
        .as_object()
        .expect("podSelector")
    {
        assert_eq!(&pod_labels[k], v, "the policy selects edgewatch's pods");
    }
    assert_eq!(
        spec["policyTypes"],
        serde_json::json!(["Ingress"]),
        "egress stays open"
    );
    let rules = spec["ingress"].as_array().expect("ingress rules");
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(
        rules[0]["ports"],
        serde_json::json!([{"port": 9815, "protocol": "TCP"}])
    );
    let from = rules[0]["from"].as_array().expect("from");
    assert_eq!(from.len(), 1, "one peer: {from:?}");
    assert!(
        from[0]["namespaceSelector"]["matchLabels"].is_object()
            && from[0]["podSelector"]["matchLabels"].is_object(),
        "the peer names both the scraper's namespace and its pods: {from:?}"
    );
}

fn check_crds(docs: &[Value]) {
    let svc = of_kind(docs, "Service")[0];
    let sm = of_kind(docs, "ServiceMonitor")[0];
    assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
    let want = sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels");
    for (k, v) in want {
        assert_eq!(
            &svc["metadata"]["labels"][k], v,
            "ServiceMonitor selects the metrics Service"
        );
    }
    let port = &sm["spec"]["endpoints"][0];
    assert_eq!(port["port"], "metrics");
    assert_eq!(port["path"], "/metrics");
    assert_eq!(
        port["honorLabels"], true,
        "edgewatch's namespace/service labels must survive the scrape"
    );
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "metrics" && p["port"] == 9815)
    );
    let rule = of_kind(docs, "PrometheusRule")[0];
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    let groups = rule["spec"]["groups"].as_array().expect("groups");
    assert!(!groups.is_empty());
    for g in groups {
        assert!(g["name"].is_string());
        for r in g["rules"].as_array().expect("rules") {
            assert!(
                r["expr"].is_string() && (r["alert"].is_string() || r["record"].is_string()),
                "{r}"
            );
        }
    }
}

fn check_deployment(docs: &[Value]) {
    let d = of_kind(docs, "Deployment")[0];
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for k in ["requests", "limits"] {
        assert!(c["resources"][k]["memory"].is_string() && c["resources"][k]["cpu"].is_string());
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["ports"][0]["containerPort"], 9815);
    assert_eq!(c["ports"][0]["name"], "metrics");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--config", "/etc/edgewatch/edgewatch.yaml"]),
        "{args:?}"
    );
    assert_eq!(pod["serviceAccountName"], "edgewatch");
    // Two replicas sharing the fleet, spread over zones, never both disrupted at once.
    assert_eq!(d["spec"]["replicas"], 2);
    let spread = &pod["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(spread["maxSkew"], 1);
    let env = c["env"].as_array().unwrap();
    for (name, field) in [
        ("EDGEWATCH_REPLICA", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        assert!(
            env.iter()
                .any(|e| e["name"] == name && e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{name}"
        );
    }
    let pdb = of_kind(docs, "PodDisruptionBudget")[0];
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        d["spec"]["selector"]["matchLabels"]
    );
}

/// Every (apiGroup, resource, verb) the roles grant, checked for wildcards and extras.
fn grants(roles: &[&Value]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for role in roles {
        for rule in role["rules"].as_array().unwrap() {
            assert!(
                rule.get("nonResourceURLs").is_none() && rule.get("resourceNames").is_none(),
                "{rule}"
            );
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    for v in rule["verbs"].as_array().unwrap() {
                        let t = |x: &Value| x.as_str().unwrap().to_string();
                        out.insert((t(g), t(r), t(v)));
                    }
                }
            }
        }
    }
    out
}

fn expected_grants() -> BTreeSet<(String, String, String)> {
    let mut want = BTreeSet::new();
    for v in ["get", "list", "watch"] {
        want.insert((String::new(), "services".into(), v.into()));
    }
    for g in ["", "events.k8s.io"] {
        for v in ["create", "patch"] {
            want.insert((g.into(), "events".into(), v.into()));
        }
    }
    want
}

/// The shard's grants: exactly get/list/watch/create/update on leases.
fn lease_grants() -> BTreeSet<(String, String, String)> {
    ["get", "list", "watch", "create", "update"]
        .iter()
        .map(|v| ("coordination.k8s.io".into(), "leases".into(), v.to_string()))
        .collect()
}

fn named<'a>(docs: &[&'a Value], name: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|d| d["metadata"]["name"] == name)
        .copied()
        .collect()
}

#[test]
fn rbac_grants_only_services_read_events_write_and_leases_in_its_namespace() {
    let (_t, _p, base) = built("deploy/kubernetes/base");
    assert_eq!(grants(&of_kind(&base, "ClusterRole")), expected_grants());
    let roles = of_kind(&base, "Role");
    assert_eq!(
        grants(&roles),
        lease_grants(),
        "the only Role is the Leases'"
    );
    assert_eq!(roles[0]["metadata"]["namespace"], "edgewatch");
    let lease_binding = named(&of_kind(&base, "RoleBinding"), "edgewatch-leases")[0];
    assert_eq!(lease_binding["roleRef"]["kind"], "Role");
    assert_eq!(lease_binding["subjects"][0]["name"], "edgewatch");
    let binding = of_kind(&base, "ClusterRoleBinding")[0];
    assert_eq!(binding["roleRef"]["name"], "edgewatch");
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{"kind": "ServiceAccount", "name": "edgewatch", "namespace": "edgewatch"}])
    );

    let (_t, _p, ns) = built("deploy/kubernetes/namespaced");
    for kind in ["ClusterRole", "ClusterRoleBinding", "Namespace"] {
        assert!(
            of_kind(&ns, kind).is_empty(),
            "the namespaced variant has no {kind}"
        );
    }
    let roles = of_kind(&ns, "Role");
    assert_eq!(grants(&named(&roles, "edgewatch")), expected_grants());
    assert_eq!(grants(&named(&roles, "edgewatch-leases")), lease_grants());
    assert_eq!(roles.len(), 2);
    let bindings = of_kind(&ns, "RoleBinding");
    let binding = named(&bindings, "edgewatch")[0];
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["subjects"][0]["namespace"], "team-a");
    assert!(ns.iter().all(|d| d["metadata"]["namespace"] == "team-a"));
}

#[test]
fn configmaps_hold_a_config_edgewatch_accepts() {
    for (dir, namespaces) in [
        ("deploy/kubernetes/base", vec![]),
        ("deploy/kubernetes/namespaced", vec!["team-a".to_string()]),
        ("deploy/kubernetes/vantage-b", vec![]),
    ] {
        let (_t, _p, docs) = built(dir);
        let cm = of_kind(&docs, "ConfigMap")
            .into_iter()
            .find(|c| c["metadata"]["name"] == "edgewatch-config")
            .unwrap();
        let text = cm["data"]["edgewatch.yaml"].as_str().unwrap();
        let file = edgewatch::config::parse(text, dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        let settings = edgewatch::run::settings::validate(file, dir, &[]).unwrap();
        assert!(settings.kubernetes.enabled && settings.kubernetes.events);
        assert_eq!(settings.kubernetes.namespaces, namespaces, "{dir}");
        assert_eq!(settings.listen.port(), 9815);
        assert!(settings.shard.enabled, "{dir}: replicas share the fleet");
    }
}

#[test]
fn serviceaccount_has_the_irsa_placeholder_and_dockerfile_runs_as_nonroot() {
    let sa =
        std::fs::read_to_string(root().join("deploy/kubernetes/base/serviceaccount.yaml")).unwrap();
    assert!(
        sa.contains("# eks.amazonaws.com/role-arn:"),
        "IRSA placeholder comment"
    );
    let df = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        df.lines().filter(|l| l.starts_with("FROM ")).count() >= 2,
        "multi-stage"
    );
    let last_user = df
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(last_user.starts_with("USER 65532"), "{last_user}");
}

//! One scenario's world: ACM certificates, an NLB (and friends) in moto, a Route 53 alias, the
//! Service in a test API server, DNS and a TLS server for the data plane, and a run of the binary.

use std::net::Ipv4Addr;
use std::process::Output;

use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::seed::{self, Aws, Nlb, NlbSpec};
use crate::support::dns::{DnsServer, Zone};
use crate::support::kube_api::KubeApi;
use crate::support::moto;
use crate::support::pki::{Leaf, Pki};
use crate::support::tls_server::{Reply, TlsServer, bind_one};

const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The policy every Service annotates.
pub const POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// The attributes every Service annotates.
pub const ATTRIBUTES: &str = "preserve_client_ip.enabled=true,proxy_protocol_v2.enabled=false";

/// The three ACM certificates of a scenario: the served one, an SNI one, a stranger.
pub struct Certs {
    /// The served leaf (its ARN is `arns[0]`).
    pub served: Leaf,
    /// ACM ARNs: served, SNI, unrelated.
    pub arns: [String; 3],
}

/// Imports three certificates into moto's ACM (the first for `host`).
pub async fn certs(pki: &Pki, host: &str) -> Certs {
    let m = moto::shared();
    let served = pki.expiring_in(host, 90);
    let sni = pki.expiring_in(&format!("sni.{host}"), 90);
    let other = pki.expiring_in(&format!("other.{host}"), 90);
    let mut arns = Vec::new();
    for leaf in [&served, &sni, &other] {
        arns.push(
            m.import(seed::REGION, leaf.cert_pem(), leaf.key_pem())
                .await,
        );
    }
    Certs {
        served,
        arns: arns.try_into().unwrap(),
    }
}

/// The Service `ns/name` as the controller and external-dns expect it, on `port`.
pub fn service(ns: &str, name: &str, host: &str, port: u16, arns: &[String], lb: &str) -> Service {
    let yaml = format!(
        r#"
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "{certs}"
    service.beta.kubernetes.io/aws-load-balancer-ssl-ports: "{port}"
    service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy: {POLICY}
    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: "{ATTRIBUTES}"
    external-dns.alpha.kubernetes.io/hostname: {host}
spec:
  type: LoadBalancer
  selector: {{app: {name}}}
  ports:
  - {{name: https, port: {port}, targetPort: 8080, protocol: TCP}}
status:
  loadBalancer:
    ingress:
    - hostname: {lb}
"#,
        certs = arns.join(",")
    );
    serde_norway::from_str(&yaml).expect("Service YAML")
}

/// The NLB spec every scenario starts from: tagged for `ns/name`, as the Service annotates.
pub fn as_annotated<'a>(
    name: &'a str,
    stack: &'a str,
    port: u16,
    certs: &'a [String],
) -> NlbSpec<'a> {
    NlbSpec {
        name,
        stack: Some(stack),
        scheme: "internet-facing",
        port,
        certs,
        policy: POLICY,
        attributes: &[
            ("preserve_client_ip.enabled", "true"),
            ("proxy_protocol_v2.enabled", "false"),
        ],
        targets: &["10.0.1.10", "10.0.2.20"],
    }
}

/// The data plane and the Kubernetes API of one scenario.
pub struct Stage {
    /// The test API server.
    pub api: KubeApi,
    /// The TLS server standing in for the NLB's listener (kept running).
    _tls: TlsServer,
    _dns: DnsServer,
    _ca: tempfile::NamedTempFile,
    dir: tempfile::TempDir,
}

impl Stage {
    /// Bound TLS server serving `leaf`; start with [`Stage::start`] once the names are known.
    pub async fn tls(leaf: &Leaf) -> TlsServer {
        TlsServer::serve(bind_one(LOCALHOST.into()).await.unwrap(), leaf, Reply::ok()).unwrap()
    }

    /// DNS answering `names` with 127.0.0.1, the API server, and the config file.
    pub async fn start(pki: &Pki, tls: TlsServer, names: &[&str]) -> Stage {
        let zone = names.iter().fold(Zone::new(), |z, n| z.a(n, &[LOCALHOST]));
        let dns = DnsServer::start(zone).await.unwrap();
        let ca = pki.write_root_pem();
        let dir = tempfile::tempdir().unwrap();
        // No TLS scan: these scenarios judge the control plane, and the loopback rustls server
        // accepts none of the CBC suites the annotated policies list (tests/tls_policy judges that).
        let config = format!(
            "resolver:\n  nameservers: [\"{}\"]\ntimeouts: {{connect: 2s, tls: 2s, http: 2s, \
             probe: 5s}}\ntls:\n  ca_file: {}\n  scan: false\naws:\n  cluster_name: test-cluster\n",
            dns.addr(),
            ca.path().display()
        );
        std::fs::write(dir.path().join("edgewatch.yaml"), config).unwrap();
        Stage {
            api: KubeApi::start().await,
            _tls: tls,
            _dns: dns,
            _ca: ca,
            dir,
        }
    }

    /// Runs `edgewatch --once --kubernetes --aws --output json` with `args`, the AWS APIs at
    /// `endpoint`; returns the exit code and the report.
    pub async fn run(&self, endpoint: &str, args: &[&str]) -> (Option<i32>, Value) {
        let out: Output = tokio::process::Command::new(env!("CARGO_BIN_EXE_edgewatch"))
            .args([
                "--once",
                "--kubernetes",
                "--aws",
                "--output",
                "json",
                "--config",
            ])
            .arg(self.dir.path().join("edgewatch.yaml"))
            .arg("--kubeconfig")
            .arg(self.api.kubeconfig())
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("AWS_PROFILE")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", seed::REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .await
            .expect("run edgewatch");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), report)
    }
}

/// A whole scenario: certificates, the NLB(s) made by `build`, the alias made by `alias`, the
/// Service, and the run. `build` gets (aws, certs' ARNs, port) and returns the NLB the Service's
/// status names and the one the alias points at.
pub async fn scenario<B, F>(id: &str, build: B) -> (Option<i32>, Value)
where
    B: FnOnce(Aws, [String; 3], u16) -> F,
    F: std::future::Future<Output = (Nlb, Nlb)>,
{
    scenario_via(id, None, build).await
}

/// [`scenario`] with the binary talking to moto through a stand-in with `rules`.
pub async fn scenario_via<B, F>(
    id: &str,
    rules: Option<crate::standin::Rules>,
    build: B,
) -> (Option<i32>, Value)
where
    B: FnOnce(Aws, [String; 3], u16) -> F,
    F: std::future::Future<Output = (Nlb, Nlb)>,
{
    let pki = Pki::new();
    let ns = format!("ns-{id}");
    let zone = format!("{id}.example.test");
    let host = format!("app.{zone}");
    let certs = certs(&pki, &host).await;
    let tls = Stage::tls(&certs.served).await;
    let port = tls.addr().port();
    let aws = Aws::new(moto::shared());
    let (status_lb, alias_lb) = build(Aws::new(moto::shared()), certs.arns.clone(), port).await;
    seed::alias_record(&aws, &zone, &host, &alias_lb).await;
    let stage = Stage::start(&pki, tls, &[&host, &status_lb.dns_name]).await;
    let annotated = [certs.arns[0].clone(), certs.arns[1].clone()];
    stage.api.apply(&service(
        &ns,
        "web",
        &host,
        port,
        &annotated,
        &status_lb.dns_name,
    ));
    let upstream = &moto::shared().endpoint;
    let standin = match rules {
        Some(r) => Some(crate::standin::start(upstream, r).await),
        None => None,
    };
    let endpoint = standin
        .as_ref()
        .map_or(upstream.as_str(), |s| s.endpoint.as_str());
    stage
        .run(endpoint, &["--service", &format!("{ns}/web")])
        .await
}

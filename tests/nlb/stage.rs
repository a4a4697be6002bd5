//! One scenario's stand-ins: Route 53 (hickory), the NLB (haproxy) and the backend
//! (`edgewatch echo`, in-process), plus the prober's config file. Torn down when dropped.
//!
//! Addresses: the prober is 127.0.0.2 (`source_ip`, and its `client_ip.egress_ip`); the NLB
//! listens on 127.0.0.10 (and 127.0.0.11, "another load balancer"); echo on 127.0.0.20;
//! haproxy reaches echo from 127.0.0.30, so a lost client IP shows up as 127.0.0.30.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use edgewatch::echo::{EchoSettings, ProxyMode};
use tokio::sync::oneshot;

use crate::haproxy::{self, Haproxy, HaproxyConfig};
use crate::support::dns::{DnsServer, Zone};
use crate::support::free_port_on;
use crate::support::pki::{Leaf, Pki};

/// The friendly name clients use.
pub const FRIENDLY: &str = "myapp.example.test";
/// The load balancer the Service got.
pub const LB: &str = "k8s-dev-myapp-0123456789.elb.us-east-2.amazonaws.com";
/// Another team's load balancer.
pub const OTHER_LB: &str = "k8s-dev-other-9876543210.elb.us-east-2.amazonaws.com";
/// The prober's address.
pub const PROBER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The load balancer's addresses.
pub const LB_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 10);
/// The other load balancer's address.
pub const OTHER_LB_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// Where echo listens.
pub const ECHO_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);
/// haproxy's source towards the backend.
pub const LB_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 30);
/// What echo reports as its identity.
pub const IDENTITY: &str = "dev/myapp-5f7c9d-abcde";

/// What differs between scenarios; `Default` is "everything right".
#[derive(Default)]
pub struct Faults {
    /// The target group does not send PROXY protocol v2.
    pub no_proxy_protocol: bool,
    /// The listener serves another valid certificate for the same name.
    pub other_cert: bool,
    /// The friendly name is a CNAME to another load balancer.
    pub dns_to_other_lb: bool,
    /// Route 53 alias-style records: the friendly name has A records, no CNAME.
    pub alias_records: bool,
    /// Nothing listens where the target group points.
    pub backend_down: bool,
    /// The served (and expected) certificate has 5 days left.
    pub near_expiry: bool,
    /// The expected certificate is named by an ACM ARN (imported into moto) instead of a pin.
    pub expect_by_acm: bool,
    /// Also expect an ACM certificate whose issuance is stuck in PENDING_VALIDATION.
    pub acm_pending: bool,
}

/// The region of the stand-in ACM ARNs.
pub const REGION: &str = "us-east-2";

/// A running scenario.
pub struct Stage {
    /// The prober's config file.
    pub config: PathBuf,
    _dns: DnsServer,
    _haproxy: Haproxy,
    _echo_stop: Option<oneshot::Sender<()>>,
    /// moto's endpoint, when the scenario uses ACM.
    acm_endpoint: Option<String>,
    _dir: tempfile::TempDir,
}

impl Stage {
    /// Brings up the stand-ins with `faults`.
    pub async fn start(faults: Faults) -> Stage {
        let pki = Pki::new();
        let issue = |pki: &Pki| {
            if faults.near_expiry {
                pki.expiring_in(FRIENDLY, 5)
            } else {
                pki.good(&[FRIENDLY])
            }
        };
        let expected = issue(&pki);
        let served = if faults.other_cert {
            issue(&pki)
        } else {
            expected.clone()
        };

        let (backend, echo_stop) = if faults.backend_down {
            let port = free_port_on(ECHO_IP);
            (SocketAddr::from((ECHO_IP, port)), None)
        } else {
            let listener = tokio::net::TcpListener::bind((ECHO_IP, 0))
                .await
                .expect("bind echo");
            let addr = listener.local_addr().expect("echo addr");
            let (tx, rx) = oneshot::channel::<()>();
            let settings = EchoSettings {
                proxy_mode: ProxyMode::Optional,
                identity: Some(IDENTITY.to_string()),
                ..EchoSettings::default()
            };
            tokio::spawn(edgewatch::echo::serve(listener, settings, async {
                let _ = rx.await;
            }));
            (addr, Some(tx))
        };

        let port = free_port_on(LB_IP);
        let haproxy = haproxy::start(&HaproxyConfig {
            lb_ips: vec![LB_IP, OTHER_LB_IP],
            port,
            cert_bundle: bundle(&served),
            backend,
            source: LB_SOURCE,
            proxy_v2: !faults.no_proxy_protocol,
        });

        let points_at = if faults.dns_to_other_lb { OTHER_LB } else { LB };
        let dns = DnsServer::start(
            if faults.alias_records {
                let ip = if faults.dns_to_other_lb {
                    OTHER_LB_IP
                } else {
                    LB_IP
                };
                Zone::new().a(FRIENDLY, &[ip])
            } else {
                Zone::new().cname(FRIENDLY, points_at)
            }
            .a(LB, &[LB_IP])
            .a(OTHER_LB, &[OTHER_LB_IP]),
        )
        .await
        .expect("start DNS");

        let dir = tempfile::tempdir().expect("temp dir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.root.pem).expect("write CA");
        let mut expected_yaml = String::new();
        let mut acm_endpoint = None;
        if faults.expect_by_acm || faults.acm_pending {
            let moto = crate::moto::shared();
            acm_endpoint = Some(moto.endpoint.clone());
            if faults.expect_by_acm {
                let arn = moto
                    .import(REGION, expected.cert_pem(), expected.key_pem())
                    .await;
                expected_yaml.push_str(&format!("        - {arn}\n"));
            }
            if faults.acm_pending {
                let arn = moto.request(REGION, FRIENDLY).await;
                expected_yaml.push_str(&format!("        - {arn}\n"));
            }
        }
        let acm_arns = if expected_yaml.is_empty() {
            String::new()
        } else {
            format!("      acm_arn:\n{expected_yaml}")
        };
        let pin = if faults.expect_by_acm {
            String::new()
        } else {
            format!("      sha256: \"{}\"\n", hex::encode(expected.sha256()))
        };
        let config = dir.path().join("edgewatch.yaml");
        let yaml = config_yaml(dns.addr(), port, &ca_file, &format!("{pin}{acm_arns}"));
        let yaml = if acm_endpoint.is_some() {
            format!("acm:\n  enabled: true\n  required: true\n{yaml}")
        } else {
            yaml
        };
        std::fs::write(&config, yaml).expect("write config");
        Stage {
            config,
            _dns: dns,
            _haproxy: haproxy,
            _echo_stop: echo_stop,
            acm_endpoint,
            _dir: dir,
        }
    }

    /// The environment edgewatch needs for this stage: with ACM, the SDK's standard settings
    /// (as on EKS with IRSA) pointing at moto.
    pub fn edgewatch_env(&self) -> Vec<(&'static str, String)> {
        match &self.acm_endpoint {
            Some(endpoint) => vec![
                ("AWS_ENDPOINT_URL_ACM", endpoint.clone()),
                ("AWS_ACCESS_KEY_ID", "testing".into()),
                ("AWS_SECRET_ACCESS_KEY", "testing".into()),
                ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ],
            None => Vec::new(),
        }
    }

    /// Runs `BINARY --once --config FILE --output json`; returns the exit code and report.
    pub async fn run_once(&self, binary: &std::path::Path) -> (i32, serde_json::Value) {
        let mut cmd = tokio::process::Command::new(binary);
        cmd.args(["--once", "--output", "json", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ROLE_ARN")
            .envs(self.edgewatch_env());
        let run = cmd.kill_on_drop(true).output();
        let out = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("edgewatch --once finished within 60 s")
            .expect("run edgewatch");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "edgewatch printed no JSON report ({e}):\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }
}

fn config_yaml(dns: SocketAddr, port: u16, ca: &std::path::Path, expected: &str) -> String {
    format!(
        r#"resolver:
  nameservers: ["{dns}"]
  cache: false
source_ip: {PROBER}
client_ip:
  egress_ip: {PROBER}
tls:
  ca_file: {ca}
cert:
  min_days_left: 14
timeouts:
  connect: 2s
  tls: 3s
  http: 5s
  probe: 15s
targets:
  - name: myapp
    host: {FRIENDLY}
    port: {port}
    lb_hostname: {LB}
    path: /healthz
    expected_cert:
{expected}    backend_identity: "dev/myapp-.*"
"#,
        ca = ca.display()
    )
}

/// What haproxy's `crt` wants: the leaf, its chain and its key in one PEM.
fn bundle(leaf: &Leaf) -> String {
    format!("{}{}{}", leaf.cert_pem(), leaf.chain_pem(), leaf.key_pem())
}

//! Kubernetes Service → [`Target`]s: which Services are probed and what each one promises, read
//! from its type, annotations, ports and load balancer status. Pure: no I/O, no clock. The watch
//! (`discovery::kube`) calls this on every change; the rules are documented in the README's "Kubernetes discovery" section.
//!
//! A malformed annotation never drops a Service: it becomes a `config_problems` entry naming the
//! annotation (the `config` check fails with it) and the Service is probed with what could be
//! understood.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Service, ServicePort};

use super::static_targets::{
    check_acm_arn, check_hostname, check_path, check_tls_policy, parse_client_ip, parse_sha256,
};
use crate::discovery::target::{
    BackendSpec, ExpectedCert, StatusRanges, Target, TargetSource, normalise_hostname,
};

/// `"true"` opts any Service in, `"false"` opts an AWS TLS load balancer out.
pub const ENABLED: &str = "edgewatch.io/enabled";
/// Friendly names to probe (comma-separated); wins over external-dns's annotation.
pub const HOSTNAME: &str = "edgewatch.io/hostname";
/// external-dns's names (comma-separated), used when `edgewatch.io/hostname` is absent.
pub const EXTERNAL_DNS_HOSTNAME: &str = "external-dns.alpha.kubernetes.io/hostname";
/// The AWS Load Balancer Controller's ACM certificate ARN(s) (comma-separated).
pub const SSL_CERT: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
/// The controller's TLS ports (numbers or names, comma-separated).
pub const SSL_PORTS: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports";
/// The controller's ELB security policy for the TLS listener (default `ELBSecurityPolicy-2016-08`).
pub const SSL_POLICY: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy";
/// Ports to probe (numbers or names); wins over `aws-load-balancer-ssl-ports`.
pub const PORTS: &str = "edgewatch.io/ports";
/// Backend request path.
pub const PATH: &str = "edgewatch.io/path";
/// Accepted backend statuses, e.g. `200-299,301`.
pub const EXPECT_STATUS: &str = "edgewatch.io/expect-status";
/// Leaf pins: SHA-256 of the DER, hex, comma-separated (any matches).
pub const EXPECTED_SHA256: &str = "edgewatch.io/expected-sha256";
/// Leaf key pins: SHA-256 of the SubjectPublicKeyInfo, hex, comma-separated.
pub const EXPECTED_SPKI_SHA256: &str = "edgewatch.io/expected-spki-sha256";
/// Probe interval override, e.g. `1m`, `30s`.
pub const INTERVAL: &str = "edgewatch.io/interval";
/// Client-IP mode: `auto` (default), `off`, `echo`, `json_pointer:/origin`, `header:X-Client-IP`.
pub const CLIENT_IP: &str = "edgewatch.io/client-ip";

/// What one Service says, with the problems found while reading it.
struct Reading<'a> {
    svc: &'a Service,
    problems: Vec<String>,
}

impl<'a> Reading<'a> {
    fn annotation(&self, key: &str) -> Option<&'a str> {
        self.svc
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }

    /// The comma-separated, trimmed, non-empty items of an annotation.
    fn list(&self, key: &str) -> Vec<&'a str> {
        self.annotation(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn problem(&mut self, key: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("annotation {key}: {message}"));
    }

    fn is_load_balancer(&self) -> bool {
        self.svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
    }
}

/// The targets a Service asks to be probed, or `None` when the Service is not selected.
///
/// Selected: `type: LoadBalancer` with `aws-load-balancer-ssl-cert` unless
/// `edgewatch.io/enabled: "false"`; any other Service with `edgewatch.io/enabled: "true"`.
/// One target per (friendly name, TLS port), named `namespace/service/host:port`.
pub fn service_to_targets(svc: &Service, defaults: &BackendSpec) -> Option<Vec<Target>> {
    let mut r = Reading {
        svc,
        problems: Vec::new(),
    };
    let has_cert = r.annotation(SSL_CERT).is_some_and(|v| !v.trim().is_empty());
    let aws_tls = r.is_load_balancer() && has_cert;
    match r.annotation(ENABLED).map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "false" => return None,
        Some(v) if v == "true" => {}
        None if aws_tls => {}
        None => return None,
        // A value other than true/false shows intent to be probed: probe and say why it is odd.
        Some(_) => {
            let raw = r.annotation(ENABLED).unwrap_or_default().to_string();
            r.problem(ENABLED, format!("`{raw}` is not \"true\" or \"false\""));
        }
    }
    let namespace = svc
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let service = svc.metadata.name.clone().unwrap_or_default();
    let source = TargetSource::Kubernetes {
        namespace: namespace.as_str().into(),
        service: service.as_str().into(),
    };

    let lb_hostnames = lb_hostnames(svc);
    let not_ready = (r.is_load_balancer() && lb_hostnames.is_empty()).then(|| {
        "load balancer not provisioned yet: the Service's status.loadBalancer.ingress is empty"
            .into()
    });
    let (hosts, notes) = hostnames(&mut r, &lb_hostnames, &namespace, &service);
    let ports = tls_ports(&mut r, has_cert, true);
    let intent = r.is_load_balancer().then(|| {
        // The listeners the controller makes: `ssl-ports` semantics without edgewatch's own
        // `edgewatch.io/ports` choice. Problems found here are not reported twice: the probe
        // ports' reading above reports those that matter to the probe.
        let mut scratch = Reading {
            svc,
            problems: Vec::new(),
        };
        let listener_ports = tls_ports(&mut scratch, has_cert, false);
        let arns = r
            .list(SSL_CERT)
            .into_iter()
            .filter(|a| check_acm_arn(a).is_ok())
            .map(str::to_string)
            .collect();
        lb_intent::read(
            &mut r,
            format!("{namespace}/{service}"),
            listener_ports,
            arns,
        )
    });
    let mut template = template(&mut r, defaults, lb_hostnames, not_ready, notes, source);
    // `tls_policy` (the ssl-negotiation-policy annotation, checked) is read by `template`.
    template.lb_intent = intent.map(Box::new);

    let mut targets = Vec::new();
    for host in &hosts {
        for port in &ports {
            let mut t = template.clone();
            t.hostname = host.clone();
            t.port = *port;
            t.name = format!("{namespace}/{service}/{host}:{port}").into();
            targets.push(t);
        }
    }
    Some(targets)
}

/// Everything but the name and port: expectations and overrides shared by a Service's targets.
fn template(
    r: &mut Reading<'_>,
    defaults: &BackendSpec,
    lb_hostnames: Vec<String>,
    not_ready: Option<Box<str>>,
    notes: Vec<String>,
    source: TargetSource,
) -> Target {
    let mut t = Target::new("", 0, source);
    t.lb_hostnames = lb_hostnames.into();
    t.not_ready = not_ready;
    t.notes = notes.into();
    t.backend = defaults.clone();
    for arn in r.list(SSL_CERT) {
        match check_acm_arn(arn) {
            Ok(()) => t.expected_certs.push(ExpectedCert::AcmArn(arn.to_string())),
            Err(m) => r.problem(SSL_CERT, m),
        }
    }
    for (key, make) in [
        (
            EXPECTED_SHA256,
            ExpectedCert::Sha256 as fn([u8; 32]) -> ExpectedCert,
        ),
        (EXPECTED_SPKI_SHA256, ExpectedCert::SpkiSha256),
    ] {
        for pin in r.list(key) {
            match parse_sha256(pin) {
                Ok(d) => t.expected_certs.push(make(d)),
                Err(m) => r.problem(key, m),
            }
        }
    }
    if let Some(p) = r.annotation(PATH) {
        match check_path(p.trim()) {
            Ok(p) => t.backend.path = p.into(),
            Err(m) => r.problem(PATH, m),
        }
    }
    if let Some(s) = r.annotation(EXPECT_STATUS) {
        match StatusRanges::parse(s) {
            Ok(s) => t.backend.expect_status = s,
            Err(m) => r.problem(EXPECT_STATUS, m),
        }
    }
    if let Some(i) = r.annotation(INTERVAL) {
        match parse_interval(i) {
            Ok(d) => t.interval = Some(d),
            Err(m) => r.problem(INTERVAL, m),
        }
    }
    if let Some(mode) = r.annotation(CLIENT_IP) {
        match parse_client_ip(mode) {
            Ok(c) => t.client_ip = c,
            Err(m) => r.problem(CLIENT_IP, m),
        }
    }
    if let Some(policy) = r.annotation(SSL_POLICY).filter(|p| !p.trim().is_empty()) {
        match check_tls_policy(policy) {
            Ok(p) => t.tls_policy = Some(p.into()),
            Err(m) => r.problem(SSL_POLICY, m),
        }
    }
    t.config_problems = std::mem::take(&mut r.problems).into();
    t
}

/// The config's `interval` range holds here too: a probe at least every day, at most every
/// second (and no instant overflows when the next probe is scheduled).
fn parse_interval(text: &str) -> Result<Duration, String> {
    use crate::config::validate::{duration_range, show};
    let (shortest, longest) = duration_range("interval");
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d < shortest => Err(format!("`{text}` is shorter than {}", show(shortest))),
        Ok(d) if d > longest => Err(format!("`{text}` is longer than {}", show(longest))),
        Ok(d) => Ok(d),
        Err(_) => Err(format!("`{text}` is not a duration (e.g. 30s, 2m)")),
    }
}

/// `status.loadBalancer.ingress[]`: hostnames, then IPs, lowercased, without duplicates.
fn lb_hostnames(svc: &Service) -> Vec<String> {
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    let mut out: Vec<String> = Vec::new();
    for i in ingress.into_iter().flatten() {
        for name in [&i.hostname, &i.ip].into_iter().flatten() {
            let name = normalise_hostname(name.trim());
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The names to probe, and a note when none is a friendly name.
fn hostnames(
    r: &mut Reading<'_>,
    lb_hostnames: &[String],
    namespace: &str,
    service: &str,
) -> (Vec<String>, Vec<String>) {
    let key = if r.annotation(HOSTNAME).is_some() {
        HOSTNAME
    } else {
        EXTERNAL_DNS_HOSTNAME
    };
    let mut hosts: Vec<String> = Vec::new();
    for h in r.list(key) {
        match check_hostname(h) {
            Ok(()) => {
                let h = normalise_hostname(h);
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
            Err(m) => r.problem(key, format!("{m}; that name is not probed")),
        }
    }
    if !hosts.is_empty() {
        return (hosts, Vec::new());
    }
    let why = format!("no friendly name ({HOSTNAME} or {EXTERNAL_DNS_HOSTNAME})");
    if let Some(lb) = lb_hostnames.first() {
        let note = format!(
            "{why}: probing the load balancer hostname itself; `hostname` passes only if the \
             certificate names it"
        );
        (vec![lb.clone()], vec![note])
    } else if r.is_load_balancer() {
        // Not provisioned: the target is reported as such and not probed; name it after the
        // Service until the load balancer's hostname is known.
        (vec![format!("{service}.{namespace}.svc")], vec![why])
    } else {
        let host = format!("{service}.{namespace}.svc");
        let note = format!("{why}: probing the in-cluster name `{host}`");
        (vec![host], vec![note])
    }
}

/// The ports to probe: `edgewatch.io/ports`, else `ssl-ports`, else every TCP port (the
/// controller treats every port as TLS when a certificate is set and `ssl-ports` is absent).
fn tls_ports(r: &mut Reading<'_>, has_cert: bool, honour_ports: bool) -> Vec<u16> {
    let ports: Vec<&ServicePort> = r
        .svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .map(|p| {
            p.iter()
                .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
                .collect()
        })
        .unwrap_or_default();
    let all: Vec<u16> = ports
        .iter()
        .filter_map(|p| u16::try_from(p.port).ok())
        .collect();
    if all.is_empty() {
        r.problems
            .push("the Service has no TCP port; probing port 443".to_string());
        return vec![443];
    }
    let key = if honour_ports && r.annotation(PORTS).is_some() {
        PORTS
    } else if has_cert && r.annotation(SSL_PORTS).is_some() {
        SSL_PORTS
    } else {
        return all;
    };
    let mut chosen: Vec<u16> = Vec::new();
    for entry in r.list(key) {
        // A number matches `port`, anything else a port's `name`; `*` matches nothing (as in the
        // AWS Load Balancer Controller, where it is neither a number nor a name).
        let hit = ports.iter().find(|p| {
            entry.parse::<i32>().ok() == Some(p.port) || p.name.as_deref() == Some(entry)
        });
        match hit.and_then(|p| u16::try_from(p.port).ok()) {
            Some(port) if !chosen.contains(&port) => chosen.push(port),
            Some(_) => {}
            None => r.problem(key, format!("`{entry}` names no TCP port of the Service")),
        }
    }
    if chosen.is_empty() {
        r.problem(
            key,
            "matches no port, so the load balancer has no TLS listener; probing every port",
        );
        return all;
    }
    chosen
}

pub mod lb_intent;
#[cfg(test)]
mod tests;

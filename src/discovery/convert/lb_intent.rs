//! Reads a Service's AWS Load Balancer Controller annotations into an [`LbIntent`]. Pure; a
//! malformed value becomes a config problem naming the annotation, and is left unset.

use super::Reading;
use crate::discovery::lb_intent::LbIntent;

/// `internal` or `internet-facing`.
pub const SCHEME: &str = "service.beta.kubernetes.io/aws-load-balancer-scheme";
/// `ip` or `instance`.
pub const NLB_TARGET_TYPE: &str = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type";
/// e.g. `preserve_client_ip.enabled=true,proxy_protocol_v2.enabled=false`.
pub const TARGET_GROUP_ATTRIBUTES: &str =
    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes";
/// `*`: PROXY protocol v2 on every target group.
pub const PROXY_PROTOCOL: &str = "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol";
/// The listener's ELB security policy.
pub const SSL_NEGOTIATION_POLICY: &str =
    "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy";

/// The intent of a Service whose TLS ports are `tls_ports` and certificates `cert_arns`.
pub(super) fn read(
    r: &mut Reading<'_>,
    stack: String,
    tls_ports: Vec<u16>,
    cert_arns: Vec<String>,
) -> LbIntent {
    let mut intent = LbIntent {
        stack,
        tls_ports,
        cert_arns,
        ..LbIntent::default()
    };
    if let Some(v) = r.annotation(SCHEME).map(str::trim) {
        match v {
            "internal" | "internet-facing" => intent.scheme = Some(v.to_string()),
            _ => r.problem(SCHEME, "must be `internal` or `internet-facing`"),
        }
    }
    if let Some(v) = r.annotation(NLB_TARGET_TYPE).map(str::trim) {
        match v {
            "ip" | "instance" => intent.target_type = Some(v.to_string()),
            _ => r.problem(NLB_TARGET_TYPE, "must be `ip` or `instance`"),
        }
    }
    for pair in r.list(TARGET_GROUP_ATTRIBUTES) {
        let Some((key, value)) = pair.split_once('=') else {
            r.problem(TARGET_GROUP_ATTRIBUTES, "expected key=value pairs");
            continue;
        };
        let slot = match key.trim() {
            "preserve_client_ip.enabled" => &mut intent.preserve_client_ip,
            "proxy_protocol_v2.enabled" => &mut intent.proxy_protocol_v2,
            // Other attributes (deregistration delay, stickiness, ...) are not judged.
            _ => continue,
        };
        match value.trim() {
            "true" => *slot = Some(true),
            "false" => *slot = Some(false),
            _ => r.problem(
                TARGET_GROUP_ATTRIBUTES,
                format!("`{}` must be true or false", key.trim()),
            ),
        }
    }
    // The controller lets the proxy-protocol annotation override the attribute.
    if let Some(v) = r.annotation(PROXY_PROTOCOL).map(str::trim) {
        if v == "*" {
            intent.proxy_protocol_v2 = Some(true);
        } else {
            r.problem(PROXY_PROTOCOL, "the only accepted value is `*`");
        }
    }
    intent
}

//! [`LbIntent`]: what a Service declares about the AWS load balancer behind it, as the AWS Load
//! Balancer Controller reads its annotations. Plain data; the `lb_*` judges compare it with what
//! the AWS APIs say exists.

/// The controller's default scheme when `aws-load-balancer-scheme` is absent.
pub const DEFAULT_SCHEME: &str = "internal";

/// The controller's default listener policy when `aws-load-balancer-ssl-negotiation-policy` is
/// absent (its `--default-ssl-policy`).
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// One Service's declared load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LbIntent {
    /// `<namespace>/<service>`: the value of the controller's `service.k8s.aws/stack` tag.
    pub stack: String,
    /// `aws-load-balancer-scheme` (`internal` or `internet-facing`); `None`: not annotated.
    pub scheme: Option<String>,
    /// The Service's TLS listener ports (`ssl-ports` semantics, as discovery computes them).
    pub tls_ports: Vec<u16>,
    /// `aws-load-balancer-ssl-cert`, in order: the first is the listener's default certificate.
    pub cert_arns: Vec<String>,
    /// `aws-load-balancer-nlb-target-type` (`ip` or `instance`); `None`: not annotated.
    pub target_type: Option<String>,
    /// `preserve_client_ip.enabled` from `target-group-attributes`; `None`: not annotated.
    pub preserve_client_ip: Option<bool>,
    /// PROXY protocol v2 towards the targets: `aws-load-balancer-proxy-protocol: "*"` (which wins)
    /// or `proxy_protocol_v2.enabled` from `target-group-attributes`; `None`: not annotated.
    pub proxy_protocol_v2: Option<bool>,
}

impl LbIntent {
    /// The scheme the load balancer must have (the annotation, else the controller's default).
    pub fn expected_scheme(&self) -> &str {
        self.scheme.as_deref().unwrap_or(DEFAULT_SCHEME)
    }
}

//! The NLB stand-in: haproxy (Debian's `/usr/sbin/haproxy`) terminating TLS on loopback
//! "load balancer" addresses with the test certificate and forwarding to `edgewatch echo`,
//! from its own source address, with or without PROXY protocol v2. Killed when dropped.
//!
//! haproxy runs in HTTP mode so that a dead backend gives a status (503) to assert on; a real
//! NLB is TCP-only and would reset the connection instead (`backend` then fails `closed`).

use std::net::{Ipv4Addr, SocketAddr};

pub use crate::support::haproxy::Haproxy;

/// What the stand-in looks like.
pub struct HaproxyConfig {
    /// Load balancer addresses (one per "availability zone"), all on `port`.
    pub lb_ips: Vec<Ipv4Addr>,
    /// The TLS listener port.
    pub port: u16,
    /// Certificate + chain + key PEM served.
    pub cert_bundle: String,
    /// Where the backend (echo) listens.
    pub backend: SocketAddr,
    /// The address haproxy connects to the backend from (what a lost client IP looks like).
    pub source: Ipv4Addr,
    /// `send-proxy-v2` towards the backend (the target group's `proxy_protocol_v2.enabled`).
    pub proxy_v2: bool,
}

/// What the listener accepts: like an NLB under `ELBSecurityPolicy-TLS13-1-2-Res-2021-06`
/// (TLS 1.2+, AEAD and forward-secret suites only), so `tls_policy` passes by default.
const RES_POLICY: &str = " ssl-min-ver TLSv1.2 \
    ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384 \
    ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// The configuration text, with the certificate at `cert_path`.
pub fn config_text(c: &HaproxyConfig, cert_path: &str) -> String {
    let binds: String = c
        .lb_ips
        .iter()
        .map(|ip| format!("  bind {ip}:{} ssl crt {cert_path}{RES_POLICY}\n", c.port))
        .collect();
    let proxy = if c.proxy_v2 { " send-proxy-v2" } else { "" };
    format!(
        "global\n  nbthread 1\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n  retries 1\n\
         frontend nlb\n{binds}  default_backend targets\n\
         backend targets\n  http-reuse never\n  server echo {backend} source {source}{proxy}\n",
        backend = c.backend,
        source = c.source,
    )
}

/// Starts the stand-in and waits until every load balancer address accepts.
pub fn start(c: &HaproxyConfig) -> Haproxy {
    let listeners: Vec<SocketAddr> = c
        .lb_ips
        .iter()
        .map(|ip| SocketAddr::from((*ip, c.port)))
        .collect();
    Haproxy::run(&c.cert_bundle, |cert| config_text(c, cert), &listeners)
}

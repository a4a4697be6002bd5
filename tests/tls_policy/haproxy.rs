//! haproxy terminating TLS the way an ELB security policy does, set through haproxy's global
//! `ssl-default-bind-ciphers`, `ssl-default-bind-ciphersuites` and `ssl-default-bind-options
//! ssl-min-ver/ssl-max-ver` (what an operator copying a policy into haproxy writes). One process
//! per policy, since those settings are global. Answers every request with 200 itself (no
//! backend). Killed when dropped; fails loudly (naming the tool) when haproxy is missing.

use std::net::SocketAddr;

use crate::support::haproxy::Haproxy;
use crate::support::pki::Leaf;

/// `ELBSecurityPolicy-TLS13-1-2-2021-06`: TLS 1.2 and 1.3; its TLS 1.2 suites in OpenSSL's names.
pub const TLS13_1_2_2021_06: Policy = Policy {
    min: "TLSv1.2",
    max: "TLSv1.3",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384",
};

/// `ELBSecurityPolicy-2016-08`: TLS 1.0 to 1.2, CBC and RSA key exchange included; OpenSSL 3
/// needs `@SECLEVEL=0` to speak TLS 1.0/1.1 at all.
pub const LEGACY_2016_08: Policy = Policy {
    min: "TLSv1.0",
    max: "TLSv1.2",
    ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:\
ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256:\
AES128-SHA256:AES128-SHA:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA:@SECLEVEL=0",
};

/// The three TLS 1.3 suites every TLS13 policy has (haproxy's `ciphersuites`).
const TLS13_SUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Versions and suites of one policy, as haproxy's global bind defaults.
pub struct Policy {
    /// `ssl-min-ver`.
    pub min: &'static str,
    /// `ssl-max-ver`.
    pub max: &'static str,
    /// `ssl-default-bind-ciphers` (TLS 1.2 and below).
    pub ciphers: &'static str,
}

/// The configuration text for `policy`, serving the bundle at `cert` on `addr`.
pub fn config_text(policy: &Policy, addr: SocketAddr, cert: &str) -> String {
    format!(
        "global\n  nbthread 1\n  ssl-default-bind-ciphers {ciphers}\n  \
         ssl-default-bind-ciphersuites {TLS13_SUITES}\n  \
         ssl-default-bind-options ssl-min-ver {min} ssl-max-ver {max}\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         frontend policy\n  bind {addr} ssl crt {cert}\n  \
         http-request return status 200 content-type text/plain string ok\n",
        ciphers = policy.ciphers,
        min = policy.min,
        max = policy.max,
    )
}

/// Serves `leaf` on `addr` under `policy`; waits until it listens.
pub fn start(policy: &Policy, addr: SocketAddr, leaf: &Leaf) -> Haproxy {
    let bundle = format!("{}{}{}", leaf.cert_pem(), leaf.chain_pem(), leaf.key_pem());
    Haproxy::run(&bundle, |cert| config_text(policy, addr, cert), &[addr])
}

//! The JSON document `edgewatch echo` answers with: part of the probe's contract with its
//! backend, like the headers in `http`. `edgewatch echo` writes it and the `client_ip` /
//! `backend_identity` judges read it, so the two cannot drift apart.

use serde::{Deserialize, Serialize};

/// What the echo server saw of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoResponse {
    /// The client IP the server believes: the PROXY header's source when there is one, else
    /// the TCP peer.
    pub client_ip: String,
    /// The TCP peer (`ip:port`): the load balancer's address when it does not preserve the
    /// client's.
    #[serde(default)]
    pub tcp_peer: String,
    /// The PROXY protocol header, when one arrived.
    #[serde(default)]
    pub proxy: Option<ProxyInfo>,
    /// `X-Forwarded-For`, as received.
    #[serde(default)]
    pub x_forwarded_for: Option<String>,
    /// `X-Real-IP`, as received.
    #[serde(default)]
    pub x_real_ip: Option<String>,
    /// `Forwarded` (RFC 7239), as received.
    #[serde(default)]
    pub forwarded: Option<String>,
    /// The request's `x-edgewatch-nonce`, echoed back.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Who answered: `--identity`, or `POD_NAMESPACE/POD_NAME` from the downward API.
    #[serde(default)]
    pub identity: Option<String>,
    /// The request's `Host`.
    #[serde(default)]
    pub host: Option<String>,
    /// The request path (and query).
    #[serde(default)]
    pub path: String,
}

/// The PROXY header as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// 1 or 2.
    pub version: u8,
    /// `proxy` or `local`.
    pub command: String,
    /// The client's address per the header.
    #[serde(default)]
    pub source: Option<String>,
    /// The address the client connected to.
    #[serde(default)]
    pub destination: Option<String>,
    /// AWS VPC endpoint id (PrivateLink), when the TLV was present.
    #[serde(default)]
    pub vpce_id: Option<String>,
    /// Whether a CRC32C TLV was present and matched.
    #[serde(default)]
    pub crc32c_verified: bool,
    /// Further headers that followed the first: they were sent by something beyond the load
    /// balancer (NLBs do not strip a client's header), so they are reported, never trusted.
    #[serde(default)]
    pub stacked: Vec<ProxyInfo>,
}

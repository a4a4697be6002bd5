//! How `edgewatch echo` reports a PROXY header in its answer (the answer's shape is the probe's
//! `probe::echo_reply`).

use super::proxy_protocol::{Command, ProxyHeader};
use crate::probe::echo_reply::ProxyInfo;

/// The report form of a parsed header.
pub fn proxy_info(h: &ProxyHeader) -> ProxyInfo {
    ProxyInfo {
        version: h.version,
        command: match h.command {
            Command::Proxy => "proxy",
            Command::Local => "local",
        }
        .to_string(),
        source: h.source.map(|s| s.to_string()),
        destination: h.destination.map(|s| s.to_string()),
        vpce_id: h.vpce_id.clone(),
        crc32c_verified: h.crc32c_verified,
        stacked: Vec::new(),
    }
}

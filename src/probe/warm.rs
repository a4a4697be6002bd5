//! Startup work done once when a [`super::Prober`] is built, so that the first probe does none
//! of it: one full TLS handshake in memory, with the probes' own client config, against a
//! throwaway server (a fresh self-signed ECDSA P-256 certificate). It runs every code path a
//! probe's handshake runs for the first time in the process (the crypto library's one-time
//! initialisation and CPU feature detection, key generation and exchange, the handshake
//! signature check, record encryption) and parses that certificate as the judges and the report
//! do (x509-parser's tables).
//!
//! Without it that work landed on the probing thread inside the first probes' timed phases: the
//! first TLS handshake took tens of milliseconds, and every other probe in flight waited behind
//! it, so the first batch's `connect_ms` read 40-170 ms on loopback where later ones read < 1 ms.
//! Nothing here touches the network; a failure only means the first probe pays (logged).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

/// The name the throwaway certificate is for (a reserved TLD: never resolvable).
const NAME: &str = "warm-up.invalid";
/// Flights a TLS 1.2 or 1.3 handshake needs, with room to spare.
const MAX_ROUNDS: usize = 10;

/// Why the warm-up handshake could not be done (a bug or an unusual client config).
#[derive(Debug, thiserror::Error)]
pub enum WarmUpError {
    /// rcgen could not make the throwaway certificate.
    #[error("cannot make the warm-up certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the configs or the handshake.
    #[error("warm-up handshake: {0}")]
    Tls(#[from] rustls::Error),
    /// Moving bytes between the two ends failed (never expected: they are in memory).
    #[error("warm-up handshake I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake did not finish within the expected number of flights.
    #[error("warm-up handshake did not finish")]
    Unfinished,
}

impl WarmUpError {
    /// Stable short name for logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            WarmUpError::Certificate(_) => "certificate",
            WarmUpError::Tls(_) => "tls",
            WarmUpError::Io(_) => "io",
            WarmUpError::Unfinished => "unfinished",
        }
    }
}

/// Does the startup work with `client` (the config every probe uses); logs instead of failing.
pub fn warm_up(client: &Arc<ClientConfig>) {
    match handshake_in_memory(client) {
        Ok(version) => tracing::debug!(version, "TLS warm-up handshake done"),
        Err(e) => tracing::warn!(
            kind = e.as_str(),
            error = %e,
            "TLS warm-up handshake failed; the first probe does the startup work"
        ),
    }
}

/// One handshake of `client` against an in-memory server; returns the negotiated version.
pub fn handshake_in_memory(client: &Arc<ClientConfig>) -> Result<String, WarmUpError> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec![NAME.to_string()])?.self_signed(&key)?;
    let der: CertificateDer<'static> = cert.der().clone();
    // What the judges and the report run on every leaf.
    let _ = super::certinfo::parse(&der);
    let server_config = ServerConfig::builder_with_provider(client.crypto_provider().clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![der],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    let mut server = ServerConnection::new(Arc::new(server_config))?;
    let name = ServerName::try_from(NAME).map_err(|_| WarmUpError::Unfinished)?;
    let mut client = ClientConnection::new(client.clone(), name)?;
    let mut wire = Vec::new();
    for _ in 0..MAX_ROUNDS {
        wire.clear();
        while client.wants_write() {
            client.write_tls(&mut wire)?;
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd)?;
            server.process_new_packets()?;
        }
        wire.clear();
        while server.wants_write() {
            server.write_tls(&mut wire)?;
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd)?;
            client.process_new_packets()?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            let version = client
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("?");
            return Ok(version.to_string());
        }
    }
    Err(WarmUpError::Unfinished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probes_client_config_completes_a_handshake_in_memory() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = super::super::tls::client_config(provider).unwrap();
        let version = handshake_in_memory(&config).unwrap();
        assert_eq!(version, "TLSv1_3");
    }
}

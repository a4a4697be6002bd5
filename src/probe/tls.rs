//! TLS: a rustls handshake with SNI = the friendly name, keeping the chain the server presents
//! whatever it is. The certificate verifier here accepts any chain (while still checking the
//! handshake signatures, so the peer proves it holds the leaf's key): the chain is judged later,
//! by `checks::chain`, with an injected clock, so a bad chain becomes a named check result
//! instead of an opaque handshake error.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ProtocolVersion, SignatureScheme};
use serde::Serialize;
use tokio::net::TcpStream;

use super::certinfo::CertFacts;
use super::served_chains::{ServedChains, SharedChain};
use super::tls_scan::TlsProtocol;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// What the handshake showed.
#[derive(Debug, Clone, Serialize)]
pub struct TlsObservation {
    /// Negotiated protocol, e.g. `TLSv1.3` (absent when the handshake failed).
    /// Borrowed for every version and suite rustls names: no string per probe (nor per copy
    /// the status page and the metrics keep).
    pub version: Option<Cow<'static, str>>,
    /// Negotiated cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: Option<Cow<'static, str>>,
    /// The chain as presented, leaf first (DER). Empty when the handshake failed early.
    /// Shared: every probe of every target served the same chain holds one copy (see
    /// [`super::served_chains`]).
    #[serde(skip)]
    pub chain: Arc<[CertificateDer<'static>]>,
    /// The leaf (`chain[0]`) parsed once, here, for every judge and exporter; `Err` says why it
    /// is not a certificate. `None` when no certificate was presented.
    #[serde(skip)]
    pub leaf: Option<ParsedLeaf>,
    /// The rest of the chain parsed on first use, once for every observation sharing the chain
    /// (only reports show it; see [`TlsObservation::issuer_facts`]). `None`: not shared.
    #[serde(skip)]
    pub issuers: Option<Arc<IssuerFacts>>,
    /// Why the handshake failed, when it did.
    pub failure: Option<TlsFailure>,
    /// Handshake time.
    #[serde(
        rename = "duration_ms",
        serialize_with = "crate::timefmt::serialize_ms"
    )]
    pub duration: Duration,
}

/// A leaf certificate parsed once, shared by every observation of it; `Err` says why it is not
/// a certificate.
pub type ParsedLeaf = Arc<Result<CertFacts, String>>;

/// The certificates after a chain's leaf, parsed when a report first asks: a `--once --output
/// json` over 10,000 targets behind one listener parsed its intermediate 10,000 times, once per
/// target, and `/status.json` did on every request.
#[derive(Debug, Default)]
pub struct IssuerFacts(std::sync::OnceLock<Box<[Result<CertFacts, String>]>>);

impl TlsObservation {
    /// What is known before the handshake: nothing yet.
    pub fn before_handshake() -> Self {
        TlsObservation {
            version: None,
            cipher: None,
            chain: Arc::from([]),
            leaf: None,
            issuers: None,
            failure: None,
            duration: Duration::ZERO,
        }
    }

    /// Records the chain as presented and parses its leaf (no sharing: for observations built
    /// outside a prober; the prober records through [`ServedChains`]).
    pub fn record_chain(&mut self, chain: Vec<CertificateDer<'static>>) {
        self.record_shared(SharedChain::new(&chain));
    }

    /// Records a chain already shared and parsed.
    pub fn record_shared(&mut self, shared: SharedChain) {
        self.leaf = shared.leaf;
        self.chain = shared.chain;
        self.issuers = Some(shared.issuers);
    }

    /// Every certificate after the leaf, parsed (`Err`: why it is not a certificate): from the
    /// shared chain's facts when the chain is shared, else parsed now.
    pub fn issuer_facts(&self) -> Cow<'_, [Result<CertFacts, String>]> {
        let parse = || -> Box<[_]> {
            self.chain
                .iter()
                .skip(1)
                .map(super::certinfo::parse)
                .collect()
        };
        match &self.issuers {
            Some(facts) => Cow::Borrowed(&**facts.0.get_or_init(parse)),
            None => Cow::Owned(parse().into_vec()),
        }
    }

    /// The parsed leaf, when one was presented and parses.
    pub fn leaf_facts(&self) -> Option<&CertFacts> {
        self.leaf.as_deref().and_then(|l| l.as_ref().ok())
    }
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum TlsFailure {
    /// The server sent a TLS alert.
    #[error("server sent TLS alert {0}")]
    Alert(Box<str>),
    /// The connection was reset or closed mid-handshake.
    #[error("connection closed during the handshake: {0}")]
    Reset(Box<str>),
    /// The server sent something that is not TLS, or broke the protocol.
    #[error("TLS protocol error (not a TLS server?): {0}")]
    Protocol(Box<str>),
    /// No common protocol version or cipher suite.
    #[error("no common TLS version or cipher suite: {0}")]
    Incompatible(Box<str>),
    /// The handshake did not finish within the TLS timeout.
    #[error("TLS handshake timed out after {0:?}")]
    Timeout(#[serde(serialize_with = "crate::timefmt::serialize_timeout_ms")] Duration),
    /// The probe's overall deadline passed.
    #[error("probe deadline exceeded during the TLS handshake")]
    Deadline,
    /// The friendly name cannot be sent as SNI.
    #[error("`{0}` is not a valid TLS server name")]
    BadServerName(Box<str>),
    /// Anything else.
    #[error("TLS handshake failed: {0}")]
    Other(Box<str>),
}

impl TlsFailure {
    /// Stable short name for metric labels and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            TlsFailure::Alert(_) => "alert",
            TlsFailure::Reset(_) => "reset",
            TlsFailure::Protocol(_) => "protocol_error",
            TlsFailure::Incompatible(_) => "incompatible",
            TlsFailure::Timeout(_) => "timeout",
            TlsFailure::Deadline => "deadline_exceeded",
            TlsFailure::BadServerName(_) => "bad_server_name",
            TlsFailure::Other(_) => "error",
        }
    }

    fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        if let Some(tls) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            return match tls {
                rustls::Error::AlertReceived(alert) => {
                    TlsFailure::Alert(format!("{alert:?}").into())
                }
                rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                    TlsFailure::Protocol(tls.to_string().into())
                }
                rustls::Error::InappropriateHandshakeMessage { .. } => {
                    TlsFailure::Protocol(tls.to_string().into())
                }
                rustls::Error::PeerIncompatible(_) => {
                    TlsFailure::Incompatible(tls.to_string().into())
                }
                rustls::Error::PeerMisbehaved(_) => TlsFailure::Protocol(tls.to_string().into()),
                other => TlsFailure::Other(other.to_string().into()),
            };
        }
        match err.kind() {
            ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => {
                TlsFailure::Reset(err.to_string().into())
            }
            ErrorKind::InvalidData => TlsFailure::Protocol(err.to_string().into()),
            _ => TlsFailure::Other(err.to_string().into()),
        }
    }
}

/// The one client config shared by every probe: TLS 1.2 and 1.3, ALPN `http/1.1`, and no
/// session resumption (a resumed TLS 1.3 session would not show the chain).
pub fn client_config(provider: Arc<CryptoProvider>) -> Result<Arc<ClientConfig>, rustls::Error> {
    let verifier = Arc::new(RecordingVerifier {
        provider: provider.clone(),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Performs the handshake on an open TCP stream. Returns the observation, and the stream when
/// the handshake succeeded (the HTTP request goes over it).
pub async fn handshake(
    connector: &TlsConnector,
    tcp: TcpStream,
    server_name: &str,
    timeout: Duration,
    chains: &ServedChains,
) -> (TlsObservation, Option<TlsStream<TcpStream>>) {
    let started = Instant::now();
    let mut obs = TlsObservation::before_handshake();
    let name = match ServerName::try_from(server_name.to_string()) {
        Ok(n) => n,
        Err(_) => {
            obs.failure = Some(TlsFailure::BadServerName(server_name.to_string().into()));
            return (obs, None);
        }
    };
    let result = tokio::time::timeout(timeout, connector.connect(name, tcp)).await;
    obs.duration = started.elapsed();
    match result {
        Err(_) => {
            obs.failure = Some(TlsFailure::Timeout(timeout));
            (obs, None)
        }
        Ok(Err(err)) => {
            obs.failure = Some(TlsFailure::from_io(&err));
            (obs, None)
        }
        Ok(Ok(stream)) => {
            let (_, conn) = stream.get_ref();
            obs.version = conn.protocol_version().map(version_name);
            obs.cipher = conn
                .negotiated_cipher_suite()
                .map(|s| match s.suite().as_str() {
                    Some(name) => Cow::Borrowed(name),
                    None => Cow::Owned(format!("{:?}", s.suite())),
                });
            obs.record_shared(chains.intern(conn.peer_certificates().unwrap_or_default()));
            (obs, Some(stream))
        }
    }
}

/// Accepts any certificate chain (it is judged later) but verifies handshake signatures.
#[derive(Debug)]
struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A protocol version as reports spell it: `TLSv1.3` (rustls says `TLSv1_3`), the TLS scan's
/// own names for the four TLS versions.
fn version_name(v: ProtocolVersion) -> Cow<'static, str> {
    if let Some(known) = TlsProtocol::from_wire(u16::from(v)) {
        return Cow::Borrowed(known.as_str());
    }
    Cow::Owned(match v.as_str() {
        Some(name) => name.replace('_', "."),
        None => format!("{v:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_spelt_with_a_dot_and_the_usual_ones_borrowed() {
        let v13 = version_name(ProtocolVersion::TLSv1_3);
        assert_eq!(v13, "TLSv1.3");
        assert!(matches!(v13, Cow::Borrowed(_)));
        assert_eq!(version_name(ProtocolVersion::TLSv1_2), "TLSv1.2");
        assert_eq!(version_name(ProtocolVersion::TLSv1_0), "TLSv1.0");
        assert_eq!(
            version_name(ProtocolVersion::Unknown(0x7f1c)),
            "ProtocolVersion(0x7f1c)"
        );
    }
}

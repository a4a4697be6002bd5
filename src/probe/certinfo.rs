//! Facts about one certificate, read with x509-parser: names, serial, validity, fingerprints.
//! The probe parses the served leaf once per handshake (`TlsObservation::leaf`); the judges
//! (messages, expiry, expected-certificate matching, the key type) and the exporters (metrics,
//! report, status page) read those facts instead of parsing the DER again.

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    /// Subject DN, RFC 4514 style.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial as lowercase hex, no separators, no leading zeros.
    pub serial: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex.
    pub spki_sha256: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// DNS names in the SAN extension.
    pub dns_names: Vec<String>,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
    /// The issuer's name as DER (tells a missing intermediate from an unknown root). Not in JSON.
    #[serde(skip)]
    pub issuer_der: Vec<u8>,
    /// The SubjectPublicKeyInfo algorithm OID, dotted (`1.2.840.10045.2.1` is EC). Not in JSON.
    #[serde(skip)]
    pub key_algorithm: String,
}

impl CertFacts {
    /// Whether subject and issuer are the same name (a self-issued certificate).
    pub fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// SHA-256 of `der`.
pub fn sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Parses `der`, or says why it is not a certificate.
pub fn parse(der: &CertificateDer<'_>) -> Result<CertFacts, String> {
    let (_, cert) = X509Certificate::from_der(der.as_ref())
        .map_err(|e| format!("malformed certificate: {e}"))?;
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: serial_hex(cert.raw_serial()),
        sha256: hex::encode(sha256(der.as_ref())),
        spki_sha256: hex::encode(sha256(cert.public_key().raw)),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names,
        is_ca: cert.is_ca(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        key_algorithm: cert.public_key().algorithm.algorithm.to_id_string(),
    })
}

/// (notBefore, notAfter) of `der`, Unix seconds: [`parse`] without the names and digests, for
/// the verified-chain memo (which reads every certificate of a chain the first time it verifies).
pub fn validity(der: &CertificateDer<'_>) -> Option<(i64, i64)> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let v = cert.validity();
    Some((v.not_before.timestamp(), v.not_after.timestamp()))
}

/// Lowercase hex of a serial's bytes without leading zero bytes or nibbles.
pub fn serial_hex(raw: &[u8]) -> String {
    let hex = hex::encode(raw);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::target::normalise_serial;

    #[test]
    fn serials_normalise_to_one_form() {
        assert_eq!(serial_hex(&[0x00, 0x0a, 0xbc]), "abc");
        assert_eq!(normalise_serial("00:0A:BC").as_deref(), Some("abc"));
        assert_eq!(normalise_serial("0x0abc").as_deref(), Some("abc"));
        assert_eq!(normalise_serial("xyz"), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let err = parse(&CertificateDer::from(vec![1, 2, 3])).unwrap_err();
        assert!(err.starts_with("malformed certificate"), "{err}");
    }
}

//! The stand-ins' certificates (rcgen, generated per run, never committed): one CA the prober
//! trusts (`tls.ca_file`) and leaves for the friendly name. The shared test PKI
//! (`tests/support/pki.rs`) replaces this once it lands on main.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// A CA that signs the leaves.
pub struct Ca {
    /// PEM of the CA certificate.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate for haproxy's `crt` (certificate, chain and key in one PEM).
#[derive(Clone)]
pub struct Leaf {
    /// Certificate + CA + key, as haproxy wants it.
    pub bundle_pem: String,
    /// SHA-256 of the leaf's DER, hex (the `expected_cert.sha256` pin).
    pub sha256: String,
    /// The leaf alone (PEM), for an ACM import.
    pub cert_pem: String,
    /// The leaf's key (PEM), for an ACM import.
    pub key_pem: String,
}

impl Ca {
    /// A fresh CA valid for ten years.
    pub fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "edgewatch NLB stand-in CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = OffsetDateTime::now_utc() - Duration::days(30);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-sign CA");
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `name`, valid from a day ago for `days` more days.
    pub fn leaf(&self, name: &str, days: i64) -> Leaf {
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(days);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            bundle_pem: format!("{}{}{}", cert.pem(), self.pem, key.serialize_pem()),
            sha256: hex::encode(Sha256::digest(cert.der())),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

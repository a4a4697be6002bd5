//! The demo's throwaway PKI, made in memory at start (no key ever touches the disk): a root that
//! the demo's daemon trusts, an intermediate it signed, and one leaf per demo endpoint.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, TrustAnchor};

const DAY: u64 = 86_400;

/// Why the demo PKI could not be made (rcgen refused; not expected on any supported platform).
#[derive(Debug, thiserror::Error)]
#[error("cannot make the demo certificates: {0}")]
pub struct PkiError(#[from] rcgen::Error);

/// A certificate authority that can sign.
struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// What a server sends (leaf first) and its private key.
pub struct ServedCert {
    /// The chain sent in the handshake, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8 DER).
    key_der: Vec<u8>,
}

impl ServedCert {
    /// A fresh copy of the private key for a rustls server config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// The demo PKI: a root (the one trust anchor added to Mozilla's) and an intermediate.
pub struct DemoPki {
    root: Ca,
    intermediate: Ca,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl DemoPki {
    /// Generates the root and the intermediate (a few milliseconds).
    pub fn new() -> Result<Self, PkiError> {
        let root = ca("edgewatch demo root", None)?;
        let intermediate = ca("edgewatch demo intermediate", Some(&root))?;
        Ok(DemoPki { root, intermediate })
    }

    /// The root as a trust anchor (what `--ca-file` would give the daemon).
    pub fn anchor(&self) -> TrustAnchor<'static> {
        webpki::anchor_from_trusted_cert(&self.root.der)
            .map(|a| a.to_owned())
            .expect("a freshly made CA certificate is a valid anchor")
    }

    /// A leaf for `names` valid `days_left` more days (and a few hours), signed by the
    /// intermediate; the intermediate is sent with it unless `send_intermediate` is false.
    pub fn leaf(
        &self,
        names: &[&str],
        days_left: u64,
        send_intermediate: bool,
    ) -> Result<ServedCert, PkiError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = now_secs();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + Duration::from_secs(now - DAY);
        params.not_after = epoch + Duration::from_secs(now + days_left * DAY + 6 * 3600);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.intermediate.issuer)?;
        let mut chain = vec![cert.der().clone()];
        if send_intermediate {
            chain.push(self.intermediate.der.clone());
        }
        Ok(ServedCert {
            chain,
            key_der: key.serialize_der(),
        })
    }
}

fn ca(name: &str, parent: Option<&Ca>) -> Result<Ca, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "edgewatch demo (throwaway)");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = now_secs();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(now - DAY);
    params.not_after = epoch + Duration::from_secs(now + 30 * DAY);
    let key = KeyPair::generate()?;
    let cert = match parent {
        Some(p) => params.signed_by(&key, &p.issuer)?,
        None => params.self_signed(&key)?,
    };
    Ok(Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    })
}

//! A throw-away test PKI, generated with rcgen at test time (no key is ever committed): a trusted
//! root, an intermediate signed by it, a second root that is never trusted (with its own
//! intermediate), and ECDSA P-256 leaves for every chain defect edgewatch must name.
//!
//! What it owns: building certificates and handing them out as DER (for rustls servers) or PEM
//! (for `tls.ca_file` and for ACM imports). It does not serve anything.

use std::io::Write;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// One certificate authority: its certificate and what it takes to sign with it.
pub struct Ca {
    /// The CA certificate (DER).
    pub der: CertificateDer<'static>,
    /// The CA certificate (PEM).
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(common_name: &str, parent: Option<&Ca>) -> Ca {
        Ca::with_validity(common_name, parent, -365, 3650)
    }

    fn with_validity(
        common_name: &str,
        parent: Option<&Ca>,
        from_days: i64,
        until_days: i64,
    ) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "edgewatch tests");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = OffsetDateTime::now_utc() + Duration::days(from_days);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(until_days);
        let key = KeyPair::generate().expect("CA key");
        let cert = match parent {
            Some(parent) => params.signed_by(&key, &parent.issuer),
            None => params.self_signed(&key),
        }
        .expect("sign CA");
        Ca {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }
}

/// A leaf certificate with the chain a server sends and the server's private key.
#[derive(Clone)]
pub struct Leaf {
    /// What the server sends, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8 DER).
    key_der: Vec<u8>,
    /// The leaf's private key (PKCS#8 PEM).
    key_pem: String,
    /// The leaf (PEM).
    cert_pem: String,
    /// The rest of the chain sent (PEM, concatenated; empty for a lone leaf).
    chain_pem: String,
}

impl Leaf {
    /// The leaf certificate (DER).
    pub fn leaf_der(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// A fresh copy of the private key for a rustls server config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// SHA-256 of the leaf's DER (what `ExpectedCert::Sha256` pins).
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.chain[0].as_ref()).into()
    }

    /// The leaf as PEM (ACM `ImportCertificate --certificate`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificates sent after the leaf as PEM (ACM `--certificate-chain`); may be empty.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The private key as PKCS#8 PEM (ACM `--private-key`).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

/// The whole test PKI. Only `root` is trusted (see [`Pki::write_root_pem`]).
pub struct Pki {
    /// The trusted root.
    pub root: Ca,
    /// An intermediate signed by `root`; good leaves are signed by it.
    pub intermediate: Ca,
    /// A root nobody trusts.
    pub rogue_root: Ca,
    /// An intermediate signed by `rogue_root`.
    pub rogue_intermediate: Ca,
}

/// How long a leaf is valid, relative to now.
struct Validity {
    from_days: i64,
    until_days: i64,
}

const NORMAL: Validity = Validity {
    from_days: -10,
    until_days: 90,
};

impl Pki {
    /// Generates a fresh PKI (a few milliseconds).
    pub fn new() -> Pki {
        let root = Ca::new("edgewatch test root", None);
        let intermediate = Ca::new("edgewatch test intermediate", Some(&root));
        let rogue_root = Ca::new("edgewatch rogue root", None);
        let rogue_intermediate = Ca::new("edgewatch rogue intermediate", Some(&rogue_root));
        Pki {
            root,
            intermediate,
            rogue_root,
            rogue_intermediate,
        }
    }

    /// Writes the trusted root as PEM to a temporary file (for `tls.ca_file`); the file is
    /// deleted when the returned handle is dropped.
    pub fn write_root_pem(&self) -> tempfile::NamedTempFile {
        self.write_root_pem_in(&std::env::temp_dir())
    }

    /// [`Pki::write_root_pem`] in `dir`: for a file held by a `static`, which is never dropped,
    /// pass `env!("CARGO_TARGET_TMPDIR")` so the leftover lands in cargo's scratch space.
    pub fn write_root_pem_in(&self, dir: &std::path::Path) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .prefix("edgewatch-test-root-")
            .suffix(".pem")
            .tempfile_in(dir)
            .expect("temp file");
        file.write_all(self.root.pem.as_bytes()).expect("write CA");
        file.flush().expect("flush CA");
        file
    }

    /// A good leaf for `names`, sent with the intermediate. Names are DNS names (`*.x` wildcards
    /// allowed) or IP addresses (`127.0.0.1` becomes an IP SAN).
    pub fn good(&self, names: &[&str]) -> Leaf {
        issue(names, NORMAL, &self.intermediate, true)
    }

    /// A good leaf for `names` whose subject common name is `common_name`, whatever it says
    /// (e.g. markup, to prove a page shows it as text).
    pub fn good_with_common_name(&self, common_name: &str, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = leaf_params(names, NORMAL);
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let cert = params
            .signed_by(&key, &self.intermediate.issuer)
            .expect("sign leaf");
        Leaf {
            chain: vec![cert.der().clone(), self.intermediate.der.clone()],
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
            cert_pem: cert.pem(),
            chain_pem: self.intermediate.pem.clone(),
        }
    }

    /// A leaf for `name` that expired yesterday.
    pub fn expired(&self, name: &str) -> Leaf {
        let v = Validity {
            from_days: -100,
            until_days: -1,
        };
        issue(&[name], v, &self.intermediate, true)
    }

    /// A leaf for `name` that becomes valid in ten days.
    pub fn not_yet_valid(&self, name: &str) -> Leaf {
        let v = Validity {
            from_days: 10,
            until_days: 100,
        };
        issue(&[name], v, &self.intermediate, true)
    }

    /// A valid leaf for `name` that expires in `days` days (and a few hours).
    pub fn expiring_in(&self, name: &str, days: i64) -> Leaf {
        let v = Validity {
            from_days: -10,
            until_days: days,
        };
        issue(&[name], v, &self.intermediate, true)
    }

    /// A good chain whose leaf names only `other.example.test`.
    pub fn wrong_name(&self) -> Leaf {
        self.good(&["other.example.test"])
    }

    /// A self-signed leaf for `name` (no issuer at all).
    pub fn self_signed(&self, name: &str) -> Leaf {
        self_signed_leaf(name, NORMAL)
    }

    /// A self-signed leaf for `name` with `days` days left.
    pub fn self_signed_expiring_in(&self, name: &str, days: i64) -> Leaf {
        self_signed_leaf(
            name,
            Validity {
                from_days: -10,
                until_days: days,
            },
        )
    }

    /// A leaf for `name` from the untrusted root, sent with that root's intermediate.
    pub fn unknown_root(&self, name: &str) -> Leaf {
        issue(&[name], NORMAL, &self.rogue_intermediate, true)
    }

    /// A leaf for `name` signed by the trusted intermediate, sent WITHOUT the intermediate.
    pub fn missing_intermediate(&self, name: &str) -> Leaf {
        issue(&[name], NORMAL, &self.intermediate, false)
    }

    /// A valid leaf for `name` sent with (and signed by) an intermediate of the trusted root
    /// that expired yesterday.
    pub fn expired_intermediate(&self, name: &str) -> Leaf {
        let stale = Ca::with_validity("edgewatch expired intermediate", Some(&self.root), -400, -1);
        issue(&[name], NORMAL, &stale, true)
    }

    /// A good leaf for `name` followed by `count` copies of the intermediate: a certificate
    /// message far beyond what a client accepts (rustls caps a handshake message at 64 KiB).
    pub fn huge_chain(&self, name: &str, count: usize) -> Leaf {
        let mut leaf = self.good(&[name]);
        let filler = self.intermediate.der.clone();
        leaf.chain.extend(std::iter::repeat_n(filler, count));
        leaf
    }
}

fn leaf_params(names: &[&str], validity: Validity) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("leaf params");
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now + Duration::days(validity.from_days);
    params.not_after = now + Duration::days(validity.until_days) + Duration::hours(6);
    params
}

fn issue(names: &[&str], validity: Validity, ca: &Ca, send_ca: bool) -> Leaf {
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf_params(names, validity)
        .signed_by(&key, &ca.issuer)
        .expect("sign leaf");
    let mut chain = vec![cert.der().clone()];
    let mut chain_pem = String::new();
    if send_ca {
        chain.push(ca.der.clone());
        chain_pem.push_str(&ca.pem);
    }
    Leaf {
        chain,
        key_der: key.serialize_der(),
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
        chain_pem,
    }
}

fn self_signed_leaf(name: &str, validity: Validity) -> Leaf {
    let key = KeyPair::generate().expect("leaf key");
    let params = leaf_params(&[name], validity);
    let cert = params.self_signed(&key).expect("self-sign leaf");
    Leaf {
        chain: vec![cert.der().clone()],
        key_der: key.serialize_der(),
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
        chain_pem: String::new(),
    }
}

//! The benchmark's PKI: a realistic ECDSA P-256 chain (root -> intermediate -> leaf) made with
//! rcgen, the leaf valid for `bench.test` and `*.bench.test`, written as PEM files that every
//! tool under test reads (edgewatch `tls.ca_file`, blackbox_exporter `tls_config.ca_file`, the
//! floor client's root store) and the TLS server serves.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The DNS zone every benchmark name lives in.
pub const ZONE: &str = "bench.test";

/// File names inside the benchmark directory.
pub const ROOT_PEM: &str = "root.pem";
/// Leaf then intermediate, as the server presents them.
pub const CHAIN_PEM: &str = "chain.pem";
/// The leaf's private key (PKCS#8).
pub const KEY_PEM: &str = "leaf-key.pem";

fn this_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

fn params(cn: &str, sans: Vec<String>, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(sans).expect("valid SANs");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "edgewatch bench");
    let year = this_year();
    p.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    p.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    }
    p
}

/// Generates the chain and writes [`ROOT_PEM`], [`CHAIN_PEM`] and [`KEY_PEM`] into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    let root_key = KeyPair::generate().expect("P-256 key");
    let root =
        CertifiedIssuer::self_signed(params("edgewatch bench root", Vec::new(), true), root_key)
            .expect("root certificate");
    let int_key = KeyPair::generate().expect("P-256 key");
    let intermediate = CertifiedIssuer::signed_by(
        params("edgewatch bench intermediate", Vec::new(), true),
        int_key,
        &root,
    )
    .expect("intermediate certificate");
    let leaf_key = KeyPair::generate().expect("P-256 key");
    let leaf = params(ZONE, vec![ZONE.to_string(), format!("*.{ZONE}")], false)
        .signed_by(&leaf_key, &intermediate)
        .expect("leaf certificate");
    std::fs::write(dir.join(ROOT_PEM), root.pem())?;
    std::fs::write(
        dir.join(CHAIN_PEM),
        format!("{}{}", leaf.pem(), intermediate.pem()),
    )?;
    std::fs::write(dir.join(KEY_PEM), leaf_key.serialize_pem())?;
    Ok(())
}

//! `chain_trusted`: verifies the served chain with webpki against Mozilla's roots (webpki-roots)
//! plus an optional extra CA bundle, at an injected time, and names why it fails.

use std::path::Path;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};

use super::chain_memo::{self, VerifiedChains};
use super::{CheckName, CheckResult};
use crate::probe::certinfo;

/// What a CA-marked leaf means, in words (webpki calls it `CaUsedAsEndEntity`).
pub const CA_AS_LEAF: &str = "the certificate is marked as a CA (basicConstraints CA:TRUE), so it cannot be a server certificate; openssl req -x509 does this by default";

/// How to trust a private CA, for the reasons that meet one.
pub const TRUST_HINT: &str = "trust it with --ca-file PATH (or tls.ca_file)";

/// Trust anchors and signature algorithms; built once, shared by every judgement.
#[derive(Debug)]
pub struct ChainVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    /// Chains that verified, so an identical chain is not re-verified every interval.
    verified: VerifiedChains,
}

/// Why an extra CA bundle could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaBundleError {
    /// The file could not be read or is not PEM.
    #[error("cannot read CA bundle {path}: {source}")]
    Read {
        /// The bundle's path.
        path: String,
        /// The underlying PEM/IO error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The file holds no certificate.
    #[error("CA bundle {0} holds no PEM certificate")]
    Empty(String),
    /// A certificate in it cannot be a trust anchor.
    #[error("CA bundle {path}: certificate #{index} is not usable as a trust anchor: {reason}")]
    BadAnchor {
        /// The bundle's path.
        path: String,
        /// 1-based position in the file.
        index: usize,
        /// webpki's reason.
        reason: String,
    },
}

impl ChainVerifier {
    /// Mozilla's roots plus `extra` anchors (from [`read_anchors`]).
    pub fn new(extra: &[TrustAnchor<'static>], algorithms: WebPkiSupportedAlgorithms) -> Self {
        let mut anchors: Vec<TrustAnchor<'static>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        anchors.extend(extra.iter().cloned());
        ChainVerifier {
            anchors,
            algorithms,
            verified: VerifiedChains::default(),
        }
    }

    /// Whether a certificate with this subject DER is one of the trust anchors.
    fn knows_subject(&self, issuer_der: &[u8]) -> bool {
        self.anchors
            .iter()
            .any(|a| a.subject.as_ref() == issuer_der)
    }

    /// Judges `chain` (leaf first) at time `now`, parsing the leaf for the messages when needed.
    pub fn judge(&self, chain: &[CertificateDer<'static>], now: UnixTime) -> CheckResult {
        let leaf = chain.first().and_then(|der| certinfo::parse(der).ok());
        self.judge_with(chain, leaf.as_ref(), now)
    }

    /// [`judge`](Self::judge) with the leaf's facts as the probe parsed them (no second parse).
    pub fn judge_leaf(
        &self,
        chain: &[CertificateDer<'static>],
        leaf: &certinfo::CertFacts,
        now: UnixTime,
    ) -> CheckResult {
        self.judge_with(chain, Some(leaf), now)
    }

    fn judge_with(
        &self,
        chain: &[CertificateDer<'static>],
        facts: Option<&certinfo::CertFacts>,
        now: UnixTime,
    ) -> CheckResult {
        let check = CheckName::ChainTrusted;
        let Some(leaf) = chain.first() else {
            return CheckResult::skip(check, "no_chain", "the server presented no certificate");
        };
        let key = chain_memo::key(chain);
        let passed = || CheckResult::pass(check, "chain verifies to a trusted root");
        if self.verified.holds(&key, now.as_secs() as i64) {
            return passed();
        }
        let ee = match webpki::EndEntityCert::try_from(leaf) {
            Ok(ee) => ee,
            Err(e) => {
                return CheckResult::fail(
                    check,
                    "malformed",
                    format!("leaf certificate is malformed: {e}"),
                );
            }
        };
        let result = ee.verify_for_usage(
            self.algorithms.all,
            &self.anchors,
            &chain[1..],
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        );
        match result {
            Ok(_) => {
                self.verified.remember(key, chain);
                passed()
            }
            Err(err) => self.explain(err, chain, facts, now),
        }
    }

    fn explain(
        &self,
        err: webpki::Error,
        chain: &[CertificateDer<'static>],
        leaf: Option<&certinfo::CertFacts>,
        now: UnixTime,
    ) -> CheckResult {
        use webpki::Error as E;
        let check = CheckName::ChainTrusted;
        let subject = leaf.map(|f| f.subject.clone()).unwrap_or_default();
        let (code, reason) = match err {
            E::CertExpired { .. } => ("expired", expired_member(chain, now, true)),
            E::CertNotValidYet { .. } => ("not_yet_valid", expired_member(chain, now, false)),
            E::InvalidSignatureForPublicKey
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | E::SignatureAlgorithmMismatch => (
                "bad_signature",
                format!("a signature in the chain of `{subject}` does not verify"),
            ),
            E::CaUsedAsEndEntity => ("not_server_cert", format!("`{subject}`: {CA_AS_LEAF}")),
            E::RequiredEkuNotFoundContext(_) => (
                "not_server_cert",
                format!(
                    "`{subject}` is not a TLS server certificate: its extended key usage does not allow serverAuth"
                ),
            ),
            E::UnknownIssuer => self.unknown_issuer(chain, leaf),
            // A chain longer (or with more candidate paths) than a verifier will follow, like a
            // server sending 200 certificates: no client would trust it either.
            E::MaximumPathDepthExceeded
            | E::MaximumSignatureChecksExceeded
            | E::MaximumPathBuildCallsExceeded => (
                "chain_too_long",
                format!("the chain of `{subject}` is longer than a verifier will follow ({err})"),
            ),
            E::BadDer | E::BadDerTime | E::TrailingData(_) => (
                "malformed",
                format!("a certificate in the chain is malformed ({err})"),
            ),
            other => (
                "untrusted",
                format!("chain of `{subject}` does not verify: {other}"),
            ),
        };
        CheckResult::fail(check, code, reason)
    }

    /// Tells apart a self-signed leaf, a missing intermediate and an unknown root.
    fn unknown_issuer(
        &self,
        chain: &[CertificateDer<'static>],
        leaf: Option<&certinfo::CertFacts>,
    ) -> (&'static str, String) {
        let Some(leaf) = leaf else {
            return (
                "unknown_issuer",
                "issuer of the leaf is not trusted".to_string(),
            );
        };
        if leaf.self_issued() {
            return (
                "self_signed",
                format!(
                    "`{}` is self-signed and not a trusted root; {TRUST_HINT}",
                    leaf.subject
                ),
            );
        }
        if chain.len() == 1 && !self.knows_subject(&leaf.issuer_der) {
            return (
                "missing_intermediate",
                format!(
                    "server sent only its leaf `{}`; its issuer `{}` is neither sent nor a trusted root: the server may be missing its intermediate, or the issuer is a private CA: {TRUST_HINT}",
                    leaf.subject, leaf.issuer
                ),
            );
        }
        // The top of a longer chain is read only here, on this failure path.
        let top = chain[1..].last().and_then(|c| certinfo::parse(c).ok());
        let top_issuer = top.map(|t| t.issuer).unwrap_or_else(|| leaf.issuer.clone());
        (
            "unknown_issuer",
            format!(
                "chain ends at `{top_issuer}`, which is not a trusted root; if it is a private CA, {TRUST_HINT}"
            ),
        )
    }
}

/// Names the first certificate in `chain` outside its validity period at `now`.
fn expired_member(chain: &[CertificateDer<'static>], now: UnixTime, expired: bool) -> String {
    let now = now.as_secs() as i64;
    for (i, der) in chain.iter().enumerate() {
        let Ok(f) = certinfo::parse(der) else {
            continue;
        };
        let which = if i == 0 { "leaf" } else { "chain certificate" };
        if expired && f.not_after < now {
            return format!(
                "{which} `{}` expired at {}",
                f.subject,
                crate::timefmt::rfc3339(f.not_after)
            );
        }
        if !expired && f.not_before > now {
            return format!(
                "{which} `{}` is not valid before {}",
                f.subject,
                crate::timefmt::rfc3339(f.not_before)
            );
        }
    }
    if expired {
        "a certificate in the chain has expired".into()
    } else {
        "a certificate in the chain is not yet valid".into()
    }
}

/// Reads a PEM bundle of extra trust anchors.
pub fn read_anchors(path: &Path) -> Result<Vec<TrustAnchor<'static>>, CaBundleError> {
    let display = path.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| CaBundleError::Read {
            path: display.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(CaBundleError::Empty(display));
    }
    certs
        .iter()
        .enumerate()
        .map(|(i, der)| {
            webpki::anchor_from_trusted_cert(der)
                .map(|a| a.to_owned())
                .map_err(|e| CaBundleError::BadAnchor {
                    path: display.clone(),
                    index: i + 1,
                    reason: e.to_string(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    use super::*;
    use crate::checks::Status;

    const DAY: u64 = 86_400;

    /// A root (as the only extra anchor) and a leaf it signed, valid for `days` from now.
    fn root_and_leaf(days: u64) -> (Vec<TrustAnchor<'static>>, Vec<CertificateDer<'static>>, u64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "memo test root");
        let ca_key = KeyPair::generate().unwrap();
        let root = ca.self_signed(&ca_key).unwrap();
        let anchor = webpki::anchor_from_trusted_cert(root.der())
            .unwrap()
            .to_owned();
        let mut leaf = CertificateParams::new(vec!["memo.example.test".to_string()]).unwrap();
        leaf.not_before = epoch + Duration::from_secs(now - DAY);
        leaf.not_after = epoch + Duration::from_secs(now + days * DAY);
        let leaf = leaf
            .signed_by(&KeyPair::generate().unwrap(), &Issuer::new(ca, ca_key))
            .unwrap();
        (vec![anchor], vec![leaf.der().clone()], now)
    }

    fn verifier(anchors: &[TrustAnchor<'static>]) -> ChainVerifier {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        ChainVerifier::new(anchors, algs)
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn a_verified_chain_is_remembered_and_passes_again_within_its_validity() {
        let (anchors, chain, now) = root_and_leaf(30);
        let v = verifier(&anchors);
        assert_eq!(v.judge(&chain, at(now)).status, Status::Pass);
        assert_eq!(v.verified.len(), 1);
        assert_eq!(v.judge(&chain, at(now + 10 * DAY)).status, Status::Pass);
    }

    #[test]
    fn the_memo_never_hides_expiry_or_a_different_chain() {
        let (anchors, chain, now) = root_and_leaf(30);
        let v = verifier(&anchors);
        assert_eq!(v.judge(&chain, at(now)).status, Status::Pass);
        let r = v.judge(&chain, at(now + 31 * DAY));
        assert_eq!((r.status, r.reason_code()), (Status::Fail, "expired"));
        // Another root of the same name but another key: its leaf is verified afresh and fails.
        let (_, other, _) = root_and_leaf(30);
        let r = v.judge(&other, at(now));
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "bad_signature"),
            "{}",
            r.reason
        );
    }

    /// A leaf for `name` (CN = name) valid 30 days, signed by `issuer` or self-signed; CA-marked
    /// when `is_ca` (what `openssl req -x509` makes by default).
    fn named_leaf(
        name: &str,
        is_ca: bool,
        issuer: Option<&Issuer<'_, KeyPair>>,
    ) -> CertificateDer<'static> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.not_before = epoch + Duration::from_secs(now - DAY);
        params.not_after = epoch + Duration::from_secs(now + 30 * DAY);
        if is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let key = KeyPair::generate().unwrap();
        let cert = match issuer {
            Some(i) => params.signed_by(&key, i).unwrap(),
            None => params.self_signed(&key).unwrap(),
        };
        cert.der().clone()
    }

    fn private_root(name: &str) -> Issuer<'static, KeyPair> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name = rcgen::DistinguishedName::new();
        ca.distinguished_name.push(rcgen::DnType::CommonName, name);
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Issuer::new(ca, KeyPair::generate().unwrap())
    }

    #[test]
    fn a_ca_marked_leaf_is_explained_in_words() {
        let leaf = named_leaf("app.example.test", true, None);
        let r = verifier(&[]).judge(&[leaf], UnixTime::now());
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "not_server_cert")
        );
        assert_eq!(
            r.reason,
            "`CN=app.example.test`: the certificate is marked as a CA (basicConstraints CA:TRUE), so it cannot be a server certificate; openssl req -x509 does this by default"
        );
    }

    #[test]
    fn a_leaf_from_an_unknown_private_ca_suggests_ca_file() {
        let root = private_root("corp root");
        let leaf = named_leaf("app.example.test", false, Some(&root));
        let r = verifier(&[]).judge(&[leaf], UnixTime::now());
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "missing_intermediate")
        );
        assert_eq!(
            r.reason,
            "server sent only its leaf `CN=app.example.test`; its issuer `CN=corp root` is neither sent nor a trusted root: the server may be missing its intermediate, or the issuer is a private CA: trust it with --ca-file PATH (or tls.ca_file)"
        );
    }

    #[test]
    fn a_chain_ending_at_an_unknown_root_suggests_ca_file() {
        let root = private_root("corp root");
        let intermediate_key = KeyPair::generate().unwrap();
        let mut im = CertificateParams::new(Vec::<String>::new()).unwrap();
        im.distinguished_name = rcgen::DistinguishedName::new();
        im.distinguished_name
            .push(rcgen::DnType::CommonName, "corp intermediate");
        im.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let im_cert = im.signed_by(&intermediate_key, &root).unwrap();
        let im_issuer = Issuer::new(im, intermediate_key);
        let leaf = named_leaf("app.example.test", false, Some(&im_issuer));
        let r = verifier(&[]).judge(&[leaf, im_cert.der().clone()], UnixTime::now());
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "unknown_issuer")
        );
        assert_eq!(
            r.reason,
            "chain ends at `CN=corp root`, which is not a trusted root; if it is a private CA, trust it with --ca-file PATH (or tls.ca_file)"
        );
    }

    #[test]
    fn a_chain_deeper_than_a_verifier_follows_is_chain_too_long() {
        let ca_params = |name: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(rcgen::DnType::CommonName, name);
            p
        };
        let root_key = KeyPair::generate().unwrap();
        let root = ca_params("deep root").self_signed(&root_key).unwrap();
        let anchor = webpki::anchor_from_trusted_cert(root.der())
            .unwrap()
            .to_owned();
        let mut issuer = Issuer::new(ca_params("deep root"), root_key);
        let mut intermediates = Vec::new();
        for i in 0..9 {
            let key = KeyPair::generate().unwrap();
            let params = ca_params(&format!("deep intermediate {i}"));
            let cert = params.signed_by(&key, &issuer).unwrap();
            intermediates.push(cert.der().clone());
            issuer = Issuer::new(params, key);
        }
        let leaf = CertificateParams::new(vec!["deep.example.test".to_string()])
            .unwrap()
            .signed_by(&KeyPair::generate().unwrap(), &issuer)
            .unwrap();
        let mut chain = vec![leaf.der().clone()];
        chain.extend(intermediates.into_iter().rev());
        let r = verifier(&[anchor]).judge(&chain, UnixTime::now());
        assert_eq!(
            (r.status, r.reason_code()),
            (Status::Fail, "chain_too_long"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn failures_are_not_remembered() {
        let (_, chain, now) = root_and_leaf(30);
        let v = verifier(&[]);
        assert_eq!(v.judge(&chain, at(now)).status, Status::Fail);
        assert!(v.verified.is_empty());
    }
}

//! The cipher suites the scan knows: every suite that some ELB security policy accepts (and so
//! every suite that tells two policies apart), with what makes each one weak or strong. The scan
//! offers only these, so metric label values stay a bounded set.

/// Who signs the handshake: which certificate key a suite needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// TLS 1.3 suites: any key type.
    Any,
    /// An ECDSA certificate.
    Ecdsa,
    /// An RSA certificate.
    Rsa,
}

/// One cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suite {
    /// IANA code point.
    pub code: u16,
    /// The name AWS's policy tables (and OpenSSL) use, e.g. `ECDHE-RSA-AES128-GCM-SHA256`.
    pub name: &'static str,
    /// TLS 1.3 suite (offered only with TLS 1.3).
    pub tls13: bool,
    /// Needs TLS 1.2 (GCM, SHA-256/384 MACs); false for the SHA-1 suites 1.0/1.1 can use.
    pub needs_tls12: bool,
    /// The key exchange is ephemeral (ECDHE or TLS 1.3): forward secrecy.
    pub forward_secret: bool,
    /// CBC mode (the suite family behind Lucky13/POODLE-style attacks).
    pub cbc: bool,
    /// The certificate key type the suite needs.
    pub auth: Auth,
}

impl Suite {
    /// Weak by edgewatch's rule: no forward secrecy, or CBC.
    pub fn weak(&self) -> bool {
        !self.forward_secret || self.cbc
    }
}

const fn tls13(code: u16, name: &'static str) -> Suite {
    Suite {
        code,
        name,
        tls13: true,
        needs_tls12: true,
        forward_secret: true,
        cbc: false,
        auth: Auth::Any,
    }
}

const fn legacy(
    code: u16,
    name: &'static str,
    auth: Auth,
    ecdhe: bool,
    cbc: bool,
    sha1: bool,
) -> Suite {
    Suite {
        code,
        name,
        tls13: false,
        needs_tls12: !sha1,
        forward_secret: ecdhe,
        cbc,
        auth,
    }
}

use Auth::{Ecdsa, Rsa};

/// Every known suite: TLS 1.3 first, then the ECDHE-ECDSA, ECDHE-RSA and RSA key-exchange ones.
pub const SUITES: [Suite; 21] = [
    tls13(0x1301, "TLS_AES_128_GCM_SHA256"),
    tls13(0x1302, "TLS_AES_256_GCM_SHA384"),
    tls13(0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    legacy(
        0xc02b,
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        Ecdsa,
        true,
        false,
        false,
    ),
    legacy(
        0xc02c,
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        Ecdsa,
        true,
        false,
        false,
    ),
    legacy(
        0xc023,
        "ECDHE-ECDSA-AES128-SHA256",
        Ecdsa,
        true,
        true,
        false,
    ),
    legacy(
        0xc024,
        "ECDHE-ECDSA-AES256-SHA384",
        Ecdsa,
        true,
        true,
        false,
    ),
    legacy(0xc009, "ECDHE-ECDSA-AES128-SHA", Ecdsa, true, true, true),
    legacy(0xc00a, "ECDHE-ECDSA-AES256-SHA", Ecdsa, true, true, true),
    legacy(
        0xc02f,
        "ECDHE-RSA-AES128-GCM-SHA256",
        Rsa,
        true,
        false,
        false,
    ),
    legacy(
        0xc030,
        "ECDHE-RSA-AES256-GCM-SHA384",
        Rsa,
        true,
        false,
        false,
    ),
    legacy(0xc027, "ECDHE-RSA-AES128-SHA256", Rsa, true, true, false),
    legacy(0xc028, "ECDHE-RSA-AES256-SHA384", Rsa, true, true, false),
    legacy(0xc013, "ECDHE-RSA-AES128-SHA", Rsa, true, true, true),
    legacy(0xc014, "ECDHE-RSA-AES256-SHA", Rsa, true, true, true),
    legacy(0x009c, "AES128-GCM-SHA256", Rsa, false, false, false),
    legacy(0x009d, "AES256-GCM-SHA384", Rsa, false, false, false),
    legacy(0x003c, "AES128-SHA256", Rsa, false, true, false),
    legacy(0x003d, "AES256-SHA256", Rsa, false, true, false),
    legacy(0x002f, "AES128-SHA", Rsa, false, true, true),
    legacy(0x0035, "AES256-SHA", Rsa, false, true, true),
];

/// The suite with this code point, if known.
pub fn by_code(code: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.code == code)
}

/// The suite with this (AWS/OpenSSL) name, if known.
pub fn by_name(name: &str) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_weakness_follows_the_rule() {
        for (i, a) in SUITES.iter().enumerate() {
            for b in &SUITES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.name, b.name);
            }
            assert_eq!(
                a.cbc,
                !a.name.contains("GCM") && !a.name.contains("CHACHA"),
                "{}",
                a.name
            );
        }
        assert!(!by_name("ECDHE-RSA-AES128-GCM-SHA256").unwrap().weak());
        assert!(by_name("ECDHE-RSA-AES128-SHA").unwrap().weak());
        assert!(
            by_name("AES128-GCM-SHA256").unwrap().weak(),
            "no forward secrecy"
        );
        assert_eq!(
            by_code(0x1303).unwrap().name,
            "TLS_CHACHA20_POLY1305_SHA256"
        );
    }
}

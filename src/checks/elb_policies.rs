//! The ELB security policies a TLS listener can name, and what each accepts: the table of AWS's
//! "Security policies for your Network Load Balancer" page (as ../shared/AWS-FACTS.md and
//! moto's `elbv2/ssl_policies.py` copy it). Suites by the names AWS uses.

use crate::probe::tls_scan::TlsProtocol::{self, Tls10, Tls11, Tls12, Tls13};

/// One named policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElbPolicy {
    /// The policy name, e.g. `ELBSecurityPolicy-TLS13-1-2-Res-2021-06`.
    pub name: &'static str,
    /// The protocol versions it accepts.
    pub versions: &'static [TlsProtocol],
    /// The cipher suites it accepts.
    pub suites: &'static [&'static str],
}

/// The AWS Load Balancer Controller's default (`--default-ssl-policy`): what a Service without
/// the `ssl-negotiation-policy` annotation gets.
pub const CONTROLLER_DEFAULT: &str = "ELBSecurityPolicy-2016-08";

/// The policy edgewatch suggests for a floor of TLS 1.2 (forward secret, AEAD only, TLS 1.3).
pub const RECOMMENDED: &str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/// The policy edgewatch suggests for a floor of TLS 1.3.
pub const RECOMMENDED_TLS13: &str = "ELBSecurityPolicy-TLS13-1-3-2021-06";

const T13: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Every known policy.
pub const POLICIES: [ElbPolicy; 6] = [
    ElbPolicy {
        name: "ELBSecurityPolicy-TLS13-1-3-2021-06",
        versions: &[Tls13],
        suites: &T13,
    },
    ElbPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        versions: &[Tls12, Tls13],
        suites: &[
            T13[0],
            T13[1],
            T13[2],
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-RSA-AES128-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA384",
        ],
    },
    ElbPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        versions: &[Tls12, Tls13],
        suites: &[
            T13[0],
            T13[1],
            T13[2],
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
        ],
    },
    ElbPolicy {
        name: "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        versions: &[Tls12],
        suites: &[
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
        ],
    },
    ElbPolicy {
        name: "ELBSecurityPolicy-TLS-1-2-2017-01",
        versions: &[Tls12],
        suites: &[
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-RSA-AES128-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA384",
            "AES128-GCM-SHA256",
            "AES128-SHA256",
            "AES256-GCM-SHA384",
            "AES256-SHA256",
        ],
    },
    ElbPolicy {
        name: "ELBSecurityPolicy-2016-08",
        versions: &[Tls10, Tls11, Tls12],
        suites: &[
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-RSA-AES128-SHA256",
            "ECDHE-ECDSA-AES128-SHA",
            "ECDHE-RSA-AES128-SHA",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA",
            "ECDHE-ECDSA-AES256-SHA",
            "AES128-GCM-SHA256",
            "AES128-SHA256",
            "AES128-SHA",
            "AES256-GCM-SHA384",
            "AES256-SHA256",
            "AES256-SHA",
        ],
    },
];

/// The policy named `name`. A `…-PQ-2025-09` variant accepts what its twin does (it adds only
/// hybrid key exchanges), so it is answered with the twin.
pub fn find(name: &str) -> Option<&'static ElbPolicy> {
    let name = name.trim();
    if let Some(p) = POLICIES.iter().find(|p| p.name == name) {
        return Some(p);
    }
    let stem = name.strip_suffix("-PQ-2025-09")?;
    // The twin is the stem plus its own date, `-YYYY-MM`.
    POLICIES.iter().find(|p| {
        p.name
            .strip_prefix(stem)
            .is_some_and(|d| d.len() == 8 && d.starts_with('-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tls_scan::suites;

    #[test]
    fn every_suite_of_every_policy_is_one_the_scan_knows() {
        for p in POLICIES {
            for s in p.suites {
                assert!(suites::by_name(s).is_some(), "{}: {s}", p.name);
            }
        }
        assert_eq!(find(CONTROLLER_DEFAULT).unwrap().suites.len(), 18);
        assert!(find(RECOMMENDED).is_some() && find(RECOMMENDED_TLS13).is_some());
    }

    #[test]
    fn pq_variants_answer_with_their_twin() {
        let pq = find("ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09").unwrap();
        assert_eq!(pq.name, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06");
        let pq = find("ELBSecurityPolicy-TLS13-1-2-PQ-2025-09").unwrap();
        assert_eq!(pq.name, "ELBSecurityPolicy-TLS13-1-2-2021-06");
        assert!(find("ELBSecurityPolicy-Made-Up").is_none());
    }
}

//! ACM certificate ARNs: `arn:<partition>:acm:<region>:<account>:certificate/<id>`. Parsing is
//! pure; the region decides which regional ACM endpoint is asked.

use super::AcmError;

/// The parts of an ACM certificate ARN edgewatch needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertArn {
    /// The whole ARN, as given.
    pub arn: String,
    /// The region the certificate lives in (ACM is regional).
    pub region: String,
}

impl CertArn {
    /// Parses `arn`, or says what is wrong with it (an [`AcmError::InvalidArn`]).
    pub fn parse(arn: &str) -> Result<Self, AcmError> {
        let invalid = |why: &str| AcmError::InvalidArn {
            arn: arn.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(invalid(
                "expected arn:aws:acm:<region>:<account>:certificate/<id>",
            ));
        };
        if prefix != "arn" || !partition.starts_with("aws") {
            return Err(invalid("does not start with `arn:aws`"));
        }
        if service != "acm" {
            return Err(invalid("is not an ACM ARN (service is not `acm`)"));
        }
        let region_ok = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(invalid("has no valid region"));
        }
        if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid("has no 12-digit account id"));
        }
        match resource.strip_prefix("certificate/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Ok(CertArn {
                arn: arn.to_string(),
                region: region.to_string(),
            }),
            _ => Err(invalid("does not name a certificate (`certificate/<id>`)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_arn() {
        let arn =
            "arn:aws:acm:eu-west-3:123456789012:certificate/0e3c1a2b-1111-2222-3333-444455556666";
        let parsed = CertArn::parse(arn).unwrap();
        assert_eq!(parsed.region, "eu-west-3");
        assert_eq!(parsed.arn, arn);
    }

    #[test]
    fn other_partitions_are_accepted() {
        let arn = "arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/abc";
        assert_eq!(CertArn::parse(arn).unwrap().region, "us-gov-west-1");
    }

    #[test]
    fn malformed_arns_are_invalid_arn_with_the_cause() {
        let cases = [
            ("garbage", "expected arn:aws:acm"),
            (
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:certificate/x",
                "service is not `acm`",
            ),
            ("arn:aws:acm::123456789012:certificate/x", "no valid region"),
            ("arn:aws:acm:us-east-1:12:certificate/x", "12-digit account"),
            (
                "arn:aws:acm:us-east-1:123456789012:private-ca/x",
                "does not name a certificate",
            ),
            (
                "arn:aws:acm:us-east-1:123456789012:certificate/",
                "does not name",
            ),
        ];
        for (arn, want) in cases {
            let err = CertArn::parse(arn).unwrap_err();
            assert_eq!(err.as_str(), "invalid_arn", "{arn}");
            assert!(err.to_string().contains(want), "{arn}: {err}");
        }
    }
}

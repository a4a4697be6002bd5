//! Why an ACM lookup failed, in a few kinds (`classify` maps SDK errors onto them). The kinds are
//! a public interface: they appear as the `result` label of `edgewatch_acm_requests_total` and in
//! reports.

use std::time::Duration;

/// Why ACM could not answer about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcmError {
    /// The ARN is not an ACM certificate ARN; ACM was not asked.
    #[error("invalid ACM certificate ARN `{arn}`: {why}")]
    InvalidArn {
        /// The ARN as given.
        arn: String,
        /// What is wrong with it.
        why: String,
    },
    /// The SDK's credential chain found no credentials (or could not load them).
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// ACM refused the caller (missing IAM permission, unknown or expired key).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// ACM throttled the caller (after the SDK's own retries).
    #[error("throttled by ACM: {0}")]
    Throttled(String),
    /// ACM does not know the certificate (wrong account or region, or deleted).
    #[error("certificate not found: {0}")]
    NotFound(String),
    /// ACM could not be reached (connection refused, DNS, network timeout).
    #[error("ACM unreachable: {0}")]
    Unreachable(String),
    /// ACM did not answer within the lookup's time budget.
    #[error("ACM did not answer within {0:?}")]
    Timeout(Duration),
    /// Anything else: a server error, a response the SDK could not read.
    #[error("ACM error: {0}")]
    Other(String),
}

impl AcmError {
    /// Stable short name, for metric labels, JSON and reasons. A timeout counts as
    /// `unreachable`: for the judge both mean ACM did not answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            AcmError::InvalidArn { .. } => "invalid_arn",
            AcmError::NoCredentials(_) => "no_credentials",
            AcmError::AccessDenied(_) => "access_denied",
            AcmError::Throttled(_) => "throttled",
            AcmError::NotFound(_) => "not_found",
            AcmError::Unreachable(_) | AcmError::Timeout(_) => "unreachable",
            AcmError::Other(_) => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_count_as_unreachable() {
        assert_eq!(
            AcmError::Timeout(Duration::from_secs(5)).as_str(),
            "unreachable"
        );
    }
}

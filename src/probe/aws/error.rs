//! Why an elbv2 or Route 53 call failed, in the few kinds the judges and the
//! `edgewatch_aws_requests_total{result}` label know (`classify` maps SDK errors onto them).

use std::time::Duration;

/// Why an AWS API could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The SDK's credential chain found no credentials.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// The caller is not allowed (missing IAM action, bad or expired key).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The API throttled the caller (after the SDK's own retries).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The API could not be reached (connection refused, DNS, network timeout).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// No answer within the lookup's time budget.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Anything else (a server error, an answer the SDK could not read).
    #[error("{0}")]
    Other(String),
}

impl AwsError {
    /// Stable short name (a metric label value and the failure's `kind`).
    pub fn as_str(&self) -> &'static str {
        match self {
            AwsError::NoCredentials(_) => "no_credentials",
            AwsError::AccessDenied(_) => "access_denied",
            AwsError::Throttled(_) => "throttled",
            AwsError::Unreachable(_) | AwsError::Timeout(_) => "unreachable",
            AwsError::Other(_) => "error",
        }
    }
}

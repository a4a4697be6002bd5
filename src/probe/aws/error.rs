//! Why an elbv2 or Route 53 call failed, in the few kinds the judges and the
//! `edgewatch_aws_requests_total{result}` label know. Codes are read as ACM's are (same lists).

use std::error::Error as StdError;
use std::time::Duration;

// The SDKs re-export the same smithy types: elbv2's names serve Route 53's errors too.
use aws_sdk_elasticloadbalancingv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::probe::acm::error::{DENIED_CODES, THROTTLE_CODES, credentials_error};

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

/// Maps an SDK error of any AWS service to a kind, by the service's error code.
pub(crate) fn classify<E>(err: &SdkError<E>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("");
            let status = ctx.raw().status().as_u16();
            let detail = format!(
                "{code}: {} (HTTP {status})",
                ctx.err().message().unwrap_or("")
            );
            if DENIED_CODES.contains(&code) || status == 403 {
                AwsError::AccessDenied(detail)
            } else if THROTTLE_CODES.contains(&code) || status == 429 {
                AwsError::Throttled(detail)
            } else {
                AwsError::Other(detail)
            }
        }
        _ if credentials_error(err).is_some() => AwsError::NoCredentials(
            credentials_error(err)
                .map(|c| DisplayErrorContext(c).to_string())
                .unwrap_or_default(),
        ),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            AwsError::Unreachable(DisplayErrorContext(err).to_string())
        }
        _ => AwsError::Other(DisplayErrorContext(err).to_string()),
    }
}

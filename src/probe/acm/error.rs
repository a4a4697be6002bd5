//! Why an ACM lookup failed, and how SDK errors map onto those few kinds. The kinds are a public
//! interface: they appear as the `result` label of `edgewatch_acm_requests_total` and in reports.

use std::error::Error as StdError;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_acm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

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

/// Error codes that mean the caller is not allowed, whatever the operation.
pub(crate) const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredTokenException",
    "ExpiredToken",
];

/// Error codes that mean "slow down".
pub(crate) const THROTTLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Maps an SDK error to a kind. Service errors are read by their AWS error code (not the SDK's
/// modelled variants) so codes the model does not list still land in the right kind.
pub(crate) fn classify<E>(err: &SdkError<E>, arn: &str) -> AcmError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("");
            let message = ctx.err().message().unwrap_or("");
            let status = ctx.raw().status().as_u16();
            from_code(
                code,
                status,
                arn,
                format!("{code}: {message} (HTTP {status})"),
            )
        }
        _ if credentials_error(err).is_some() => {
            let cause = credentials_error(err).map(|c| DisplayErrorContext(c).to_string());
            AcmError::NoCredentials(cause.unwrap_or_default())
        }
        SdkError::TimeoutError(_) => AcmError::Unreachable(DisplayErrorContext(err).to_string()),
        SdkError::DispatchFailure(_) => AcmError::Unreachable(DisplayErrorContext(err).to_string()),
        _ => AcmError::Other(DisplayErrorContext(err).to_string()),
    }
}

fn from_code(code: &str, status: u16, arn: &str, detail: String) -> AcmError {
    if code == "ResourceNotFoundException" {
        AcmError::NotFound(detail)
    } else if code == "InvalidArnException" {
        AcmError::InvalidArn {
            arn: arn.to_string(),
            why: detail,
        }
    } else if DENIED_CODES.contains(&code) || status == 403 {
        AcmError::AccessDenied(detail)
    } else if THROTTLE_CODES.contains(&code) || status == 429 {
        AcmError::Throttled(detail)
    } else {
        AcmError::Other(detail)
    }
}

/// The credential provider's error, when the failure is one (the SDK reports it as a dispatch
/// failure, so it is found by walking the source chain).
pub(crate) fn credentials_error<'a>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a CredentialsError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(c);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_map_to_kinds() {
        let kind = |code, status| from_code(code, status, "arn", String::new()).as_str();
        assert_eq!(kind("ResourceNotFoundException", 400), "not_found");
        assert_eq!(kind("InvalidArnException", 400), "invalid_arn");
        assert_eq!(kind("AccessDeniedException", 400), "access_denied");
        assert_eq!(kind("UnrecognizedClientException", 400), "access_denied");
        assert_eq!(kind("SomethingNew", 403), "access_denied");
        assert_eq!(kind("ThrottlingException", 400), "throttled");
        assert_eq!(kind("", 429), "throttled");
        assert_eq!(kind("InternalFailure", 500), "error");
    }

    #[test]
    fn timeouts_count_as_unreachable() {
        assert_eq!(
            AcmError::Timeout(Duration::from_secs(5)).as_str(),
            "unreachable"
        );
    }
}

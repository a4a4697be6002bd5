//! How AWS SDK errors map onto [`AcmError`]'s few kinds (and, through the code lists and
//! [`credentials_error`], onto `AwsError`'s). Only with the `aws` feature: the SDK lives here.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_acm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::AcmError;

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
}

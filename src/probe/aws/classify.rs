//! How elbv2 and Route 53 SDK errors map onto [`AwsError`]'s kinds: by the service's error code,
//! read as ACM's are (same lists). Only with the `aws` feature: the SDK lives here.

use std::error::Error as StdError;

// The SDKs re-export the same smithy types: elbv2's names serve Route 53's errors too.
use aws_sdk_elasticloadbalancingv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::AwsError;
use crate::probe::acm::classify::{DENIED_CODES, THROTTLE_CODES, credentials_error};

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

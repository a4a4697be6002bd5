//! `backend`: the request reaches the backend through the TLS listener and the answer's status
//! is accepted.

use super::{CheckName, CheckResult};
use crate::discovery::target::Target;
use crate::probe::EndpointObservation;

/// Judges the HTTP exchange at one address.
pub fn judge_endpoint(target: &Target, endpoint: &EndpointObservation) -> Option<CheckResult> {
    let check = CheckName::Backend;
    let ip = endpoint.address.ip();
    let Some(http) = &endpoint.http else {
        return Some(
            CheckResult::skip(check, "no_connection", "no request sent: TCP or TLS failed").at(ip),
        );
    };
    let path = &http.path;
    let result = match (&http.failure, http.status) {
        (_, Some(status)) if target.backend.expect_status.contains(status) => {
            CheckResult::pass(check, format!("GET {path} answered {status}"))
        }
        (_, Some(status)) => CheckResult::fail(
            check,
            "bad_status",
            format!(
                "GET {path} answered {status}, expected {}",
                target.backend.expect_status
            ),
        ),
        (Some(failure), None) => {
            CheckResult::fail(check, failure.as_str(), format!("GET {path}: {failure}"))
        }
        (None, None) => CheckResult::fail(check, "closed", format!("GET {path}: no response")),
    };
    Some(result.at(ip))
}

//! One AWS call under the lookup's time budget, counted in
//! `edgewatch_aws_requests_total{service, operation, result}` (result `ok` or an error kind).

use std::future::Future;
use std::time::Duration;

use prometheus::IntCounterVec;

use super::AwsError;

/// A failed call: which operation, and why.
#[derive(Debug, Clone)]
pub(crate) struct FailedCall {
    /// The API operation, e.g. `DescribeTargetHealth`.
    pub operation: &'static str,
    /// Why it failed.
    pub error: AwsError,
}

/// Runs and counts the calls of one service.
pub(crate) struct Counted<'a> {
    /// `elbv2` or `route53` (the `service` label).
    pub service: &'static str,
    /// `edgewatch_aws_requests_total`.
    pub counter: &'a IntCounterVec,
    /// Budget per call.
    pub timeout: Duration,
}

impl Counted<'_> {
    /// Runs `call` under the budget and counts it by result.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, FailedCall> {
        let result = tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or(Err(AwsError::Timeout(self.timeout)));
        let label = match &result {
            Ok(_) => "ok",
            Err(e) => e.as_str(),
        };
        self.counter
            .with_label_values(&[self.service, operation, label])
            .inc();
        result.map_err(|error| FailedCall { operation, error })
    }
}

//! One AWS call under the lookup's time budget, counted in
//! `edgewatch_aws_requests_total{service, operation, result}` (result `ok` or an error kind).

use std::future::Future;
use std::time::Duration;

use prometheus::IntCounterVec;

use super::AwsError;

/// Every (service, operation) the lookups call.
const OPERATIONS: [(&str, &str); 9] = [
    ("elbv2", "DescribeLoadBalancers"),
    ("elbv2", "DescribeTags"),
    ("elbv2", "DescribeListeners"),
    ("elbv2", "DescribeListenerCertificates"),
    ("elbv2", "DescribeTargetGroups"),
    ("elbv2", "DescribeTargetGroupAttributes"),
    ("elbv2", "DescribeTargetHealth"),
    ("route53", "ListHostedZonesByName"),
    ("route53", "ListResourceRecordSets"),
];

/// The AWS lookups' own metric, registered when they are built.
#[derive(Clone)]
pub struct AwsMetrics {
    requests: IntCounterVec,
}

impl AwsMetrics {
    /// Registers `edgewatch_aws_requests_total{service,operation,result}` in `registry`, with
    /// every operation's `ok` series at zero, so `rate()` and `increase()` see the first call
    /// (and the dashboard shows zero, not "no data", while the AWS checks are off).
    pub fn register(registry: &prometheus::Registry) -> Self {
        let requests = crate::registry::counter(
            registry,
            "edgewatch_aws_requests_total",
            "elbv2 and Route 53 API calls, by service, operation and result.",
            &["service", "operation", "result"],
        );
        for (service, operation) in OPERATIONS {
            requests.with_label_values(&[service, operation, "ok"]);
        }
        AwsMetrics { requests }
    }

    /// How many calls of `service`'s `operation` ended with `result` so far.
    pub fn calls(&self, service: &str, operation: &str, result: &str) -> u64 {
        self.requests
            .with_label_values(&[service, operation, result])
            .get()
    }

    /// The counter family, for [`Counted`].
    pub(crate) fn requests(&self) -> &IntCounterVec {
        &self.requests
    }
}

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

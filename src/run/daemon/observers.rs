//! Where outcomes go in the daemon: state-change logs and the sinks (metrics first, then
//! Alertmanager, Kubernetes Events). Each sink reads outcomes only.

use std::sync::Arc;

use super::internal::InternalErrors;
use crate::checks::Status;
use crate::checks::verdicts::Verdict;
use crate::export::OutcomeSink;
use crate::export::latest::LatestOutcomes;
use crate::pipeline::outcome::Outcome;

/// The daemon's fan-out of outcomes.
pub struct Observers {
    sinks: Vec<Arc<dyn OutcomeSink>>,
    internal_errors: InternalErrors,
    /// Every target's last outcome, as one of the sinks records it: what a state change is
    /// a change from (no second copy of each target's verdicts is kept for the logs).
    last: Arc<LatestOutcomes>,
}

impl Observers {
    /// State-change logs, plus `sinks` in order; edgewatch's own failures go to
    /// `internal_errors`. `last` is the store one of the sinks keeps every outcome in.
    pub fn new(
        sinks: Vec<Arc<dyn OutcomeSink>>,
        internal_errors: InternalErrors,
        last: Arc<LatestOutcomes>,
    ) -> Self {
        Observers {
            sinks,
            internal_errors,
            last,
        }
    }

    /// Records one outcome everywhere; an outcome spoiled by edgewatch's own lack of file
    /// descriptors is an internal error instead: the target keeps its last verdicts.
    pub async fn observe(&self, outcome: &Arc<Outcome>) {
        if let Some(why) = outcome
            .observation
            .as_ref()
            .and_then(|o| o.lacked_descriptors())
        {
            self.internal_errors.count("no_descriptors");
            tracing::warn!(target = %outcome.target.name, error = %why,
                "probe not recorded: edgewatch ran out of file descriptors");
            return;
        }
        self.log_changes(outcome);
        for sink in &self.sinks {
            sink.observe_shared(outcome).await;
        }
    }

    /// Drops everything known about the target named `name`.
    pub async fn forget(&self, name: &str) {
        for sink in &self.sinks {
            sink.forget(name).await;
        }
    }

    /// One log event per state change (pass→fail, fail→pass), not per probe, against the
    /// target's last recorded outcome. Allocates nothing (and formats only what it logs): it
    /// runs after every probe.
    fn log_changes(&self, outcome: &Outcome) {
        let name = &outcome.target.name;
        let before = self.last.last(name);
        for (r, change) in changes(before.as_deref(), outcome) {
            let address = || r.address.map(|a| a.to_string()).unwrap_or_default();
            match change {
                Change::Failing { from } => tracing::warn!(
                    target = %name, check = %r.check, address = %address(),
                    reason_code = r.reason_code(), reason = %r.reason(),
                    from = from.map(Status::as_str).unwrap_or("new"), "check failing"
                ),
                Change::Recovered => tracing::info!(
                    target = %name, check = %r.check, address = %address(),
                    to = r.status.as_str(), "check recovered"
                ),
            }
        }
        if before.is_none() {
            tracing::info!(target = %name, ok = outcome.ok(), "first probe of target");
        }
    }
}

/// How a verdict (a check at an address) changed since the target's previous outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// It fails now; it passed or was skipped before, or is new (`None`).
    Failing { from: Option<Status> },
    /// It failed before and passes or is skipped now.
    Recovered,
}

/// The verdicts of `now` that changed since `before` (`None`: the target's first outcome).
fn changes<'a>(
    before: Option<&'a Outcome>,
    now: &'a Outcome,
) -> impl Iterator<Item = (Verdict<'a>, Change)> + 'a {
    now.results.iter().filter_map(move |r| {
        let previous = before
            .and_then(|b| {
                b.results
                    .iter()
                    .find(|p| p.check == r.check && p.address == r.address)
            })
            .map(|p| p.status);
        match (previous, r.status) {
            (Some(p), s) if p == s => None,
            (from, Status::Fail) => Some((r, Change::Failing { from })),
            (Some(Status::Fail), _) => Some((r, Change::Recovered)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::checks::{CheckName, CheckResult};
    use crate::discovery::target::{Target, TargetSource};
    use crate::export::metrics::Metrics;
    use crate::probe::{ConnectFailure, DnsObservation, EndpointObservation, Observation};

    fn outcome(connect: Result<Duration, ConnectFailure>, status: Status) -> Outcome {
        let addr: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let mut obs = Observation::from_dns(
            SystemTime::now(),
            DnsObservation {
                name: "a.example.test".into(),
                cname_chain: vec![],
                addresses: vec![addr.ip()],
                nameservers: Arc::from([]),
                failure: None,
                duration: Duration::ZERO,
            },
        );
        obs.endpoints.push(EndpointObservation {
            address: addr,
            connect,
            tls: None,
            http: None,
        });
        let check = CheckName::TlsHandshake;
        let result = match status {
            Status::Fail => CheckResult::fail(check, "no_descriptors", "out of descriptors"),
            _ => CheckResult::pass(check, "fine"),
        };
        Outcome {
            target: Arc::new(Target::new("a.example.test", 443, TargetSource::Config)),
            observation: Some(obs),
            results: vec![result.at(addr.ip())].into(),
        }
    }

    #[tokio::test]
    async fn a_probe_out_of_descriptors_is_an_internal_error_not_the_targets_failure() {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(Metrics::new(&registry));
        let observers = Observers::new(
            vec![metrics.clone()],
            InternalErrors::register(&registry),
            metrics.latest(),
        );
        observers
            .observe(&Arc::new(outcome(Ok(Duration::ZERO), Status::Pass)))
            .await;
        let spoiled = Err(ConnectFailure::NoDescriptors("Too many open files".into()));
        observers
            .observe(&Arc::new(outcome(spoiled, Status::Fail)))
            .await;
        let text = metrics.render();
        assert!(
            text.contains("edgewatch_internal_errors_total{kind=\"no_descriptors\"} 1"),
            "{text}"
        );
        assert!(!text.contains("edgewatch_check_failures_total{"), "{text}");
        assert!(
            text.contains("edgewatch_probes_total{result=\"success\"} 1"),
            "{text}"
        );
        assert!(!text.contains("result=\"failure\""), "{text}");
    }

    #[tokio::test]
    async fn state_changes_are_read_against_the_stored_outcome() {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(Metrics::new(&registry));
        let store = metrics.latest();
        let observers = Observers::new(
            vec![metrics.clone()],
            InternalErrors::register(&registry),
            store.clone(),
        );
        let probe = |status| Arc::new(outcome(Ok(Duration::ZERO), status));
        let name = "a.example.test:443";
        let mut seen = Vec::new();
        for status in [Status::Pass, Status::Fail, Status::Fail, Status::Pass] {
            let now = probe(status);
            let before = store.last(name);
            seen.push(
                changes(before.as_deref(), &now)
                    .map(|(_, c)| c)
                    .collect::<Vec<_>>(),
            );
            observers.observe(&now).await;
        }
        let from_pass = Change::Failing {
            from: Some(Status::Pass),
        };
        assert_eq!(
            seen,
            [vec![], vec![from_pass], vec![], vec![Change::Recovered]],
            "one change per transition, none while a check keeps failing"
        );
        observers.forget(name).await;
        assert!(store.last(name).is_none(), "forgetting empties the store");
        let first = probe(Status::Fail);
        let changed: Vec<_> = changes(None, &first).map(|(_, c)| c).collect();
        assert_eq!(changed, [Change::Failing { from: None }]);
    }
}

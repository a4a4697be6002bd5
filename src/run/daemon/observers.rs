//! Where outcomes go in the daemon: state-change logs and the sinks (metrics first, then
//! Alertmanager, Kubernetes Events). Each sink reads outcomes only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::internal::InternalErrors;
use crate::checks::{CheckName, Status};
use crate::export::OutcomeSink;
use crate::pipeline::outcome::Outcome;

/// The last status of each (check, address) of a target, in the outcome's order.
type Verdicts = Vec<(CheckName, Option<IpAddr>, Status)>;

/// The daemon's fan-out of outcomes.
pub struct Observers {
    sinks: Vec<Arc<dyn OutcomeSink>>,
    internal_errors: InternalErrors,
    last: Mutex<HashMap<String, Verdicts>>,
}

impl Observers {
    /// State-change logs, plus `sinks` in order; edgewatch's own failures go to `internal_errors`.
    pub fn new(sinks: Vec<Arc<dyn OutcomeSink>>, internal_errors: InternalErrors) -> Self {
        Observers {
            sinks,
            internal_errors,
            last: Mutex::new(HashMap::new()),
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
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        for sink in &self.sinks {
            sink.forget(name).await;
        }
    }

    /// One log event per state change (pass→fail, fail→pass), not per probe. Allocates
    /// nothing for a known target (and formats only what it logs): it runs after every probe.
    fn log_changes(&self, outcome: &Outcome) {
        let name = &outcome.target.name;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let before = last.get(name.as_str());
        for r in &outcome.results {
            let previous = before
                .and_then(|b| b.iter().find(|(c, a, _)| *c == r.check && *a == r.address))
                .map(|(_, _, s)| *s);
            let address = || r.address.map(|a| a.to_string()).unwrap_or_default();
            match (previous, r.status) {
                (Some(p), s) if p == s => {}
                (None, Status::Fail) | (Some(_), Status::Fail) => tracing::warn!(
                    target = %name, check = %r.check, address = %address(),
                    reason_code = r.reason_code, reason = %r.reason,
                    from = previous.map(Status::as_str).unwrap_or("new"), "check failing"
                ),
                (Some(Status::Fail), s) => tracing::info!(
                    target = %name, check = %r.check, address = %address(), to = s.as_str(),
                    "check recovered"
                ),
                _ => {}
            }
        }
        if before.is_none() {
            tracing::info!(target = %name, ok = outcome.ok(), "first probe of target");
        }
        let now = outcome
            .results
            .iter()
            .map(|r| (r.check, r.address, r.status));
        match last.get_mut(name.as_str()) {
            // The list of the last probe is overwritten in place: no allocation per probe.
            Some(slot) => {
                slot.clear();
                slot.extend(now);
            }
            None => {
                last.insert(name.clone(), now.collect());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::checks::CheckResult;
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
                nameservers: vec![],
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
            results: vec![result.at(addr.ip())],
        }
    }

    #[tokio::test]
    async fn a_probe_out_of_descriptors_is_an_internal_error_not_the_targets_failure() {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(Metrics::new(&registry));
        let observers = Observers::new(vec![metrics.clone()], InternalErrors::register(&registry));
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
}

//! Kubernetes Events on the Service when one of its checks changes state, so that
//! `kubectl describe service` shows what edgewatch saw. Reads outcomes only; posts through
//! kube-runtime's event `Recorder` (events.k8s.io/v1, which PATCHes a repeated event's series).
//!
//! A check going fail (first seen failing, or pass→fail) posts a `Warning`; fail→pass a `Normal`.
//! At most one Event per Service and check per `min_interval` (default 5 minutes): a change
//! inside the window is not lost, it is announced on the first outcome after the window if the
//! state still differs from the last one announced.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::api::Api;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::checks::verdicts::{Verdict, Verdicts};
use crate::checks::{CheckName, Status};
use crate::discovery::target::TargetSource;
use crate::pipeline::outcome::Outcome;

/// The default least time between two Events for one Service and check.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(300);
const MAX_NOTE: usize = 1024;
/// The longest one Event post (with its Service lookup) may take.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts an Event on a Service each time one of its checks changes state (rate-limited).
pub struct EventPublisher {
    recorder: Recorder,
    client: kube::Client,
    min_interval: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per target, the checks whose last announced state is failing. A check not listed passes
    /// (or was never seen failing): only failures are kept, so a fleet of passing targets
    /// costs nothing here, and a probe looks its target up by name without copying it.
    failing_announced: HashMap<String, Vec<CheckName>>,
    /// When an Event was last posted per (namespace, service, check).
    posted: HashMap<(Box<str>, Box<str>, CheckName), Instant>,
    /// Whether the last post failed (to log a failing API once per streak).
    failing: bool,
}

impl State {
    /// Remembers that `check` of `target` was announced as `status`.
    fn announce(&mut self, target: &str, check: CheckName, status: Status) {
        if status == Status::Fail {
            let checks = self
                .failing_announced
                .entry(target.to_string())
                .or_default();
            if !checks.contains(&check) {
                checks.push(check);
            }
        } else if let Some(checks) = self.failing_announced.get_mut(target) {
            checks.retain(|c| *c != check);
            if checks.is_empty() {
                self.failing_announced.remove(target);
            }
        }
    }
}

impl EventPublisher {
    /// A publisher reporting as controller `edgewatch`, instance `instance` (e.g. the pod name).
    pub fn new(client: kube::Client, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: "edgewatch".into(),
            instance,
        };
        EventPublisher {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            min_interval: DEFAULT_MIN_INTERVAL,
            state: Mutex::new(State::default()),
        }
    }

    /// The same publisher with another least time between Events per Service and check.
    pub fn with_min_interval(mut self, min_interval: Duration) -> Self {
        self.min_interval = min_interval;
        self
    }

    /// Looks at one outcome; posts Events for the checks of a Kubernetes target that changed.
    /// Never holds its state lock while talking to the API server, and gives up on a post after
    /// [`POST_TIMEOUT`] (the probe loop calling this must not stall behind a slow API server).
    pub async fn observe(&self, outcome: &Outcome) {
        let TargetSource::Kubernetes { namespace, service } = &outcome.target.source else {
            return;
        };
        let mut posts = Vec::new();
        {
            let mut state = self.state.lock().await;
            let name = &*outcome.target.name;
            for (check, status, failing) in summarise(&outcome.results) {
                let was_failing = state
                    .failing_announced
                    .get(name)
                    .is_some_and(|checks| checks.contains(&check));
                let type_ = match (was_failing, status) {
                    (false, Status::Fail) => EventType::Warning,
                    (true, Status::Pass) => EventType::Normal,
                    _ => continue,
                };
                let window = (namespace.clone(), service.clone(), check);
                let now = Instant::now();
                let last = state.posted.get(&window).copied();
                if last.is_some_and(|t| now.duration_since(t) < self.min_interval) {
                    continue;
                }
                // Claimed now so that another target of the Service does not post meanwhile.
                state.posted.insert(window.clone(), now);
                let event = event(type_, check, &outcome.target.name, &failing);
                posts.push((check, window, last, status, event));
            }
        }
        for (check, window, last, status, event) in posts {
            let sent =
                tokio::time::timeout(POST_TIMEOUT, self.publish(&event, namespace, service)).await;
            let mut state = self.state.lock().await;
            match sent {
                Ok(Ok(())) => {
                    state.announce(&outcome.target.name, check, status);
                    if std::mem::take(&mut state.failing) {
                        tracing::info!("posting Kubernetes Events works again");
                    }
                }
                failed => {
                    match last {
                        Some(t) => state.posted.insert(window, t),
                        None => state.posted.remove(&window),
                    };
                    if !std::mem::replace(&mut state.failing, true) {
                        let error = match failed {
                            Ok(Err(e)) => e.to_string(),
                            _ => format!("no answer within {POST_TIMEOUT:?}"),
                        };
                        tracing::warn!(%error, %namespace, %service,
                            "cannot post a Kubernetes Event; will retry on the next outcome");
                    }
                }
            }
        }
    }

    /// The target named `name` is gone: its states are forgotten.
    pub async fn forget(&self, name: &str) {
        self.state.lock().await.failing_announced.remove(name);
    }

    async fn publish(&self, event: &Event, namespace: &str, service: &str) -> kube::Result<()> {
        // `kubectl describe` finds Events by the object's uid: look it up (a `get`, which the
        // RBAC grants); a Service gone meanwhile still gets the Event, by name.
        let uid = Api::<Service>::namespaced(self.client.clone(), namespace)
            .get_opt(service)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.metadata.uid);
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Service".into()),
            namespace: Some(namespace.into()),
            name: Some(service.into()),
            uid,
            ..Default::default()
        };
        self.recorder.publish(event, &reference).await
    }
}

/// Per check: its state over all addresses (fail wins; all skipped: none) and the failures.
fn summarise(results: &Verdicts) -> Vec<(CheckName, Status, Vec<Verdict<'_>>)> {
    let mut out: Vec<(CheckName, Status, Vec<Verdict<'_>>)> = Vec::new();
    for r in results.iter() {
        let i = match out.iter().position(|(c, _, _)| *c == r.check) {
            Some(i) => i,
            None => {
                out.push((r.check, Status::Skip, Vec::new()));
                out.len() - 1
            }
        };
        let entry = &mut out[i];
        match r.status {
            Status::Fail => {
                entry.1 = Status::Fail;
                entry.2.push(r);
            }
            Status::Pass if entry.1 == Status::Skip => entry.1 = Status::Pass,
            _ => {}
        }
    }
    out.retain(|(_, s, _)| *s != Status::Skip);
    out
}

fn pascal(check: CheckName) -> String {
    check
        .as_str()
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn event(type_: EventType, check: CheckName, target: &str, failing: &[Verdict]) -> Event {
    let (reason, mut note) = match type_ {
        EventType::Warning => {
            let why: Vec<String> = failing
                .iter()
                .map(|r| match r.address {
                    Some(a) => format!("{a}: {}", r.reason()),
                    None => r.reason().to_string(),
                })
                .collect();
            (
                format!("{}Failed", pascal(check)),
                format!("check {check} failed for {target}: {}", why.join("; ")),
            )
        }
        EventType::Normal => (
            format!("{}Recovered", pascal(check)),
            format!("check {check} passes again for {target}"),
        ),
    };
    if note.len() > MAX_NOTE {
        let mut cut = MAX_NOTE - 3;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("...");
    }
    Event {
        type_,
        reason,
        note: Some(note),
        action: "Probe".into(),
        secondary: None,
    }
}

#[async_trait::async_trait]
impl crate::export::OutcomeSink for EventPublisher {
    async fn observe(&self, outcome: &Outcome) {
        EventPublisher::observe(self, outcome).await;
    }

    async fn forget(&self, name: &str) {
        EventPublisher::forget(self, name).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckResult;

    #[test]
    fn a_check_fails_if_any_address_fails_and_all_skipped_is_no_state() {
        let a = "192.0.2.1".parse().unwrap();
        let results = vec![
            CheckResult::pass(CheckName::Config, "ok"),
            CheckResult::pass(CheckName::Backend, "200").at(a),
            CheckResult::fail(CheckName::Backend, "bad_status", "503").at(a),
            CheckResult::skip(CheckName::ClientIp, "disabled", "off"),
        ];
        let results = Verdicts::new(&results);
        let s = summarise(&results);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].0, s[0].1), (CheckName::Config, Status::Pass));
        assert_eq!((s[1].0, s[1].1), (CheckName::Backend, Status::Fail));
        assert_eq!(s[1].2.len(), 1);
    }

    #[test]
    fn reasons_are_pascal_case_and_notes_bounded() {
        assert_eq!(pascal(CheckName::TlsHandshake), "TlsHandshake");
        let long = Verdicts::new(&[CheckResult::fail(
            CheckName::Backend,
            "closed",
            "é".repeat(2000),
        )]);
        let long: Vec<Verdict> = long.iter().collect();
        let ev = event(EventType::Warning, CheckName::Backend, "t", &long);
        assert_eq!(ev.reason, "BackendFailed");
        assert!(ev.note.as_ref().unwrap().len() <= MAX_NOTE);
    }
}

//! Alerts without Prometheus rules: posts one alert per failing (target, address, check) to
//! Alertmanager's v2 API when a check starts failing, re-posts every firing alert every resend
//! interval (Alertmanager forgets alerts that are not re-posted), and resolves alerts
//! (`endsAt` = now) when the check passes again, is skipped, or its target goes away.
//!
//! Reads outcomes only; never changes what is probed. A failed post is counted in
//! `edgewatch_alertmanager_posts_total{result}` and logged, never fatal: the next resend
//! delivers firing alerts again, and an undelivered resolve is completed by Alertmanager itself
//! when the last posted `endsAt` (four resend intervals ahead) passes.

pub mod alert;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus::IntCounterVec;

use crate::checks::{CheckName, CheckResult, Status};
use crate::discovery::target::Target;
use crate::pipeline::outcome::Outcome;
use crate::textsafe::redact_userinfo;
use alert::PostableAlert;

/// Why a notifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    /// The Alertmanager base URL does not parse or is not http(s).
    #[error("invalid Alertmanager URL `{url}`: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl AlertmanagerError {
    /// Stable short code.
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertmanagerError::InvalidUrl { .. } => "invalid_url",
            AlertmanagerError::Client(_) => "client",
        }
    }
}

type Key = (CheckName, Option<IpAddr>);

/// One failing check that has an alert in Alertmanager.
struct Active {
    target: Arc<Target>,
    result: CheckResult,
    since: SystemTime,
}

/// Posts edgewatch's own alerts to one Alertmanager.
pub struct Notifier {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    resend: Duration,
    posts: IntCounterVec,
    active: Mutex<HashMap<String, HashMap<Key, Active>>>,
}

impl Notifier {
    /// A notifier for the Alertmanager at `base_url` (e.g. `http://alertmanager:9093`), re-posting
    /// firing alerts every `resend_interval`, counting posts in
    /// `edgewatch_alertmanager_posts_total{result}` (`success`, `rejected`, `error`), which it
    /// registers in `registry`.
    pub fn new(
        base_url: &str,
        resend_interval: Duration,
        registry: &prometheus::Registry,
    ) -> Result<Self, AlertmanagerError> {
        let invalid = |message: String| AlertmanagerError::InvalidUrl {
            url: redact_userinfo(base_url).into_owned(),
            message: redact_userinfo(&message).into_owned(),
        };
        let base = reqwest::Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https".into()));
        }
        let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
        let mut endpoint = base.clone();
        endpoint.set_path(&path);
        let client = crate::http_client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(AlertmanagerError::Client)?;
        Ok(Notifier {
            client,
            endpoint,
            resend: resend_interval.max(Duration::from_secs(1)),
            posts: crate::registry::counter(
                registry,
                "edgewatch_alertmanager_posts_total",
                "Alert batches posted to Alertmanager, by result.",
                &["result"],
            ),
            active: Mutex::new(HashMap::new()),
        })
    }

    /// How many posts ended with `result` (`success`, `rejected`, `error`) so far.
    pub fn posts(&self, result: &str) -> u64 {
        self.posts.with_label_values(&[result]).get()
    }

    /// Reads one outcome: posts firing alerts for checks that started failing (or fail with a
    /// new reason, which is a new alert) and resolves the alerts of checks no longer failing.
    pub async fn observe(&self, outcome: &Outcome) {
        let now = SystemTime::now();
        let name = &outcome.target.name;
        let mut batch = Vec::new();
        {
            let mut all = self.active.lock().unwrap_or_else(|p| p.into_inner());
            let mut before = all.remove(&**name).unwrap_or_default();
            let mut after = HashMap::new();
            for r in outcome.results.iter().filter(|r| r.status == Status::Fail) {
                let key = (r.check, r.address);
                let (since, fresh) = match before.remove(&key) {
                    Some(a) if a.result.reason_code() == r.reason_code() => (a.since, false),
                    Some(a) => {
                        // A new reason is a new label set: resolve the old alert.
                        batch.push(self.resolved(&a, now));
                        (now, true)
                    }
                    None => (now, true),
                };
                let a = Active {
                    target: outcome.target.clone(),
                    result: r.to_result(),
                    since,
                };
                if fresh {
                    batch.push(self.firing(&a, now));
                }
                after.insert(key, a);
            }
            batch.extend(before.values().map(|a| self.resolved(a, now)));
            if !after.is_empty() {
                all.insert(name.to_string(), after);
            }
        }
        self.post(&batch).await;
    }

    /// Resolves every alert of the target named `target_name` (it is no longer probed).
    pub async fn forget(&self, target_name: &str) {
        let now = SystemTime::now();
        let gone = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(target_name)
            .unwrap_or_default();
        let batch: Vec<_> = gone.values().map(|a| self.resolved(a, now)).collect();
        self.post(&batch).await;
    }

    /// `--once`: posts every failing check of `outcomes` as a firing alert, in one batch. Nothing
    /// is remembered; the alerts expire four resend intervals later unless the next run
    /// re-posts them, which is how a pipeline's alerts resolve without a daemon.
    pub async fn notify_once(&self, outcomes: &[Outcome]) {
        let now = SystemTime::now();
        let batch: Vec<_> = outcomes
            .iter()
            .flat_map(|o| {
                o.results
                    .iter()
                    .filter(|r| r.status == Status::Fail)
                    .map(move |r| {
                        alert::firing(&o.target, &r.to_result(), now, now + self.resend * 4)
                    })
            })
            .collect();
        self.post(&batch).await;
    }

    /// Re-posts every firing alert now (the resender calls this every resend interval).
    pub async fn resend(&self) {
        let now = SystemTime::now();
        let batch: Vec<_> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flat_map(|m| m.values())
            .map(|a| self.firing(a, now))
            .collect();
        self.post(&batch).await;
    }

    /// Starts the background task that calls [`Notifier::resend`] every resend interval; it
    /// runs until the returned handle is aborted or the runtime stops.
    pub fn spawn_resender(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.resend);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; observe() has just posted
            loop {
                tick.tick().await;
                me.resend().await;
            }
        })
    }

    /// How many alerts are currently firing (for tests and logs).
    pub fn firing_count(&self) -> usize {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(HashMap::len)
            .sum()
    }

    fn firing(&self, a: &Active, now: SystemTime) -> PostableAlert {
        // Like Prometheus: valid for four resend intervals, so one lost post does not resolve it.
        alert::firing(&a.target, &a.result, a.since, now + self.resend * 4)
    }

    fn resolved(&self, a: &Active, now: SystemTime) -> PostableAlert {
        alert::firing(&a.target, &a.result, a.since, now)
    }

    async fn post(&self, batch: &[PostableAlert]) {
        if batch.is_empty() {
            return;
        }
        let sent = self
            .client
            .post(self.endpoint.clone())
            .json(batch)
            .send()
            .await;
        let result = match sent {
            Ok(resp) if resp.status().is_success() => "success",
            Ok(resp) => {
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                let body: String = body.chars().take(200).collect();
                let url = redact_userinfo(self.endpoint.as_str());
                tracing::warn!(%url, %status, %body, "Alertmanager rejected alerts");
                "rejected"
            }
            Err(err) => {
                let url = redact_userinfo(self.endpoint.as_str());
                // Without the URL (it may carry a password), with the cause chain.
                let error = redact_userinfo(&post_error(err)).into_owned();
                tracing::warn!(%url, %error, "cannot post alerts to Alertmanager");
                "error"
            }
        };
        self.posts.with_label_values(&[result]).inc();
    }
}

/// A failed post in words, with its causes: reqwest's own text ("error sending request for url
/// (…)") says neither why nor what, the cause chain does ("… tcp connect error: Connection
/// refused"). The URL is left out (it is logged beside, and could carry a password).
fn post_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let part = cause.to_string();
        // Some layers repeat their cause's text in their own; say each thing once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

#[async_trait::async_trait]
impl crate::export::OutcomeSink for Notifier {
    async fn observe(&self, outcome: &Outcome) {
        Notifier::observe(self, outcome).await;
    }

    async fn forget(&self, name: &str) {
        Notifier::forget(self, name).await;
    }
}

#[cfg(test)]
mod tests {
    use super::post_error;

    #[tokio::test]
    async fn an_unreachable_alertmanager_is_logged_with_its_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = reqwest::Client::new()
            .post(format!("http://user:secret@{closed}/api/v2/alerts"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            post_error(err),
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
    }
}

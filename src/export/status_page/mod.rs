//! The status page at `/` and its JSON twin `/status.json`: what an SRE paged at night looks at
//! through `kubectl port-forward`. Server-rendered HTML with inline CSS, no script and no
//! external asset, so it works on a cluster with no internet; it refreshes itself.
//!
//! It reads the daemon's [`LatestOutcomes`] only: a page view never probes. Every string from
//! outside is escaped ([`html::escape`]).

pub mod html;
mod render;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::checks::CheckName;
use crate::export::latest::LatestOutcomes;
use crate::export::report;

/// Longest query parameter value honoured; a longer one is ignored (it names nothing real).
const MAX_PARAM_LEN: usize = 253;

/// The page's refresh interval is the probe interval, kept within these bounds.
const REFRESH_BOUNDS: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));

/// The status page over the daemon's latest outcomes.
pub struct StatusPage {
    store: Arc<LatestOutcomes>,
    refresh: Duration,
}

/// What a viewer asked to see, from the query string (`?namespace=…&check=…`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only targets in this Kubernetes namespace.
    pub namespace: Option<String>,
    /// Only targets where this check fails: the name as given (shown back) and, when it names
    /// a check, that check.
    pub check: Option<(String, Option<CheckName>)>,
}

impl Filter {
    /// A filter from the raw query parameters; empty or over-long values mean "no filter".
    pub fn from_params(namespace: Option<&str>, check: Option<&str>) -> Filter {
        let usable = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty() && v.len() <= MAX_PARAM_LEN)
                .map(str::to_string)
        };
        Filter {
            namespace: usable(namespace),
            check: usable(check).map(|name| {
                let known = CheckName::ALL.into_iter().find(|c| c.as_str() == name);
                (name, known)
            }),
        }
    }

    /// Whether any filter is set.
    pub fn is_set(&self) -> bool {
        self.namespace.is_some() || self.check.is_some()
    }
}

impl StatusPage {
    /// A page over `store`, refreshing every probe `interval` (within 5 s to 5 min).
    pub fn new(store: Arc<LatestOutcomes>, interval: Duration) -> Self {
        StatusPage {
            store,
            refresh: interval.clamp(REFRESH_BOUNDS.0, REFRESH_BOUNDS.1),
        }
    }

    /// The HTML page for `filter`, as of `now`.
    pub fn html(&self, filter: &Filter, now: SystemTime) -> String {
        render::page(&self.store.snapshot(), filter, now, self.refresh)
    }

    /// The `--once --output json` document of the latest outcomes (targets sorted by name).
    pub fn json(&self) -> Value {
        let outcomes: Vec<_> = self
            .store
            .snapshot()
            .into_iter()
            .map(|l| (*l.outcome).clone())
            .collect();
        report::to_json(&outcomes)
    }
}

#[cfg(test)]
mod tests;

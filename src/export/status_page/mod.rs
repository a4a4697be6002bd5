//! The status page at `/` and its JSON twin `/status.json`: what an SRE paged at night looks at
//! through `kubectl port-forward`. Server-rendered HTML with inline CSS, no script and no
//! external asset, so it works on a cluster with no internet; it refreshes itself.
//!
//! It reads the daemon's [`LatestOutcomes`] only: a page view never probes. Every string from
//! outside is escaped ([`html::escape`]).

pub mod html;
mod render;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::checks::CheckName;
use crate::export::latest::LatestOutcomes;
use crate::export::report::stream::{Entry, Format, ReportWriter};

/// Longest query parameter value honoured; a longer one is ignored (it names nothing real).
const MAX_PARAM_LEN: usize = 253;

/// The page's refresh interval is the probe interval, kept within these bounds.
const REFRESH_BOUNDS: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));

/// Targets per piece of a streamed `/status.json`: a target's part is 5-8 KB, so a piece is a
/// few hundred kilobytes, written in a few milliseconds.
pub const JSON_CHUNK_TARGETS: usize = 64;

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

    /// `/status.json`: the `--once --output json` document of the latest outcomes (targets
    /// sorted by name), written [`JSON_CHUNK_TARGETS`] targets at a time as the client reads.
    ///
    /// Built whole, the document of 100,000 targets took 7.8 GB: every outcome copied, then a
    /// `serde_json::Value` tree of all of them, then its text. Streamed, a request holds one
    /// piece (a few hundred kilobytes) and a shared reference to each target's outcome as of the
    /// request: every target appears once, as its latest probe was when the request came, however
    /// slowly the client reads.
    pub fn json_stream(
        &self,
    ) -> impl futures::Stream<Item = Result<Vec<u8>, Infallible>> + Send + 'static {
        let outcomes: Vec<_> = self
            .store
            .snapshot()
            .into_iter()
            .map(|l| l.outcome)
            .collect();
        let outcomes = outcomes.into_iter();
        // Writing to memory cannot fail.
        let writer = ReportWriter::start(Vec::new(), Format::Json).ok();
        futures::stream::unfold((outcomes, writer), |(mut outcomes, writer)| async move {
            let mut writer = writer?;
            // Probes share this thread: each piece is a short step between them.
            tokio::task::yield_now().await;
            for outcome in outcomes.by_ref().take(JSON_CHUNK_TARGETS) {
                writer.write(&Entry::render(&outcome, Format::Json)).ok()?;
            }
            if outcomes.len() > 0 {
                let piece = writer.take_written();
                return Some((Ok(piece), (outcomes, Some(writer))));
            }
            let (_, end) = writer.finish_into().ok()?;
            Some((Ok(end), (outcomes, None)))
        })
    }
}

#[cfg(test)]
mod tests;

//! Watches of the test API server, as the real one streams them: newline-delimited JSON events
//! from a resourceVersion (history first, then live), selector transitions as ADDED/DELETED,
//! BOOKMARKs, an `ERROR` event with a `410` Status for a compacted resourceVersion, the server
//! closing the stream at `timeoutSeconds` or when told to.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::routes::{Body, json_response};
use super::{Change, Shared, selector_matches, status};

struct Filter {
    /// `Service` or `Lease`: a watch sees changes of its own kind only.
    kind: &'static str,
    ns: Option<String>,
    selector: String,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        let ns_ok = self
            .ns
            .as_deref()
            .is_none_or(|ns| obj["metadata"]["namespace"].as_str() == Some(ns));
        let kind_ok = obj["kind"].as_str() == Some(self.kind);
        kind_ok && ns_ok && selector_matches(&self.selector, obj).unwrap_or(false)
    }

    /// The event this watch sees for a change, if any.
    fn event(&self, c: &Change) -> Option<Bytes> {
        let now = self.matches(&c.obj);
        let kind = match (c.kind, c.old.as_ref().map(|o| self.matches(o))) {
            ("MODIFIED", Some(true)) if now => "MODIFIED",
            ("MODIFIED", Some(true)) => "DELETED",
            ("MODIFIED", _) if now => "ADDED",
            (kind, _) if now && kind != "MODIFIED" => kind,
            _ => return None,
        };
        Some(line(kind, &c.obj))
    }
}

fn line(kind: &str, obj: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": obj}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(kind: &str, rv: u64) -> Bytes {
    let api_version = if kind == "Lease" {
        "coordination.k8s.io/v1"
    } else {
        "v1"
    };
    line(
        "BOOKMARK",
        &json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv.to_string()}}),
    )
}

/// Answers one `?watch=true` request.
pub async fn watch(
    shared: Arc<Shared>,
    ns: Option<String>,
    selector: String,
    q: &HashMap<String, String>,
    kind: &'static str,
) -> Response<Body> {
    if let Err(e) = selector_matches(&selector, &json!({})) {
        return json_response(StatusCode::BAD_REQUEST, &status(400, "BadRequest", &e));
    }
    let from = match q.get("resourceVersion").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let msg = format!("invalid resourceVersion `{v}`");
                return json_response(StatusCode::BAD_REQUEST, &status(400, "BadRequest", &msg));
            }
        },
    };
    let bookmarks = q.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let filter = Filter { kind, ns, selector };

    let (mut tx, rx) = futures::channel::mpsc::channel::<Bytes>(1024);
    let mut initial = Vec::new();
    let mut gone = false;
    let (mut sub, token, every, mut last_rv) = {
        let inner = shared.lock();
        match from {
            Some(n) if n != 0 && n < inner.compacted_through => {
                let msg = format!(
                    "too old resource version: {n} ({})",
                    inner.compacted_through
                );
                initial.push(line("ERROR", &status(410, "Expired", &msg)));
                gone = true;
            }
            Some(0) | None => initial.extend(
                if kind == "Lease" {
                    &inner.leases
                } else {
                    &inner.services
                }
                .values()
                .filter(|o| filter.matches(o))
                .map(|o| line("ADDED", o)),
            ),
            Some(n) => initial.extend(
                inner
                    .history
                    .iter()
                    .filter(|c| c.rv > n)
                    .filter_map(|c| filter.event(c)),
            ),
        }
        (
            shared.changes.subscribe(),
            shared.watch_token(),
            inner.bookmark_every,
            inner.rv,
        )
    };
    tokio::spawn(async move {
        for l in initial {
            if tx.send(l).await.is_err() {
                return;
            }
        }
        if gone {
            return;
        }
        let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(86_400)));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            let next = tokio::select! {
                // Cancellation first: a change made after the drop must not slip through.
                biased;
                () = token.cancelled() => return,
                () = &mut deadline => {
                    // The real server ends a timed-out watch with a last bookmark.
                    if bookmarks {
                        let _ = tx.send(bookmark(kind, last_rv)).await;
                    }
                    return;
                }
                _ = tick.tick(), if bookmarks => Some(bookmark(kind, last_rv)),
                change = sub.recv() => match change {
                    Ok(c) if c.rv <= last_rv => None,
                    Ok(c) => {
                        last_rv = c.rv;
                        filter.event(&c)
                    }
                    // A watch that falls behind is closed, as the real watch cache does.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return,
                },
            };
            if let Some(l) = next
                && tx.send(l).await.is_err()
            {
                return;
            }
        }
    });
    let body = StreamBody::new(rx.map(|b| Ok::<_, Infallible>(Frame::data(b))));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(body.boxed_unsync())
        .unwrap()
}

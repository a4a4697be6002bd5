//! `/shard`: which targets this replica owns and who the other members are, as JSON. The
//! supervisor writes the owned targets after each change, the Lease keeper the members and whether the API server answers.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::ShardConfig;

/// What `/shard` answers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    /// This replica's name.
    pub replica: String,
    /// Its vantage point ("" for the only one).
    pub vantage: String,
    /// The Leases' namespace.
    pub namespace: String,
    /// The Lease duration in seconds.
    pub lease_duration_seconds: f64,
    /// Whether the membership is known yet (the replica probes nothing before).
    pub membership_known: bool,
    /// Live members of this vantage point, sorted, this replica included.
    pub members: Vec<String>,
    /// Whether the Lease watch and the last renewal work (when not, the last membership is
    /// kept: nobody expires).
    pub api_reachable: bool,
    /// Names of the targets this replica owns, sorted.
    pub owned: Vec<String>,
}

/// The shared, current [`Status`].
#[derive(Debug, Default)]
pub struct StatusBoard {
    inner: Mutex<Status>,
}

impl StatusBoard {
    /// A board for a replica configured so.
    pub fn new(config: &ShardConfig) -> Self {
        StatusBoard {
            inner: Mutex::new(Status {
                replica: config.replica.clone(),
                vantage: config.vantage.clone(),
                namespace: config.namespace.clone(),
                lease_duration_seconds: config.lease_duration.as_secs_f64(),
                ..Status::default()
            }),
        }
    }

    /// Changes the status under its lock.
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A copy of the status.
    pub fn snapshot(&self) -> Status {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The `/shard` route, to merge into the daemon's router.
pub fn router(board: Arc<StatusBoard>) -> Router {
    Router::new()
        .route(
            "/shard",
            get(|State(b): State<Arc<StatusBoard>>| async move { axum::Json(b.snapshot()) }),
        )
        .with_state(board)
}

//! The daemon's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process is
//! alive), `/readyz` (every discovery source has listed once), and the status page: `/` (HTML)
//! and `/status.json` (the `--once` JSON document of the latest outcomes). Served within the
//! bounds of [`listener::Limits`] (connections, header time, connection age).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::export::listener::{self, Limits};
use crate::export::metrics::Metrics;
use crate::export::status_page::{Filter, StatusPage};

/// Whether the process is working (`/healthz`): false when probes keep panicking.
pub type Liveness = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    status: Arc<StatusPage>,
    alive: Liveness,
}

/// The router, for tests and for [`serve`]; `/healthz` always says ok.
pub fn router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>, status: Arc<StatusPage>) -> Router {
    router_with_liveness(metrics, ready, status, Arc::new(|| true))
}

/// The router with `/healthz` answering 503 while `alive` says false.
pub fn router_with_liveness(
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    status: Arc<StatusPage>,
    alive: Liveness,
) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/status.json", get(status_json))
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState {
            metrics,
            ready,
            status,
            alive,
        })
}

/// `?namespace=…&check=…`; anything else in the query is ignored.
#[derive(serde::Deserialize)]
struct StatusQuery {
    namespace: Option<String>,
    check: Option<String>,
}

async fn status_page(State(state): State<AppState>, Query(q): Query<StatusQuery>) -> Html<String> {
    let filter = Filter::from_params(q.namespace.as_deref(), q.check.as_deref());
    Html(state.status.html(&filter, std::time::SystemTime::now()))
}

async fn status_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        // Streamed: a large fleet's document is hundreds of megabytes (see `json_stream`).
        axum::body::Body::from_stream(state.status.json_stream()),
    )
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if (state.alive)() {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "probe loops keep failing (see edgewatch_internal_errors_total and the logs)\n",
        )
    }
}

async fn metrics_handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        // Streamed: a large fleet's exposition is megabytes (see `Metrics::render_stream`).
        axum::body::Body::from_stream(state.metrics.clone().render_stream()),
    )
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first full list of targets\n",
        )
    }
}

/// Binds `addr` (reporting a clear error) and returns the bound listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Serves `app` (the [`router_with_liveness`], with any extra routes merged, e.g. `/shard`)
/// until `shutdown` fires, within `limits`.
pub async fn serve(
    tcp: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    listener::serve(tcp, app, limits, shutdown).await;
}

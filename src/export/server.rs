//! The daemon's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process is
//! alive), `/readyz` (every discovery source has listed once).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::export::metrics::Metrics;

/// Whether the process is working (`/healthz`): false when probe loops keep dying.
pub type Liveness = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    alive: Liveness,
}

/// The router, for tests and for [`serve`]; `/healthz` always says ok.
pub fn router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>) -> Router {
    router_with_liveness(metrics, ready, Arc::new(|| true))
}

/// The router with `/healthz` answering 503 while `alive` says false.
pub fn router_with_liveness(
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    alive: Liveness,
) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState {
            metrics,
            ready,
            alive,
        })
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

/// Serves until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    alive: Liveness,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router_with_liveness(metrics, ready, alive))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

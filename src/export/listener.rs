//! The accept loop behind `/metrics`: a slow or idle client costs a bounded slot, never the
//! descriptors the probes need. Bounds, each because an attacker (or a broken scraper) could
//! otherwise hold the process's file descriptors:
//!
//! - at most [`Limits::max_connections`] connections; beyond it a new connection evicts the
//!   longest-idle one ([`ConnSlots`]), so a scrape gets in while hundreds of clients trickle;
//! - a request head must arrive within [`Limits::header_timeout`];
//! - a connection lives at most [`Limits::max_age`], keep-alive included.
//!
//! The connection cap comes from the descriptor limit ([`Limits::for_descriptors`]): the listener
//! may take a quarter of it, the rest is the probes' margin.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio_util::sync::CancellationToken;

use crate::connslots::{ConnSlots, Slot};

/// How much of the process the listener may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most open connections.
    pub max_connections: usize,
    /// Time allowed for a request head to arrive in full (and for a keep-alive connection to
    /// send its next one).
    pub header_timeout: Duration,
    /// Longest a connection stays open.
    pub max_age: Duration,
}

impl Limits {
    /// Fewest connections the listener keeps, however low the descriptor limit.
    pub const MIN_CONNECTIONS: usize = 4;
    /// Most connections the listener keeps, however high the limit (a few scrapers and probes).
    pub const MAX_CONNECTIONS: usize = 256;

    /// Limits for a process allowed `nofile` descriptors: a quarter of them for the listener
    /// (between [`Self::MIN_CONNECTIONS`] and [`Self::MAX_CONNECTIONS`]); the rest stays free
    /// for probing.
    pub fn for_descriptors(nofile: u64) -> Self {
        let quarter = usize::try_from(nofile / 4).unwrap_or(usize::MAX);
        Limits {
            max_connections: quarter.clamp(Self::MIN_CONNECTIONS, Self::MAX_CONNECTIONS),
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(5),
            max_age: Duration::from_secs(120),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` fires; open connections are
/// dropped then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let slots = ConnSlots::new(limits.max_connections);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(err) => {
                // Out of descriptors (or the like): back off instead of spinning.
                tracing::warn!(error = %err, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.admit() else {
            // Every connection is mid-request: nothing idle to evict. Close this one now.
            continue;
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::timeout(limits.max_age, connection(tcp, router, limits, &slot)) => {}
                _ = slot.evicted() => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

async fn connection(tcp: tokio::net::TcpStream, router: Router, limits: Limits, slot: &Slot) {
    let slot = slot.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        // Busy from the request head until the response body is fully sent: a scrape that
        // streams megabytes is never evicted half-way.
        let busy = slot.busy();
        let call = hyper::service::Service::call(&TowerToHyperService::new(router.clone()), req);
        async move {
            let response = call.await?;
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &busy;
                    frame
                }))
            }))
        }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(tcp), service)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_takes_a_quarter_of_the_descriptors_within_bounds() {
        assert_eq!(Limits::for_descriptors(256).max_connections, 64);
        assert_eq!(Limits::for_descriptors(8).max_connections, 4);
        assert_eq!(Limits::for_descriptors(1 << 20).max_connections, 256);
    }
}

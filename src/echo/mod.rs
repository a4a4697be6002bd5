//! `edgewatch echo`: a small HTTP server to run as a backend, or as a sidecar beside one, that
//! answers every request with what it saw of the client (JSON: `probe::echo_reply::EchoResponse`). The prober's
//! `client_ip` check reads it to prove the client's IP survived the load balancer.
//!
//! Owns the PROXY protocol parser and the server; the answer's format is the probe's contract. It judges nothing.
//!
//! Several PROXY headers can arrive on one connection (an NLB does not strip a header the client
//! sent): the first one is the load balancer's and gives `client_ip`; the others are reported
//! under `proxy.stacked` and never trusted, since any client can write them.

pub mod crc32c;
pub mod proxy_protocol;
pub mod response;
mod rewind;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

pub use server::{EchoSettings, ProxyMode, serve};

/// `edgewatch echo` options.
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080", env = "EDGEWATCH_ECHO_LISTEN")]
    pub listen: SocketAddr,
    /// PROXY protocol (v1 and v2): `off`, `optional` (use it when present) or `required`.
    /// Match the NLB target group's `proxy_protocol_v2.enabled`: `required` when on.
    #[arg(long, value_enum, default_value_t = ProxyMode::Optional, env = "EDGEWATCH_ECHO_PROXY_PROTOCOL")]
    pub proxy_protocol: ProxyMode,
    /// Identity reported in answers (default: `$POD_NAMESPACE/$POD_NAME` when POD_NAME is set,
    /// from the Kubernetes downward API).
    #[arg(long, env = "EDGEWATCH_ECHO_IDENTITY")]
    pub identity: Option<String>,
    /// Time allowed for the PROXY header and each request head.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// Most connections open at once (1-65536); beyond it a new connection evicts the
    /// longest-idle one, so a keep-alive flood cannot starve health checks.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
}

/// Why the echo server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum EchoError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The identity from the downward API env: `namespace/name`, or `name` without a namespace.
pub fn identity_from_env() -> Option<String> {
    let name = std::env::var("POD_NAME").ok().filter(|s| !s.is_empty())?;
    match std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(ns) => Some(format!("{ns}/{name}")),
        None => Some(name),
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: EchoArgs) -> Result<(), EchoError> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| EchoError::Bind {
            addr: args.listen,
            source,
        })?;
    let settings = EchoSettings {
        proxy_mode: args.proxy_protocol,
        identity: args.identity.or_else(identity_from_env),
        header_timeout: args.header_timeout,
        max_connections: args.max_connections as usize,
        ..EchoSettings::default()
    };
    tracing::info!(listen = %args.listen, proxy_protocol = ?settings.proxy_mode,
        identity = ?settings.identity, "edgewatch echo serving");
    serve(listener, settings, shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

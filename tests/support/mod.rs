//! Loopback test infrastructure shared by the integration suites (each suite is a folder
//! `tests/<suite>/main.rs` that includes this one with `#[path = "../support/mod.rs"] mod support;`): a regenerable test PKI, real DNS servers, real TLS servers and hostile
//! peers. Everything binds to 127.0.0.0/8 (or ::1) only and stops when its handle is dropped.
//! Everything that binds must be called inside a tokio runtime.
//!
//! Typical use (see `tests/prober/main.rs`):
//!
//! ```text
//! let pki = pki::Pki::new();                      // or one shared LazyLock<Pki>
//! let ca = pki.write_root_pem();                  // tls.ca_file for the judges / config
//! let leaf = pki.good(&["app.example.test"]);     // or expired(), self_signed(), ...
//! let server = tls_server::TlsServer::serve(
//!     tls_server::bind_one("127.0.0.1".parse()?).await?, &leaf, tls_server::Reply::ok())?;
//! let dns = dns::DnsServer::start(dns::Zone::new().a("app.example.test", &[LOCALHOST])).await?;
//! let prober = prober::prober(dns.addr(), prober::fast_settings());
//! let outcome = prober::probe(&prober, target, ca.path()).await;
//! ```
//!
//! Several addresses on one port (an NLB's per-zone addresses): `tls_server::bind_same_port`.
//! A Kubernetes API server (Services list/watch, Events): `kube_api::KubeApi`; moto's server: `moto`.
//! Misbehaving endpoints: `hostile::HostilePeer`; a silent resolver: `dns::SilentDns`.
#![allow(dead_code)]

pub mod background;
pub mod dns;
pub mod haproxy;
pub mod hostile;
pub mod kube_api;
pub mod monitoring_tools;
#[cfg(feature = "aws")]
pub mod moto;
pub mod pki;
pub mod prober;
pub mod tls_server;

use std::net::{Ipv4Addr, TcpListener};

/// A port nothing listens on at 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    free_port_on(Ipv4Addr::LOCALHOST)
}

/// A port nothing listens on at `ip` (bound, then released).
pub fn free_port_on(ip: Ipv4Addr) -> u16 {
    let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local addr").port()
}

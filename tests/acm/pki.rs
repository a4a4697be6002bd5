//! Test certificates for ACM: leaves of the shared test PKI (`tests/support/pki.rs`), valid from
//! ten days ago (moto refuses expired or not-yet-valid certificates), and the shared loopback TLS
//! server to serve one of them.

use std::net::Ipv4Addr;

pub use crate::support::pki::Leaf as TestCert;
use crate::support::pki::Pki;
use crate::support::tls_server::{Reply, TlsServer, bind_one};

/// A certificate for `name` with `days` days left.
pub fn cert(name: &str, days: i64) -> TestCert {
    Pki::new().expiring_in(name, days)
}

/// Serves `cert` over TLS on 127.0.0.1, answering 200; stops when the handle is dropped.
pub async fn serve(cert: &TestCert) -> TlsServer {
    let listener = bind_one(Ipv4Addr::LOCALHOST.into()).await.expect("bind");
    TlsServer::serve(listener, cert, Reply::ok()).expect("TLS server")
}

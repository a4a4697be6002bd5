//! Loopback test infrastructure shared by the integration tests (`mod support;` from
//! `tests/<area>.rs`): a regenerable test PKI, real DNS servers, real TLS servers and hostile
//! peers. Everything binds to 127.0.0.0/8 only and stops when its handle is dropped.
#![allow(dead_code)]

pub mod dns;
pub mod hostile;
pub mod pki;
pub mod prober;
pub mod tls_server;

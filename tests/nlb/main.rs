//! The NLB stand-in harness: haproxy plays the NLB (TLS termination, PROXY protocol v2 towards
//! the targets), hickory plays Route 53, `edgewatch echo` is the backend, and the built binary
//! runs `--once`. Also the echo server's and the egress reflector's own loopback tests.
//!
//! Needs haproxy (`/usr/sbin/haproxy`, Debian package `haproxy`) and, for the ACM variants,
//! moto's server (`moto_server`, from `tests/support/moto.rs`); fails loudly without them.
//! `tests/nlb/run-standins.sh` brings the same stand-ins up by hand. Certificates and DNS come
//! from the shared `tests/support` (test PKI, hickory server).

mod echo_server;
mod egress;
mod haproxy;
mod scenarios;
mod stage;
#[path = "../support/mod.rs"]
mod support;

use support::moto;

//! The NLB stand-in harness: haproxy plays the NLB (TLS termination, PROXY protocol v2 towards
//! the targets), hickory plays Route 53, `edgewatch echo` is the backend, and the built binary
//! runs `--once`. Also the echo server's and the egress reflector's own loopback tests.
//!
//! Needs haproxy (`/usr/sbin/haproxy`, Debian package `haproxy`); fails loudly without it.
//! `tests/nlb/run-standins.sh` brings the same stand-ins up by hand.

mod dns;
mod echo_server;
mod egress;
mod haproxy;
mod pki;
mod scenarios;
mod stage;

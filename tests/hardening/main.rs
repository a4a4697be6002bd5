//! Issue 11's hardening, each item reproduced against the built binary on loopback: hostile
//! strings in the text report and text logs, passwords in printed URLs, slow clients on
//! `/metrics` under a low descriptor limit, a keep-alive flood on `edgewatch echo`, a panicking
//! probe loop, and silent peers against the default concurrency.

#[path = "../support/mod.rs"]
mod support;

mod echo_flood;
mod escape;
mod loop_panic;
mod metrics_listener;
mod redact;
mod slow_peers;
mod world;

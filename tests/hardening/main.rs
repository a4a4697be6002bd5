//! Issue 11's hardening, each item reproduced against the built binary on loopback: hostile
//! strings in the text report and text logs, passwords in printed URLs, slow clients on
//! `/metrics` under a low descriptor limit, and a keep-alive flood on `edgewatch echo`.

#[path = "../support/mod.rs"]
mod support;

mod echo_flood;
mod escape;
mod loop_panic;
mod metrics_listener;
mod redact;
mod world;

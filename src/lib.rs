//! edgewatch: verifies the way in to services behind TLS-terminating load balancers, from the
//! outside, the way a client would. Data flows one way, and the folders are that flow:
//! `discovery` → `probe` → `checks` (judge) → `pipeline` (one target end to end) → `export` →
//! `run` (the daemon and `--once`). An import never points back up the flow. `demo` sits on top:
//! it sets a loopback stage and runs the daemon against it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checks;
pub mod cli;
pub mod config;
pub mod connslots;
pub mod crypto;
pub mod demo;
pub mod discovery;
pub mod echo;
pub mod export;
pub mod http_client;
pub mod pipeline;
pub mod probe;
pub mod registry;
pub mod run;
pub mod textsafe;
pub mod timefmt;

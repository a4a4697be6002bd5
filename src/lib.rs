//! edgewatch: verifies the way in to services behind TLS-terminating load balancers, from the
//! outside, the way a client would. Data flows one way: discover → probe → judge → export.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acm;
pub mod alertmanager;
pub mod app;
pub mod certinfo;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod discovery;
pub mod echo;
pub mod egress;
pub mod engine;
pub mod metrics;
pub mod once;
pub mod outcome;
pub mod probe;
pub mod report;
pub mod server;
pub mod target;

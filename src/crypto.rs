//! The one crypto backend: aws-lc-rs, rustls' default and the only one compiled in (kube, reqwest,
//! rcgen and the AWS SDK are built with their aws-lc-rs features; `cargo tree -i ring` is empty).
//! `main` installs it as the process default once, at startup, before anything builds a TLS
//! config; every config edgewatch builds itself (prober, HTTP client, demo servers) is handed the
//! same provider from [`provider`]. It sits below every stage, like `timefmt`.
//!
//! aws-lc is built without its CPU jitter entropy source (`.cargo/config.toml`): that source
//! costs 50-70 ms of CPU at the first random number of every process, most of a short `--once`
//! run's start and 1 % of a pass over 10,000 targets. aws-lc then seeds from the kernel
//! (getrandom), with RDRAND mixed in where the CPU has it, as ring and OpenSSL seed theirs. A
//! test (`tests/prober/warm_up.rs`) checks the build.

use std::sync::Arc;

use rustls::crypto::{CryptoProvider, aws_lc_rs};

/// Installs aws-lc-rs as the process-wide provider (what kube's rustls client uses). Called once
/// by `main`; later calls, and [`provider`], find it installed and change nothing.
pub fn install() {
    // Err only means a provider is installed already; rustls keeps the first.
    let _ = aws_lc_rs::default_provider().install_default();
}

/// The process-wide provider, installed on first use by callers that do not start in `main`
/// (tests, benches, library users).
pub fn provider() -> Arc<CryptoProvider> {
    if let Some(installed) = CryptoProvider::get_default() {
        return installed.clone();
    }
    install();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(aws_lc_rs::default_provider()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_caller_gets_the_one_installed_provider() {
        let first = super::provider();
        super::install();
        assert!(std::sync::Arc::ptr_eq(&first, &super::provider()));
    }
}

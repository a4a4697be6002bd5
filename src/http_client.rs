//! The HTTP client for edgewatch's own requests (Alertmanager, the egress-IP reflector). It sits
//! below the stages that use it, like `timefmt`.
//!
//! It trusts the Mozilla roots compiled into edgewatch (webpki-roots), as the prober does, not
//! the platform's CA store: reqwest's default platform verifier cannot even be built where there
//! is no CA store, which is the case in edgewatch's `scratch` image (tests/image runs `--once`
//! with an Alertmanager URL in it).

/// A reqwest client builder trusting the compiled-in Mozilla roots.
pub fn builder() -> reqwest::ClientBuilder {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = crate::crypto::provider();
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(config) => reqwest::Client::builder()
            .tls_backend_preconfigured(config.with_root_certificates(roots).with_no_client_auth()),
        // The default provider always supports the default versions; keep reqwest's own setup
        // rather than fail if that ever changes.
        Err(_) => reqwest::Client::builder(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_builds_with_the_compiled_in_roots() {
        assert!(super::builder().build().is_ok());
    }
}

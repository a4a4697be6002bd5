//! The production path: no overrides, so the SDK reads the endpoint (`AWS_ENDPOINT_URL_ACM`) and
//! the credentials (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`) from the environment. The
//! environment is set on a child process running one ignored test, never with `set_var`.

use std::process::Command;

use edgewatch::config;
use edgewatch::probe::acm::{AcmEnricher, AcmMetrics};

use crate::{calls, moto, pki};

const ARN_VAR: &str = "EDGEWATCH_TEST_ACM_ARN";

#[tokio::test]
async fn the_sdks_standard_environment_reaches_acm() {
    let moto = moto::shared();
    let cert = pki::cert("env.example.com", 90);
    let arn = moto
        .import("ap-south-1", cert.cert_pem(), cert.key_pem())
        .await;
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "env::child_looks_up_with_sdk_defaults",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(ARN_VAR, &arn)
        .env("AWS_ENDPOINT_URL_ACM", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run only by `the_sdks_standard_environment_reaches_acm`, with the environment it sets.
#[tokio::test]
#[ignore = "run as a child process by the_sdks_standard_environment_reaches_acm"]
async fn child_looks_up_with_sdk_defaults() {
    let arn = std::env::var(ARN_VAR).expect("started by the parent test with the ARN");
    let yaml = "acm:\n  enabled: true\n  required: true\n  cache_ttl: 5m\n";
    let file = config::parse(yaml, "test.yaml").expect("parses");
    let settings = edgewatch::run::settings::validate(file, "test.yaml", &[]).expect("valid");
    let metrics = AcmMetrics::register(&prometheus::Registry::new());
    let enricher = AcmEnricher::from_settings(&settings.acm, metrics.clone());
    let found = enricher.lookup().expect("enabled").lookup(&arn).await;
    let cert = found.unwrap_or_else(|e| panic!("{}: {}", e.as_str(), e));
    assert_eq!(cert.status.as_deref(), Some("ISSUED"));
    assert_eq!(calls(&metrics, "GetCertificate", "ok"), 1);
}

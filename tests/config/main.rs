//! Config validation: one invalid file per rejected case, each with the exact message that names
//! the file, the field and what is wrong; and the binary's exit code 2 for a bad config.

mod binary;
mod limits;

use std::path::Path;
use std::process::Command;

use edgewatch::run::settings as config;

const DIR: &str = "tests/fixtures/config";

/// (fixture, what follows the file name in the error: `:line:column` where known, the field,
/// the message) for every rejected case.
const CASES: &[(&str, &str)] = &[
    (
        "invalid-acm-arn.yaml",
        ": targets[0].expected_cert.acm_arn: `arn:aws:iam::1:role/x` is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
    ),
    (
        "invalid-alertmanager-url.yaml",
        ": alertmanager.url: `alertmanager:9093` is not an http:// or https:// URL",
    ),
    (
        "invalid-alias-bomb.yaml",
        ": aliases (*name) are used too many times",
    ),
    (
        "invalid-backend-identity.yaml",
        ": targets[0].backend_identity: `prod/(myapp` is not a regular expression (unclosed group)",
    ),
    (
        "invalid-boolean.yaml",
        ":2:12: acm.enabled: must be true or false (got \"yes please\")",
    ),
    (
        "invalid-ca-file-garbage.yaml",
        ": tls.ca_file: cannot read CA bundle tests/fixtures/config/not-a-cert.pem: base64 decode error: InvalidCharacter(33)",
    ),
    (
        "invalid-ca-file-missing.yaml",
        ": tls.ca_file: /nonexistent/ca.pem is not a readable file",
    ),
    (
        "invalid-client-ip.yaml",
        ": targets[0].client_ip: `maybe` is not a client-IP mode (auto, off, echo, json_pointer:/path, header:NAME)",
    ),
    (
        "invalid-concurrency.yaml",
        ": concurrency: must be between 1 and 100000 (got 0)",
    ),
    (
        "invalid-deep-block-nesting.yaml",
        ":65:129: lists and mappings are nested deeper than 64 levels",
    ),
    (
        "invalid-deep-nesting.yaml",
        ":1:73: lists and mappings are nested deeper than 64 levels",
    ),
    (
        "invalid-duplicate-target.yaml",
        ": targets: target name `a.example.com:443` is used twice; give one a distinct `name`",
    ),
    (
        "invalid-duration.yaml",
        ":1:11: interval: must be a duration like 30s or 5m (got soon)",
    ),
    (
        "invalid-egress-ip.yaml",
        ":2:14: client_ip.egress_ip: must be an IP address like 10.0.0.7 or fd00::7 (got 10.0.0.300)",
    ),
    (
        "invalid-empty-expected-cert.yaml",
        ": targets[0].expected_cert: names no certificate (sha256, spki_sha256, serial or acm_arn)",
    ),
    (
        "invalid-expect-status.yaml",
        ": targets[0].expect_status: `abc` is not an HTTP status code (100-599)",
    ),
    (
        "invalid-hostname.yaml",
        ": targets[0].host: `bad host` is not a valid DNS name",
    ),
    (
        "invalid-huge-concurrency.yaml",
        ": concurrency: must be between 1 and 100000 (got 2305843009213693952)",
    ),
    (
        "invalid-huge-interval.yaml",
        ": interval: must be between 1s and 24h (got 316880878140years 3months 14days 10h 5m 52s)",
    ),
    (
        "invalid-huge-probe-timeout.yaml",
        ": timeouts.probe: must be between 1ms and 10m (got 316880878140years 3months 14days 10h 5m 52s)",
    ),
    (
        "invalid-listen.yaml",
        ":1:9: listen: must be ip:port, like 0.0.0.0:9815 or [::]:9815 (got 9815)",
    ),
    (
        "invalid-long-hostname.yaml",
        ": targets[0].host: `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…` is not a valid DNS name",
    ),
    (
        "invalid-min-days-left.yaml",
        ": cert.min_days_left: must be between 0 and 3650 (got 100000)",
    ),
    (
        "invalid-nameserver.yaml",
        ":2:17: resolver.nameservers[0]: must be ip:port, like 10.0.0.2:53 or [fd00::2]:53 (got 127.0.0.1)",
    ),
    (
        "invalid-negative-interval.yaml",
        ":1:11: interval: must be a duration like 30s or 5m (got -5s)",
    ),
    (
        "invalid-path.yaml",
        ": targets[0].path: `healthz` is not a request path (must start with `/`, no spaces)",
    ),
    (
        "invalid-pem-as-config.yaml",
        ": this is a PEM file (a certificate or key), not an edgewatch YAML config; a CA bundle goes in tls.ca_file",
    ),
    (
        "invalid-port-range.yaml",
        ":3:11: targets[0].port: must be 1-65535 (got 70000)",
    ),
    (
        "invalid-sha256.yaml",
        ": targets[0].expected_cert.sha256: `abcd` is not 32 bytes (64 hex digits)",
    ),
    (
        "invalid-tab.yaml",
        ":2:1: targets: a tab character; YAML indents with spaces only",
    ),
    (
        "invalid-target-interval.yaml",
        ": targets[0].interval: must be between 1s and 24h (got 100ms)",
    ),
    (
        "invalid-tiny-interval.yaml",
        ": interval: must be between 1s and 24h (got 1ns)",
    ),
    (
        "invalid-tls-version.yaml",
        ": tls.min_version: `1.1` is not a TLS version edgewatch can require (\"1.2\" or \"1.3\")",
    ),
    (
        "invalid-top-level-list.yaml",
        ": the file must be a mapping (key: value lines) (got a list)",
    ),
    (
        "invalid-unknown-field.yaml",
        ":3:5: targets[0].portt: unknown field `portt`, expected one of `name`, `host`, `port`, `lb_hostname`, `path`, `expect_status`, `interval`, `expected_cert`, `client_ip`, `backend_identity`, `tls_policy`",
    ),
    (
        "invalid-yaml-syntax.yaml",
        ":2:1: targets: did not find expected node content, while parsing a flow node",
    ),
    (
        "invalid-zero-interval.yaml",
        ": interval: must be between 1s and 24h (got 0s)",
    ),
    (
        "invalid-aws-cache-ttl.yaml",
        ": aws.cache_ttl: must be between 10s and 24h",
    ),
    (
        "invalid-aws-cluster-name.yaml",
        ": aws.cluster_name: must be a tag value: at most 256 characters, no control characters",
    ),
    (
        "invalid-min-accepted-version.yaml",
        ": tls.min_accepted_version: `1.4` is not a TLS version (\"1.0\", \"1.1\", \"1.2\" or \"1.3\")",
    ),
    (
        "invalid-scan-interval.yaml",
        ": tls.scan_interval: must be between 1m and 7days",
    ),
    (
        "invalid-tls-policy.yaml",
        ": targets[0].tls_policy: `TLS 1.2 please` is not an ELB security policy name (e.g. ELBSecurityPolicy-TLS13-1-2-Res-2021-06)",
    ),
];

#[test]
fn every_invalid_fixture_is_rejected_with_its_exact_message() {
    for (file, rest) in CASES {
        let path = Path::new(DIR).join(file);
        let err = config::load(Some(&path), &[]).expect_err(file);
        assert_eq!(err.origin, path.display().to_string(), "{file}");
        assert_eq!(
            err.to_string(),
            format!("{}{rest}", path.display()),
            "{file}"
        );
    }
}

/// Words that mean a message leaked Rust or serde instead of saying what is wrong.
const LEAKS: &[&str] = &[
    "invalid type",
    "invalid value",
    "expected u",
    "expected i",
    "struct ",
    "enum ",
    "usize",
    "u16",
    "u32",
    "u64",
    "SocketAddr",
    "IpAddr",
    "Duration",
    "ConfigFile",
];

#[test]
fn every_config_message_is_one_plain_line() {
    for (file, rest) in CASES {
        assert!(!rest.contains('\n'), "{file}: {rest}");
        assert!(rest.chars().count() < 300, "{file}: {rest}");
        for leak in LEAKS {
            assert!(!rest.contains(leak), "{file} says `{leak}`: {rest}");
        }
    }
}

#[test]
fn every_invalid_fixture_has_a_case() {
    let mut files: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("invalid-"))
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
}

#[test]
fn unreadable_file_names_the_file() {
    let err = config::load(Some(Path::new("/nonexistent/edgewatch.yaml")), &[]).unwrap_err();
    assert_eq!(err.origin, "/nonexistent/edgewatch.yaml");
    assert!(err.message.starts_with("cannot read: "), "{}", err.message);
}

#[test]
fn bad_target_flag_names_the_flag() {
    let err = config::load(None, &["http://a.example.com".to_string()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--target: http://a.example.com: scheme `http://` is not supported; use https:// or a bare host"
    );
}

#[test]
fn shipped_example_config_is_valid_and_documents_every_section() {
    let settings = config::load(Some(Path::new("config/edgewatch.yaml")), &[]).unwrap();
    assert_eq!(settings.targets.len(), 1);
    let t = &settings.targets[0];
    assert_eq!(&*t.name, "tls-demo");
    assert_eq!(&*t.backend.path, "/healthz");
    assert_eq!(t.lb_hostnames.len(), 1);
    let text = std::fs::read_to_string("config/edgewatch.yaml").unwrap();
    for section in [
        "resolver:",
        "timeouts:",
        "tls:",
        "cert:",
        "backend:",
        "acm:",
        "client_ip:",
        "alertmanager:",
        "kubernetes:",
        "targets:",
    ] {
        assert!(text.contains(section), "example config lacks {section}");
    }
}

#[test]
fn defaults_apply_when_the_file_is_empty() {
    let s = config::validate(
        edgewatch::config::parse("", "x").unwrap(),
        "x",
        &["a.example.com".into()],
    )
    .unwrap();
    assert_eq!(s.interval.as_secs(), 30);
    assert_eq!(s.min_days_left, 14);
    assert_eq!(s.listen.to_string(), "0.0.0.0:9815");
    assert_eq!(&*s.targets[0].name, "a.example.com:443");
    assert_eq!(s.targets[0].backend.expect_status.to_string(), "200-399");
}

#[test]
fn binary_exits_2_on_a_bad_config_and_0_on_a_good_one() {
    let bin = env!("CARGO_BIN_EXE_edgewatch");
    let bad = Command::new(bin)
        .args([
            "check-config",
            "--config",
            "tests/fixtures/config/invalid-duration.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("tests/fixtures/config/invalid-duration.yaml:1:11: interval: must be a duration like 30s or 5m (got soon)"),
        "{stderr}"
    );
    let good = Command::new(bin)
        .args(["--check-config", "--config", "config/edgewatch.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let usage = Command::new(bin)
        .args(["--once", "--output", "yaml"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

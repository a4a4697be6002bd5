//! Wiring the library's real probe engine to the loopback servers: a [`Prober`] whose resolver
//! asks only the test DNS server, a [`JudgeContext`] that trusts the test PKI's root, short
//! timeouts so hostile peers cost seconds, and lookups into the check results.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use edgewatch::checks::chain::{ChainVerifier, read_anchors};
use edgewatch::checks::{CheckName, CheckResult, JudgeContext};
use edgewatch::discovery::target::Target;
use edgewatch::pipeline::outcome::{Outcome, probe_and_judge};
use edgewatch::probe::dns::{ResolverSettings, build_resolver};
use edgewatch::probe::enrich::NoEnrichment;
use edgewatch::probe::{ProbeSettings, Prober};
use rustls::pki_types::UnixTime;

/// Timeouts short enough for a fast suite, long enough for loopback: 1 s per phase, 3 s total.
pub fn fast_settings() -> ProbeSettings {
    ProbeSettings {
        connect_timeout: Duration::from_secs(1),
        tls_timeout: Duration::from_secs(1),
        http_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(3),
        source_ip: None,
    }
}

/// A prober asking only `nameserver` (1 s per query, no cache), with the library's client config.
pub fn prober(nameserver: SocketAddr, settings: ProbeSettings) -> Prober {
    let resolver = build_resolver(&ResolverSettings {
        nameservers: vec![nameserver],
        timeout: Some(Duration::from_secs(1)),
        cache: false,
    })
    .expect("resolver for the test DNS server");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = edgewatch::probe::tls::client_config(provider).expect("TLS client config");
    Prober::new(resolver, tls, settings).with_nameservers(vec![nameserver])
}

/// A judge context trusting Mozilla's roots plus `ca_file`, now = the real clock, 14 days'
/// minimum validity left, TLS 1.2 minimum.
pub fn judge_context(ca_file: &Path) -> JudgeContext {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let extra = read_anchors(ca_file).expect("the test root as a trust anchor");
    let verifier = ChainVerifier::new(&extra, provider.signature_verification_algorithms);
    JudgeContext::with_defaults(UnixTime::now(), Arc::new(verifier))
}

/// Probes and judges `target` through the library's entry point, with [`judge_context`].
pub async fn probe(prober: &Prober, target: Target, ca_file: &Path) -> Outcome {
    probe_with(prober, target, judge_context(ca_file)).await
}

/// Probes and judges `target` through the library's entry point, with the given context.
pub async fn probe_with(prober: &Prober, target: Target, ctx: JudgeContext) -> Outcome {
    probe_and_judge(prober, Arc::new(target), &NoEnrichment, move || ctx).await
}

/// The result of `check` (at `address`, or the target-level one); panics listing every result
/// when it is missing.
pub fn result(outcome: &Outcome, check: CheckName, address: Option<IpAddr>) -> CheckResult {
    outcome
        .results
        .iter()
        .find(|r| r.check == check && r.address == address)
        .map(|r| r.to_result())
        .unwrap_or_else(|| {
            panic!(
                "no {check} result for {address:?}; results: {:#?}",
                outcome.results
            )
        })
}

/// The one result of `check` (target-level or for the only address).
pub fn only(outcome: &Outcome, check: CheckName) -> CheckResult {
    let found: Vec<CheckResult> = outcome
        .results
        .iter()
        .filter(|r| r.check == check)
        .map(|r| r.to_result())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {check} result, got {found:#?}; all results: {:#?}",
        outcome.results
    );
    found.into_iter().next().expect("one result")
}

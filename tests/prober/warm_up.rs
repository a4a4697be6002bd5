//! The first probe does no startup work (issue 15): building a `Prober` runs one full TLS
//! handshake, in memory, with the very client config the probes use, so the one-time work of
//! the first handshake (crypto library initialisation, first key exchange and signature check)
//! is done before any probe starts and never inside a probe's timed phases. Proven by ORDER, not
//! by time: the client config's key log records every handshake that config completes, and the
//! test records its own marks in the same log.
//!
//! And the one-time work left is small: aws-lc is built without CPU jitter entropy
//! (`.cargo/config.toml`), which cost 50-70 ms of CPU at the first random number.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use edgewatch::checks::{CheckName, Status};
use edgewatch::probe::Prober;
use edgewatch::probe::dns::{ResolverSettings, build_resolver};

use super::support::dns::{DnsServer, Zone};
use super::support::prober::{fast_settings, only, probe};
use super::support::tls_server::{Reply, TlsServer, bind_one};
use super::{LOCALHOST, PKI, ca_file, target};

/// One line per key-log call (`label`) or test mark (`mark:...`), in order.
#[derive(Debug, Default)]
struct Timeline(Mutex<Vec<String>>);

impl Timeline {
    fn mark(&self, what: &str) {
        self.0.lock().unwrap().push(format!("mark:{what}"));
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Records the label of each secret rustls logs: one `CLIENT_TRAFFIC_SECRET_0` per completed
/// TLS 1.3 handshake.
#[derive(Debug)]
struct KeyLogTimeline(Arc<Timeline>);

impl rustls::KeyLog for KeyLogTimeline {
    fn log(&self, label: &str, _client_random: &[u8], _secret: &[u8]) {
        self.0.0.lock().unwrap().push(label.to_string());
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

const DONE: &str = "CLIENT_TRAFFIC_SECRET_0";

#[tokio::test]
async fn building_a_prober_completes_a_handshake_with_the_probe_config_before_the_first_probe() {
    let leaf = PKI.good(&["warm.example.test"]);
    let server = TlsServer::serve(
        bind_one(IpAddr::V4(LOCALHOST)).await.unwrap(),
        &leaf,
        Reply::ok(),
    )
    .unwrap();
    let dns = DnsServer::start(Zone::new().a("warm.example.test", &[LOCALHOST]))
        .await
        .unwrap();

    let timeline = Arc::new(Timeline::default());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = (*edgewatch::probe::tls::client_config(provider).unwrap()).clone();
    config.key_log = Arc::new(KeyLogTimeline(timeline.clone()));
    let resolver = build_resolver(&ResolverSettings {
        nameservers: vec![dns.addr()],
        timeout: None,
        cache: false,
    })
    .unwrap();
    timeline.mark("building");
    let prober = Prober::new(resolver, Arc::new(config), fast_settings());
    timeline.mark("built");
    let outcome = probe(
        &prober,
        target("warm.example.test", server.addr().port()),
        ca_file(),
    )
    .await;
    timeline.mark("probed");
    assert_eq!(
        only(&outcome, CheckName::TlsHandshake).status,
        Status::Pass,
        "{outcome:#?}"
    );

    let lines = timeline.lines();
    let at = |mark: &str| lines.iter().position(|l| l == mark).unwrap();
    let (building, built, probed) = (at("mark:building"), at("mark:built"), at("mark:probed"));
    let completed = |from: usize, to: usize| lines[from..to].iter().filter(|l| *l == DONE).count();
    assert_eq!(
        completed(building, built),
        1,
        "one handshake completes while the prober is built: {lines:?}"
    );
    assert_eq!(
        completed(built, probed),
        1,
        "the probe's own handshake, and nothing else, after: {lines:?}"
    );
    assert_eq!(completed(0, building), 0, "{lines:?}");
}

/// The build setting is easy to lose (a new build environment, a Dockerfile that does not copy
/// `.cargo`) and nothing else would notice: a test binary links the same aws-lc as edgewatch.
#[test]
fn the_crypto_library_seeds_from_the_kernel_not_cpu_jitter() {
    // SAFETY: takes nothing and reads which entropy source the library was built with.
    let jitter = unsafe { aws_lc_sys::FIPS_is_entropy_cpu_jitter() };
    assert_eq!(
        jitter, 0,
        "aws-lc was built with CPU jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY=1 \
         still set in .cargo/config.toml?"
    );
}

//! End-to-end tests of the core prober through the library entry point
//! (`edgewatch::pipeline::outcome::probe_and_judge`): a real resolver asking a real DNS server on loopback,
//! real TLS servers (and hostile peers) serving the test PKI, and the real judges. Each test names
//! the check status and reason code it proves.

#[path = "../support/mod.rs"]
mod support;

mod backend;

mod chain;

mod dns;

mod hostile;

mod multi;

mod protocol;

mod support_selftest;

mod warm_up;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::LazyLock;

use edgewatch::discovery::target::{Target, TargetSource};
use edgewatch::pipeline::outcome::Outcome;
use edgewatch::probe::ProbeSettings;

use support::dns::{DnsServer, Zone};
use support::pki::{Leaf, Pki};
use support::tls_server::{Reply, TlsServer, bind_one};

/// One PKI for the whole suite (generating it per test would only cost time).
static PKI: LazyLock<Pki> = LazyLock::new(Pki::new);

/// The trusted root, as the `tls.ca_file` the judges read (in cargo's scratch directory: a
/// static is never dropped, so the file outlives the run).
static ROOT_PEM: LazyLock<tempfile::NamedTempFile> =
    LazyLock::new(|| PKI.write_root_pem_in(Path::new(env!("CARGO_TARGET_TMPDIR"))));

/// 127.0.0.1
const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn ca_file() -> &'static Path {
    ROOT_PEM.path()
}

/// A target for `name:port` with default expectations.
fn target(name: &str, port: u16) -> Target {
    Target::new(name, port, TargetSource::Flag)
}

/// Serves `leaf` with `reply` on 127.0.0.1, points `name` at it, and probes `target` (whose port
/// is set to the server's) with `settings`.
async fn probe_single_with(
    mut target: Target,
    leaf: &Leaf,
    reply: Reply,
    settings: ProbeSettings,
) -> Outcome {
    let listener = bind_one(IpAddr::V4(LOCALHOST)).await.expect("bind");
    let server = TlsServer::serve(listener, leaf, reply).expect("TLS server");
    let zone = Zone::new().a(&target.hostname, &[LOCALHOST]);
    let dns = DnsServer::start(zone).await.expect("DNS server");
    target.port = server.addr().port();
    let prober = support::prober::prober(dns.addr(), settings);
    support::prober::probe(&prober, target, ca_file()).await
}

/// [`probe_single_with`] for `name` with default expectations, answering 200, fast timeouts.
async fn probe_single(name: &str, leaf: &Leaf) -> Outcome {
    let settings = support::prober::fast_settings();
    probe_single_with(target(name, 0), leaf, Reply::ok(), settings).await
}

//! `edgewatch demo`: the product working in one command, with no cloud, no cluster and no
//! internet. It makes a throwaway CA in memory, serves a handful of loopback TLS endpoints
//! in-process (one healthy behind `edgewatch echo` with PROXY v2, and one per common failure),
//! answers their names from its own loopback DNS server, prints one `--once`-style report, then
//! runs the real daemon (the same settings validation, engine and daemon as `edgewatch --config`)
//! against them until Ctrl-C.
//!
//! It owns only the stage (certificates, endpoints, DNS, the config text); it judges nothing.

pub mod dns;
pub mod endpoints;
pub mod pki;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{DemoArgs, KubeArgs, LogFormat, OutputFormat, ProbeArgs};
use crate::config::ConfigError;
use crate::echo::{EchoSettings, ProxyMode};
use crate::export::report::{self, Style};
use crate::pipeline::engine::EngineError;
use crate::run::settings::{self as config, DEFAULT_LISTEN, Settings};
use crate::run::{app, once};
use endpoints::Backend;

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The certificates could not be made.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// A loopback socket could not be bound.
    #[error("cannot bind a loopback port for the demo: {0}")]
    Bind(#[source] std::io::Error),
    /// The demo's config file could not be written.
    #[error("cannot write the demo's config file {0}: {1}")]
    WriteConfig(String, #[source] std::io::Error),
    /// The generated configuration was refused (a bug in the demo).
    #[error("demo configuration: {0}")]
    Config(#[from] ConfigError),
    /// The probe engine could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The daemon stopped with an error (e.g. the --listen address is taken).
    #[error(transparent)]
    App(#[from] app::AppError),
}

impl DemoError {
    /// Stable short name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DemoError::Pki(_) => "pki",
            DemoError::Bind(_) => "bind",
            DemoError::WriteConfig(..) => "write_config",
            DemoError::Config(_) => "config",
            DemoError::Engine(_) => "engine",
            DemoError::App(_) => "app",
        }
    }
}

/// One demo endpoint: its target name, the name on its certificate, how long the certificate
/// has left, whether the intermediate is sent, what stands behind it, what it shows.
struct Stage {
    name: &'static str,
    cert_name: &'static str,
    days_left: u64,
    send_intermediate: bool,
    echo: bool,
    shows: &'static str,
}

const STAGES: [Stage; 5] = [
    Stage {
        name: "healthy",
        cert_name: "healthy",
        days_left: 60,
        send_intermediate: true,
        echo: true,
        shows: "passes everything; the echo behind it sees the client IP through PROXY v2",
    },
    Stage {
        name: "expiring",
        cert_name: "expiring",
        days_left: 5,
        send_intermediate: true,
        echo: true,
        shows: "cert_expiry fails `expiring` (5 days left, minimum 14)",
    },
    Stage {
        name: "wrong-name",
        cert_name: "other-service",
        days_left: 60,
        send_intermediate: true,
        echo: true,
        shows: "hostname fails `mismatch` (the certificate names another service)",
    },
    Stage {
        name: "missing-intermediate",
        cert_name: "missing-intermediate",
        days_left: 60,
        send_intermediate: false,
        echo: true,
        shows: "chain_trusted fails `missing_intermediate` (only the leaf is sent)",
    },
    Stage {
        name: "backend-503",
        cert_name: "backend-503",
        days_left: 60,
        send_intermediate: true,
        echo: false,
        shows: "backend fails `bad_status` (the load balancer answers 503)",
    },
];

/// Identity the demo's echo reports (`backend_identity` of the healthy target matches it).
const ECHO_IDENTITY: &str = "demo/echo-0";

/// Sets the stage, prints the first report and runs the daemon until SIGINT/SIGTERM.
pub async fn run(args: DemoArgs, log_format: LogFormat) -> Result<u8, DemoError> {
    let pki = pki::DemoPki::new()?;
    let echo_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(DemoError::Bind)?;
    let echo_addr = echo_listener.local_addr().map_err(DemoError::Bind)?;
    let echo_settings = EchoSettings {
        proxy_mode: ProxyMode::Required,
        identity: Some(ECHO_IDENTITY.to_string()),
        ..EchoSettings::default()
    };
    tokio::spawn(crate::echo::serve(
        echo_listener,
        echo_settings,
        std::future::pending(),
    ));
    let (dns_addr, _dns) = dns::start().await.map_err(DemoError::Bind)?;
    let mut ports = Vec::new();
    for stage in &STAGES {
        let cert_name = format!("{}.{}", stage.cert_name, dns::ZONE);
        let cert = pki.leaf(&[&cert_name], stage.days_left, stage.send_intermediate)?;
        let backend = if stage.echo {
            Backend::Echo(echo_addr)
        } else {
            Backend::Status(503)
        };
        let (addr, _task) = endpoints::start(&cert, backend)
            .await
            .map_err(DemoError::Bind)?;
        ports.push(addr.port());
    }
    // Written to a file and read back as `--config` reads one, so SIGHUP re-reads the same
    // targets (a reload without a file would leave the daemon with none).
    let path = std::env::temp_dir().join(format!("edgewatch-demo-{}.yaml", std::process::id()));
    std::fs::write(&path, config_text(dns_addr, &ports, args.interval))
        .map_err(|e| DemoError::WriteConfig(path.display().to_string(), e))?;
    let _remove = RemoveOnDrop(path.clone());
    let mut settings = config::load(Some(&path), &[])?;
    // What `--ca-file` does for a private CA: the throwaway root joins Mozilla's roots.
    settings.extra_anchors.push(pki.anchor());
    settings.listen = args
        .listen
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default"));

    print!("{}", banner(&ports, echo_addr, dns_addr, &path));
    first_report(&settings).await?;
    print!("{}", where_to_look(settings.listen, args.interval));
    let probe = ProbeArgs {
        config: Some(path.clone()),
        targets: Vec::new(),
        ca_files: Vec::new(),
        once: false,
        output: OutputFormat::Text,
        check_config: false,
        listen: Some(settings.listen),
        log_format,
        aws: false,
        kube: KubeArgs::default(),
        shard: false,
        replica: None,
        vantage: None,
    };
    Ok(app::run(probe, settings).await?)
}

/// The configuration the demo's daemon runs: what `edgewatch --config` would read.
fn config_text(dns: SocketAddr, ports: &[u16], interval: Duration) -> String {
    let mut yaml = format!(
        "interval: {}\nresolver:\n  nameservers: [\"{dns}\"]\n  cache: false\n\
         client_ip:\n  egress_ip: 127.0.0.1\n\
         timeouts:\n  connect: 2s\n  tls: 2s\n  http: 2s\n  probe: 5s\ntargets:\n",
        humantime::format_duration(interval)
    );
    for (stage, port) in STAGES.iter().zip(ports) {
        yaml.push_str(&format!(
            "  - name: {}\n    host: {}.{}\n    port: {port}\n",
            stage.name,
            stage.name,
            dns::ZONE
        ));
        if stage.name == "healthy" {
            yaml.push_str("    backend_identity: \"demo/echo-.*\"\n");
        }
    }
    yaml
}

/// Removes the demo's config file when the demo ends (Ctrl-C included: the daemon returns).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn banner(ports: &[u16], echo: SocketAddr, dns: SocketAddr, config: &Path) -> String {
    let mut out = String::from(
        "edgewatch demo: a throwaway CA, five TLS endpoints on loopback, the real daemon probing them.\n\n",
    );
    for (stage, port) in STAGES.iter().zip(ports) {
        out.push_str(&format!(
            "  {:<22} https://{}.{}:{port}/  {}\n",
            stage.name,
            stage.name,
            dns::ZONE,
            stage.shows
        ));
    }
    out.push_str(&format!(
        "\n  names resolve through the demo's DNS server at {dns}; `edgewatch echo` (PROXY v2 required) at {echo}\n\
         \x20 the daemon reads {} (as `--config` would; the throwaway CA stays in memory)\n\n\
         First pass (what `edgewatch --once` prints):\n\n",
        config.display()
    ));
    out
}

/// One pass over the demo targets with the report `--once` prints.
async fn first_report(settings: &Settings) -> Result<(), DemoError> {
    let engine = app::engine(settings, &prometheus::Registry::new(), true)?;
    let targets = settings.targets.clone();
    let outcomes = once::probe_all(&engine, targets, settings.concurrency).await;
    let style = Style {
        colour: std::io::IsTerminal::is_terminal(&std::io::stdout()),
    };
    print!("{}", report::to_text(&outcomes, style));
    Ok(())
}

/// Where to look: the URLs on the address the daemon listens on.
fn where_to_look(listen: SocketAddr, interval: Duration) -> String {
    let host = match listen.ip() {
        ip if ip.is_unspecified() => "localhost".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let base = format!("{host}:{}", listen.port());
    format!(
        "\nThe daemon now probes them every {}. Look at:\n\
         \x20 curl -s {base}/metrics | grep '^edgewatch_check'   # every check, pass (1) or fail (0)\n\
         \x20 curl -s {base}/metrics | grep failure_info          # what the alerts fire on, with reason codes\n\
         \x20 curl -s {base}/readyz                               # ready once every source has listed\n\
         Log lines (one per check that changes state) follow on stderr. Stop with Ctrl-C.\n\n",
        humantime::format_duration(interval)
    )
}

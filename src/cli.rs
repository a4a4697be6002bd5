//! Command-line interface (clap). Parsing only; `main` dispatches. `docs` generates the shell
//! completions and the man page from this same definition.

pub mod docs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// edgewatch: verifies the way in to your services — DNS, every load balancer address, TLS,
/// the served certificate and the backend — continuously, from the outside.
#[derive(Debug, Parser)]
#[command(name = "edgewatch", version, about)]
pub struct Cli {
    /// Subcommand; without one, edgewatch probes (daemon, or one pass with --once).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Probe options.
    #[command(flatten)]
    pub probe: ProbeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config file (and --target flags) and exit: 0 valid, 2 invalid.
    CheckConfig(CheckConfigArgs),
    /// Run the echo backend: answers every request with the client IP it saw (PROXY protocol
    /// v1/v2 aware), for the `client_ip` check.
    Echo(crate::echo::EchoArgs),
    /// Print a shell completion script to stdout (e.g. `edgewatch completions bash >
    /// /etc/bash_completion.d/edgewatch`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `edgewatch man > edgewatch.1`.
    Man,
    /// See edgewatch work in one command, with no cloud: a throwaway CA, loopback TLS endpoints
    /// (one healthy, four broken in common ways) and the real daemon probing them.
    Demo(DemoArgs),
}

/// `check-config` options.
#[derive(Debug, Args, Clone)]
pub struct CheckConfigArgs {
    /// Config file (YAML) to validate (same as the top-level --config).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// Options of the prober (daemon and --once).
#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// Config file (YAML); see config/edgewatch.yaml.
    // Not global: `echo` and `demo` read no config file, so their --help must not offer one.
    #[arg(long, short = 'c', env = "EDGEWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// A target: `host`, `host:port`, `[v6]:port` or `https://host[:port][/path]`. Repeatable.
    #[arg(long = "target", short = 't', value_name = "SPEC")]
    pub targets: Vec<String>,
    /// Extra trusted CA certificates (PEM bundle), e.g. a private CA; added to Mozilla's roots
    /// and to `tls.ca_file`. Repeatable.
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,
    /// One pass: probe every target once, print a report, exit 0 (no check failed), 1 (a check
    /// failed) or 2 (usage or configuration error).
    #[arg(long)]
    pub once: bool,
    /// Report format for --once.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Validate the configuration and exit (same as the check-config subcommand).
    #[arg(long)]
    pub check_config: bool,
    /// Address for /metrics, /healthz, /readyz (overrides `listen:`; default 0.0.0.0:9815).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "EDGEWATCH_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Ask the AWS APIs about each target's load balancer, listeners, target groups and Route 53
    /// record, and ACM about its certificates (also `aws.enabled: true`).
    #[arg(long)]
    pub aws: bool,
    /// Kubernetes options.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Share the targets with the other replicas through Kubernetes Leases (also
    /// `shard.enabled: true`).
    #[arg(long)]
    pub shard: bool,
    /// This replica's name in the shard (default: the hostname, which is the pod's name).
    #[arg(long, env = "EDGEWATCH_REPLICA", value_name = "NAME")]
    pub replica: Option<String>,
    /// This replica's vantage point (overrides `vantage:`).
    #[arg(long, env = "EDGEWATCH_VANTAGE", value_name = "NAME")]
    pub vantage: Option<String>,
}

/// Kubernetes discovery options.
#[derive(Debug, Args, Clone, Default)]
pub struct KubeArgs {
    /// Discover targets from Kubernetes Services (also `kubernetes.enabled: true`).
    #[arg(long)]
    pub kubernetes: bool,
    /// Kubeconfig file (default: in-cluster, then KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Only Services in this namespace. Repeatable.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// Only Services matching this label selector.
    #[arg(long)]
    pub selector: Option<String>,
    /// Only this Service, as NAMESPACE/NAME (with --once: a post-deploy check).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service: Option<String>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text, coloured on a terminal.
    Text,
    /// One JSON document.
    Json,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `edgewatch demo` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address for /metrics, /healthz, /readyz (as the daemon's --listen; default 0.0.0.0:9815).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// How often the daemon probes the demo endpoints.
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    pub interval: Duration,
}

/// An interval of 1 s to 1 h.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a duration like 10s or 1m"))?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(3600) {
        return Err(format!("must be between 1s and 1h (got {text})"));
    }
    Ok(d)
}

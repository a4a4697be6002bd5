//! Turning sharding on from the settings and the command line: the replica's name, its vantage
//! point, the Leases' namespace and duration, and the labels every fleet series carries.

use std::collections::HashMap;
use std::time::Duration;

use super::{Shard, ShardConfig, ShardError, default_lease_duration, replica_name};
use crate::cli::ProbeArgs;
use crate::config::validate::valid_vantage;
use crate::run::settings::Settings;

/// The namespace a pod runs in, as the service account's token mount says.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Whether this run shares its targets (the daemon only: `--once` probes what it is given).
pub fn enabled(args: &ProbeArgs, settings: &Settings) -> bool {
    (settings.shard.enabled || args.shard) && !args.once
}

/// The vantage point: `--vantage`/`EDGEWATCH_VANTAGE`, else `vantage:`.
pub fn vantage(args: &ProbeArgs, settings: &Settings) -> Result<String, ShardError> {
    let v = args
        .vantage
        .clone()
        .unwrap_or_else(|| settings.vantage.clone());
    if valid_vantage(&v) {
        Ok(v)
    } else {
        Err(ShardError::Vantage(crate::textsafe::escape(&v).to_string()))
    }
}

/// The constant labels of every registered (fleet) series: `replica` when sharding is on,
/// `vantage` when one is set. Per-target series get neither: Prometheus adds the pod's labels
/// when it scrapes (see deploy/).
pub fn fleet_labels(
    args: &ProbeArgs,
    settings: &Settings,
) -> Result<HashMap<String, String>, ShardError> {
    let mut labels = HashMap::new();
    if enabled(args, settings) {
        labels.insert("replica".into(), replica_name(args.replica.as_deref())?);
    }
    let v = vantage(args, settings)?;
    if !v.is_empty() {
        labels.insert("vantage".into(), v);
    }
    Ok(labels)
}

/// The shard to run, or `None` when sharding is off.
pub async fn build(
    args: &ProbeArgs,
    settings: &Settings,
    registry: &prometheus::Registry,
) -> Result<Option<Shard>, ShardError> {
    if !enabled(args, settings) {
        return Ok(None);
    }
    let replica = replica_name(args.replica.as_deref())?;
    let vantage = vantage(args, settings)?;
    let client =
        crate::discovery::kube::client(args.kube.kubeconfig.clone(), args.kube.context.clone())
            .await
            .map_err(ShardError::Client)?;
    let namespace = settings
        .shard
        .namespace
        .clone()
        .or_else(|| {
            std::env::var("POD_NAMESPACE")
                .ok()
                .filter(|n| !n.is_empty())
        })
        .or_else(|| {
            std::fs::read_to_string(POD_NAMESPACE_FILE)
                .ok()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| client.default_namespace().to_string());
    let shortest = settings
        .targets
        .iter()
        .filter_map(|t| t.interval)
        .fold(settings.interval, Duration::min);
    let config = ShardConfig {
        replica,
        vantage,
        namespace,
        lease_duration: settings
            .shard
            .lease_duration
            .unwrap_or_else(|| default_lease_duration(shortest)),
    };
    Ok(Some(Shard::new(client, config, registry)))
}

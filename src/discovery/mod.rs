//! Discovery: sources of [`Target`]s. Each source sends its whole current set of targets, keyed
//! by the source, whenever it changes; the daemon diffs sets and starts, restarts or stops probe
//! tasks. Sources do I/O; turning their input into targets is pure (see `static_targets`).

pub mod convert;
pub mod identity_pattern;
pub mod kube;
pub mod lb_intent;
pub mod metrics;
pub mod static_targets;
pub mod target;

use crate::discovery::target::Target;

/// Identifies one source of targets, so that one source's update never touches another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceId {
    /// The config file's `targets:` list and the `--target` flags.
    Static,
    /// Kubernetes Service discovery.
    Kubernetes,
}

/// A message from a source to the daemon.
#[derive(Debug, Clone)]
pub enum TargetUpdate {
    /// The complete current set of targets of `source` (replaces the previous set).
    Replace {
        /// The source.
        source: SourceId,
        /// All its targets now.
        targets: Vec<Target>,
    },
    /// The source finished its first complete listing (turns `/readyz` ready).
    Synced(SourceId),
}

/// Sending half of the target-update channel that every source writes to.
pub type UpdateSender = tokio::sync::mpsc::Sender<TargetUpdate>;

//! The file-descriptor limit: raised at start from the soft limit (often 1,024) to the hard
//! limit, since every probe, connection and DNS query is a descriptor and running out makes
//! probes fail for edgewatch's own reasons. The `/metrics` listener sizes itself from the result
//! (see `export::listener::Limits::for_descriptors`).

use rlimit::Resource;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs the change; returns the soft
/// limit now in force. Failure is logged and leaves the limit as it was.
pub fn raise_to_hard_limit() -> u64 {
    let before = soft_limit();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) => {
            if now != before {
                tracing::debug!(from = before, to = now, "raised the open-file limit");
            }
            now
        }
        Err(err) => {
            tracing::warn!(error = %err, limit = before, "cannot raise the open-file limit");
            before
        }
    }
}

/// The soft `RLIMIT_NOFILE` in force (1,024 when it cannot be read: a common default).
pub fn soft_limit() -> u64 {
    Resource::NOFILE.get().map(|(soft, _)| soft).unwrap_or(1024)
}

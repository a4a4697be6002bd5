//! Telling the prober's own trouble from the target's: a socket that cannot be created because
//! this process (EMFILE) or the whole system (ENFILE) is out of file descriptors says nothing
//! about the target. Such a probe is recorded with its own failure kind (`no_descriptors`), and
//! the daemon counts it as an internal error instead of reporting a failed check.

use std::io;

/// EMFILE and ENFILE: the same numbers on Linux, macOS and the BSDs.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Whether `err` means "no file descriptor left" rather than anything about the peer.
pub fn is_out_of_descriptors(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(EMFILE | ENFILE))
}

impl super::Observation {
    /// Why this probe says nothing about the target, when the prober ran out of file
    /// descriptors during it.
    pub fn lacked_descriptors(&self) -> Option<String> {
        if let Some(super::DnsFailure::NoDescriptors(why)) = &self.dns.failure {
            return Some(why.to_string());
        }
        self.endpoints.iter().find_map(|e| match &e.connect {
            Err(super::ConnectFailure::NoDescriptors(why)) => Some(why.to_string()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_emfile_and_enfile_count() {
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(24)));
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(23)));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(111)));
        assert!(!is_out_of_descriptors(&io::Error::other("x")));
    }
}

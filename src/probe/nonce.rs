//! The probe's nonce: sent in the request, answered back by `edgewatch echo`, so the client-IP
//! check can tell the backend's own answer from a cache's or another backend's.

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

/// 16 random bytes (a v4 UUID), written as 32 lowercase hex digits. Kept as the bytes, not the
/// text: every target's last exchange is kept, and the text would be a 32-byte allocation each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nonce(Uuid);

impl Nonce {
    /// A fresh nonce from the thread-local RNG (`Uuid::new_v4` asks the OS, a system call, on
    /// every probe).
    pub fn random() -> Self {
        Nonce(uuid::Builder::from_random_bytes(rand::random()).into_uuid())
    }

    /// The nonce whose text is `text` (32 hex digits, or any form of a UUID), if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Nonce)
    }

    /// The text sent, written into `buf` (no allocation).
    pub fn text<'b>(&self, buf: &'b mut [u8; Uuid::encode_buffer().len()]) -> &'b str {
        self.0.simple().encode_lower(buf)
    }

    /// Whether `echoed` is exactly the text sent.
    pub fn is(&self, echoed: &str) -> bool {
        self.text(&mut Uuid::encode_buffer()) == echoed
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.text(&mut Uuid::encode_buffer()).fmt(f)
    }
}

impl Serialize for Nonce {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_sent_as_32_lowercase_hex_digits_and_matches_only_that_text() {
        let n = Nonce::random();
        let text = n.to_string();
        assert_eq!(text.len(), 32);
        assert!(
            text.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{text}"
        );
        assert!(n.is(&text));
        assert!(!n.is(&text.to_uppercase()));
        assert!(!n.is(&text[..31]));
        assert_eq!(Nonce::parse(&text), Some(n));
        assert_ne!(Nonce::random(), n);
        assert_eq!(serde_json::to_value(n).unwrap(), serde_json::json!(text));
        assert_eq!(Nonce::parse("not a nonce"), None);
    }
}

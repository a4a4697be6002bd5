//! Parts of a target's JSON that many targets share, rendered once for the process: the served
//! chain (every target behind a listener is served the same one), a TLS scan (one per address
//! and leaf) and a verdict whose reason is one of the judges' fixed sentences. A `--once
//! --output json` pass over 10,000 targets behind one listener serialized each of them 10,000
//! times: together about 45 % of the instructions spent rendering a target (callgrind).
//!
//! A piece is pretty-printed as it reads where the streamed report writes it (at the column its
//! closing line starts at), so the report's formatter copies it whole; written anywhere else,
//! the formatter moves its lines to that place's column (see [`super::stream`]). The document
//! stays byte for byte what it was. Only the streamed report uses pieces;
//! `serde_json::to_value` of a target serializes everything.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

use rustls::pki_types::CertificateDer;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::checks::verdicts::FixedVerdictKey;
use crate::probe::tls_scan::TlsScan;

/// Pieces kept at most of each kind; past it, the kind starts afresh (a fleet has far fewer
/// distinct chains, scans and fixed verdicts than targets).
const MAX_PIECES: usize = 4096;

/// A rendered piece: JSON, pretty-printed at a column.
pub type Piece = Arc<RawValue>;

/// Renders `value` as a piece pretty-printed at `column` (every line after the first indented
/// by that many spaces, then two a level); `None` when it does not serialize.
pub fn render(value: &impl Serialize, column: usize) -> Option<Piece> {
    let text = String::from_utf8(super::stream::pretty(value, &" ".repeat(column))?).ok()?;
    RawValue::from_string(text).ok().map(Arc::from)
}

/// The served chains' pieces, by the chain's `Arc`.
pub static CHAINS: LazyLock<ByIdentity<[CertificateDer<'static>]>> =
    LazyLock::new(ByIdentity::default);

/// The TLS scans' pieces, by the scan's `Arc`.
pub static SCANS: LazyLock<ByIdentity<TlsScan>> = LazyLock::new(ByIdentity::default);

/// The pieces of verdicts whose reason is a fixed sentence, by everything their entry shows.
pub static VERDICTS: LazyLock<ByKey<FixedVerdictKey>> = LazyLock::new(ByKey::default);

/// Pieces of immutable values shared by `Arc`, by the `Arc`'s identity. An entry's `Weak` keeps
/// the allocation, so its address is not reused for another value while the entry exists: a
/// live `Arc` at that address is the value the piece was rendered from.
pub struct ByIdentity<T: ?Sized> {
    pieces: Mutex<HashMap<usize, (Weak<T>, Piece)>>,
}

impl<T: ?Sized> Default for ByIdentity<T> {
    fn default() -> Self {
        ByIdentity {
            pieces: Mutex::default(),
        }
    }
}

impl<T: ?Sized> ByIdentity<T> {
    /// `shared`'s piece, rendered by `render` when there is none yet.
    pub fn get_or_render(
        &self,
        shared: &Arc<T>,
        render: impl FnOnce() -> Option<Piece>,
    ) -> Option<Piece> {
        let key = Arc::as_ptr(shared).cast::<()>() as usize;
        if let Some((_, piece)) = lock(&self.pieces).get(&key) {
            return Some(piece.clone());
        }
        let piece = render()?;
        insert(&self.pieces, key, (Arc::downgrade(shared), piece.clone()));
        Some(piece)
    }

    /// Whether `shared` has a piece.
    pub fn holds(&self, shared: &Arc<T>) -> bool {
        let key = Arc::as_ptr(shared).cast::<()>() as usize;
        lock(&self.pieces).contains_key(&key)
    }
}

/// Pieces by a key that names everything the piece shows.
pub struct ByKey<K> {
    pieces: Mutex<HashMap<K, Piece>>,
}

impl<K> Default for ByKey<K> {
    fn default() -> Self {
        ByKey {
            pieces: Mutex::default(),
        }
    }
}

impl<K: Hash + Eq> ByKey<K> {
    /// `key`'s piece, rendered by `render` when there is none yet.
    pub fn get_or_render(&self, key: K, render: impl FnOnce() -> Option<Piece>) -> Option<Piece> {
        if let Some(piece) = lock(&self.pieces).get(&key) {
            return Some(piece.clone());
        }
        let piece = render()?;
        insert(&self.pieces, key, piece.clone());
        Some(piece)
    }

    /// Whether `key` has a piece.
    pub fn holds(&self, key: &K) -> bool {
        lock(&self.pieces).contains_key(key)
    }
}

fn lock<K, V>(pieces: &Mutex<HashMap<K, V>>) -> MutexGuard<'_, HashMap<K, V>> {
    pieces.lock().unwrap_or_else(|p| p.into_inner())
}

fn insert<K: Hash + Eq, V>(pieces: &Mutex<HashMap<K, V>>, key: K, value: V) {
    let mut pieces = lock(pieces);
    if pieces.len() >= MAX_PIECES {
        pieces.clear();
    }
    pieces.insert(key, value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_piece_is_the_value_pretty_printed_at_its_column() {
        let value = json!({"a": [1, {"b": "line\nbreak"}], "c": {}, "d": []});
        let piece = render(&value, 0).unwrap();
        assert_eq!(piece.get(), serde_json::to_string_pretty(&value).unwrap());
        let at_4 = render(&value, 4).unwrap();
        let indented = piece.get().replace('\n', "\n    ");
        assert_eq!(at_4.get(), indented);
    }

    #[test]
    fn a_shared_value_is_rendered_once_and_a_new_one_again() {
        let pieces = ByIdentity::<String>::default();
        let first = Arc::new("one".to_string());
        let mut renders = 0;
        for _ in 0..3 {
            let piece = pieces.get_or_render(&first, || {
                renders += 1;
                render(&*first, 0)
            });
            assert_eq!(piece.unwrap().get(), "\"one\"");
        }
        assert_eq!(renders, 1);
        // An equal value in another `Arc` is another value as far as identity goes.
        let second = Arc::new("one".to_string());
        assert!(pieces.holds(&first) && !pieces.holds(&second));
        pieces.get_or_render(&second, || render(&*second, 0));
        assert!(pieces.holds(&second));
    }

    #[test]
    fn past_the_limit_the_pieces_start_afresh() {
        let pieces = ByKey::<usize>::default();
        for key in 0..=MAX_PIECES {
            pieces.get_or_render(key, || render(&key, 0));
        }
        assert!(pieces.holds(&MAX_PIECES) && !pieces.holds(&0));
        assert_eq!(lock(&pieces.pieces).len(), 1);
    }
}

//! Reason texts many targets say alike, kept once for the process.
//!
//! Most of what a probe writes of its own is about the listener, the certificate or the
//! backend, not the target: "TLSv1.3 with TLS13_AES_128_GCM_SHA256", "accepts TLSv1.2, TLSv1.3
//! with 5 suite(s)", "395 days left (until 2028-01-01T00:00:00Z)", "GET / answered 200". Every
//! target behind one load balancer says the same, and the status store keeps every target's
//! last verdicts: about 170 bytes a target, kept 100,000 times. Here each such text is kept once,
//! with a count of the verdict lists that use it, and goes when the last of them does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The texts in use, each with how many verdict lists use it.
#[derive(Default)]
struct Table {
    /// By number; `None`: a free number (in `free`).
    texts: Vec<Option<(Arc<str>, u32)>>,
    by_text: HashMap<Arc<str>, u32>,
    free: Vec<u32>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn table() -> MutexGuard<'static, Option<Table>> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The number of `text` in the table, its use counted; `None` when the table is full (four
/// billion texts in use: never, in practice; the caller keeps the text itself then).
pub(super) fn share(text: &str) -> Option<u32> {
    let mut guard = table();
    let t = guard.get_or_insert_with(Table::default);
    if let Some(&id) = t.by_text.get(text)
        && let Some((_, uses)) = t.texts.get_mut(id as usize).and_then(Option::as_mut)
    {
        *uses = uses.saturating_add(1);
        return Some(id);
    }
    let text: Arc<str> = Arc::from(text);
    let id = match t.free.pop() {
        Some(id) => id,
        None => u32::try_from(t.texts.len()).ok()?,
    };
    let slot = Some((text.clone(), 1));
    match t.texts.get_mut(id as usize) {
        Some(free) => *free = slot,
        None => t.texts.push(slot),
    }
    t.by_text.insert(text, id);
    Some(id)
}

/// One more use of each of `ids` (a verdict list copied).
pub(super) fn retain(ids: impl Iterator<Item = u32>) {
    let mut guard = table();
    let Some(t) = guard.as_mut() else { return };
    for id in ids {
        if let Some((_, uses)) = t.texts.get_mut(id as usize).and_then(Option::as_mut) {
            *uses = uses.saturating_add(1);
        }
    }
}

/// One use fewer of each of `ids` (a verdict list dropped); a text no list uses goes.
pub(super) fn release(ids: impl Iterator<Item = u32>) {
    let mut guard = table();
    let Some(t) = guard.as_mut() else { return };
    for id in ids {
        let Some(slot) = t.texts.get_mut(id as usize) else {
            continue;
        };
        let Some((text, uses)) = slot.as_mut() else {
            continue;
        };
        *uses = uses.saturating_sub(1);
        if *uses == 0 {
            t.by_text.remove(&**text);
            *slot = None;
            t.free.push(id);
        }
    }
}

/// The text numbered `id` (empty if none is: a list only holds numbers it retains).
pub(super) fn text(id: u32) -> Arc<str> {
    let guard = table();
    guard
        .as_ref()
        .and_then(|t| t.texts.get(id as usize))
        .and_then(|slot| slot.as_ref())
        .map_or_else(|| Arc::from(""), |(text, _)| text.clone())
}

/// How many lists use `text`, when it is kept (for tests).
#[cfg(test)]
pub(super) fn kept(text: &str) -> Option<u32> {
    let guard = table();
    let t = guard.as_ref()?;
    let id = *t.by_text.get(text)?;
    t.texts.get(id as usize)?.as_ref().map(|(_, uses)| *uses)
}

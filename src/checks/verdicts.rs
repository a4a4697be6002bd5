//! A probe's verdicts, packed: what an outcome keeps once the judges are done.
//!
//! The status store keeps every target's last outcome (100,000 targets, 18 verdicts each). As a
//! `Vec<CheckResult>` a target's verdicts were 18 × 48 bytes plus one allocation per reason
//! that says something of this probe: about 1.3 KB. Packed, a verdict is 12 bytes; the
//! probe's own reason texts share one buffer, its addresses one table, and a fixed sentence
//! (most passes and skips) is a number in a process-wide table of the judges' literals, and a
//! text that says something of the listener, certificate or backend (which every target behind
//! them says alike) is a number in a process-wide, counted table of such texts ([`shared`]).
//! Readers get [`Verdict`] views, in report order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::RwLock;

use serde::Serialize;

use super::{CheckName, CheckResult, Status, reasons};

mod shared;

/// One packed verdict: 12 bytes.
#[derive(Clone, Copy)]
struct Packed {
    check: CheckName,
    status: Status,
    code: reasons::Code,
    /// Index into the list's address table; [`NO_ADDRESS`]: a target-level verdict. A probe's
    /// addresses come from one DNS answer (a few thousand at the very most), far below it.
    address: u16,
    // The reason's [`ReasonRef`], its two numbers side by side: as a struct of its own it
    // would be padded to 8 bytes, and a verdict to 16.
    reason_start: u32,
    reason_len: u16,
}

impl Packed {
    fn reason(&self) -> ReasonRef {
        ReasonRef {
            start: self.reason_start,
            len: self.reason_len,
        }
    }
}

const NO_ADDRESS: u16 = u16::MAX;

/// Where a verdict's reason is: a span of the list's own text, a fixed sentence's place in
/// [`FIXED`] (`len` = [`FIXED_SENTENCE`]) or a shared text's number ([`SHARED_TEXT`]). Two
/// numbers, not an enum: 6 bytes, not 12.
#[derive(Clone, Copy)]
struct ReasonRef {
    start: u32,
    len: u16,
}

/// A reason's length that marks a fixed sentence (a probe's own text is never that long: a
/// longer one is kept as [`TOO_LONG`]).
const FIXED_SENTENCE: u16 = u16::MAX;

/// A reason's length that marks a shared text: `start` is its number in [`shared`].
const SHARED_TEXT: u16 = u16::MAX - 1;

/// The longest text shared: a longer one (a quoted body, a long list) is this target's own.
const MAX_SHARED_LEN: usize = 256;

impl ReasonRef {
    fn fixed(i: u32) -> Self {
        ReasonRef {
            start: i,
            len: FIXED_SENTENCE,
        }
    }

    /// The fixed sentence's place in [`FIXED`], when it is one.
    fn fixed_index(self) -> Option<u32> {
        (self.len == FIXED_SENTENCE).then_some(self.start)
    }

    fn shared(id: u32) -> Self {
        ReasonRef {
            start: id,
            len: SHARED_TEXT,
        }
    }

    /// The shared text's number, when it is one.
    fn shared_index(self) -> Option<u32> {
        (self.len == SHARED_TEXT).then_some(self.start)
    }
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Packed>() <= 12);

/// The judges' fixed sentences (`&'static str` literals, so a bounded set: a few hundred at
/// most), each stored once for the process, and looked up by address.
#[derive(Default)]
struct FixedReasons {
    texts: Vec<&'static str>,
    by_address: HashMap<(usize, usize), u32>,
}

static FIXED: RwLock<Option<FixedReasons>> = RwLock::new(None);

/// The place of `text` in [`FIXED`], added when new.
fn fixed_index(text: &'static str) -> Option<u32> {
    let key = (text.as_ptr() as usize, text.len());
    {
        let fixed = FIXED.read().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = fixed.as_ref().and_then(|f| f.by_address.get(&key)) {
            return Some(*i);
        }
    }
    let mut fixed = FIXED.write().unwrap_or_else(|p| p.into_inner());
    let fixed = fixed.get_or_insert_with(FixedReasons::default);
    if let Some(i) = fixed.by_address.get(&key) {
        return Some(*i);
    }
    let i = u32::try_from(fixed.texts.len()).ok()?;
    fixed.texts.push(text);
    fixed.by_address.insert(key, i);
    Some(i)
}

fn fixed_text(i: u32) -> &'static str {
    let fixed = FIXED.read().unwrap_or_else(|p| p.into_inner());
    fixed
        .as_ref()
        .and_then(|f| f.texts.get(i as usize).copied())
        .unwrap_or("")
}

/// A probe's verdicts, in report order, packed (see the module's doc). A copy counts one more
/// use of each shared text it names, a drop one fewer.
#[derive(Default)]
pub struct Verdicts {
    items: Box<[Packed]>,
    text: Box<str>,
    addresses: Box<[IpAddr]>,
}

impl Verdicts {
    /// Packs `results`, keeping their order.
    pub fn new(results: &[CheckResult]) -> Self {
        let mut text = String::with_capacity(
            results
                .iter()
                .filter(|r| matches!(r.reason, Cow::Owned(_)))
                .map(|r| r.reason.len())
                .sum(),
        );
        let mut addresses: Vec<IpAddr> = Vec::new();
        let items = results
            .iter()
            .map(|r| {
                let reason = pack_reason(&mut text, r);
                Packed {
                    check: r.check,
                    status: r.status,
                    code: r.code,
                    address: r
                        .address
                        .map_or(NO_ADDRESS, |a| address_index(&mut addresses, a)),
                    reason_start: reason.start,
                    reason_len: reason.len,
                }
            })
            .collect();
        Verdicts {
            items,
            text: text.into_boxed_str(),
            addresses: addresses.into_boxed_slice(),
        }
    }

    /// The verdicts, in report order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Verdict<'_>> + Clone + '_ {
        self.items.iter().map(move |p| Verdict {
            check: p.check,
            status: p.status,
            address: self.addresses.get(p.address as usize).copied(),
            code: p.code,
            reason: p.reason(),
            list: self,
        })
    }

    /// How many verdicts.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when no verdict failed (skips are fine).
    pub fn all_ok(&self) -> bool {
        self.items.iter().all(|p| p.status != Status::Fail)
    }

    /// The verdicts unpacked (each reason its own string again).
    pub fn to_results(&self) -> Vec<CheckResult> {
        self.iter().map(|v| v.to_result()).collect()
    }

    /// The numbers of the shared texts this list uses.
    fn shared_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.items.iter().filter_map(|p| p.reason().shared_index())
    }
}

impl Clone for Verdicts {
    fn clone(&self) -> Self {
        shared::retain(self.shared_ids());
        Verdicts {
            items: self.items.clone(),
            text: self.text.clone(),
            addresses: self.addresses.clone(),
        }
    }
}

impl Drop for Verdicts {
    fn drop(&mut self) {
        if self.shared_ids().next().is_some() {
            shared::release(self.shared_ids());
        }
    }
}

/// Equal when every verdict says the same (a fixed sentence is compared by its text).
impl PartialEq for Verdicts {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl Eq for Verdicts {}

impl PartialEq for Verdict<'_> {
    fn eq(&self, other: &Self) -> bool {
        (
            self.check,
            self.status,
            self.code,
            self.address,
            self.reason(),
        ) == (
            other.check,
            other.status,
            other.code,
            other.address,
            other.reason(),
        )
    }
}

impl From<Vec<CheckResult>> for Verdicts {
    fn from(results: Vec<CheckResult>) -> Self {
        Verdicts::new(&results)
    }
}

/// The place of `address` in `addresses`, added when new (a probe has a handful).
fn address_index(addresses: &mut Vec<IpAddr>, address: IpAddr) -> u16 {
    let i = match addresses.iter().position(|a| *a == address) {
        Some(i) => i,
        // Were there 65,535 addresses, a verdict about a later one would read as target-level
        // rather than as about another address.
        None if addresses.len() >= usize::from(NO_ADDRESS) => return NO_ADDRESS,
        None => {
            addresses.push(address);
            addresses.len() - 1
        }
    };
    u16::try_from(i).unwrap_or(NO_ADDRESS)
}

/// Where `reason` goes: a literal into the process's table, a text many targets say alike
/// into the shared table, any other text of the probe's own into `text`.
fn pack_reason(text: &mut String, reason: &CheckResult) -> ReasonRef {
    let kept = match reason.reason {
        Cow::Borrowed(literal) => fixed_index(literal).map(ReasonRef::fixed),
        Cow::Owned(ref own) if said_alike(reason.check) && own.len() <= MAX_SHARED_LEN => {
            shared::share(own).map(ReasonRef::shared)
        }
        Cow::Owned(_) => None,
    };
    kept.unwrap_or_else(|| pack_own(text, &reason.reason))
}

/// Whether a check's own texts are about the listener, certificate or backend (said alike by
/// every target behind them), not about the target's own name.
fn said_alike(check: CheckName) -> bool {
    !matches!(
        check,
        CheckName::Config
            | CheckName::LbProvisioned
            | CheckName::Dns
            | CheckName::DnsAlias
            | CheckName::DnsRecord
            | CheckName::Hostname
    )
}

/// `own` appended to `text`, and where it is there.
fn pack_own(text: &mut String, own: &str) -> ReasonRef {
    let fits = u32::try_from(text.len())
        .ok()
        .zip(u16::try_from(own.len()).ok())
        .filter(|(start, len)| *len < SHARED_TEXT && start.checked_add(u32::from(*len)).is_some());
    let Some((start, len)) = fits else {
        return ReasonRef::fixed(fixed_index(TOO_LONG).unwrap_or(u32::MAX));
    };
    text.push_str(own);
    ReasonRef { start, len }
}

/// Said instead of a reason of 64 KiB or more (no judge writes one), or one past the 4 GiB a
/// verdict list's text can hold.
const TOO_LONG: &str = "(reason too long to keep)";

/// One verdict of a [`Verdicts`] list.
#[derive(Clone, Copy)]
pub struct Verdict<'a> {
    /// Which check.
    pub check: CheckName,
    /// Pass, fail or skip.
    pub status: Status,
    /// The address this verdict is about; `None` for target-level checks.
    pub address: Option<IpAddr>,
    code: reasons::Code,
    reason: ReasonRef,
    list: &'a Verdicts,
}

/// Everything a verdict's report entry shows, as a key, for a verdict whose reason is one of
/// the judges' fixed sentences (their numbers never change in a process): equal keys, equal
/// entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedVerdictKey {
    check: CheckName,
    status: Status,
    code: reasons::Code,
    sentence: u32,
    address: Option<IpAddr>,
}

impl<'a> Verdict<'a> {
    /// The key of this verdict's entry, when its reason is a fixed sentence.
    pub fn fixed_key(&self) -> Option<FixedVerdictKey> {
        Some(FixedVerdictKey {
            check: self.check,
            status: self.status,
            code: self.code,
            sentence: self.reason.fixed_index()?,
            address: self.address,
        })
    }

    /// Human-readable reason, naming the culprit.
    pub fn reason(&self) -> Cow<'a, str> {
        if let Some(i) = self.reason.fixed_index() {
            return Cow::Borrowed(fixed_text(i));
        }
        if let Some(id) = self.reason.shared_index() {
            return Cow::Owned(shared::text(id).to_string());
        }
        let start = self.reason.start as usize;
        let end = start + usize::from(self.reason.len);
        Cow::Borrowed(self.list.text.get(start..end).unwrap_or(""))
    }

    /// Stable short reason code (bounded set per check; a metric label value).
    pub fn reason_code(&self) -> &'static str {
        reasons::decode(self.check, self.status, self.code)
    }

    /// This verdict as a [`CheckResult`] of its own.
    pub fn to_result(&self) -> CheckResult {
        let reason = match self.reason.fixed_index() {
            Some(i) => Cow::Borrowed(fixed_text(i)),
            None => Cow::Owned(self.reason().into_owned()),
        };
        CheckResult {
            check: self.check,
            status: self.status,
            code: self.code,
            reason,
            address: self.address,
        }
    }
}

impl Serialize for Verdict<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("check", &self.check)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("reason_code", self.reason_code())?;
        m.serialize_entry("reason", &*self.reason())?;
        if let Some(address) = &self.address {
            m.serialize_entry("address", address)?;
        }
        m.end()
    }
}

impl Serialize for Verdicts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl fmt::Debug for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verdict")
            .field("check", &self.check)
            .field("status", &self.status)
            .field("reason_code", &self.reason_code())
            .field("reason", &self.reason())
            .field("address", &self.address)
            .finish()
    }
}

impl fmt::Debug for Verdicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests;

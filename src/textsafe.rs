//! Making outside text safe for a terminal or a text log line: one escaper for everything that
//! prints strings from certificates, DNS, servers, Kubernetes objects or the config file.
//!
//! A certificate's CN, a target name or a server's error message can hold ESC (terminal escape
//! sequences: set the title, rewrite the screen), CR/LF (a forged log line) or bidirectional
//! overrides (text that reads differently than it is). [`escape`] writes each of them as a
//! visible escape (`\x1b`, `\n`, `\u{202e}`), so one value stays on one line and means what it
//! shows. Ordinary text, including non-ASCII letters, is left alone. JSON output needs none of
//! this: its encoder escapes control characters itself.
//!
//! [`redact_userinfo`] takes passwords out of URLs the same way, for the same places.
//!
//! Sits below `probe`, `checks` and `export` so that every stage can use it.

mod redact;

use std::borrow::Cow;
use std::fmt;

pub use redact::{REDACTED, redact_userinfo};

/// Whether `c` must not reach a terminal or a log line as is: C0 and C1 controls, DEL, and the
/// Unicode bidirectional embeddings, overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written as a visible escape; borrowed when nothing needs
/// escaping (the usual case), so it costs nothing on clean text.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut out, text);
    Cow::Owned(out)
}

/// Writes `text` escaped (see [`escape`]) into `out`.
pub fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut clean_from = 0;
    for (i, c) in text.char_indices() {
        if !is_unsafe(c) {
            continue;
        }
        out.write_str(&text[clean_from..i])?;
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32)?,
            c => write!(out, "\\u{{{:x}}}", c as u32)?,
        }
        clean_from = i + c.len_utf8();
    }
    out.write_str(&text[clean_from..])
}

#[cfg(test)]
mod tests;

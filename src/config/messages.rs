//! serde's and the YAML parser's messages in plain words, one line, with the line and column
//! taken out (the error shows them after the file name). Rust type names (`u16`, `struct
//! ConfigFile`) and serde's phrasing ("invalid type: …, expected …") never reach the user.

use super::excerpt::cut;
use super::limits::MAX_DEPTH;

/// The longest message shown; the rest is cut (a message may quote the input).
pub const MAX_MESSAGE_CHARS: usize = 400;

/// A parser message made plain: (message, line and column when the parser gave them).
/// `text` is the file (to tell what the character at the error is).
pub fn plain(raw: &str, text: &str) -> (String, Option<(usize, usize)>) {
    let (message, at) = take_location(raw);
    let message = reword(&message, text, at);
    // The parser quotes the input (an unknown key, a bad value): a newline in it would make the
    // message two lines, an ESC would reach the terminal.
    let message = crate::textsafe::escape(&message);
    (cut(&message, MAX_MESSAGE_CHARS), at)
}

/// Removes serde_norway's ` at line L column C` (wherever it sits) and returns it.
fn take_location(raw: &str) -> (String, Option<(usize, usize)>) {
    let Some(start) = raw.find(" at line ") else {
        return (raw.to_string(), None);
    };
    let rest = &raw[start + " at line ".len()..];
    let mut words = rest.splitn(4, ' ');
    let line = words.next().and_then(|w| w.parse::<usize>().ok());
    let column_word = words.next();
    let column = words
        .next()
        .map(|w| w.trim_end_matches(','))
        .and_then(|w| w.parse::<usize>().ok());
    match (line, column_word, column) {
        (Some(line), Some("column"), Some(column)) => {
            let digits = column.to_string().len();
            let end =
                start + " at line ".len() + line.to_string().len() + " column ".len() + digits;
            let mut message = raw[..start].to_string();
            message.push_str(&raw[end..]);
            (message, Some((line, column)))
        }
        _ => (raw.to_string(), None),
    }
}

fn reword(message: &str, text: &str, at: Option<(usize, usize)>) -> String {
    if message.starts_with("found character that cannot start any token")
        || message.starts_with("found a tab character")
    {
        if char_at(text, at) == Some('\t') {
            return "a tab character; YAML indents with spaces only".to_string();
        }
        return "a character that cannot start a YAML value here (quote the value)".to_string();
    }
    if message == "recursion limit exceeded" {
        return format!("lists and mappings are nested deeper than {MAX_DEPTH} levels");
    }
    if message == "repetition limit exceeded" {
        return "aliases (*name) are used too many times".to_string();
    }
    if message.starts_with("deserializing from YAML containing more than one document") {
        return "holds more than one YAML document (---); edgewatch reads one".to_string();
    }
    if let Some(rest) = message.strip_prefix("data did not match any variant of untagged enum ")
        && rest.starts_with("OneOrMany")
    {
        return "must be a text value or a list of them".to_string();
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((got, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "must be {} (got {})",
                expected_words(expected),
                got_words(got)
            );
        }
    }
    message.to_string()
}

fn char_at(text: &str, at: Option<(usize, usize)>) -> Option<char> {
    let (line, column) = at?;
    let l = text.lines().nth(line.checked_sub(1)?)?;
    // libyaml's column may point at or just after the character.
    let chars: Vec<char> = l.chars().collect();
    [column.checked_sub(1), Some(column)]
        .into_iter()
        .flatten()
        .filter_map(|i| chars.get(i).copied())
        .find(|c| *c == '\t')
        .or_else(|| chars.get(column.checked_sub(1)?).copied())
}

fn expected_words(expected: &str) -> String {
    let words = match expected {
        "a boolean" => "true or false",
        "a string" => "text",
        "a sequence" => "a list",
        e if e.starts_with("struct ") || e == "a map" => "a mapping (key: value lines)",
        e if e.starts_with('u') || e.starts_with('i') && e[1..].parse::<u32>().is_ok() => {
            "a whole number"
        }
        e => e,
    };
    words.to_string()
}

fn got_words(got: &str) -> String {
    if let Some(s) = got.strip_prefix("string ") {
        return s.to_string();
    }
    for (serde, ours) in [("integer ", ""), ("boolean ", ""), ("floating point ", "")] {
        if let Some(v) = got.strip_prefix(serde) {
            return format!("{ours}{}", v.trim_matches('`'));
        }
    }
    match got {
        "sequence" => "a list".into(),
        "map" => "a mapping".into(),
        "unit value" => "nothing".into(),
        g => g.into(),
    }
}

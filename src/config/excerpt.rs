//! [`Excerpt`]: how an error message shows a value from outside. A 50 MB hostname must not make a
//! 50 MB error line, nor a control character forge a log line or drive a terminal.

use std::fmt;

/// A value echoed in an error: at most [`Excerpt::MAX_CHARS`] characters, control characters
/// escaped (`\n`, `\u{1b}`), `…` when cut.
pub struct Excerpt<'a>(pub &'a str);

impl Excerpt<'_> {
    /// How many characters of a value an error message shows.
    pub const MAX_CHARS: usize = 80;
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == Self::MAX_CHARS {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// `text` cut to `max` characters (`…` appended when cut), control characters escaped: the
/// last guard on a whole message.
pub fn cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_control_characters_escaped() {
        let long = "a".repeat(1000);
        let shown = Excerpt(&long).to_string();
        assert_eq!(shown.chars().count(), Excerpt::MAX_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(Excerpt("a\nb\u{1b}]0;x").to_string(), "a\\nb\\u{1b}]0;x");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("ab", 3), "ab");
    }
}

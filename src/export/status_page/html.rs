//! HTML escaping and the small text helpers the status page is written with. Every string that
//! came from outside (hostnames, certificate subjects, reasons quoting HTTP bodies, query
//! parameters) goes through [`escape`] before it reaches the page.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// `text` made safe for HTML element content and for quoted attribute values: the five
/// characters HTML gives meaning to become entities, and control characters (which a page may
/// not carry; a NUL ends some parsers' view of the text) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A duration the way a person reads it at night: `45s`, `3m 20s`, `5h 7m`, `2d 4h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// How long before `now` `then` was (zero when `then` is in the future: clocks step).
pub fn since(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or_default()
}

/// `then` as RFC 3339 (UTC, seconds).
pub fn timestamp(then: SystemTime) -> String {
    humantime::format_rfc3339_seconds(then).to_string()
}

/// `<time datetime="…">3m 20s</time>`: how long ago, with the exact time on hover.
pub fn ago_element(now: SystemTime, then: SystemTime) -> String {
    let mut out = String::new();
    let at = timestamp(then);
    let _ = write!(
        out,
        "<time datetime=\"{at}\" title=\"{at}\">{}</time>",
        human(since(now, then))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_turns_markup_into_text() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_closes_no_attribute_either_quote() {
        assert_eq!(
            escape("\" onmouseover=\"x' autofocus='"),
            "&quot; onmouseover=&quot;x&#39; autofocus=&#39;"
        );
    }

    #[test]
    fn escape_escapes_ampersands_so_entities_stay_text() {
        assert_eq!(escape("&lt;b&gt; & co"), "&amp;lt;b&amp;gt; &amp; co");
    }

    #[test]
    fn escape_replaces_control_characters_and_keeps_unicode() {
        assert_eq!(escape("a\0b\u{1b}[31mc\td"), "a\u{FFFD}b\u{FFFD}[31mc\td");
        assert_eq!(escape("bücher.例え.test"), "bücher.例え.test");
    }

    #[test]
    fn escape_of_a_comment_or_cdata_opener_is_inert() {
        assert_eq!(escape("<!-- --><![CDATA["), "&lt;!-- --&gt;&lt;![CDATA[");
    }

    #[test]
    fn human_durations_read_at_a_glance() {
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(200)), "3m 20s");
        assert_eq!(human(Duration::from_secs(5 * 3600 + 7 * 60)), "5h 7m");
        assert_eq!(human(Duration::from_secs(2 * 86400 + 4 * 3600)), "2d 4h");
    }

    #[test]
    fn since_a_future_time_is_zero() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(since(now, now + Duration::from_secs(5)), Duration::ZERO);
    }
}

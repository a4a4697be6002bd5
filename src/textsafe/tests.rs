use proptest::prelude::*;

use super::*;

#[test]
fn terminal_and_log_controls_become_visible_escapes() {
    assert_eq!(
        escape("evil\x1b]0;owned\x07\r\nINFO forged"),
        "evil\\x1b]0;owned\\x07\\r\\nINFO forged"
    );
    assert_eq!(escape("tab\there\x7f"), "tab\\there\\x7f");
    // C1 CSI (a one-byte ESC [ on some terminals) and a right-to-left override.
    assert_eq!(
        escape("a\u{9b}31m b\u{202e}cba"),
        "a\\u{9b}31m b\\u{202e}cba"
    );
}

#[test]
fn clean_text_is_borrowed_unchanged() {
    for s in [
        "",
        "shop.example.com",
        "CN=bücher.example, O=Ünïcødé 日本",
        "a\\nb",
    ] {
        assert!(matches!(escape(s), Cow::Borrowed(x) if x == s), "{s:?}");
    }
}

/// Undoes [`escape`] for text without backslashes (where the escaping is unambiguous).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let (c, used) = match tail.as_bytes()[0] {
            b'n' => ('\n', 1),
            b'r' => ('\r', 1),
            b't' => ('\t', 1),
            b'x' => (char::from(u8::from_str_radix(&tail[1..3], 16).unwrap()), 3),
            b'u' => {
                let end = tail.find('}').unwrap();
                let n = u32::from_str_radix(&tail[2..end], 16).unwrap();
                (char::from_u32(n).unwrap(), end + 1)
            }
            other => panic!("unexpected escape {other}"),
        };
        out.push(c);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever the input, the output is one line with no control character in it.
    #[test]
    fn output_never_holds_an_unsafe_character(s in any::<String>()) {
        let out = escape(&s);
        prop_assert!(!out.chars().any(is_unsafe), "{:?}", out);
        prop_assert!(!out.contains('\n') && !out.contains('\r'));
    }

    /// Control-heavy input (the interesting case) escapes reversibly: nothing is lost or
    /// merged, so a log line still says what the certificate said.
    #[test]
    fn escaping_is_reversible_without_backslashes(
        chars in proptest::collection::vec(
            prop_oneof![
                any::<char>(),
                (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
                (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
                Just('\u{202e}'),
            ],
            0..64,
        )
    ) {
        let s: String = chars.into_iter().filter(|&c| c != '\\').collect();
        prop_assert_eq!(unescape(&escape(&s)), s);
    }

    /// Safe text passes through untouched.
    #[test]
    fn safe_text_is_unchanged(s in any::<String>()) {
        let safe: String = s.chars().filter(|&c| !is_unsafe(c)).collect();
        prop_assert_eq!(escape(&safe), safe.as_str());
    }

    /// Writing in pieces (as a log formatter does) gives the same as escaping the whole.
    #[test]
    fn chunked_writes_escape_like_the_whole(parts in proptest::collection::vec(any::<String>(), 0..8)) {
        let mut out = String::new();
        for p in &parts {
            write_escaped(&mut out, p).unwrap();
        }
        prop_assert_eq!(out, escape(&parts.concat()).into_owned());
    }
}

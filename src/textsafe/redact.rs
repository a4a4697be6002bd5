//! Passwords out of printed URLs: `https://user:secret@host/x` prints as `https://***@host/x`.
//! Works on any text, not only a well-formed URL, because URLs reach the logs inside error
//! messages (an HTTP client's "error sending request for url (...)") and as the invalid value a
//! parser refused.

use std::borrow::Cow;

/// What replaces the userinfo (user name and password alike: a user name can be a token).
pub const REDACTED: &str = "***";

/// `text` with the userinfo of every `scheme://userinfo@host` in it replaced by [`REDACTED`];
/// borrowed when there is none.
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        let rest = &text[authority_start..];
        // The authority ends where the path, query or fragment starts, or where the URL ends
        // inside a longer text.
        let authority_len = rest
            .find(|c: char| {
                matches!(
                    c,
                    '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '(' | ')' | '`'
                ) || c.is_whitespace()
                    || c.is_control()
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@') {
            out.push_str(&text[copied..authority_start]);
            out.push_str(REDACTED);
            copied = authority_start + at;
        }
        // Search on from the authority, not past it: `proxy://http://u:p@h` has a second URL
        // starting at the first one's end.
        search = authority_start;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn userinfo_is_replaced_and_the_rest_kept() {
        let cases = [
            (
                "http://am:s3cret@alertmanager:9093",
                "http://***@alertmanager:9093",
            ),
            ("via://http://u:p@h/", "via://http://***@h/"),
            (
                "https://tok@ip.example/v1?x=1#f",
                "https://***@ip.example/v1?x=1#f",
            ),
            (
                "error sending request for url (https://u:p@r.example/ip): refused",
                "error sending request for url (https://***@r.example/ip): refused",
            ),
            // A password holding '@' (the last '@' ends the userinfo), two URLs in one text.
            (
                "a http://u:p@ss@h1/ b `https://x:y@h2`",
                "a http://***@h1/ b `https://***@h2`",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_userinfo(input), want, "{input}");
        }
    }

    #[test]
    fn text_without_userinfo_is_borrowed_unchanged() {
        for s in [
            "",
            "http://alertmanager:9093/api/v2/alerts",
            "mailto:x@y",
            "http://h/path@not-userinfo",
            "://",
        ] {
            assert!(
                matches!(redact_userinfo(s), Cow::Borrowed(x) if x == s),
                "{s}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// A password planted in any surrounding text never survives redaction.
        #[test]
        fn a_planted_password_never_survives(
            before in any::<String>(),
            after in any::<String>(),
            scheme in "[a-z]{1,8}",
        ) {
            let password = "Pa55w0rdZz";
            let text = format!("{before}{scheme}://user:{password}@host.example/p{after}");
            let out = redact_userinfo(&text);
            prop_assert!(
                out.matches(password).count() < text.matches(password).count(),
                "{:?} -> {:?}", text, out
            );
        }

        /// Never panics, and text without `@` comes back unchanged.
        #[test]
        fn text_without_at_is_unchanged(s in any::<String>()) {
            let out = redact_userinfo(&s);
            if !s.contains('@') {
                prop_assert_eq!(out, s.as_str());
            }
        }
    }
}

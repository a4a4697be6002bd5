//! The backend identity a target expects (`backend_identity`): an anchored regular expression,
//! compiled once when the target is built, not by the judge at every probe as it was.

use std::fmt;

/// A pattern that must match the whole identity the backend echoes, e.g. `prod/myapp-.*`.
#[derive(Clone)]
pub struct IdentityPattern {
    /// As written (what reasons quote, through `Display`).
    text: Box<str>,
    /// `^(?:text)$`.
    regex: regex::Regex,
}

impl IdentityPattern {
    /// Compiles `text`, anchored at both ends.
    pub fn new(text: &str) -> Result<Self, regex::Error> {
        Ok(IdentityPattern {
            regex: regex::Regex::new(&format!("^(?:{text})$"))?,
            text: text.into(),
        })
    }

    /// Whether `identity` matches the pattern whole.
    pub fn is_match(&self, identity: &str) -> bool {
        self.regex.is_match(identity)
    }
}

// Two patterns are the same when they are written the same (a compiled regex has no equality).
impl PartialEq for IdentityPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for IdentityPattern {}

impl fmt::Debug for IdentityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdentityPattern").field(&self.text).finish()
    }
}

impl fmt::Display for IdentityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matches_the_whole_identity_only() {
        let p = IdentityPattern::new("prod/myapp-.*").unwrap();
        assert!(p.is_match("prod/myapp-7d9f-x2"));
        assert!(!p.is_match("staging/prod/myapp-1"));
        // An alternation is anchored as a whole, not only its first and last branches.
        let p = IdentityPattern::new("a|b").unwrap();
        assert!(p.is_match("b") && !p.is_match("ab") && !p.is_match("ba"));
        assert_eq!(p.to_string(), "a|b");
    }

    #[test]
    fn patterns_written_alike_are_equal() {
        let a = IdentityPattern::new("x.*").unwrap();
        assert_eq!(a, IdentityPattern::new("x.*").unwrap());
        assert_ne!(a, IdentityPattern::new("x.+").unwrap());
        assert_eq!(format!("{a:?}"), "IdentityPattern(\"x.*\")");
    }

    #[test]
    fn a_bad_pattern_is_an_error() {
        assert!(IdentityPattern::new("(unclosed").is_err());
    }
}

//! A response's headers, packed: every name and value in one string, their ends in one table.
//!
//! The status store keeps every target's last HTTP exchange (for `/status.json`). As
//! `Vec<(String, String)>` a header cost 48 bytes and two allocations; a backend's usual half a
//! dozen, about 500 bytes a target. Packed: the text itself and 8 bytes a header, in two
//! allocations whatever the count.

use std::fmt;

use serde::Serialize;

/// Response headers (lowercase names), in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each name then its value, back to back.
    text: Box<str>,
    /// Per header, where its name ends and where its value ends in `text`.
    ends: Box<[(u32, u32)]>,
}

impl Headers {
    /// The headers `pairs` gives, in order. A header past what 4 GiB of text holds is dropped
    /// (a response head is bounded far below that).
    pub fn new<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut text = String::new();
        let mut ends = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            let fits = text.len() + name.len() + value.len() <= u32::MAX as usize;
            if !fits {
                break;
            }
            text.push_str(name);
            let name_end = text.len() as u32;
            text.push_str(value);
            ends.push((name_end, text.len() as u32));
        }
        Headers {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// Every header as (name, value), in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            let name = self.text.get(start..name_end).unwrap_or("");
            let value = self.text.get(name_end..value_end).unwrap_or("");
            start = value_end;
            (name, value)
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How many headers.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Self {
        Headers::new(pairs)
    }
}

/// As the list of `[name, value]` pairs it replaced.
impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_come_back_in_order_and_by_name() {
        let h = Headers::new([
            ("content-type", "text/plain"),
            ("x-empty", ""),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ]);
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [
                ("content-type", "text/plain"),
                ("x-empty", ""),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2")
            ]
        );
        assert_eq!(h.get("Set-Cookie"), Some("a=1"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn the_json_is_the_list_of_pairs_it_replaced() {
        let pairs = [("server", "nginx"), ("x-ünïcode", "wert ü")];
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            serde_json::to_string(&Headers::new(pairs)).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
        assert_eq!(serde_json::to_string(&Headers::default()).unwrap(), "[]");
    }
}

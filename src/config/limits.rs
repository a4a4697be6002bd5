//! Limits on what the parser is given, checked before it runs: a config file is small, shallow
//! and mostly literal. Without them a 1 MB anchor used 5,000 times expands to 5 GB and aborts
//! the process, and 200,000 nested `[` take minutes to parse.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// The largest config file read (bytes).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;
/// The most text (scalar bytes, plus one per node) the document may expand to through aliases.
pub const MAX_EXPANDED_BYTES: u64 = 32 * 1024 * 1024;

/// Where a limit was passed: line and column (1-based), and what was passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Flow nesting (`[`, `{`) and block nesting (one level per deeper indentation or `- `) deeper
/// than [`MAX_DEPTH`]. A scan, not a parse: quoted text and comments are skipped; an opening
/// bracket counts only where a flow collection can start (a value's start, or inside one).
pub fn check_nesting(text: &str) -> Result<(), Breach> {
    let breach = |line, column| Breach {
        line,
        column,
        message: format!("lists and mappings are nested deeper than {MAX_DEPTH} levels"),
    };
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let chars: Vec<char> = raw.chars().collect();
        let mut i = 0;
        if flow == 0 {
            // Block context: the indentation stack, plus one level per leading `- `.
            let indent = chars.iter().take_while(|c| **c == ' ').count();
            if chars.get(indent).is_none_or(|c| *c == '#') {
                continue;
            }
            while indents.last().is_some_and(|top| *top >= indent) {
                indents.pop();
            }
            indents.push(indent);
            i = indent;
            let mut dashes = 0;
            while chars.get(i) == Some(&'-') && chars.get(i + 1).is_none_or(|c| *c == ' ') {
                dashes += 1;
                if indents.len() + dashes > MAX_DEPTH {
                    return Err(breach(line, i + 1));
                }
                i += 2;
                while chars.get(i) == Some(&' ') {
                    i += 1;
                }
            }
            if indents.len() > MAX_DEPTH {
                return Err(breach(line, indent + 1));
            }
        }
        // The last significant character before this one on the line (`None`: none yet).
        let mut prev: Option<char> = None;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            let at_value_start = prev.is_none_or(is_indicator);
            match quote {
                Some('\'') if c == '\'' => quote = None,
                Some('"') if c == '\\' => i += 1,
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if i == 0 || chars[i - 1] == ' ' => break,
                    '\'' | '"' if at_value_start => quote = Some(c),
                    '[' | '{' if at_value_start || flow > 0 => {
                        flow += 1;
                        if flow + indents.len() > MAX_DEPTH {
                            return Err(breach(line, i + 1));
                        }
                    }
                    ']' | '}' if flow > 0 => flow -= 1,
                    _ => {}
                },
            }
            if c != ' ' {
                prev = Some(c);
            }
            i += 1;
        }
    }
    Ok(())
}

fn is_indicator(c: char) -> bool {
    matches!(c, ':' | '-' | ',' | '[' | '{' | '?')
}

/// The document's size with every alias expanded, walked without building anything: more than
/// [`MAX_EXPANDED_BYTES`] is refused before the real deserialization copies the aliased text.
pub fn check_expansion(text: &str) -> Result<(), serde_norway::Error> {
    let mut budget = MAX_EXPANDED_BYTES;
    let de = serde_norway::Deserializer::from_str(text);
    de.deserialize_any(Walk {
        budget: &mut budget,
    })
}

struct Walk<'b> {
    budget: &'b mut u64,
}

impl Walk<'_> {
    fn spend<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        let cost = bytes as u64 + 1;
        match self.budget.checked_sub(cost) {
            Some(left) => {
                *self.budget = left;
                Ok(())
            }
            None => Err(E::custom(format_args!(
                "aliases (*name) expand the file to more than {} MB; use each anchor fewer times",
                MAX_EXPANDED_BYTES / 1024 / 1024
            ))),
        }
    }
}

impl<'de> de::DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML")
    }
    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        self.spend(0)
    }
    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        self.spend(8)
    }
    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        self.spend(8)
    }
    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<(), E> {
        self.spend(8)
    }
    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        self.spend(v.len())
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.spend(0)
    }
    fn visit_none<E: de::Error>(mut self) -> Result<(), E> {
        self.spend(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.spend(0)?;
        while seq
            .next_element_seed(Walk {
                budget: self.budget,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.spend(0)?;
        while map
            .next_key_seed(Walk {
                budget: self.budget,
            })?
            .is_some()
        {
            map.next_value_seed(Walk {
                budget: self.budget,
            })?;
        }
        Ok(())
    }
    fn visit_enum<A: de::EnumAccess<'de>>(mut self, _: A) -> Result<(), A::Error> {
        // Tagged values (`!tag x`) are refused by the real deserialization; count them here.
        self.spend(0)
    }
}

//! The `--once` report written target by target, so a pass over 10,000 targets never holds them
//! all: each outcome is rendered to its part of the report (an [`Entry`]: a few hundred bytes of
//! text, a few kilobytes of JSON) as soon as it is judged and the outcome dropped; a
//! [`ReportWriter`] writes the entries in order and keeps only the counts the summary needs.
//!
//! The JSON document is byte for byte what `serde_json::to_string_pretty` makes of the same
//! keys, except that `targets` comes first and `ok`, `generated_at` and `summary` after it (they
//! are known only at the end). The text report is exactly [`super::to_text`]'s.

use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::{Value, json};

use super::{Style, target_json, target_text, text_footer};
use crate::checks::Status;
use crate::pipeline::outcome::Outcome;

/// Which report to write.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// One JSON document.
    Json,
    /// The human report.
    Text(Style),
}

/// One target's rendered part of the report, and what the summary counts of it.
#[derive(Debug, Clone)]
pub struct Entry {
    bytes: Vec<u8>,
    ok: bool,
    failed_checks: usize,
}

impl Entry {
    /// Renders `outcome` in `format`; the outcome can be dropped afterwards.
    pub fn render(outcome: &Outcome, format: Format) -> Entry {
        let bytes = match format {
            Format::Json => indented_json(&target_json(outcome), "    "),
            Format::Text(style) => {
                let mut out = String::new();
                target_text(&mut out, outcome, style);
                out.into_bytes()
            }
        };
        Entry {
            bytes,
            ok: outcome.ok(),
            failed_checks: outcome
                .results
                .iter()
                .filter(|r| r.status == Status::Fail)
                .count(),
        }
    }

    /// The rendered size in bytes (what holding this entry costs).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when nothing was rendered (never, for a real outcome).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The counts the report ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Targets written.
    pub targets: usize,
    /// Targets with at least one failed check.
    pub failing_targets: usize,
    /// Failed checks over all targets.
    pub failed_checks: usize,
}

impl Tally {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        self.failing_targets == 0
    }
}

/// Writes the report's entries to `out` as they come, then its ending.
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    tally: Tally,
}

impl<W: Write> ReportWriter<W> {
    /// Starts the report (for JSON, the document's opening).
    pub fn start(mut out: W, format: Format) -> io::Result<Self> {
        if let Format::Json = format {
            out.write_all(b"{\n  \"targets\": [")?;
        }
        Ok(ReportWriter {
            out,
            format,
            tally: Tally::default(),
        })
    }

    /// Writes one target's entry.
    pub fn write(&mut self, entry: &Entry) -> io::Result<()> {
        if let Format::Json = self.format {
            let sep: &[u8] = if self.tally.targets == 0 {
                b"\n    "
            } else {
                b",\n    "
            };
            self.out.write_all(sep)?;
        }
        self.out.write_all(&entry.bytes)?;
        self.tally.targets += 1;
        self.tally.failing_targets += usize::from(!entry.ok);
        self.tally.failed_checks += entry.failed_checks;
        Ok(())
    }

    /// Ends the report with the summary, flushes it and returns the counts.
    pub fn finish(mut self) -> io::Result<Tally> {
        let t = self.tally;
        match self.format {
            Format::Json => {
                let close: &[u8] = if t.targets == 0 { b"]" } else { b"\n  ]" };
                self.out.write_all(close)?;
                let tail = json!({
                    "ok": t.ok(),
                    "generated_at": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                    "summary": {
                        "targets": t.targets,
                        "failing_targets": t.failing_targets,
                        "failed_checks": t.failed_checks,
                    },
                });
                // The tail's members, already at the document's indentation, without its braces.
                let tail = indented_json(&tail, "");
                let members = &tail[2..tail.len() - 2];
                self.out.write_all(b",\n")?;
                self.out.write_all(members)?;
                self.out.write_all(b"\n}\n")?;
            }
            Format::Text(_) => {
                self.out
                    .write_all(text_footer(t.targets, t.failing_targets).as_bytes())?;
            }
        }
        self.out.flush()?;
        Ok(t)
    }
}

/// `value` pretty-printed (two spaces a level) with every line after the first indented by
/// `indent`: how it reads nested in the document. A line break inside a JSON string is always
/// escaped, so every raw newline is a line of the layout.
fn indented_json(value: &Value, indent: &str) -> Vec<u8> {
    // Serialized straight into the entry, the indentation added as the lines come (no second
    // copy of a few kilobytes per target, no byte-by-byte pass).
    let mut out = Indenting {
        // A target's part of the JSON report is 5-8 KB.
        out: Vec::with_capacity(8192),
        indent: indent.as_bytes(),
    };
    if serde_json::to_writer_pretty(&mut out, value).is_err() {
        return b"null".to_vec();
    }
    out.out
}

/// Appends what is written, with `indent` after every line break.
struct Indenting<'a> {
    out: Vec<u8>,
    indent: &'a [u8],
}

impl Write for Indenting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for line in buf.split_inclusive(|&b| b == b'\n') {
            self.push_line(line);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Indenting<'_> {
    fn push_line(&mut self, line: &[u8]) {
        self.out.extend_from_slice(line);
        if line.last() == Some(&b'\n') {
            self.out.extend_from_slice(self.indent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_json_report_is_what_to_string_pretty_makes_of_the_same_keys() {
        let mut buf = Vec::new();
        ReportWriter::start(&mut buf, Format::Json)
            .unwrap()
            .finish()
            .unwrap();
        let doc: Value = serde_json::from_slice(&buf).unwrap();
        let expected = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
        assert_eq!(doc["targets"], json!([]));
        assert_eq!(doc["ok"], json!(true));
        assert_eq!(doc["summary"]["targets"], json!(0));
    }

    #[test]
    fn nested_json_is_indented_as_to_string_pretty_nests_it() {
        let inner = json!({"a": [1, {"b": "line\nbreak"}], "c": {}});
        let doc = json!({"targets": [inner.clone(), inner.clone()]});
        let mut out = b"{\n  \"targets\": [\n    ".to_vec();
        out.extend(indented_json(&inner, "    "));
        out.extend(b",\n    ");
        out.extend(indented_json(&inner, "    "));
        out.extend(b"\n  ]\n}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&doc).unwrap()
        );
    }
}

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

use serde_json::json;

use super::json::TargetJson;
use super::{Style, target_text, text_footer};
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
            Format::Json => indented_json(&TargetJson(outcome), "    "),
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

    /// What has been written so far, taken out of an in-memory writer: how a report served in
    /// pieces (`/status.json`) hands each piece on without holding the whole document.
    pub fn take_written(&mut self) -> W
    where
        W: Default,
    {
        std::mem::take(&mut self.out)
    }

    /// Ends the report with the summary, flushes it and returns the counts.
    pub fn finish(self) -> io::Result<Tally> {
        self.finish_into().map(|(tally, _)| tally)
    }

    /// [`ReportWriter::finish`], handing back the writer too (for an in-memory one, the end of
    /// the document).
    pub fn finish_into(mut self) -> io::Result<(Tally, W)> {
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
        Ok((t, self.out))
    }
}

/// `value` pretty-printed (two spaces a level) with every line after the first indented by
/// `indent`: how it reads nested in the document.
fn indented_json(value: &impl serde::Serialize, indent: &str) -> Vec<u8> {
    // A target's part of the JSON report is 5-8 KB.
    let mut out = Vec::with_capacity(8192);
    let mut line = Vec::with_capacity(1 + indent.len() + 2 * 16);
    line.push(b'\n');
    line.extend_from_slice(indent.as_bytes());
    let nested = NestedPretty {
        base_len: line.len(),
        line,
        level: 0,
        has_value: false,
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, nested);
    if value.serialize(&mut serializer).is_err() {
        return b"null".to_vec();
    }
    out
}

/// serde_json's `PrettyFormatter` (two spaces a level) starting at a deeper indentation: every
/// line break is followed by the base indentation and then the level's. Written straight into the
/// entry (not pretty-printed first and re-indented line by line: that pass alone was 3 % of a
/// `--once --output json` run). A line break and its indentation are one write, a slice of
/// `line` (a target's part has about 270 lines; the break, the base and each level's two spaces
/// written apart were six writes a line).
struct NestedPretty {
    /// A line break, the base indentation, then spaces: as many as the deepest level so far.
    line: Vec<u8>,
    /// The line break and the base indentation.
    base_len: usize,
    level: usize,
    has_value: bool,
}

impl NestedPretty {
    fn new_line<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        let len = self.base_len + 2 * self.level;
        if self.line.len() < len {
            self.line.resize(len, b' ');
        }
        w.write_all(&self.line[..len])
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.has_value {
            self.new_line(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.new_line(w)
    }
}

impl serde_json::ser::Formatter for NestedPretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
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
        let doc: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let expected = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
        assert_eq!(doc["targets"], json!([]));
        assert_eq!(doc["ok"], json!(true));
        assert_eq!(doc["summary"]["targets"], json!(0));
    }

    #[test]
    fn nested_json_is_indented_as_to_string_pretty_nests_it() {
        let inner = json!({"a": [1, {"b": "line\nbreak"}], "c": {}, "d": [[], {}], "e": null});
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

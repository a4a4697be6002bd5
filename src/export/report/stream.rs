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
            Format::Json => indented_json(&TargetJson::with_pieces(outcome), "    "),
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
/// `indent`: how it reads nested in the document. `null` when it does not serialize.
fn indented_json(value: &impl serde::Serialize, indent: &str) -> Vec<u8> {
    pretty(value, indent).unwrap_or_else(|| b"null".to_vec())
}

/// [`indented_json`], `None` when `value` does not serialize.
pub(super) fn pretty(value: &impl serde::Serialize, indent: &str) -> Option<Vec<u8>> {
    // A target's part of the JSON report is 5-8 KB.
    let mut out = Vec::with_capacity(8192);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, NestedPretty::at(indent));
    value.serialize(&mut serializer).ok()?;
    Some(out)
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
    /// Every line after the first indented by `indent`, then two spaces a level.
    fn at(indent: &str) -> Self {
        let mut line = Vec::with_capacity(1 + indent.len() + 2 * 16);
        line.push(b'\n');
        line.extend_from_slice(indent.as_bytes());
        NestedPretty {
            base_len: line.len(),
            line,
            level: 0,
            has_value: false,
        }
    }

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

    /// A piece ([`super::pieces`]), pretty-printed at the column its closing line starts at:
    /// copied whole when that is this place's column, else each line moved to it.
    fn write_raw_fragment<W: ?Sized + Write>(&mut self, w: &mut W, piece: &str) -> io::Result<()> {
        let column = self.base_len - 1 + 2 * self.level;
        let rendered_at = piece.rfind('\n').map_or(column, |i| {
            piece[i + 1..].bytes().take_while(|b| *b == b' ').count()
        });
        if rendered_at == column {
            return w.write_all(piece.as_bytes());
        }
        // Every line after the first starts with at least the piece's column of spaces.
        let mut lines = piece.split('\n');
        if let Some(first) = lines.next() {
            w.write_all(first.as_bytes())?;
        }
        for line in lines {
            self.new_line(w)?;
            w.write_all(line.get(rendered_at..).unwrap_or("").as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::pki_types::CertificateDer;

    use super::*;
    use crate::checks::{CheckName, CheckResult};
    use crate::discovery::target::{Target, TargetSource};
    use crate::export::report::json::TargetJson;
    use crate::export::report::pieces;
    use crate::probe::tls::TlsObservation;
    use crate::probe::tls_scan::{Accepted, TlsProtocol, TlsScan, suites};
    use crate::probe::{DnsObservation, EndpointObservation, Observation};

    /// Two targets behind one listener: the same chain (one shared `Arc`), the same scan, and
    /// verdicts with fixed sentences, at the address and not.
    fn behind_one_listener() -> Vec<Outcome> {
        let leaf = rcgen::generate_simple_self_signed(vec!["a.example.test".to_string()])
            .unwrap()
            .cert;
        let chain: Arc<[CertificateDer<'static>]> = Arc::from(vec![
            leaf.der().clone(),
            CertificateDer::from(b"not a certificate".to_vec()),
        ]);
        let address: SocketAddr = "192.0.2.10:443".parse().unwrap();
        let scan = Arc::new(TlsScan {
            address,
            scanned_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(3),
            versions: vec![TlsProtocol::Tls12],
            accepted: vec![Accepted {
                version: TlsProtocol::Tls12,
                suite: suites::by_name("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap(),
            }],
            connections: 2,
            failure: None,
        });
        ["a.example.test", "b.example.test"]
            .into_iter()
            .map(|name| {
                let mut obs = Observation::from_dns(
                    SystemTime::UNIX_EPOCH,
                    DnsObservation::answered(name, vec![address.ip()]),
                );
                let mut tls = TlsObservation {
                    version: Some("TLSv1.3".into()),
                    ..TlsObservation::before_handshake()
                };
                tls.chain = chain.clone();
                obs.endpoints.push(EndpointObservation {
                    address,
                    connect: Ok(Duration::from_millis(1)),
                    tls: Some(tls),
                    http: None,
                });
                obs.tls_scans.push(scan.clone());
                Outcome {
                    target: Arc::new(Target::new(name.to_string(), 443, TargetSource::Flag)),
                    observation: Some(obs),
                    results: vec![
                        CheckResult::pass(CheckName::Config, "target definition is valid"),
                        CheckResult::pass(CheckName::ChainTrusted, "chain verifies")
                            .at(address.ip()),
                        CheckResult::fail(
                            CheckName::Dns,
                            "nxdomain",
                            format!("`{name}` has no address"),
                        ),
                    ]
                    .into(),
                }
            })
            .collect()
    }

    #[test]
    fn a_piece_rendered_for_another_column_is_moved_to_where_it_is_written() {
        let inner = json!({"a": [1, {"b": "line\nbreak"}], "c": {}});
        let doc = json!({"x": [inner.clone()], "y": inner.clone()});
        for column in [0, 3, 8, 40] {
            let piece = pieces::render(&inner, column).unwrap();
            // The same document with the piece in both places (an array item and a value).
            let mut written = Vec::new();
            let mut ser =
                serde_json::Serializer::with_formatter(&mut written, NestedPretty::at("  "));
            use serde::ser::{SerializeMap, Serializer};
            let mut m = (&mut ser).serialize_map(Some(2)).unwrap();
            m.serialize_entry("x", &[&*piece]).unwrap();
            m.serialize_entry("y", &*piece).unwrap();
            m.end().unwrap();
            let expected = indented_json(&doc, "  ");
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(expected).unwrap(),
                "rendered at column {column}"
            );
        }
    }

    #[test]
    fn pieces_write_the_same_bytes_as_serializing_every_part() {
        let outcomes = behind_one_listener();
        let chain = outcomes[0].observation.as_ref().unwrap().endpoints[0]
            .tls
            .as_ref()
            .unwrap()
            .chain
            .clone();
        let scan = outcomes[0].observation.as_ref().unwrap().tls_scans[0].clone();
        // Twice over: the first renders the pieces, the second writes them as kept.
        for round in 0..2 {
            for outcome in &outcomes {
                let streamed = Entry::render(outcome, Format::Json).bytes;
                let whole = indented_json(&TargetJson(outcome), "    ");
                assert_eq!(
                    String::from_utf8(streamed).unwrap(),
                    String::from_utf8(whole).unwrap(),
                    "round {round}, {}",
                    outcome.target.name
                );
            }
        }
        assert!(pieces::CHAINS.holds(&chain) && pieces::SCANS.holds(&scan));
        let fixed: Vec<_> = outcomes[1].results.iter().map(|v| v.fixed_key()).collect();
        assert!(fixed[0].is_some() && fixed[1].is_some(), "{fixed:?}");
        assert!(fixed[2].is_none(), "a reason naming the target is its own");
        assert!(fixed.iter().flatten().all(|k| pieces::VERDICTS.holds(k)));
        // Each piece was rendered at the column the report writes it at, so the report holds
        // it whole (one copy, not re-indented line by line).
        let text = String::from_utf8(Entry::render(&outcomes[1], Format::Json).bytes).unwrap();
        let kept = [
            pieces::CHAINS.get_or_render(&chain, || None),
            pieces::SCANS.get_or_render(&scan, || None),
            pieces::VERDICTS.get_or_render(fixed[1].unwrap(), || None),
        ];
        for piece in kept {
            let piece = piece.expect("kept");
            assert!(
                piece.get().contains('\n') && text.contains(piece.get()),
                "{piece}"
            );
        }
        // And the document still reads as the outcome: the chain's leaf, the scan, the checks.
        let doc: serde_json::Value =
            serde_json::from_slice(&Entry::render(&outcomes[1], Format::Json).bytes).unwrap();
        let endpoint = &doc["facts"]["endpoints"][0];
        assert_eq!(endpoint["chain"][0]["dns_names"], json!(["a.example.test"]));
        assert!(endpoint["chain"][1]["error"].is_string());
        assert_eq!(doc["facts"]["tls_scans"][0]["connections"], json!(2));
        assert_eq!(doc["checks"][1]["address"], json!("192.0.2.10"));
        assert_eq!(
            doc["checks"][2]["reason"],
            json!("`b.example.test` has no address")
        );
    }

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

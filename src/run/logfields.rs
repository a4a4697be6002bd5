//! The text log format's field writer: every field value (and the message) passes through the
//! [`textsafe`](crate::textsafe) escaper, so a target name, certificate subject, server error or
//! reason holding CR, LF or ESC can neither forge a log line nor reach the terminal as an escape
//! sequence. JSON logs need none of this (their encoder escapes). Catching it here, where the line
//! is written, covers every `tracing` call, including ones added later. URL passwords are taken
//! out here too.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use crate::textsafe::{redact_userinfo, write_escaped};

/// Writes fields as `name=value` separated by spaces (the message bare), like tracing's default,
/// with every value escaped.
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = Visitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Visitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if !self.first {
            self.result = self.writer.write_char(' ');
        }
        self.first = false;
        if field.name() != "message" {
            self.result = self
                .result
                .and_then(|_| write!(self.writer, "{}=", field.name()));
        }
        // `%` fields arrive here as Debug wrappers around Display: escape whatever they print,
        // and take out any URL password a message may carry (the call sites redact too; this
        // is the net under them).
        let text = format!("{value:?}");
        self.result = self
            .result
            .and_then(|_| write_escaped(&mut self.writer, &redact_userinfo(&text)));
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_hostile_display_field_stays_on_one_line_without_escape_codes() {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .fmt_fields(EscapedFields)
            .finish();
        let name = "evil\n2026-01-01T00:00:00Z  INFO forged\x1b]0;title\x07";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target = %name, reason = ?name, code = "ok", url = %"http://u:pw@h/", "check failing");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
        assert!(
            text.contains(r"target=evil\n2026-01-01T00:00:00Z  INFO forged\x1b]0;title\x07"),
            "{text}"
        );
        assert!(
            text.contains("check failing") && text.contains(r#"code="ok""#),
            "{text}"
        );
        assert!(
            text.contains("url=http://***@h/") && !text.contains("pw"),
            "{text}"
        );
    }
}

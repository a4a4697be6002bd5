//! Configuration: read (I/O: the file, nothing else) → parse (`&str`) → validate (plain values:
//! ranges, URLs), each its own step. The result is the file's sections with their values checked;
//! the components build their own settings from them (`run::settings` assembles the whole), so
//! this module imports no component. Every error names the file, the field and what is wrong;
//! `main` turns it into exit code 2.

pub mod excerpt;
pub mod file;
pub mod limits;
mod messages;
pub mod validate;
mod values;

use std::io::Read;
use std::path::Path;

pub use excerpt::Excerpt;
pub use file::ConfigFile;
pub use validate::validate;

/// Why a config could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{origin}{}: {field}{sep}{message}",
    location(.line_column),
    sep = if field.is_empty() { "" } else { ": " }
)]
pub struct ConfigError {
    /// The file (or `--target` flag) at fault.
    pub origin: String,
    /// The field path, e.g. `targets[0].expected_cert.sha256`; empty for whole-file errors.
    pub field: String,
    /// What is wrong, one line.
    pub message: String,
    /// Line and column (1-based) in the file, when the parser knows them.
    pub line_column: Option<(usize, usize)>,
}

fn location(at: &Option<(usize, usize)>) -> String {
    match at {
        Some((line, column)) => format!(":{line}:{column}"),
        None => String::new(),
    }
}

impl ConfigError {
    /// An error about `field` of `origin`.
    pub fn new(origin: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            field: field.into(),
            message: message.into(),
            line_column: None,
        }
    }

    /// The same error, at `line_column` of the file.
    pub fn at(mut self, line_column: Option<(usize, usize)>) -> Self {
        self.line_column = line_column;
        self
    }

    /// A stable short name of the kind, for JSON (`error.kind`).
    pub fn as_str(&self) -> &'static str {
        "config"
    }
}

/// Reads the file at `path`: at most [`limits::MAX_FILE_BYTES`], UTF-8.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    let origin = path.display().to_string();
    let fail = |message: String| ConfigError::new(&origin, "", message);
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(fail(too_large()));
    }
    String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "cannot read: the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn too_large() -> String {
    format!(
        "the file is larger than {} MB; a config file is at most that",
        limits::MAX_FILE_BYTES / 1024 / 1024
    )
}

/// Parses YAML text; `origin` names the file in errors. A leading UTF-8 byte-order mark is
/// skipped; the size, nesting and alias-expansion limits are checked before the parser runs.
pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(ConfigError::new(origin, "", too_large()));
    }
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    if text.trim_start().starts_with("-----BEGIN ") {
        return Err(ConfigError::new(
            origin,
            "",
            "this is a PEM file (a certificate or key), not an edgewatch YAML config; \
             a CA bundle goes in tls.ca_file",
        ));
    }
    limits::check_nesting(text)
        .map_err(|b| ConfigError::new(origin, "", b.message).at(Some((b.line, b.column))))?;
    // Only a document with an anchor (`&name`) can have aliases to expand.
    if text.contains('&') {
        limits::check_expansion(text).map_err(|e| {
            let (message, at) = messages::plain(&e.to_string(), text);
            ConfigError::new(origin, "", message).at(at)
        })?;
    }
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let field = err.path().to_string();
        let field = if field == "." { String::new() } else { field };
        // The path holds the file's own keys (`? "\n"` is a key): escaped, like the message.
        let field = crate::textsafe::escape(&field).into_owned();
        let message = err.into_inner().to_string();
        // serde_norway prefixes its own (shorter) path: keep only the message after it.
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if !field.is_empty() && field.starts_with(prefix) => {
                rest.to_string()
            }
            _ => message,
        };
        let (mut message, at) = messages::plain(&message, text);
        if field.is_empty() && message.starts_with("must be ") {
            message.insert_str(0, "the file ");
        }
        ConfigError::new(origin, field, message).at(at)
    })
}
/// Whether `text` says `targets: []` (or `targets:` with nothing) in so many words: a reload
/// that empties the static targets must be meant, not a truncated file.
pub fn says_no_targets(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_norway::from_str::<serde_norway::Value>(text) {
        Ok(serde_norway::Value::Mapping(m)) => match m.get("targets") {
            Some(serde_norway::Value::Sequence(s)) => s.is_empty(),
            Some(serde_norway::Value::Null) => true,
            _ => false,
        },
        _ => false,
    }
}

/// Reads, parses and validates the file at `path`; `None`: no file, every default.
/// Returns the file and the name errors give it.
pub fn load(path: Option<&Path>) -> Result<(ConfigFile, String), ConfigError> {
    let (file, origin) = match path {
        Some(p) => {
            let origin = p.display().to_string();
            (parse(&read(p)?, &origin)?, origin)
        }
        None => (ConfigFile::default(), "(no config file)".to_string()),
    };
    validate(&file, &origin)?;
    Ok((file, origin))
}

//! Configuration: read (I/O: the file, nothing else) → parse (`&str`) → validate (plain values:
//! ranges, URLs), each its own step. The result is the file's sections with their values checked;
//! the components build their own settings from them (`run::settings` assembles the whole), so
//! this module imports no component. Every error names the file, the field and what is wrong;
//! `main` turns it into exit code 2.

pub mod file;
pub mod validate;

use std::path::Path;

pub use file::ConfigFile;
pub use validate::validate;

/// Why a config could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {field}{sep}{message}", sep = if field.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    /// The file (or `--target` flag) at fault.
    pub origin: String,
    /// The field path, e.g. `targets[0].expected_cert.sha256`; empty for whole-file errors.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `field` of `origin`.
    pub fn new(origin: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads the file at `path`.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&path.display().to_string(), "", format!("cannot read: {e}")))
}

/// Parses YAML text; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigError> {
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let field = err.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let message = err.into_inner().to_string();
        // serde_norway prefixes its own (shorter) path: keep only the message after it.
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if !field.is_empty() && field.starts_with(prefix) => {
                rest.to_string()
            }
            _ => message,
        };
        ConfigError::new(origin, field, message)
    })
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

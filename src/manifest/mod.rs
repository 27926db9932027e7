//! Validates one plugin's manifest, the file [`Spec`] names (`plugin.yaml` by default):
//! a YAML mapping, a Markdown file's YAML front matter (`SKILL.md`) or a JSON object
//! (`.claude-plugin/plugin.json`), by its extension. Each reader turns its format into
//! the known fields with their positions ([`document`]); [`fields`] applies the rules
//! (required fields, `name` against the directory, each format's `name`, `version` and
//! `description`). Other keys are allowed and ignored. Every problem found is reported
//! with a 1-based line and column of the whole file, sorted by position.

pub mod document;
pub mod fields;
pub mod front_matter;
pub mod json_file;
pub mod spec;
pub mod yaml_file;

pub use crate::manifest::document::ManifestProblem;
pub use crate::manifest::fields::Manifest;
pub use crate::manifest::spec::{Field, Format, NamePolicy, Spec};

use crate::manifest::document::problem;
use crate::yaml::utf8_error_position;

/// Largest manifest accepted, in bytes. Callers check the blob size before reading it
/// too; `check` enforces it again so it is safe on any input.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// Checks the bytes of the manifest `spec` names; `dir_name` is the plugin directory's
/// last path component. Returns every problem found (never an empty list) on failure.
pub fn check(bytes: &[u8], dir_name: &str, spec: &Spec) -> Result<Manifest, Vec<ManifestProblem>> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(vec![problem(
            1,
            1,
            format!(
                "manifest is {} bytes, over the limit of {MAX_MANIFEST_BYTES} bytes",
                bytes.len()
            ),
        )]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let (line, column) = utf8_error_position(bytes, err.valid_up_to());
            let byte = bytes.get(err.valid_up_to()).copied().unwrap_or(0);
            return Err(vec![problem(
                line,
                column,
                format!("manifest is not valid UTF-8 (byte 0x{byte:02x})"),
            )]);
        }
    };
    // A byte-order mark (Windows editors add one) is skipped in every format, as the
    // YAML parser skips it, and is not a column: positions count from after it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = match spec.format {
        Format::Yaml => crate::manifest::yaml_file::read(text, 1, "manifest"),
        Format::FrontMatter => crate::manifest::front_matter::read(text, spec.file_name()),
        Format::Json => crate::manifest::json_file::read(text),
    }
    .map_err(|p| vec![p])?;
    crate::manifest::fields::check(&doc, spec, dir_name)
}

#[cfg(test)]
mod tests;

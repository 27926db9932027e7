//! What every format's reader hands the field rules: the top-level fields the rules know
//! (`name`, `version`, `description`), each with its value and position, and the
//! problems a reader reports. Positions are 1-based lines and columns (characters) of
//! the whole file, whatever part of it the format reads.

use std::fmt;

use crate::manifest::spec::Field;

/// One problem in a manifest. `line` and `column` are 1-based and always >= 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// A problem at (`line`, `column`), clamped to >= 1.
pub fn problem(line: u32, column: u32, message: String) -> ManifestProblem {
    ManifestProblem {
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

/// A value as far as the rules care: its text when it is a string, else what it is
/// ("a number", "a sequence"…), since every known field must be a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    /// A plain YAML scalar that reads as a number (`version: 1.10`), with its text as
    /// written, for the rules that take any text (a SKILL.md's `version`).
    Number {
        text: String,
        kind: &'static str,
    },
    Other(&'static str),
}

/// A known field, where its value starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub field: Field,
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

/// The top level of a manifest that parsed as a mapping (an object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// Where the mapping starts: missing fields are reported there.
    pub line: u32,
    pub column: u32,
    /// The known fields, each once (every reader refuses duplicate keys).
    pub entries: Vec<Entry>,
}

impl Doc {
    pub fn get(&self, field: Field) -> Option<&Entry> {
        self.entries.iter().find(|e| e.field == field)
    }
}

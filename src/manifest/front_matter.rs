//! A Markdown manifest (`SKILL.md`): YAML front matter between a first line `---` and
//! the next line `---`, read as YAML by [`crate::manifest::yaml_file`] with its budgets;
//! the Markdown after it is not read. Lines may end in `\n` or `\r\n` (Windows editors
//! write CRLF), and positions are the file's: the front matter's first line is line 2.

use crate::manifest::document::{Doc, ManifestProblem, problem};
use crate::manifest::yaml_file;

/// Reads the front matter of `text` (a byte-order mark already skipped); `file_name`
/// names the file in messages.
pub fn read(text: &str, file_name: &str) -> Result<Doc, ManifestProblem> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if !is_delimiter(first) {
        let message = if first.starts_with("---") {
            format!(
                "{file_name}'s front matter must open with a line that is `---` alone, found {:?}",
                shown(first.trim_end())
            )
        } else {
            format!("{file_name} has no front matter: it must start with a `---` line")
        };
        return Err(problem(1, 1, message));
    }
    let start = first.len();
    let mut end = start;
    for line in lines {
        if is_delimiter(line) {
            // The YAML between the delimiters starts at the file's line 2.
            return yaml_file::read(&text[start..end], 2, "the front matter");
        }
        end += line.len();
    }
    Err(problem(
        1,
        1,
        format!(
            "{file_name}'s front matter is not closed: no `---` line follows the one at line 1"
        ),
    ))
}

/// A line that is `---` alone (trailing spaces and the line end allowed).
fn is_delimiter(line: &str) -> bool {
    line.trim_end_matches(['\n', '\r', ' ', '\t']) == "---"
}

/// A line as a message quotes it: at most 40 characters.
fn shown(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

//! A YAML manifest (`plugin.yaml`), or the YAML of a front matter: one mapping, parsed
//! by [`crate::yaml`] within its budgets (alias bombs, nesting, size). Keys other than
//! the known fields are allowed and ignored; duplicate keys are the parser's errors.

use crate::manifest::document::{Doc, Entry, ManifestProblem, Value, problem};
use crate::manifest::spec::Field;
use crate::yaml::{self, Node, Spanned, position};

/// Reads `text` as one YAML mapping. `first_line` is the file's line where `text`
/// starts (1 for a whole file, 2 for a front matter), so that positions are the
/// file's; `what` names the text in messages ("manifest", "front matter").
pub fn read(text: &str, first_line: u32, what: &str) -> Result<Doc, ManifestProblem> {
    let shift = first_line.saturating_sub(1);
    let at = |node: &Spanned<Node>| {
        let (line, column) = position(&node.referenced);
        (line.saturating_add(shift), column)
    };
    let root = yaml::parse(text)
        .map_err(|e| problem(e.line.saturating_add(shift), e.column, e.message))?;
    let (line, column) = at(&root);
    let entries = match &root.value {
        Node::Map(entries) => entries,
        // An empty or comment-only text parses as null; where it "starts" is its top.
        Node::Null => return Err(problem(first_line, 1, format!("{what} is empty"))),
        other => {
            return Err(problem(
                line,
                column,
                format!(
                    "{what} must be a mapping of keys to values, found {}",
                    other.kind()
                ),
            ));
        }
    };
    let mut doc = Doc {
        line,
        column,
        entries: Vec::new(),
    };
    for (key, value) in entries {
        // Duplicate keys never get here: the parser rejects them with their position.
        let Node::Str(k) = &key.value else { continue };
        let Some(field) = Field::from_name(k) else {
            continue;
        };
        let (line, column) = at(value);
        doc.entries.push(Entry {
            field,
            value: match &value.value {
                Node::Str(s) => Value::Str(s.clone()),
                number @ (Node::Int | Node::Float) => match source_text(text, value) {
                    Some(text) => Value::Number {
                        text: text.to_owned(),
                        kind: number.kind(),
                    },
                    None => Value::Other(number.kind()),
                },
                other => Value::Other(other.kind()),
            },
            line,
            column,
        });
    }
    Ok(doc)
}

/// The text of a scalar as written where it is defined (an alias's target, not `*a`),
/// when the parser knows its bytes.
fn source_text<'t>(text: &'t str, node: &Spanned<Node>) -> Option<&'t str> {
    let span = node.defined.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?)
}

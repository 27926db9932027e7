//! A JSON manifest (`.claude-plugin/plugin.json`, `package.json`-style): one object,
//! parsed strictly by serde_json within the YAML reader's budgets (nesting depth, node
//! count; the size is checked before), every error with the file's line and column.
//!
//! serde_json gives errors a position but values none, and keeps the last of duplicate
//! keys. So each object and array is read one level at a time with its members as
//! [`RawValue`]s, slices of the input whose offsets are their positions, and the keys
//! of every object are compared: a duplicate key is an error, as in the lock, since a
//! host that keeps the first `name` would register another plugin than the check saw.
//! The depth is checked before serde_json runs (its own recursion limit is 128), so a
//! 100,000-level document is one positioned error, and nothing here recurses deeper
//! than [`MAX_DEPTH`]. Each level re-reads the text of the levels below it, so a
//! document is scanned at most `MAX_DEPTH` times (1 MiB each, at worst).

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::manifest::document::{Doc, Entry, ManifestProblem, Value, problem};
use crate::manifest::spec::Field;
use crate::yaml::{MAX_DEPTH, MAX_NODES};

/// Reads `text` (a byte-order mark already skipped) as one JSON object.
pub fn read(text: &str) -> Result<Doc, ManifestProblem> {
    if text.trim_matches(is_json_space).is_empty() {
        return Err(problem(1, 1, "manifest is empty".to_owned()));
    }
    if let Some(at) = too_deep(text) {
        return Err(at_offset(
            text,
            at,
            format!("JSON nesting is deeper than {MAX_DEPTH} levels"),
        ));
    }
    let root: &RawValue = serde_json::from_str(text).map_err(|e| json_error(text, 0, &e))?;
    let mut reader = Reader { text, nodes: 0 };
    let offset = reader.offset(root);
    if !root.get().starts_with('{') {
        return Err(at_offset(
            text,
            offset,
            format!(
                "manifest must be a JSON object of keys to values, found {}",
                kind(root)
            ),
        ));
    }
    let members = reader.object(root, 1)?;
    let (line, column) = position(text, offset);
    let mut doc = Doc {
        line,
        column,
        entries: Vec::new(),
    };
    for (key, value) in members {
        let Some(field) = Field::from_name(&key) else {
            continue;
        };
        let at = reader.offset(value);
        let (line, column) = position(text, at);
        let value = if value.get().starts_with('"') {
            Value::Str(reader.string(value)?)
        } else {
            Value::Other(kind(value))
        };
        doc.entries.push(Entry {
            field,
            value,
            line,
            column,
        });
    }
    Ok(doc)
}

struct Reader<'a> {
    text: &'a str,
    /// Values seen so far, against [`MAX_NODES`].
    nodes: usize,
}

impl<'a> Reader<'a> {
    /// Where `raw`, a slice of the text, starts in it.
    fn offset(&self, raw: &RawValue) -> usize {
        let at = (raw.get().as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if at <= self.text.len() { at } else { 0 }
    }

    /// The members of the object `raw`, in order, after checking every value below it;
    /// `depth` is its own (the top level is 1).
    fn object(
        &mut self,
        raw: &'a RawValue,
        depth: usize,
    ) -> Result<Vec<(String, &'a RawValue)>, ManifestProblem> {
        let base = self.offset(raw);
        let Members(members) =
            serde_json::from_str(raw.get()).map_err(|e| json_error(self.text, base, &e))?;
        self.count(members.len(), base)?;
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(members.len());
        for (i, (key, value)) in members.iter().enumerate() {
            if let Some(first) = seen.insert(key, i) {
                let first_at = key_offset(self.text, self.offset(members[first].1));
                let (first_line, _) = position(self.text, first_at);
                return Err(at_offset(
                    self.text,
                    key_offset(self.text, self.offset(value)),
                    format!("duplicate key {key:?} (first at line {first_line})"),
                ));
            }
            self.value(value, depth + 1)?;
        }
        Ok(members)
    }

    /// Checks the value `raw` at `depth`: duplicate keys and strings all the way down.
    fn value(&mut self, raw: &'a RawValue, depth: usize) -> Result<(), ManifestProblem> {
        if depth > MAX_DEPTH {
            // `too_deep` has refused this already; kept so no input can recurse further.
            return Err(at_offset(
                self.text,
                self.offset(raw),
                format!("JSON nesting is deeper than {MAX_DEPTH} levels"),
            ));
        }
        match raw.get().as_bytes().first() {
            Some(b'{') => {
                self.object(raw, depth)?;
            }
            Some(b'[') => {
                let base = self.offset(raw);
                let items: Vec<&RawValue> =
                    serde_json::from_str(raw.get()).map_err(|e| json_error(self.text, base, &e))?;
                self.count(items.len(), base)?;
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            // serde_json skips a nested string without decoding it; a lone surrogate
            // (`"\ud800"`) is only an error when decoded.
            Some(b'"') => {
                self.string(raw)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn string(&self, raw: &RawValue) -> Result<String, ManifestProblem> {
        serde_json::from_str(raw.get()).map_err(|e| json_error(self.text, self.offset(raw), &e))
    }

    fn count(&mut self, more: usize, at: usize) -> Result<(), ManifestProblem> {
        self.nodes = self.nodes.saturating_add(more);
        if self.nodes > MAX_NODES {
            return Err(at_offset(
                self.text,
                at,
                format!("JSON is too large: more than {MAX_NODES} values"),
            ));
        }
        Ok(())
    }
}

/// An object's members in order, duplicates kept (a map would drop them).
struct Members<'de>(Vec<(String, &'de RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(Members(members))
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// What a (valid) JSON value is, from its first byte.
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The offset of the first `[` or `{` nested deeper than [`MAX_DEPTH`], outside strings.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The offset of the opening quote of the key whose value starts at `value_at`:
/// back over `:` and whitespace to the key's closing quote, then to the first quote
/// before it with an even run of backslashes in front (an escaped quote has an odd one).
fn key_offset(text: &str, value_at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = value_at.min(bytes.len());
    let skip_space = |i: &mut usize| {
        while *i > 0 && matches!(bytes[*i - 1], b' ' | b'\t' | b'\n' | b'\r') {
            *i -= 1;
        }
    };
    skip_space(&mut i);
    if i > 0 && bytes[i - 1] == b':' {
        i -= 1;
    }
    skip_space(&mut i);
    // `i - 1` is the closing quote; look before it.
    let close = i.saturating_sub(1);
    let mut j = close;
    while j > 0 {
        j -= 1;
        if bytes[j] == b'"' {
            let backslashes = bytes[..j].iter().rev().take_while(|b| **b == b'\\').count();
            if backslashes % 2 == 0 {
                return j;
            }
        }
    }
    value_at
}

/// A serde_json error in the slice of `text` starting at `base`, at the file's
/// position, without serde_json's " at line L column C" (the position is separate).
fn json_error(text: &str, base: usize, err: &serde_json::Error) -> ManifestProblem {
    let slice = text.get(base..).unwrap_or_default();
    // serde_json counts lines at `\n` and columns in bytes, the last one read; find
    // that byte and count again in characters.
    let mut start = 0;
    for _ in 1..err.line() {
        match slice[start..].find('\n') {
            Some(i) => start += i + 1,
            None => break,
        }
    }
    let at = base + (start + err.column().saturating_sub(1)).min(slice.len());
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    // serde_json's value skipper words `[1,]` and `{"a": 1,}` as a missing value or key.
    let closes = matches!(text.as_bytes().get(at), Some(b']' | b'}'));
    let after_comma = text
        .get(..at)
        .and_then(|before| before.trim_end_matches(is_json_space).chars().last())
        == Some(',');
    if closes && after_comma {
        message = "trailing comma".to_owned();
    }
    at_offset(text, at, message)
}

fn at_offset(text: &str, at: usize, message: String) -> ManifestProblem {
    let (line, column) = position(text, at);
    problem(line, column, message)
}

/// 1-based line and column (in characters) of byte `at`; lines end at `\n`.
fn position(text: &str, at: usize) -> (u32, u32) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    (clamp(line), clamp(column))
}

//! Reading and writing `plugins/PLUGINS.lock`.
//!
//! The lock is a flat JSON object mapping each plugin id to the SHA-256
//! digest of its tree: `{"<plugin id>": "<64 lowercase hex>"}`; `{}` means
//! "no plugins yet". This module's one job is that file: parse it strictly
//! (every error carries a 1-based line and column, [`parser`]) and render it in
//! the single canonical form; [`crate::atomic`] replaces it on disk.
//!
//! The parser is hand-written for exactly this grammar instead of going
//! through `serde_json`, because it has to see things `serde_json` hides:
//! duplicate keys (a `Map` silently keeps the last one) and the position of
//! every key and value. Accepting only an object of strings also means a
//! hostile, deeply nested input is rejected at its first `[` or `{`, with no
//! recursion at all.

pub mod conflict;
pub mod merge;
pub mod parser;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Largest lock file accepted. Callers check the file size against this
/// before reading it; `parse` checks again so it never works on more.
pub const MAX_LOCK_BYTES: usize = 16 * 1024 * 1024;

/// Why a lock file was rejected, and where. `line` and `column` are 1-based;
/// the column counts characters (not bytes) from the start of the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct LockError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// One `"id": "digest"` pair; `line`/`column` point at the key's opening quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub id: String,
    pub digest: String,
    pub line: u32,
    pub column: u32,
}

/// A parsed lock: entries in file order, ids guaranteed unique and valid,
/// digests guaranteed to be 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    entries: Vec<LockEntry>,
    /// id → position in `entries`, so `get` stays O(1) on large locks.
    index: HashMap<String, usize>,
}

impl Lock {
    /// The lock of a repository with no plugins (`{}`).
    pub fn empty() -> Lock {
        Lock::default()
    }

    /// All entries, in the order they appear in the file.
    pub fn entries(&self) -> &[LockEntry] {
        &self.entries
    }

    /// The entry for `id`, compared exactly (no case or Unicode folding).
    pub fn get(&self, id: &str) -> Option<&LockEntry> {
        self.index.get(id).and_then(|&i| self.entries.get(i))
    }

    /// Appends an entry; the parser has checked that its id is new.
    pub(crate) fn push(&mut self, entry: LockEntry) {
        self.index.insert(entry.id.clone(), self.entries.len());
        self.entries.push(entry);
    }

    /// id → digest, in canonical (byte-wise sorted) order; feed it to `render`.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|e| (e.id.clone(), e.digest.clone()))
            .collect()
    }
}

/// The canonical text of a lock: what Python's
/// `json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + "\n"` gives.
/// `BTreeMap<String, _>` iterates in UTF-8 byte order, which is code point
/// order, which is the order Python sorts `str` keys in.
pub fn render(entries: &BTreeMap<String, String>) -> String {
    if entries.is_empty() {
        return "{}\n".to_owned();
    }
    // Ids are short and digests 64 bytes: ~100 bytes a line avoids regrowing.
    let mut out = String::with_capacity(entries.len() * 100 + 4);
    out.push_str("{\n");
    for (i, (id, digest)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("  ");
        push_json_string(&mut out, id);
        out.push_str(": ");
        push_json_string(&mut out, digest);
    }
    out.push_str("\n}\n");
    out
}

/// Whether `bytes` is exactly the canonical rendering of `lock`
/// (`lock` being what `parse` made of those same bytes).
pub fn is_canonical(bytes: &[u8], lock: &Lock) -> bool {
    bytes == render(&lock.to_map()).as_bytes()
}

/// Why `bytes` (which parsed as `lock`) are not the canonical rendering, in the terms a
/// person fixes by hand; `None` when they are.
pub fn difference(bytes: &[u8], lock: &Lock) -> Option<String> {
    let canonical = render(&lock.to_map());
    if bytes == canonical.as_bytes() {
        return None;
    }
    if bytes.windows(2).any(|w| w == b"\r\n") {
        return Some("it has CRLF line ends (an editor, or `core.autocrlf` on Windows: give the lock `-text` in .gitattributes); canonical is LF".to_owned());
    }
    let ids: Vec<&str> = lock.entries().iter().map(|e| e.id.as_str()).collect();
    if let Some(pair) = ids.windows(2).find(|w| w[0] >= w[1]) {
        let line = lock.get(pair[1]).map_or(1, |e| e.line);
        return Some(format!(
            "its keys are not sorted (`{}` on line {line} comes after `{}`)",
            pair[1], pair[0]
        ));
    }
    let text = String::from_utf8_lossy(bytes);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('"') && line.len() - trimmed.len() != 2 {
            return Some(format!(
                "line {} is indented by {} spaces; canonical is 2",
                i + 1,
                line.len() - trimmed.len()
            ));
        }
    }
    if !bytes.ends_with(b"\n") {
        return Some("it has no final newline".to_owned());
    }
    let first = text
        .lines()
        .zip(canonical.lines())
        .position(|(a, b)| a != b)
        .map_or_else(
            || text.lines().count().min(canonical.lines().count()) + 1,
            |i| i + 1,
        );
    Some(format!(
        "line {first} differs from the canonical form (spacing, escapes or blank lines)"
    ))
}

/// Escapes only what JSON requires, using the same forms as Python's `json`
/// (short escapes where they exist, lowercase `\u00XX` otherwise).
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                // Writing into a `String` cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;

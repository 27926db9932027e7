//! Reading and writing `plugins/PLUGINS.lock`.
//!
//! The lock is a flat JSON object mapping each plugin id to the SHA-256
//! digest of its tree: `{"<plugin id>": "<64 lowercase hex>"}`; `{}` means
//! "no plugins yet". This module's one job is that file: parse it strictly
//! (every error carries a 1-based line and column), render it in the single
//! canonical form, and replace it atomically on disk.
//!
//! The parser is hand-written for exactly this grammar instead of going
//! through `serde_json`, because it has to see things `serde_json` hides:
//! duplicate keys (a `Map` silently keeps the last one) and the position of
//! every key and value. Accepting only an object of strings also means a
//! hostile, deeply nested input is rejected at its first `[` or `{`, with no
//! recursion at all.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

    /// id → digest, in canonical (byte-wise sorted) order; feed it to `render`.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|e| (e.id.clone(), e.digest.clone()))
            .collect()
    }
}

/// Strictly parses a lock file. See the module docs for the format.
pub fn parse(bytes: &[u8]) -> Result<Lock, LockError> {
    // Size first: nothing else may run on an oversized input.
    if bytes.len() > MAX_LOCK_BYTES {
        return Err(LockError {
            line: 1,
            column: 1,
            message: format!(
                "the lock is {} bytes, over the 16 MiB limit ({MAX_LOCK_BYTES} bytes)",
                bytes.len()
            ),
        });
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(LockError {
            line: 1,
            column: 1,
            message: "the lock starts with a UTF-8 byte order mark (BOM), which JSON forbids; \
                      save it as UTF-8 without BOM"
                .to_owned(),
        });
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let mut cursor = Cursor::START;
        let (line, column) = cursor.position(bytes, e.valid_up_to());
        return Err(LockError {
            line,
            column,
            message: "not valid UTF-8".to_owned(),
        });
    }
    Parser {
        bytes,
        pos: 0,
        cursor: Cursor::START,
    }
    .lock()
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

/// Replaces `path` with `contents` so that readers (and a crash) see either
/// the old file or the new one, never a mix: write a temporary file in the
/// same directory, fsync it, rename it over the target, fsync the directory.
///
/// An existing target's permissions are kept (Unix). A symlink at `path` is
/// replaced by a regular file, not followed. On error the temporary file is
/// removed and the target is untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_file(path, contents, true)
}

/// [`write_atomic`] without the fsyncs, for files that are checked on reading and can
/// be rebuilt (the result cache): readers still see the old file or the new one, but a
/// crash may leave either, or an empty file.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_file(path, contents, false)
}

fn replace_file(path: &Path, contents: &[u8], durable: bool) -> io::Result<()> {
    let Some(file_name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        ));
    };
    // `Path::parent` of a bare file name is `Some("")`, meaning the cwd.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp_path, file) = create_temp(dir, &file_name.to_string_lossy())?;
    if let Err(e) = fill_and_rename(file, &tmp_path, path, contents, durable) {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    if durable {
        sync_dir(dir);
    }
    Ok(())
}

/// Creates a fresh temp file next to the target, a hidden name of its own.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    create_new_random(dir, &format!(".{file_name}.tmp-"), "")
}

/// Creates `dir/<prefix><random><suffix>`, a file that did not exist before. `create_new`
/// (O_EXCL: no existing file, no symlink followed) guarantees we never write into someone
/// else's file; the name mixes pid, a process-wide counter and per-call randomness so
/// concurrent writers do not collide and nobody can plant the name in advance.
pub(crate) fn create_new_random(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> io::Result<(PathBuf, File)> {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let mut attempts = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // `RandomState` is std's randomly seeded hasher: a dependency-free
        // source of a few unpredictable bits.
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!("{prefix}{}-{n}-{random:016x}{suffix}", std::process::id());
        let tmp_path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
        {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

fn fill_and_rename(
    mut file: File,
    tmp_path: &Path,
    target: &Path,
    contents: &[u8],
    durable: bool,
) -> io::Result<()> {
    file.write_all(contents)?;
    // A fresh file gets the default mode; keep whatever the old file had. `lstat`: a
    // symlink at the target is replaced, and its target's mode is none of our business.
    #[cfg(unix)]
    if let Ok(meta) = fs::symlink_metadata(target)
        && meta.is_file()
    {
        file.set_permissions(meta.permissions())?;
    }
    if durable {
        file.sync_all()?;
    }
    // Close before renaming: Windows cannot rename a file that is still open.
    drop(file);
    fs::rename(tmp_path, target)
}

/// Makes the rename itself durable. Some filesystems refuse to fsync a
/// directory; the rename has already happened, so that is not an error.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// Escapes only what JSON requires, using the same forms as Python's `json`
/// (short escapes where they exist, lowercase `\u00XX` otherwise).
fn push_json_string(out: &mut String, s: &str) {
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

/// Turns byte offsets into (line, column). It only moves forward (restarting
/// from the top when asked about an earlier offset, which happens at most
/// once, for an error), so positioning every key of a huge single-line lock
/// stays linear.
#[derive(Clone, Copy)]
struct Cursor {
    offset: usize,
    line: u32,
    column: u32,
}

impl Cursor {
    const START: Cursor = Cursor {
        offset: 0,
        line: 1,
        column: 1,
    };

    /// Lines end at `\n` (as in `serde_json` and editors: `\r\n` is one line
    /// break). Columns count UTF-8 lead bytes, i.e. characters; `bytes` up
    /// to `target` is valid UTF-8 whenever this is called.
    fn position(&mut self, bytes: &[u8], target: usize) -> (u32, u32) {
        let target = target.min(bytes.len());
        if target < self.offset {
            *self = Cursor::START;
        }
        for &b in bytes.get(self.offset..target).unwrap_or_default() {
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.column = self.column.saturating_add(1);
            }
        }
        self.offset = target;
        (self.line, self.column)
    }
}

/// The parser over a whole, already UTF-8-validated lock file.
struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    cursor: Cursor,
}

impl Parser<'_> {
    fn lock(mut self) -> Result<Lock, LockError> {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.pos += 1,
            None => return Err(self.error(self.pos, "empty lock file; an empty lock is `{}`")),
            Some(_) => {
                let found = self.describe(self.pos);
                return Err(self.error(
                    self.pos,
                    format!("expected a JSON object of plugin id → digest, found {found}"),
                ));
            }
        }

        let mut lock = Lock::empty();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.entry(&mut lock)?;
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        let id = lock
                            .entries
                            .last()
                            .map(|e| e.id.as_str())
                            .unwrap_or_default();
                        let message = format!(
                            "expected `,` or `}}` after the digest of plugin {id:?}, found {}",
                            self.describe(self.pos)
                        );
                        return Err(self.error(self.pos, message));
                    }
                }
            }
        }

        self.skip_ws();
        if self.pos < self.bytes.len() {
            let found = self.describe(self.pos);
            return Err(self.error(
                self.pos,
                format!("unexpected {found} after the end of the lock object"),
            ));
        }
        Ok(lock)
    }

    /// One `"id": "digest"` member, checked and appended to `lock`.
    fn entry(&mut self, lock: &mut Lock) -> Result<(), LockError> {
        self.skip_ws();
        let key_at = self.pos;
        match self.peek() {
            Some(b'"') => {}
            // Only reachable after a comma: `{}` was handled by the caller.
            Some(b'}') => {
                return Err(self.error(key_at, "trailing comma before `}`; JSON does not allow it"));
            }
            _ => {
                let found = self.describe(key_at);
                return Err(self.error(
                    key_at,
                    format!("expected a plugin id in double quotes, found {found}"),
                ));
            }
        }
        let id = self.string()?;
        let (line, column) = self.cursor.position(self.bytes, key_at);
        if let Err(why) = check_id(&id) {
            return Err(LockError {
                line,
                column,
                message: format!("invalid plugin id {id:?}: {why}"),
            });
        }
        if let Some(first) = lock.get(&id) {
            return Err(LockError {
                line,
                column,
                message: format!("duplicate plugin id {id:?} (first at line {})", first.line),
            });
        }

        self.skip_ws();
        if self.peek() != Some(b':') {
            let found = self.describe(self.pos);
            return Err(self.error(
                self.pos,
                format!("expected `:` after plugin id {id:?}, found {found}"),
            ));
        }
        self.pos += 1;
        self.skip_ws();

        let value_at = self.pos;
        if self.peek() != Some(b'"') {
            let found = self.describe(value_at);
            return Err(self.error(
                value_at,
                format!(
                    "digest for plugin {id:?} must be a string of \
                     64 lowercase hex characters, found {found}"
                ),
            ));
        }
        let digest = self.string()?;
        if let Err(why) = check_digest(&digest) {
            return Err(self.error(value_at, format!("digest for plugin {id:?} {why}")));
        }

        lock.index.insert(id.clone(), lock.entries.len());
        lock.entries.push(LockEntry {
            id,
            digest,
            line,
            column,
        });
        Ok(())
    }

    /// A JSON string starting at the current `"`, with every escape decoded.
    fn string(&mut self) -> Result<String, LockError> {
        let open = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            // Copy runs of plain bytes in one go.
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(self.bytes.get(run_start..self.pos).unwrap_or_default());

            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = self.escape(open)?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(b) => {
                    return Err(self.error(
                        self.pos,
                        format!(
                            "control character U+{b:04X} inside a string; \
                             JSON requires it to be escaped"
                        ),
                    ));
                }
                None => {
                    return Err(self.error(
                        open,
                        "unterminated string: no closing `\"` before the end of the file",
                    ));
                }
            }
        }
        // The input is valid UTF-8, we split it only at ASCII bytes and
        // escapes add whole chars, so this cannot fail; stay panic-free anyway.
        String::from_utf8(out).map_err(|_| self.error(open, "not valid UTF-8"))
    }

    /// The escape at the current `\`; `open` is the string's opening quote.
    fn escape(&mut self, open: usize) -> Result<char, LockError> {
        let at = self.pos;
        let Some(&kind) = self.bytes.get(at + 1) else {
            return Err(self.error(
                open,
                "unterminated string: no closing `\"` before the end of the file",
            ));
        };
        self.pos = at + 2;
        let c = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(at),
            _ => {
                let found = self.describe(at + 1);
                return Err(self.error(
                    at,
                    format!(
                        "invalid escape: a `\\` in a string must be followed by one of \
                         \" \\ / b f n r t u, found {found}"
                    ),
                ));
            }
        };
        Ok(c)
    }

    /// `\uXXXX`, or a `\uD8xx\uDCxx` surrogate pair; `at` is the backslash
    /// and the position is just past the `u`.
    fn unicode_escape(&mut self, at: usize) -> Result<char, LockError> {
        let high = self.hex4(at)?;
        let code = match high {
            0xD800..=0xDBFF => {
                let low_at = self.pos;
                if self.bytes.get(low_at..low_at + 2) != Some(b"\\u".as_slice()) {
                    return Err(self.error(
                        at,
                        format!(
                            "unpaired surrogate \\u{high:04x}: no \\uDC00–\\uDFFF escape after it"
                        ),
                    ));
                }
                self.pos = low_at + 2;
                let low = self.hex4(low_at)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error(
                        at,
                        format!("unpaired surrogate \\u{high:04x}: followed by \\u{low:04x}, not \\uDC00–\\uDFFF"),
                    ));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(self.error(
                    at,
                    format!(
                        "unpaired surrogate \\u{high:04x}: no \\uD800–\\uDBFF escape before it"
                    ),
                ));
            }
            _ => high,
        };
        char::from_u32(code)
            .ok_or_else(|| self.error(at, format!("\\u escape U+{code:04X} is not a character")))
    }

    /// The four hex digits after `\u`; `at` is the backslash, for the error.
    fn hex4(&mut self, at: usize) -> Result<u32, LockError> {
        let mut value = 0;
        for i in 0..4 {
            let digit = self
                .bytes
                .get(self.pos + i)
                .and_then(|&b| char::from(b).to_digit(16));
            match digit {
                Some(d) => value = value * 16 + d,
                None => {
                    return Err(self.error(
                        at,
                        "invalid \\u escape: `\\u` must be followed by exactly 4 hex digits",
                    ));
                }
            }
        }
        self.pos += 4;
        Ok(value)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// JSON whitespace only: space, tab, line feed, carriage return.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Names what starts at `at`, for "expected X, found Y" messages. Only
    /// the first byte is looked at, so a huge nested value costs nothing.
    fn describe(&self, at: usize) -> String {
        let rest = self.bytes.get(at..).unwrap_or_default();
        let kind = match rest.first() {
            None => "the end of the file",
            Some(b'{') => "an object",
            Some(b'[') => "a list",
            Some(b'"') => "a string",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) if rest.starts_with(b"true") || rest.starts_with(b"false") => "a boolean",
            Some(_) if rest.starts_with(b"null") => "null",
            Some(_) => {
                // One whole character, e.g. `'x'` or `'é'` (at most 4 bytes).
                let head = rest.get(..rest.len().min(4)).unwrap_or_default();
                let valid = match std::str::from_utf8(head) {
                    Ok(s) => s,
                    Err(e) => std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default())
                        .unwrap_or_default(),
                };
                return match valid.chars().next() {
                    Some(c) => format!("{c:?}"),
                    None => "an invalid byte".to_owned(),
                };
            }
        };
        kind.to_owned()
    }

    fn error(&mut self, at: usize, message: impl Into<String>) -> LockError {
        let (line, column) = self.cursor.position(self.bytes, at);
        LockError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Plugin ids are relative `/`-separated paths under `plugins/`; anything
/// that could escape that directory or be spelled two ways is rejected.
fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("it is empty".to_owned());
    }
    // `is_ascii_control` is exactly U+0000–U+001F and U+007F.
    if let Some(c) = id.chars().find(char::is_ascii_control) {
        return Err(format!(
            "it contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    if id.contains('\\') {
        return Err("it contains a backslash; path components are separated by `/`".to_owned());
    }
    if id.starts_with('/') {
        return Err("it starts with `/`; ids are relative to the plugins directory".to_owned());
    }
    if id.ends_with('/') {
        return Err("it ends with `/`".to_owned());
    }
    for component in id.split('/') {
        match component {
            "" => return Err("it has an empty path component (`//`)".to_owned()),
            "." | ".." => return Err(format!("it has a `{component}` path component")),
            _ => {}
        }
    }
    Ok(())
}

/// A SHA-256 digest in the one spelling the lock allows: 64 lowercase hex.
fn check_digest(digest: &str) -> Result<(), String> {
    if let Some(c) = digest.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(if c.is_ascii_hexdigit() {
            "has uppercase hex digits; digests are lowercase".to_owned()
        } else {
            format!("contains {c:?}, which is not a hex digit")
        });
    }
    // All ASCII from here on, so bytes are characters.
    if digest.len() != 64 {
        return Err(format!(
            "is {} hex characters long; a SHA-256 digest is 64",
            digest.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn digest(n: u64) -> String {
        format!("{n:064x}")
    }

    fn err(text: &str) -> LockError {
        parse(text.as_bytes()).expect_err("should be rejected")
    }

    fn err_bytes(bytes: &[u8]) -> LockError {
        parse(bytes).expect_err("should be rejected")
    }

    fn pos(e: &LockError) -> (u32, u32) {
        (e.line, e.column)
    }

    fn map(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// Byte offset of a 1-based (line, column), columns in chars.
    fn offset_of(text: &[u8], line: u32, column: u32) -> Option<usize> {
        let (mut l, mut c) = (1, 1);
        for (i, &b) in text.iter().enumerate() {
            if b & 0xC0 == 0x80 {
                continue;
            }
            if (l, c) == (line, column) {
                return Some(i);
            }
            if b == b'\n' {
                l += 1;
                c = 1;
            } else {
                c += 1;
            }
        }
        ((l, c) == (line, column)).then_some(text.len())
    }

    /// Small deterministic PRNG (xorshift64*) so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn empty_object_is_valid() {
        let lock = parse(b"{}").unwrap();
        assert!(lock.entries().is_empty());
        assert_eq!(lock, Lock::empty());
        assert!(parse(b" \n{ \r\n\t}\r\n ").unwrap().entries().is_empty());
        assert_eq!(render(&BTreeMap::new()), "{}\n");
        assert!(is_canonical(b"{}\n", &Lock::empty()));
        assert!(!is_canonical(b"{}", &Lock::empty()));
        assert!(!is_canonical(b"{ }\n", &Lock::empty()));
    }

    #[test]
    fn valid_lock_round_trips_and_is_canonical() {
        let (d1, d2, d3) = (digest(1), digest(0xabc), digest(u64::MAX));
        let text =
            format!("{{\n  \"a/b\": \"{d1}\",\n  \"tools/x\": \"{d2}\",\n  \"zé\": \"{d3}\"\n}}\n");
        let lock = parse(text.as_bytes()).unwrap();
        let ids: Vec<_> = lock.entries().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a/b", "tools/x", "zé"]);
        let positions: Vec<_> = lock.entries().iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(positions, [(2, 3), (3, 3), (4, 3)]);
        assert_eq!(
            lock.get("tools/x").map(|e| e.digest.as_str()),
            Some(d2.as_str())
        );
        assert_eq!(lock.get("zé").map(|e| e.line), Some(4));
        assert!(lock.get("tools").is_none());
        assert_eq!(
            lock.to_map(),
            map(&[("a/b", d1), ("tools/x", d2), ("zé", d3)])
        );
        assert_eq!(render(&lock.to_map()), text);
        assert!(is_canonical(text.as_bytes(), &lock));
    }

    #[test]
    fn non_canonical_forms_parse_but_are_not_canonical() {
        let (a, b) = (digest(1), digest(2));
        let canonical = format!("{{\n  \"a\": \"{a}\",\n  \"b\": \"{b}\"\n}}\n");
        let variants = [
            format!("{{\n    \"a\": \"{a}\",\n    \"b\": \"{b}\"\n}}\n"),
            format!("{{\n  \"b\": \"{b}\",\n  \"a\": \"{a}\"\n}}\n"),
            format!("{{\n  \"a\": \"{a}\",\n  \"b\": \"{b}\"\n}}"),
            format!("{{\r\n  \"a\": \"{a}\",\r\n  \"b\": \"{b}\"\r\n}}\r\n"),
            format!("{{\"a\":\"{a}\",\"b\":\"{b}\"}}\n"),
            format!("{{\n  \"\\u0061\": \"{a}\",\n  \"b\": \"{b}\"\n}}\n"),
            format!("{{\n  \"a\": \"{a}\",\n  \"b\": \"{b}\"\n}}\n\n"),
            format!("{{\n  \"a\": \"{a}\",\n  \"b\": \"{b}\"\n}}\n"),
        ];
        for (i, text) in variants.iter().enumerate() {
            let lock = parse(text.as_bytes()).unwrap();
            assert_eq!(lock.to_map(), map(&[("a", a.clone()), ("b", b.clone())]));
            assert_eq!(render(&lock.to_map()), canonical);
            // Only the last variant is the canonical text itself.
            assert_eq!(
                is_canonical(text.as_bytes(), &lock),
                i == variants.len() - 1,
                "{text}"
            );
        }
        // Non-ASCII must be raw and `/` unescaped to be canonical.
        let d = digest(3);
        let escaped = format!("{{\n  \"a\\/\\u00e9\": \"{d}\"\n}}\n");
        let lock = parse(escaped.as_bytes()).unwrap();
        assert_eq!(lock.entries()[0].id, "a/é");
        assert!(!is_canonical(escaped.as_bytes(), &lock));
        assert_eq!(
            render(&lock.to_map()),
            format!("{{\n  \"a/é\": \"{d}\"\n}}\n")
        );
    }

    #[test]
    fn top_level_must_be_an_object() {
        for (text, found, at) in [
            ("[]", "a list", (1, 1)),
            ("  \"x\"", "a string", (1, 3)),
            ("\n42", "a number", (2, 1)),
            ("-1", "a number", (1, 1)),
            ("true", "a boolean", (1, 1)),
            ("false", "a boolean", (1, 1)),
            ("null", "null", (1, 1)),
            ("x", "'x'", (1, 1)),
            ("é", "'é'", (1, 1)),
        ] {
            let e = err(text);
            assert_eq!(pos(&e), at, "{text}");
            assert_eq!(
                e.message,
                format!("expected a JSON object of plugin id → digest, found {found}")
            );
        }
    }

    #[test]
    fn values_must_be_strings() {
        for (value, found) in [
            ("{\"b\": \"c\"}", "an object"),
            ("[]", "a list"),
            ("1", "a number"),
            ("-0.5e3", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let e = err(&format!("{{\n  \"a\": {value}\n}}"));
            assert_eq!(pos(&e), (2, 8), "{value}");
            assert_eq!(
                e.message,
                format!(
                    "digest for plugin \"a\" must be a string of 64 lowercase hex characters, found {found}"
                )
            );
        }
    }

    #[test]
    fn digests_must_be_64_lowercase_hex() {
        let cases = [
            (
                "A".repeat(64),
                "has uppercase hex digits; digests are lowercase",
            ),
            (
                format!("{}F", "f".repeat(63)),
                "has uppercase hex digits; digests are lowercase",
            ),
            (
                "a".repeat(63),
                "is 63 hex characters long; a SHA-256 digest is 64",
            ),
            (
                "a".repeat(65),
                "is 65 hex characters long; a SHA-256 digest is 64",
            ),
            (
                String::new(),
                "is 0 hex characters long; a SHA-256 digest is 64",
            ),
            (
                format!("{}g", "a".repeat(63)),
                "contains 'g', which is not a hex digit",
            ),
            (
                format!("{} ", "a".repeat(63)),
                "contains ' ', which is not a hex digit",
            ),
        ];
        for (value, why) in cases {
            let e = err(&format!(
                "{{\n  \"x\": \"{}\",\n  \"yé\":\t\"{value}\"\n}}",
                digest(1)
            ));
            assert_eq!(pos(&e), (3, 9), "{value}");
            assert_eq!(e.message, format!("digest for plugin \"yé\" {why}"));
        }
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let d = digest(7);
        let text = format!(
            "{{\n  \"bar\": \"{d}\",\n  \"foo\": \"{d}\",\n  \"baz\": \"{d}\",\n    \"foo\": \"{d}\"\n}}\n"
        );
        let e = err(&text);
        assert_eq!(pos(&e), (5, 5));
        assert_eq!(e.message, "duplicate plugin id \"foo\" (first at line 3)");
    }

    #[test]
    fn escapes_in_keys_decode_and_duplicates_are_found_across_forms() {
        let d = digest(9);
        let lock = parse(format!("{{\"a\\u00e9\": \"{d}\"}}").as_bytes()).unwrap();
        assert_eq!(lock.entries()[0].id, "aé");
        assert!(lock.get("aé").is_some());

        for (first, second) in [
            ("aé", "a\\u00e9"),
            ("a\\u00E9", "aé"),
            ("a", "\\u0061"),
            ("a/b", "a\\/b"),
            ("x😀", "x\\ud83d\\ude00"),
            ("q\\\"", "q\\u0022"),
        ] {
            let e = err(&format!(
                "{{\n  \"{first}\": \"{d}\",\n  \"{second}\": \"{d}\"\n}}"
            ));
            assert_eq!(pos(&e), (3, 3), "{first} / {second}");
            assert!(
                e.message.starts_with("duplicate plugin id")
                    && e.message.ends_with("(first at line 2)"),
                "{}",
                e.message
            );
        }

        let lock = parse(
            format!(
                "{{\"\\ud83d\\ude00\\\"\\/\\u4e2D\": \"{d}\", \"ok\": \"\\u0061{}\"}}",
                "a".repeat(63)
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(lock.entries()[0].id, "😀\"/中");
        assert_eq!(lock.entries()[1].digest, "a".repeat(64));
    }

    #[test]
    fn bad_escapes_are_rejected_at_the_backslash() {
        for (key, fragment) in [
            ("ab\\x", "invalid escape"),
            ("ab\\'", "invalid escape"),
            ("ab\\é", "found 'é'"),
            ("ab\\u12", "exactly 4 hex digits"),
            ("ab\\u12g4", "exactly 4 hex digits"),
            ("ab\\ud800", "unpaired surrogate \\ud800"),
            ("ab\\ud800x", "unpaired surrogate"),
            ("ab\\ud800\\u0041", "followed by \\u0041"),
            ("ab\\ud800\\ud800", "unpaired surrogate"),
            ("ab\\udc00", "unpaired surrogate \\udc00"),
        ] {
            let e = err(&format!("{{\"{key}\": \"{}\"}}", digest(1)));
            assert_eq!(pos(&e), (1, 5), "{key}");
            assert!(e.message.contains(fragment), "{key}: {}", e.message);
        }
        // A broken low half is reported at its own backslash.
        let e = err(&format!("{{\"ab\\ud800\\u00\": \"{}\"}}", digest(1)));
        assert_eq!(pos(&e), (1, 11));
        assert!(e.message.contains("exactly 4 hex digits"));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let mut text = b"{\n  \"a\xc3\xa9".to_vec();
        text.push(0xff);
        text.extend_from_slice(b"\": \"x\"}");
        let e = err_bytes(&text);
        assert_eq!((pos(&e), e.message.as_str()), ((2, 6), "not valid UTF-8"));

        // Truncated sequence at the end, and an overlong encoding.
        assert_eq!(pos(&err_bytes(b"{\"ab\xc3")), (1, 5));
        assert_eq!(pos(&err_bytes(b"\n\n  \xc0\xaf")), (3, 3));
        assert_eq!(pos(&err_bytes(b"\xff")), (1, 1));
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let big = vec![b' '; 40 * 1024 * 1024];
        let start = Instant::now();
        let e = err_bytes(&big);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(pos(&e), (1, 1));
        assert_eq!(
            e.message,
            "the lock is 41943040 bytes, over the 16 MiB limit (16777216 bytes)"
        );
        assert!(
            err_bytes(&big[..MAX_LOCK_BYTES + 1])
                .message
                .contains("16 MiB")
        );
        // Exactly at the limit is parsed (and here found empty).
        let e = err_bytes(&big[..MAX_LOCK_BYTES]);
        assert!(e.message.starts_with("empty lock file"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_rejected_at_once() {
        let start = Instant::now();
        let e = err_bytes(&vec![b'['; MAX_LOCK_BYTES]);
        assert_eq!(pos(&e), (1, 1));
        assert!(e.message.ends_with("found a list"));

        let mut inner = b"{\"a\": ".to_vec();
        inner.resize(MAX_LOCK_BYTES, b'[');
        let e = err_bytes(&inner);
        assert_eq!(pos(&e), (1, 7));
        assert!(e.message.ends_with("found a list"));

        let mut objects = b"{".to_vec();
        objects.resize(MAX_LOCK_BYTES, b'{');
        let e = err_bytes(&objects);
        assert_eq!(pos(&e), (1, 2));
        assert_eq!(
            e.message,
            "expected a plugin id in double quotes, found an object"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn bom_is_rejected() {
        let e = err_bytes(b"\xEF\xBB\xBF{}\n");
        assert_eq!(pos(&e), (1, 1));
        assert!(e.message.contains("byte order mark"), "{}", e.message);
        // Also when what follows is not UTF-8: the BOM is the first problem.
        assert!(
            err_bytes(b"\xEF\xBB\xBF\xff")
                .message
                .contains("byte order mark")
        );
    }

    #[test]
    fn trailing_content_is_rejected() {
        for (text, at, found) in [
            ("{} x", (1, 4), "'x'"),
            ("{}{}", (1, 3), "an object"),
            ("{}\n\n ,", (3, 2), "','"),
            ("{}\0", (1, 3), "'\\0'"),
        ] {
            let e = err(text);
            assert_eq!(pos(&e), at, "{text:?}");
            assert_eq!(
                e.message,
                format!("unexpected {found} after the end of the lock object")
            );
        }
        assert!(parse(b"{}  \n\n\t\r\n").is_ok());
    }

    #[test]
    fn empty_input_is_rejected() {
        for (text, at) in [
            ("", (1, 1)),
            ("   ", (1, 4)),
            ("\n\n", (3, 1)),
            ("\t\r\n", (2, 1)),
        ] {
            let e = err(text);
            assert_eq!(pos(&e), at, "{text:?}");
            assert_eq!(e.message, "empty lock file; an empty lock is `{}`");
        }
    }

    #[test]
    fn invalid_ids_are_rejected_at_the_key() {
        for (key, why) in [
            ("../x", "it has a `..` path component"),
            ("a/../x", "it has a `..` path component"),
            ("a//b", "it has an empty path component (`//`)"),
            (
                "/a",
                "it starts with `/`; ids are relative to the plugins directory",
            ),
            ("a/", "it ends with `/`"),
            (
                "/",
                "it starts with `/`; ids are relative to the plugins directory",
            ),
            ("a\\tb", "it contains the control character U+0009"),
            ("\\u0000", "it contains the control character U+0000"),
            ("a\\u007f", "it contains the control character U+007F"),
            ("a\u{7f}", "it contains the control character U+007F"),
            ("\\u001f", "it contains the control character U+001F"),
            ("", "it is empty"),
            (".", "it has a `.` path component"),
            ("a/./b", "it has a `.` path component"),
            ("..", "it has a `..` path component"),
            (
                "a\\\\b",
                "it contains a backslash; path components are separated by `/`",
            ),
        ] {
            let e = err(&format!(
                "{{\n  \"ok\": \"{}\",\n \"{key}\": 1}}",
                digest(1)
            ));
            assert_eq!(pos(&e), (3, 2), "{key}");
            assert!(
                e.message.starts_with("invalid plugin id \""),
                "{}",
                e.message
            );
            assert!(e.message.ends_with(why), "{key}: {}", e.message);
        }
        // A raw tab is a JSON error before it is an id error.
        let e = err(&format!("{{\"a\tb\": \"{}\"}}", digest(1)));
        assert_eq!(pos(&e), (1, 4));
        assert!(
            e.message
                .starts_with("control character U+0009 inside a string")
        );
    }

    #[test]
    fn unusual_but_valid_ids_are_accepted() {
        let d = digest(5);
        let ids = [
            "a",
            "a/b/c",
            "näme",
            ".hidden",
            "a..b",
            "...",
            "x/...",
            "a.b/c.d",
            "with space",
            "q\"d",
            "😀",
            "a\u{80}b",
        ];
        let m: BTreeMap<String, String> =
            ids.iter().map(|id| ((*id).to_owned(), d.clone())).collect();
        let text = render(&m);
        let lock = parse(text.as_bytes()).unwrap();
        assert_eq!(lock.to_map(), m);
        assert!(is_canonical(text.as_bytes(), &lock));
    }

    #[track_caller]
    fn rejects(text: &str, at: (u32, u32), message: &str) {
        let e = err(text);
        assert_eq!((pos(&e), e.message.as_str()), (at, message), "{text:?}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let d = digest(1);
        let not_a_string =
            "digest for plugin \"a\" must be a string of 64 lowercase hex characters";
        let after_digest = "expected `,` or `}` after the digest of plugin \"a\"";
        let want_id = "expected a plugin id in double quotes";
        let unterminated = "unterminated string: no closing `\"` before the end of the file";

        let colon = "expected `:` after plugin id \"a\", found a string";
        rejects(&format!("{{\"a\" \"{d}\"}}"), (1, 6), colon);
        rejects(
            &format!("{{\"a\"::\"{d}\"}}"),
            (1, 6),
            &format!("{not_a_string}, found ':'"),
        );
        rejects(
            &format!("{{\"a\": \"{d}\" \"b\": \"{d}\"}}"),
            (1, 74),
            &format!("{after_digest}, found a string"),
        );
        rejects(
            &format!("{{\"a\": \"{d}\""),
            (1, 73),
            &format!("{after_digest}, found the end of the file"),
        );
        rejects(
            &format!("{{\n  \"a\": \"{d}\",\n}}"),
            (3, 1),
            "trailing comma before `}`; JSON does not allow it",
        );
        rejects(
            &format!("{{'a': \"{d}\"}}"),
            (1, 2),
            &format!("{want_id}, found '\\''"),
        );
        rejects(
            &format!("{{a: \"{d}\"}}"),
            (1, 2),
            &format!("{want_id}, found 'a'"),
        );
        rejects("{,}", (1, 2), &format!("{want_id}, found ','"));
        rejects(
            "{",
            (1, 2),
            &format!("{want_id}, found the end of the file"),
        );
        rejects(
            "{\n  \"a\": ",
            (2, 8),
            &format!("{not_a_string}, found the end of the file"),
        );
        rejects(
            "{\r\n  \"a\": 1\r\n}",
            (2, 8),
            &format!("{not_a_string}, found a number"),
        );
        rejects("{\n \"abc", (2, 2), unterminated);
        rejects("{\n \"abc\\", (2, 2), unterminated);
        rejects(&format!("{{\"a\": \"{}", &d[..10]), (1, 7), unterminated);
        rejects(
            "{\"a\nb\": 1}",
            (1, 4),
            "control character U+000A inside a string; JSON requires it to be escaped",
        );
        rejects(
            "{\"é😀\" 1}",
            (1, 7),
            "expected `:` after plugin id \"é😀\", found a number",
        );
    }

    #[test]
    fn error_display_and_trait() {
        let e = LockError {
            line: 3,
            column: 7,
            message: "boom".to_owned(),
        };
        assert_eq!(e.to_string(), "line 3, column 7: boom");
        let dyn_error: &dyn std::error::Error = &e;
        assert!(dyn_error.source().is_none());
        assert_eq!(
            err("[").to_string(),
            "line 1, column 1: expected a JSON object of plugin id → digest, found a list"
        );
    }

    #[test]
    fn large_lock_parses_and_looks_up_quickly() {
        let m: BTreeMap<String, String> = (0..100_000u64)
            .map(|i| (format!("group{}/plugin-{i}", i % 97), digest(i)))
            .collect();
        let text = render(&m);
        let start = Instant::now();
        let lock = parse(text.as_bytes()).unwrap();
        for (id, d) in &m {
            assert_eq!(lock.get(id).map(|e| &e.digest), Some(d));
        }
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(lock.entries().len(), 100_000);
        assert!(is_canonical(text.as_bytes(), &lock));

        // The same lock on one line: positions must stay linear to compute.
        let one_line: String = text.split('\n').collect();
        let start = Instant::now();
        let lock = parse(one_line.as_bytes()).unwrap();
        assert!(start.elapsed() < Duration::from_secs(10));
        let last = lock.entries().last().unwrap();
        assert_eq!(
            offset_of(one_line.as_bytes(), last.line, last.column).map(|o| one_line.as_bytes()[o]),
            Some(b'"')
        );
    }

    #[test]
    fn render_matches_python_json_dumps() {
        use std::process::{Command, Stdio};
        let d = digest(0xfeed);
        let mut maps = vec![
            BTreeMap::new(),
            map(&[("a", d.clone())]),
            map(&[
                ("zeta/plugin", d.clone()),
                ("alpha", d.clone()),
                ("Alpha", d.clone()),
                ("näme/ü", d.clone()),
                ("中文/插件", d.clone()),
                ("😀/x", d.clone()),
                ("\u{fffd}", d.clone()),
                ("\u{10000}", d.clone()),
                ("\u{ff5e}", d.clone()),
                ("a-b_c.d/e", d.clone()),
                ("a\u{2028}b\u{7f}", d.clone()),
            ]),
            // Not valid ids, but `render` must still escape them like Python.
            map(&[
                ("q\"uote", d.clone()),
                ("back\\slash", d.clone()),
                ("ctl\u{1}\u{1f}\n\t\r\u{8}\u{c}\0", d.clone()),
            ]),
        ];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let alphabet: Vec<char> = "abcXYZ019-_./éß中😀\u{e000}\u{ffff}\u{10ffff}"
            .chars()
            .collect();
        for _ in 0..5 {
            let mut m = BTreeMap::new();
            for i in 0..200 {
                let len = 1 + rng.below(12);
                let id: String = (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect();
                m.insert(id, digest(i));
            }
            maps.push(m);
        }

        let script = "import json, sys\n\
            maps = json.loads(sys.stdin.buffer.read().decode('utf-8'))\n\
            out = [json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False) + '\\n' for m in maps]\n\
            sys.stdout.write(json.dumps(out))\n";
        let child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("python3 not available; skipping the comparison with json.dumps");
            return;
        };
        let input = serde_json::to_vec(&maps).unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "python3 failed");
        let expected: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(expected.len(), maps.len());
        for (m, want) in maps.iter().zip(&expected) {
            assert_eq!(&render(m), want);
        }
    }

    #[test]
    fn render_escapes_keys_minimally() {
        let d = digest(1);
        let m = map(&[("a\"b\\c\u{1}\n/é", d.clone())]);
        assert_eq!(
            render(&m),
            format!("{{\n  \"a\\\"b\\\\c\\u0001\\n/é\": \"{d}\"\n}}\n")
        );
    }

    #[test]
    fn string_decoding_agrees_with_serde_json() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let alphabet: Vec<char> = "ab/.\\\"\u{0}\u{1f}\u{7f}\n\té中😀\u{ffff}\u{10ffff}"
            .chars()
            .collect();
        let d = digest(42);
        for _ in 0..5_000 {
            let len = rng.below(8);
            let original: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let mut encoded = String::new();
            for c in original.chars() {
                let mut units = [0u16; 2];
                match rng.below(4) {
                    0 if c != '"' && c != '\\' && c >= ' ' => encoded.push(c),
                    1 => {
                        for u in c.encode_utf16(&mut units) {
                            encoded.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                    _ => {
                        let mut short = String::new();
                        push_json_string(&mut short, &c.to_string());
                        if short.len() > 2 + c.len_utf8() || c == '/' {
                            encoded.push_str(&short[1..short.len() - 1]);
                        } else {
                            for u in c.encode_utf16(&mut units) {
                                encoded.push_str(&format!("\\u{u:04x}"));
                            }
                        }
                    }
                }
            }
            let text = format!("{{\"{encoded}\": \"{d}\"}}");
            let theirs: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
            assert_eq!(theirs.keys().next(), Some(&original), "{text}");
            match parse(text.as_bytes()) {
                Ok(lock) => {
                    assert_eq!(lock.entries()[0].id, original, "{text}");
                    assert!(check_id(&original).is_ok());
                }
                Err(e) => {
                    assert!(check_id(&original).is_err(), "{text}: {e}");
                    assert_eq!(pos(&e), (1, 2));
                }
            }
        }
    }

    #[test]
    fn mutated_locks_never_panic() {
        let d = digest(0x0123_4567_89ab_cdef);
        let seeds = [
            render(&map(&[
                ("a/b", d.clone()),
                ("né", d.clone()),
                ("z", digest(3)),
            ])),
            format!("{{\"\\u00e9\\ud83d\\ude00\":\"{d}\",\"x\\/y\":\"{d}\"}}"),
            "{}\n".to_owned(),
            format!("{{\r\n\t\"k\" : \"{d}\" }}"),
        ];
        let tokens: [&[u8]; 30] = [
            b"\"",
            b"\\",
            b"\\u",
            b"\\ud83d",
            b"\\udc00",
            b"\\u00",
            b"{",
            b"[",
            b"}",
            b"]",
            b",",
            b":",
            "é".as_bytes(),
            "😀".as_bytes(),
            b"\xff",
            b"\xc3",
            b"\xe2\x82",
            b"\n",
            b"\r\n",
            b"\t",
            b" ",
            b"0",
            b"a",
            b"A",
            b"/",
            b"..",
            b"\xEF\xBB\xBF",
            b"\\u0000",
            b"//",
            b"null",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for round in 0..30_000 {
            let mut bytes = seeds[round % seeds.len()].clone().into_bytes();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(5) {
                    0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                    1 => {
                        let token = tokens[rng.below(tokens.len())];
                        bytes.splice(at..at, token.iter().copied());
                    }
                    2 => {
                        let end = (at + 1 + rng.below(4)).min(bytes.len());
                        bytes.drain(at.min(end)..end);
                    }
                    3 => bytes.truncate(at),
                    _ => {
                        let end = (at + rng.below(8)).min(bytes.len());
                        let chunk = bytes[at.min(end)..end].to_vec();
                        bytes.splice(at..at, chunk);
                    }
                }
            }
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            match parse(&bytes) {
                Err(e) => {
                    assert!(
                        e.line >= 1 && e.column >= 1 && e.line <= lines,
                        "{e} in {bytes:?}"
                    );
                }
                Ok(lock) => {
                    accepted += 1;
                    // Anything accepted is JSON serde_json agrees with...
                    let theirs: BTreeMap<String, String> = serde_json::from_slice(&bytes).unwrap();
                    assert_eq!(theirs, lock.to_map(), "{bytes:?}");
                    // ...every key position points at its opening quote...
                    for e in lock.entries() {
                        let at = offset_of(&bytes, e.line, e.column).unwrap();
                        assert_eq!(bytes[at], b'"');
                    }
                    // ...and its canonical form parses back to the same lock.
                    let canonical = render(&lock.to_map());
                    let again = parse(canonical.as_bytes()).unwrap();
                    assert_eq!(again.to_map(), lock.to_map());
                    assert!(is_canonical(canonical.as_bytes(), &again));
                }
            }
        }
        assert!(
            accepted > 100,
            "the fuzz loop should also exercise valid inputs"
        );
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PLUGINS.lock");
        write_atomic(&path, b"{}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        let new = render(&map(&[("a", digest(1))]));
        write_atomic(&path, new.as_bytes()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), new);
        write_atomic(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(dir_names(dir.path()), ["PLUGINS.lock"]);
    }

    #[test]
    fn write_atomic_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("PLUGINS.lock");
        let e = write_atomic(&path, b"{}\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(dir_names(dir.path()).is_empty());
    }

    #[test]
    fn write_atomic_cleans_up_when_rename_fails() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory at the target path cannot be renamed over.
        let path = dir.path().join("PLUGINS.lock");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        assert!(write_atomic(&path, b"{}\n").is_err());
        assert_eq!(dir_names(dir.path()), ["PLUGINS.lock"]);
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
    }

    #[test]
    fn write_atomic_rejects_a_path_without_file_name() {
        let e = write_atomic(Path::new(".."), b"{}\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_replaces_a_symlink_and_never_takes_its_targets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o751)).unwrap();
        let path = dir.path().join("PLUGINS.lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let meta = fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_ne!(meta.permissions().mode() & 0o777, 0o751);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PLUGINS.lock");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }
}

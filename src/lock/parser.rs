//! The lock's grammar: a flat JSON object of strings, parsed strictly, every error with
//! its line and column (see the parent module for why it is hand-written).

use crate::lock::{Lock, LockEntry, LockError, MAX_LOCK_BYTES};

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
                            .entries()
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

        lock.push(LockEntry {
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
pub(crate) fn check_id(id: &str) -> Result<(), String> {
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

//! The one escaping layer for everything printed that a repository (or an argument)
//! controls: plugin ids, paths, configuration values, owners, manifest fields, messages.
//!
//! - [`cap`]: every such string is shown at most [`MAX_CHARS`] characters long, then
//!   `… (N bytes)`, so a 50 MB link target neither floods a log nor crowds a summary.
//! - [`shown`]: for terminals and logs, control characters are written as escapes
//!   (`\n`, `\u{1b}`, `\u{9b}`) whatever `--color` says: in data a newline would fake a
//!   line and ESC would drive the terminal.
//! - [`md_text`], [`md_code`]: for the job summary and the check run, Markdown in which
//!   no link, image, HTML or emphasis can form from the data.
//! - [`Guard`]: wraps stdout and stderr (see `main`). It escapes any raw control
//!   character a print site let through, and inside GitHub Actions neutralises every
//!   line the runner would read as a workflow command, unless plugin-lock itself emits
//!   it through [`command`].
//!
//! JSON and SARIF keep their data exact (they are records): serde escapes C0, and
//! [`json_bytes`] also writes DEL, C1 and the Unicode line separators as `\u` escapes,
//! which every JSON parser reads back as the same characters.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{self, Write};

/// A commit or object id as people read it, 12 hex digits (JSON keeps ids whole);
/// anything that is not a whole id (`worktree`, `index`) stays as it is.
pub fn short_id(id: &str) -> &str {
    let hex = id.len() >= 40 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if hex { &id[..12] } else { id }
}

/// How many characters of one repository-derived string are shown.
pub const MAX_CHARS: usize = 1024;
/// How many characters of a text that embeds such strings (a message, an error) are
/// shown: room for its own capped parts, so a second cut never hides what to do.
pub const MAX_TEXT_CHARS: usize = 4 * MAX_CHARS;

/// `s`, cut after [`MAX_CHARS`] characters with `… (N bytes)` (N: the whole length).
pub fn cap(s: &str) -> Cow<'_, str> {
    cap_at(s, MAX_CHARS)
}

pub fn cap_at(s: &str, max: usize) -> Cow<'_, str> {
    // At most `max` bytes is at most `max` characters: the common case costs no scan.
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} bytes)", &s[..cut], s.len())),
    }
}

/// Characters that never reach a terminal or a log raw: C0 (tab and newline too: in
/// data they would fake columns and lines), DEL, C1, the bidirectional marks, embeddings
/// and isolates (they reorder what is shown), and the Unicode line separators.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// Rust's escapes, as the rest of plugin-lock's messages write them: `\t`, `\n`, `\r`,
/// `\0`, else `\u{1b}` (C0, DEL, C1 and the marks alike).
fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_debug());
    } else {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    }
}

/// `s` with its unsafe characters escaped (no cap).
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A repository-derived string as people see it: capped, control characters escaped.
pub fn shown(s: &str) -> Cow<'_, str> {
    match cap(s) {
        Cow::Borrowed(b) => terminal(b),
        Cow::Owned(o) => Cow::Owned(terminal(&o).into_owned()),
    }
}

/// A message that embeds repository-derived strings (an error, a composed message), as
/// people see it: capped at [`MAX_TEXT_CHARS`], control characters escaped.
pub fn shown_text(s: &str) -> Cow<'_, str> {
    match cap_at(s, MAX_TEXT_CHARS) {
        Cow::Borrowed(b) => terminal(b),
        Cow::Owned(o) => Cow::Owned(terminal(&o).into_owned()),
    }
}

/// A path for an annotation's `file=`: exact where the runner's escapes can carry it
/// (CR and LF travel as `%0D`, `%0A`, so the annotation finds the file), other unsafe
/// characters shown as escapes; capped at [`MAX_TEXT_CHARS`] (no real path is longer).
pub fn annotation_path(s: &str) -> Cow<'_, str> {
    let s = cap_at(s, MAX_TEXT_CHARS);
    if !s.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\r') {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' && c != '\r' {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------
// Markdown (GitHub-flavoured: the job summary, the check run)

/// Text outside code spans: every ASCII punctuation character backslash-escaped
/// (CommonMark renders an escaped punctuation character as itself), so that no link,
/// image, HTML, entity, emphasis, table cell or autolink (`\:` and `\.` and `\@` end
/// GitHub's `http://`, `www.` and e-mail detection) forms from the data. Capped and
/// control-escaped first (as a text: [`shown_text`]), so a newline shows as `\n` and
/// never ends a table row.
pub fn md_text(s: &str) -> String {
    let s = shown_text(s);
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as an inline code span that ends where it should: the fence is one backtick
/// longer than the longest run of backticks in the text, with a space inside each end
/// when the text starts or ends with a backtick or a space (CommonMark strips one such
/// space on each side). `|` is written `\|`: GitHub's tables split cells at a bare `|`
/// even inside code spans, and read `\|` as `|` there. Empty text gives nothing.
pub fn md_code(s: &str) -> String {
    code_span(&shown(s))
}

/// `path:line` as one code span, the path capped on its own so the line stays.
pub fn md_location(path: &str, line: u32) -> String {
    code_span(&terminal(&format!("{}:{line}", cap(path))))
}

fn code_span(shown: &str) -> String {
    if shown.is_empty() {
        return String::new();
    }
    let text = shown.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

// ---------------------------------------------------------------------------------------
// JSON

/// A serialized JSON document with DEL, C1 (U+0080–U+009F) and U+2028/U+2029 written as
/// `\u` escapes, and the `[` of `##[` (the runner's older command syntax, read anywhere
/// in a line) as `\u005b`. Outside strings JSON is ASCII without `#`, so every match is
/// inside a string, where the escape means the same character: the data stays exact.
pub fn json_bytes(bytes: Vec<u8>) -> Vec<u8> {
    // (length of the match, the code point to write as `\u`, bytes kept before it)
    let matched = |w: &[u8]| -> Option<(usize, u32, usize)> {
        match w {
            [0x7f, ..] => Some((1, 0x7f, 0)),
            [0xc2, b @ 0x80..=0x9f, ..] => Some((2, u32::from(*b), 0)),
            [0xe2, 0x80, b @ (0xa8 | 0xa9), ..] => Some((3, 0x2000 | u32::from(b & 0x3f), 0)),
            [b'#', b'#', b'[', ..] => Some((3, u32::from(b'['), 2)),
            _ => None,
        }
    };
    if !(0..bytes.len()).any(|i| matched(&bytes[i..]).is_some()) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut i = 0;
    while i < bytes.len() {
        match matched(&bytes[i..]) {
            Some((len, code, kept)) => {
                out.extend_from_slice(&bytes[i..i + kept]);
                let _ = write!(out, "\\u{code:04x}");
                i += len;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Workflow commands and the output guard

thread_local! {
    /// Set while [`command`] writes: the one way a line reads as a workflow command.
    static COMMAND: Cell<bool> = const { Cell::new(false) };
}

/// Writes `line` and a newline as a workflow command plugin-lock means to emit
/// (`::error …`, `::stop-commands::…`). [`Guard`] passes such a line unchanged and
/// neutralises every other line that would read as a command. Renderers write to
/// `&mut dyn Write`, so the permission travels beside the bytes, not in them.
pub fn command(out: &mut dyn Write, line: &str) -> io::Result<()> {
    COMMAND.set(true);
    let written = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"));
    COMMAND.set(false);
    written
}

/// Whether the Actions runner reads what goes to `stream`: it reads the step's stdout
/// and stderr pipes, not a file they were redirected to (`update --stdout > lock` stays
/// byte-exact there).
pub fn runner_reads(stream: &StreamHandle<'_>) -> bool {
    !is_regular_file(stream)
}

#[cfg(unix)]
pub type StreamHandle<'a> = std::os::fd::BorrowedFd<'a>;
#[cfg(windows)]
pub type StreamHandle<'a> = std::os::windows::io::BorrowedHandle<'a>;

fn is_regular_file(stream: &StreamHandle<'_>) -> bool {
    stream
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.is_file())
}

/// A line-buffered writer in front of stdout or stderr. Each line that plugin-lock did
/// not emit through [`command`]:
/// - has every raw control character (C0, DEL, C1) escaped as [`shown`] would, except
///   tab and the colour sequences plugin-lock writes itself (`ESC [ digits ; m`);
/// - inside GitHub Actions (`actions`), cannot run as a workflow command: the runner
///   reads a line whose start, after whitespace, is `::` (`TryParseV2`) and a `##[`
///   anywhere in it (`TryParse`, the older syntax), on stdout and stderr alike; the
///   first gets a `\` in front, the second becomes `##\[`.
///
/// Lines end at `\n` or `\r`, as the runner splits them. A partial line is held until
/// its end arrives or [`Guard::finish`].
pub struct Guard<W: Write> {
    inner: W,
    actions: bool,
    line: Vec<u8>,
    /// Whether the held line began inside [`command`].
    began_as_command: bool,
}

impl<W: Write> Guard<W> {
    pub fn new(inner: W, actions: bool) -> Self {
        Guard {
            inner,
            actions,
            line: Vec::new(),
            began_as_command: false,
        }
    }

    /// Writes out a held partial line and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.emit(None)?;
        }
        self.inner.flush()
    }

    fn emit(&mut self, end: Option<u8>) -> io::Result<()> {
        let line = std::mem::take(&mut self.line);
        if self.began_as_command && COMMAND.get() {
            self.inner.write_all(&line)?;
        } else {
            let text = String::from_utf8_lossy(&line);
            let safe = neutralise(&text, self.actions);
            self.inner.write_all(safe.as_bytes())?;
        }
        match end {
            Some(b) => self.inner.write_all(&[b]),
            None => Ok(()),
        }
    }
}

impl<W: Write> Write for Guard<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let len = buf.len();
        while !buf.is_empty() {
            if self.line.is_empty() {
                self.began_as_command = COMMAND.get();
            }
            match buf.iter().position(|b| matches!(b, b'\n' | b'\r')) {
                Some(i) => {
                    self.line.extend_from_slice(&buf[..i]);
                    self.emit(Some(buf[i]))?;
                    buf = &buf[i + 1..];
                }
                None => {
                    self.line.extend_from_slice(buf);
                    break;
                }
            }
        }
        Ok(len)
    }

    /// Flushes what is complete; a partial line stays held (its start decides it).
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Guard<W> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// One line made safe (see [`Guard`]).
fn neutralise(line: &str, actions: bool) -> Cow<'_, str> {
    // Control characters only: the bidirectional marks and line separators that
    // [`shown`] also escapes are text here (JSON and the lock may hold them raw).
    let raw_control = |c: char| c.is_control() && c != '\t';
    let mut text = Cow::Borrowed(line);
    if line.chars().any(raw_control) {
        let mut out = String::with_capacity(line.len() + 8);
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            if let Some(len) = colour_sequence(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
            if raw_control(c) {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        text = Cow::Owned(out);
    }
    if !actions {
        return text;
    }
    if text.contains("##[") {
        text = Cow::Owned(text.replace("##[", "##\\["));
    }
    if text.trim_start().starts_with("::") {
        text = Cow::Owned(format!("\\{text}"));
    }
    text
}

/// The length of an SGR sequence (`ESC [ 1;31 m`) at the start of `s`.
fn colour_sequence(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\x1b[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(shown("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(shown("x\u{9b}31m"), "x\\u{9b}31m");
        assert_eq!(shown("l1\nl2\tc\r"), "l1\\nl2\\tc\\r");
        assert_eq!(shown("a\u{202e}b\u{7f}"), "a\\u{202e}b\\u{7f}");
        assert!(matches!(shown("plain/path.py"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_values_are_capped_with_their_size() {
        let long = "x".repeat(5000);
        let c = cap(&long);
        assert!(c.starts_with(&"x".repeat(MAX_CHARS)));
        assert!(c.ends_with("… (5000 bytes)"), "{c}");
        assert_eq!(
            c.chars().count(),
            MAX_CHARS + "… (5000 bytes)".chars().count()
        );
        let wide = "é".repeat(MAX_CHARS);
        assert!(
            matches!(cap(&wide), Cow::Borrowed(_)),
            "characters, not bytes"
        );
    }

    #[test]
    fn code_spans_outlast_every_backtick_run() {
        assert_eq!(md_code("x"), "`x`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("``x"), "``` ``x ```");
        assert_eq!(md_code("a|b"), "`a\\|b`");
        assert_eq!(md_code("a\nb"), "`a\\nb`");
        assert_eq!(md_code(""), "");
    }

    #[test]
    fn text_escapes_every_markdown_character() {
        assert_eq!(
            md_text("![x](http://e/)"),
            "\\!\\[x\\]\\(http\\:\\/\\/e\\/\\)"
        );
        assert_eq!(md_text("<img>"), "\\<img\\>");
        assert_eq!(md_text("a\nb"), "a\\\\nb");
    }

    #[test]
    fn json_escapes_c1_and_separators_and_stays_json() {
        let doc = serde_json::json!({"k": "a\u{9b}b\u{7f}\u{2028}##[x]"});
        let bytes = json_bytes(serde_json::to_vec(&doc).unwrap());
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text, r#"{"k":"a\u009bb\u007f\u2028##\u005bx]"}"#);
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, doc);
    }

    fn guarded(actions: bool, write: impl FnOnce(&mut dyn Write)) -> String {
        let mut bytes = Vec::new();
        {
            let mut g = Guard::new(&mut bytes, actions);
            write(&mut g);
            g.finish().unwrap();
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_guard_passes_only_commands_it_was_given() {
        let text = guarded(true, |out| {
            command(out, "::error file=a::b").unwrap();
            writeln!(out, "  ::add-mask::x").unwrap();
            write!(out, "p ##[set-output name=a;]v\r::warning::y").unwrap();
        });
        assert_eq!(
            text,
            "::error file=a::b\n\\  ::add-mask::x\np ##\\[set-output name=a;]v\r\\::warning::y"
        );
        let local = guarded(false, |out| {
            writeln!(out, "::x:: \x1b[1mok\x1b[0m \x1b]0;t\x07 \u{202e}").unwrap()
        });
        assert_eq!(local, "::x:: \x1b[1mok\x1b[0m \\u{1b}]0;t\\u{7} \u{202e}\n");
    }
}

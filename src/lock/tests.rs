use super::*;

use crate::lock::parser::*;
use std::io::Write;
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
    let m: BTreeMap<String, String> = ids.iter().map(|id| ((*id).to_owned(), d.clone())).collect();
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
    let not_a_string = "digest for plugin \"a\" must be a string of 64 lowercase hex characters";
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

#[test]
fn the_difference_from_canonical_is_said_in_a_persons_terms() {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let canonical = format!("{{\n  \"a\": \"{a}\",\n  \"b\": \"{b}\"\n}}\n");
    let says = |text: &str| difference(text.as_bytes(), &parse(text.as_bytes()).unwrap());
    assert_eq!(says(&canonical), None);
    assert!(
        says(&canonical.replace('\n', "\r\n"))
            .unwrap()
            .contains("CRLF line ends")
    );
    let unsorted = format!("{{\n  \"b\": \"{b}\",\n  \"a\": \"{a}\"\n}}\n");
    assert_eq!(
        says(&unsorted).unwrap(),
        "its keys are not sorted (`a` on line 3 comes after `b`)"
    );
    assert_eq!(
        says(&canonical.replace("  \"", "    \"")).unwrap(),
        "line 2 is indented by 4 spaces; canonical is 2"
    );
    assert_eq!(
        says(canonical.trim_end()).unwrap(),
        "it has no final newline"
    );
    let spaced = canonical.replace("\": \"", "\":\"");
    assert_eq!(
        says(&spaced).unwrap(),
        "line 2 differs from the canonical form (spacing, escapes or blank lines)"
    );
}

//! plugin.json: a JSON object, `name` required, a semver `version` when present.

use crate::manifest::{Manifest, ManifestProblem, NamePolicy, Spec};
use crate::yaml::{MAX_DEPTH, MAX_NODES};
use std::time::{Duration, Instant};

fn spec() -> Spec {
    Spec::new(".claude-plugin/plugin.json").unwrap()
}

fn check(text: &str, dir: &str) -> Result<Manifest, Vec<ManifestProblem>> {
    crate::manifest::check(text.as_bytes(), dir, &spec())
}

fn only(text: &str, dir: &str) -> ManifestProblem {
    let mut p = check(text, dir).expect_err("expected problems");
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

fn at(p: &ManifestProblem) -> (u32, u32) {
    (p.line, p.column)
}

#[test]
fn valid_plugin_json() {
    let text = r#"{
  "name": "formatter",
  "version": "1.2.0",
  "description": "Formats code",
  "author": {"name": "Dev", "email": "dev@example.com"},
  "keywords": ["a", "b"],
  "hooks": null, "strict": true, "n": -1.5e3
}
"#;
    let m = check(text, "formatter").unwrap();
    assert_eq!(m.name.as_deref(), Some("formatter"));
    assert_eq!(m.version.as_deref(), Some("1.2.0"));
    // `version` is optional.
    let m = check(r#"{"name":"formatter"}"#, "formatter").unwrap();
    assert_eq!(m.version, None);
    // Escapes are decoded before comparing.
    assert!(check(r#"{"n\u0061me": "f\u006frmatter"}"#, "formatter").is_ok());
}

#[test]
fn missing_name() {
    let p = only("\n  {\"version\": \"1.0.0\"}", "a");
    assert_eq!(p.message, "missing required key `name`");
    assert_eq!(at(&p), (2, 3));
}

#[test]
fn name_not_the_directory() {
    let p = only("{\n  \"name\": \"other\"\n}\n", "formatter");
    assert_eq!(at(&p), (2, 11));
    assert_eq!(
        p.message,
        "name \"other\" does not match the plugin directory \"formatter\""
    );
    let p = only(r#"{"name": 7}"#, "7");
    assert_eq!(at(&p), (1, 10));
    assert_eq!(p.message, "name must be a string");
    let p = only(r#"{"name": ""}"#, "a");
    assert_eq!(p.message, "name must not be empty");
}

#[test]
fn name_any() {
    let mut spec = spec();
    spec.name = NamePolicy::Any;
    let m = crate::manifest::check(br#"{"name": "Other Name"}"#, "a", &spec).unwrap();
    assert_eq!(m.name.as_deref(), Some("Other Name"));
    let p = crate::manifest::check(br#"{"name": ""}"#, "a", &spec).unwrap_err();
    assert_eq!(p[0].message, "name must not be empty");
}

#[test]
fn version_not_semver() {
    let p = only("{\"name\": \"a\",\n \"version\": \"1.0\"}", "a");
    assert_eq!(at(&p), (2, 13));
    assert_eq!(
        p.message,
        "version \"1.0\" is not semver (MAJOR.MINOR.PATCH)"
    );
    let p = only(r#"{"name": "a", "version": 1}"#, "a");
    assert_eq!(p.message, "version must be a string like \"1.2.3\"");
    let p = only(r#"{"name": "a", "version": null}"#, "a");
    assert_eq!(p.message, "version must be a string like \"1.2.3\"");
    let m = check(r#"{"name": "a", "version": "2.0.0-rc.1+b5"}"#, "a").unwrap();
    assert_eq!(m.version.as_deref(), Some("2.0.0-rc.1+b5"));
}

#[test]
fn not_an_object() {
    for (text, found, pos) in [
        ("[{\"name\": \"a\"}]", "an array", (1, 1)),
        ("\n  \"a\"", "a string", (2, 3)),
        ("42", "a number", (1, 1)),
        ("null", "null", (1, 1)),
        ("true", "a boolean", (1, 1)),
    ] {
        let p = only(text, "a");
        assert_eq!(at(&p), pos, "{text}");
        assert_eq!(
            p.message,
            format!("manifest must be a JSON object of keys to values, found {found}")
        );
    }
    for text in ["", " \n\t\r\n"] {
        let p = only(text, "a");
        assert_eq!((at(&p), p.message.as_str()), ((1, 1), "manifest is empty"));
    }
}

#[test]
fn duplicate_keys_are_errors() {
    let p = only("{\n  \"name\": \"a\",\n  \"name\": \"b\"\n}", "a");
    assert_eq!(at(&p), (3, 3));
    assert_eq!(p.message, "duplicate key \"name\" (first at line 2)");
    // Spelled differently, the same key.
    let p = only(r#"{"name": "a", "n\u0061me": "a"}"#, "a");
    assert_eq!(at(&p), (1, 15));
    assert!(p.message.starts_with("duplicate key \"name\""));
    // At any depth, for any key.
    let p = only(
        "{\"name\": \"a\",\n \"x\": [{\"k\\\"\": 1, \"k\\\"\": 2}]}",
        "a",
    );
    assert_eq!(at(&p), (2, 19));
    assert_eq!(p.message, "duplicate key \"k\\\"\" (first at line 2)");
}

#[test]
fn syntax_errors_have_positions() {
    let p = only("{\"name\": \"a\",\n \"version\": \"1.0.0\",\n}", "a");
    assert_eq!(at(&p), (3, 1));
    assert_eq!(p.message, "trailing comma");
    let p = only("{\"name\": \"a\", \"x\": [1, ]}", "a");
    assert_eq!(at(&p), (1, 24));
    assert_eq!(p.message, "trailing comma");
    let p = only("{\"name\": \"a\"} x", "a");
    assert_eq!(at(&p), (1, 15));
    assert_eq!(p.message, "trailing characters");
    let p = only("{\"name\": \"a\"", "a");
    assert_eq!(p.message, "EOF while parsing an object");
    // Columns count characters, not bytes.
    let p = only("{\"d\u{e9}\u{e9}\": x}", "a");
    assert_eq!(at(&p), (1, 9));
    // Errors inside nested values are placed in the whole file.
    let p = only("{\"name\": \"a\",\n  \"x\": [1, \"\\ud800\"]}", "a");
    assert_eq!(p.line, 2);
    assert!(p.message.contains("escape"), "{}", p.message);
    assert!(p.column >= 12, "{p:?}");
}

#[test]
fn bom_is_skipped_and_not_a_column() {
    assert!(check("\u{feff}{\"name\": \"a\"}", "a").is_ok());
    let p = only("\u{feff}{\"name\": \"b\"}", "a");
    assert_eq!(at(&p), (1, 10));
}

#[test]
fn crlf_positions() {
    let p = only("{\r\n  \"name\": \"b\"\r\n}\r\n", "a");
    assert_eq!(at(&p), (2, 11));
}

#[test]
fn deep_nesting_is_refused_fast_with_a_position() {
    let n = 100_000;
    for text in [
        "[".repeat(n),
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        format!(
            "{{\"name\": \"a\", \"x\": {}{}}}",
            "[".repeat(n),
            "]".repeat(n)
        ),
        "{\"a\":".repeat(n),
    ] {
        let start = Instant::now();
        let p = only(&text, "a");
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(
            p.message,
            format!("JSON nesting is deeper than {MAX_DEPTH} levels")
        );
        assert_eq!(p.line, 1);
        assert!(p.column > MAX_DEPTH as u32, "{p:?}");
    }
    // Brackets inside strings are not nesting.
    let text = format!("{{\"name\": \"a\", \"x\": \"{}\"}}", "[".repeat(n));
    assert!(check(&text, "a").is_ok());
}

#[test]
fn nesting_within_the_limit_is_accepted() {
    let depth = MAX_DEPTH - 1;
    let text = format!(
        "{{\"name\": \"a\", \"x\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(check(&text, "a").is_ok());
    let text = format!(
        "{{\"name\": \"a\", \"x\": {}{}}}",
        "[".repeat(depth + 1),
        "]".repeat(depth + 1)
    );
    assert!(only(&text, "a").message.contains("nesting"));
}

#[test]
fn many_values_are_refused() {
    let text = format!(
        "{{\"name\": \"a\", \"x\": [{}]}}",
        vec!["1"; MAX_NODES + 1].join(",")
    );
    let p = only(&text, "a");
    assert_eq!(
        p.message,
        format!("JSON is too large: more than {MAX_NODES} values")
    );
    assert_eq!(at(&p), (1, 20));
}

#[test]
fn description_when_required() {
    let mut spec = spec();
    spec.require.push(crate::manifest::Field::Description);
    let p = crate::manifest::check(br#"{"name": "a"}"#, "a", &spec).unwrap_err();
    assert_eq!(p[0].message, "missing required key `description`");
    let p = crate::manifest::check(br#"{"name": "a", "description": 1}"#, "a", &spec).unwrap_err();
    assert_eq!(p[0].message, "description must be a string, found a number");
    // Not required, it is free text: anything goes.
    assert!(check(r#"{"name": "a", "description": 1}"#, "a").is_ok());
}

/// Byte mutations: never a panic, every problem positioned.
#[test]
fn mutations_never_panic() {
    let seeds: [&[u8]; 3] = [
        br#"{"name": "a", "version": "1.0.0", "x": [1, {"y": null}], "s": "\u00e9\n"}"#,
        b"\xef\xbb\xbf{\r\n  \"name\": \"a\"\r\n}\r\n",
        "{\"d\u{e9}\": [true, false, -0.5e+3, \"\\\"\"]}".as_bytes(),
    ];
    const INTERESTING: &[u8] = b"[]{}:,\"\\u0e-+.\n\r\t \x00\xff\xc3";
    for bytes in crate::mutate::mutations(&seeds, INTERESTING, 3_000, 0x9e37_79b9_7f4a_7c15, false)
    {
        if let Err(problems) = crate::manifest::check(&bytes, "a", &spec()) {
            assert!(!problems.is_empty());
            for p in problems {
                assert!(p.line >= 1 && p.column >= 1, "{p:?} for {bytes:?}");
                assert!(!p.message.is_empty());
            }
        }
    }
}

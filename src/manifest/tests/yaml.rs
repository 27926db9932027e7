//! plugin.yaml: the YAML reader and the default rules (`name` equal to the directory,
//! a semver `version`), unchanged from before other formats existed.

use crate::manifest::{MAX_MANIFEST_BYTES, Manifest, ManifestProblem, Spec};
use crate::yaml::{MAX_DEPTH, MAX_NODES};
use std::time::{Duration, Instant};

fn check(bytes: &[u8], dir: &str) -> Result<Manifest, Vec<ManifestProblem>> {
    crate::manifest::check(bytes, dir, &Spec::plugin_yaml())
}

fn problems(yaml: &str, dir: &str) -> Vec<ManifestProblem> {
    match check(yaml.as_bytes(), dir) {
        Ok(m) => panic!("expected problems, got {m:?}"),
        Err(p) => {
            assert!(!p.is_empty());
            p
        }
    }
}

fn only(yaml: &str, dir: &str) -> ManifestProblem {
    let mut p = problems(yaml, dir);
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

fn at(p: &ManifestProblem) -> (u32, u32) {
    (p.line, p.column)
}

#[test]
fn valid_manifest() {
    let m = check(b"name: foo\nversion: 1.2.3\n", "foo").unwrap();
    assert_eq!(
        m,
        Manifest {
            name: Some("foo".into()),
            version: Some("1.2.3".into())
        }
    );
}

#[test]
fn other_keys_are_ignored_whatever_their_value() {
    let yaml = "# comment\nname: foo\ndescription: >\n  text\nversion: \"2.0.0-rc.1+b5\"\n\
                deps: [a, {b: c}]\n? [complex, key]\n: ~\n7: seven\ninf: .inf\nflag: off\n\
                anchor: &a {x: 1}\nalias: *a\n";
    let m = check(yaml.as_bytes(), "foo").unwrap();
    assert_eq!(m.name.as_deref(), Some("foo"));
    assert_eq!(m.version.as_deref(), Some("2.0.0-rc.1+b5"));
}

#[test]
fn flow_mapping_and_crlf_and_bom() {
    assert!(check(b"{name: foo, version: 0.1.0}", "foo").is_ok());
    assert!(check(b"name: foo\r\nversion: 0.1.0\r\n", "foo").is_ok());
    assert!(check("\u{feff}name: foo\nversion: 0.1.0\n".as_bytes(), "foo").is_ok());
}

#[test]
fn name_mismatch_points_at_the_value() {
    let p = only("# top\nversion: 1.0.0\nname: other\n", "foo");
    assert_eq!(at(&p), (3, 7));
    assert_eq!(
        p.message,
        "name \"other\" does not match the plugin directory \"foo\""
    );
}

#[test]
fn name_must_be_a_string() {
    let p = only("name: [foo]\nversion: 1.0.0\n", "foo");
    assert_eq!(at(&p), (1, 7));
    assert_eq!(p.message, "name must be a string");
    let p = only("name: 123\nversion: 1.0.0\n", "123");
    assert_eq!(p.message, "name must be a string");
    // Quoted, it is a string.
    assert!(check(b"name: \"123\"\nversion: 1.0.0\n", "123").is_ok());
}

#[test]
fn quoted_non_semver_version() {
    let p = only("name: foo\nversion: \"1.0\"\n", "foo");
    assert_eq!(at(&p), (2, 10));
    assert_eq!(
        p.message,
        "version \"1.0\" is not semver (MAJOR.MINOR.PATCH)"
    );
}

#[test]
fn plain_non_semver_versions() {
    let p = only("name: foo\nversion: v1.2.3\n", "foo");
    assert_eq!(
        p.message,
        "version \"v1.2.3\" is not semver (MAJOR.MINOR.PATCH)"
    );
    let p = only("name: foo\nversion: 1.2.3.4\n", "foo");
    assert_eq!(at(&p), (2, 10));
}

#[test]
fn float_and_integer_versions_are_not_strings() {
    for yaml in ["name: foo\nversion: 1.0\n", "name: foo\nversion: 1\n"] {
        let p = only(yaml, "foo");
        assert_eq!(at(&p), (2, 10), "{yaml}");
        assert_eq!(p.message, "version must be a string like \"1.2.3\"");
    }
    let p = only("name: foo\nversion:\n", "foo");
    assert_eq!(p.line, 2);
    assert_eq!(p.message, "version must be a string like \"1.2.3\"");
}

#[test]
fn version_is_normalized() {
    let m = check(b"name: foo\nversion: 01.2.3\n", "foo");
    // semver rejects leading zeros; a normal version round-trips.
    assert!(m.is_err());
    let m = check(b"name: foo\nversion: '1.2.3-alpha.1'\n", "foo").unwrap();
    assert_eq!(m.version.as_deref(), Some("1.2.3-alpha.1"));
}

#[test]
fn missing_keys() {
    let p = problems("# only\ndescription: x\n", "foo");
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].message, "missing required key `name`");
    assert_eq!(p[1].message, "missing required key `version`");
    // At the mapping's start.
    assert_eq!(at(&p[0]), (2, 1));
    let p = only("name: foo\n", "foo");
    assert_eq!(p.message, "missing required key `version`");
    assert_eq!(at(&p), (1, 1));
}

#[test]
fn all_problems_sorted_by_position() {
    let p = problems("version: \"1.0\"\nextra: 1\nname: bar\n", "foo");
    assert_eq!(p.len(), 2);
    assert_eq!(at(&p[0]), (1, 10));
    assert!(p[0].message.starts_with("version \"1.0\""));
    assert_eq!(at(&p[1]), (3, 7));
    assert!(p[1].message.starts_with("name \"bar\""));
}

#[test]
fn empty_manifest() {
    for yaml in ["", "\n\n", "# just a comment\n", "---\n", "~\n"] {
        let p = only(yaml, "foo");
        assert_eq!(p.message, "manifest is empty", "{yaml:?}");
        assert_eq!(at(&p), (1, 1));
    }
}

#[test]
fn top_level_must_be_a_mapping() {
    let p = only("- name: foo\n", "foo");
    assert_eq!(at(&p), (1, 1));
    assert_eq!(
        p.message,
        "manifest must be a mapping of keys to values, found a sequence"
    );
    let p = only("\n\"just text\"\n", "foo");
    assert_eq!(p.line, 2);
    assert!(p.message.ends_with("found a string"));
}

#[test]
fn syntax_error_has_its_position() {
    let p = only("name: foo\nversion: [1.0.0\n", "foo");
    assert_eq!(at(&p), (2, 10));
    assert!(!p.message.contains("at line"), "{}", p.message);
    assert_eq!(p.message, "unclosed bracket '['");
    // An unterminated quote runs to the end of the input, where it is reported.
    let p = only("name: foo\nversion: 'unterminated\n", "foo");
    assert!(p.line >= 2, "{p:?}");
}

#[test]
fn duplicate_keys_are_rejected_with_position() {
    let p = only("name: foo\nversion: 1.0.0\nname: foo\n", "foo");
    assert_eq!(p.line, 3);
    assert!(p.message.contains("duplicate"), "{}", p.message);
}

#[test]
fn multiple_documents_are_rejected() {
    let p = only("name: foo\nversion: 1.0.0\n---\nname: bar\n", "foo");
    assert!(p.line >= 3, "{p:?}");
}

#[test]
fn unknown_alias_is_an_error() {
    let p = only("name: foo\nversion: *v\n", "foo");
    assert_eq!(p.line, 2);
}

#[test]
fn alias_values_are_checked_at_the_alias() {
    let p = only("x: &n bar\nname: *n\nversion: 1.0.0\n", "foo");
    assert_eq!(at(&p), (2, 7));
}

#[test]
fn too_large() {
    let mut big = b"name: foo\nversion: 1.0.0\nx: ".to_vec();
    big.resize(MAX_MANIFEST_BYTES + 1, b'a');
    let p = check(&big, "foo").unwrap_err();
    assert_eq!(p.len(), 1);
    assert_eq!(at(&p[0]), (1, 1));
    assert!(p[0].message.contains("over the limit"));
    // Exactly at the limit is read.
    big.truncate(MAX_MANIFEST_BYTES);
    assert!(check(&big, "foo").is_ok());
}

#[test]
fn invalid_utf8_position() {
    let p = check(b"name: foo\nversion: 1.0.0\ndesc: ab\xffc\n", "foo").unwrap_err();
    assert_eq!(p.len(), 1);
    assert_eq!(at(&p[0]), (3, 9));
    assert!(p[0].message.contains("UTF-8"));
    assert!(p[0].message.contains("0xff"));
    // Columns count characters, not bytes.
    let p = check("d: \u{e9}\u{e9}\u{80}".as_bytes(), "foo").unwrap_err();
    assert_eq!(p.len(), 1);
    let p = check(b"d: \xc3\xa9\xc3\xa9\x80", "foo").unwrap_err();
    assert_eq!(at(&p[0]), (1, 6));
    let p = check(b"\xfe", "foo").unwrap_err();
    assert_eq!(at(&p[0]), (1, 1));
}

fn billion_laughs() -> String {
    let mut yaml = String::from(
        "name: foo\nversion: 1.0.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(",");
        yaml.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    yaml
}

fn assert_fast_rejection(yaml: &str) -> ManifestProblem {
    let start = Instant::now();
    let result = check(yaml.as_bytes(), "foo");
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let mut p = result.unwrap_err();
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

#[test]
fn alias_bomb_is_rejected_fast() {
    let p = assert_fast_rejection(&billion_laughs());
    assert!(p.line >= 3, "{p:?}");
    assert_eq!(p.message, "YAML aliases expand to more than 10000 nodes");
}

#[test]
fn scalar_alias_bomb_is_rejected_fast() {
    let big = "x".repeat(900_000);
    let yaml = format!("a: &a {big}\nb: [{}]\n", vec!["*a"; 2000].join(","));
    let p = assert_fast_rejection(&yaml);
    assert!(p.message.contains("MiB of text"), "{}", p.message);
}

#[test]
fn deep_nesting_is_rejected_fast() {
    let n = 100_000;
    for yaml in [
        "[".repeat(n),
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        "{a: ".repeat(n),
        "- ".repeat(n),
        format!("name: foo\nversion: 1.0.0\nx: {}", "[".repeat(n)),
    ] {
        let p = assert_fast_rejection(&yaml);
        assert!(p.message.contains("nesting"), "{}", p.message);
    }
}

#[test]
fn nesting_within_the_limit_is_accepted() {
    // Also proves the tree walk fits a test thread's stack in debug builds.
    let depth = MAX_DEPTH - 2;
    let flow = format!(
        "name: foo\nversion: 1.0.0\nx: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert!(check(flow.as_bytes(), "foo").is_ok());
    let mut block = String::from("name: foo\nversion: 1.0.0\nx:\n");
    for level in 1..depth {
        block.push_str(&"  ".repeat(level));
        block.push_str("x:\n");
    }
    assert!(check(block.as_bytes(), "foo").is_ok());
    let too_deep = format!(
        "x: {}{}\n",
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    assert!(only(&too_deep, "foo").message.contains("nesting"));
}

#[test]
fn many_nodes_are_rejected() {
    let yaml = format!(
        "name: foo\nversion: 1.0.0\nx: [{}]\n",
        vec!["1"; MAX_NODES + 1].join(",")
    );
    let p = assert_fast_rejection(&yaml);
    assert!(p.message.contains("nodes"), "{}", p.message);
}

/// Deterministic byte mutations of valid and invalid manifests: never a panic, and
/// every problem has a position >= 1.
#[test]
fn mutations_never_panic() {
    let seeds: [&[u8]; 5] = [
        b"name: foo\nversion: 1.2.3\ndeps: [a, {b: c}]\n",
        b"{name: foo, version: \"1.0\", x: &a [1, *a]}",
        b"name: &n foo\nversion: !!str 1.0.0\n? [k]\n: |\n  text\n",
        b"- a\n- b: c\n  d: 'e'\n",
        "n\u{e9}me: f\u{f6}o\r\nversion: 1.0.0 # c\n".as_bytes(),
    ];
    const INTERESTING: &[u8] = b"[]{}:-?&*!|>'\"#%@`,\n\r\t \\\x00\xff\xc3";
    for bytes in crate::mutate::mutations(&seeds, INTERESTING, 3_000, 0x9e37_79b9_7f4a_7c15, true) {
        if let Err(problems) = check(&bytes, "foo") {
            assert!(!problems.is_empty());
            for p in problems {
                assert!(p.line >= 1 && p.column >= 1, "{p:?} for {bytes:?}");
                assert!(!p.message.is_empty());
            }
        }
    }
}

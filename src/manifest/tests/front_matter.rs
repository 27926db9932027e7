//! SKILL.md: YAML front matter with the Agent Skills rules.

use crate::manifest::{Manifest, ManifestProblem, Spec};
use std::time::{Duration, Instant};

fn check(text: &str, dir: &str) -> Result<Manifest, Vec<ManifestProblem>> {
    crate::manifest::check(text.as_bytes(), dir, &Spec::new("SKILL.md").unwrap())
}

fn only(text: &str, dir: &str) -> ManifestProblem {
    let mut p = check(text, dir).expect_err("expected problems");
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

fn at(p: &ManifestProblem) -> (u32, u32) {
    (p.line, p.column)
}

const VALID: &str =
    "---\nname: pdf-tools\ndescription: Fills PDF forms.\n---\n# PDF tools\n\nBody.\n";

#[test]
fn valid_skill() {
    let m = check(VALID, "pdf-tools").unwrap();
    assert_eq!(m.name.as_deref(), Some("pdf-tools"));
    assert_eq!(m.version, None);
    // Other keys (the spec's `license`, `metadata`, `allowed-tools`) are ignored.
    let text = "---\nname: a1\ndescription: x\nlicense: MIT\nmetadata: {author: me}\n\
                allowed-tools: [Bash]\n---\n";
    assert!(check(text, "a1").is_ok());
    // No Markdown after the front matter is fine too, and so is no final line end.
    assert!(check("---\nname: a\ndescription: d\n---", "a").is_ok());
}

#[test]
fn version_is_any_string_and_reported() {
    let m = check(
        "---\nname: a\ndescription: d\nversion: v2 (beta)\n---\n",
        "a",
    )
    .unwrap();
    assert_eq!(m.version.as_deref(), Some("v2 (beta)"));
    // Not semver-normalized: the text as written.
    let m = check("---\nname: a\ndescription: d\nversion: '1.0'\n---\n", "a").unwrap();
    assert_eq!(m.version.as_deref(), Some("1.0"));
    // A plain scalar that YAML reads as a number is taken as written.
    for written in ["1.10", "2024", "0x1F", "1.0"] {
        let text = format!("---\nname: a\ndescription: d\nversion: {written}\n---\n");
        let m = check(&text, "a").unwrap();
        assert_eq!(m.version.as_deref(), Some(written));
    }
    let m = check(
        "---\nname: a\ndescription: d\nv: &v 1.5\nversion: *v\n---\n",
        "a",
    )
    .unwrap();
    assert_eq!(m.version.as_deref(), Some("1.5"));
    // Not a string nor a number: refused where it is.
    let p = only("---\nname: a\ndescription: d\nversion: [1]\n---\n", "a");
    assert_eq!(at(&p), (4, 10));
    assert_eq!(p.message, "version must be a string, found a sequence");
    let p = only("---\nname: a\ndescription: d\nversion: true\n---\n", "a");
    assert_eq!(p.message, "version must be a string, found a boolean");
}

#[test]
fn missing_name() {
    let p = only("---\ndescription: d\n---\n", "a");
    assert_eq!(p.message, "missing required key `name`");
    // At the mapping's start: the front matter's first line.
    assert_eq!(at(&p), (2, 1));
}

#[test]
fn name_not_the_directory() {
    let p = only("---\ndescription: d\nname: other\n---\n", "pdf-tools");
    assert_eq!(at(&p), (3, 7));
    assert_eq!(
        p.message,
        "name \"other\" does not match the plugin directory \"pdf-tools\""
    );
}

#[test]
fn uppercase_name() {
    // Even when the directory is spelled the same: the spec allows lowercase only.
    let p = only("---\nname: Pdf-Tools\ndescription: d\n---\n", "Pdf-Tools");
    assert_eq!(at(&p), (2, 7));
    assert_eq!(
        p.message,
        "name \"Pdf-Tools\" may hold only lowercase letters a-z, digits and hyphens, found 'P'"
    );
    for bad in ["pdf_tools", "pdf tools", "pdf.tools", "p\u{e9}f"] {
        let p = only(&format!("---\nname: \"{bad}\"\ndescription: d\n---\n"), bad);
        assert!(p.message.contains("may hold only"), "{bad}: {}", p.message);
    }
}

#[test]
fn name_length() {
    let ok = "a".repeat(64);
    assert!(check(&format!("---\nname: {ok}\ndescription: d\n---\n"), &ok).is_ok());
    let long = "a".repeat(65);
    let p = only(&format!("---\nname: {long}\ndescription: d\n---\n"), &long);
    assert_eq!(at(&p), (2, 7));
    assert_eq!(
        p.message,
        "name is 65 characters long, over the limit of 64"
    );
    let p = only("---\nname: ''\ndescription: d\n---\n", "a");
    assert_eq!(p.message, "name must not be empty");
}

#[test]
fn hyphens() {
    for (name, says) in [
        ("-pdf", "must not start or end with a hyphen"),
        ("pdf-", "must not start or end with a hyphen"),
        ("-", "must not start or end with a hyphen"),
        ("pdf--tools", "must not contain consecutive hyphens (`--`)"),
    ] {
        let p = only(
            &format!("---\nname: \"{name}\"\ndescription: d\n---\n"),
            name,
        );
        assert_eq!(at(&p), (2, 7), "{name}");
        assert!(p.message.ends_with(says), "{name}: {}", p.message);
    }
    assert!(check("---\nname: a-b-c-1\ndescription: d\n---\n", "a-b-c-1").is_ok());
}

#[test]
fn missing_description() {
    let p = only("---\nname: a\n---\n", "a");
    assert_eq!(p.message, "missing required key `description`");
    assert_eq!(at(&p), (2, 1));
    for empty in ["''", "'  '", "\"\"", "|\n  \n"] {
        let p = only(&format!("---\nname: a\ndescription: {empty}\n---\n"), "a");
        assert_eq!(p.message, "description must not be empty", "{empty}");
        assert_eq!(at(&p), (3, 14), "{empty}");
    }
    let p = only("---\nname: a\ndescription: [x]\n---\n", "a");
    assert_eq!(p.message, "description must be a string, found a sequence");
    let p = only("---\nname: a\ndescription:\n---\n", "a");
    assert_eq!(p.message, "description must be a string, found null");
}

#[test]
fn description_length() {
    let ok = "\u{e9}".repeat(1024);
    assert!(check(&format!("---\nname: a\ndescription: {ok}\n---\n"), "a").is_ok());
    let long = "d".repeat(1025);
    let p = only(&format!("---\nname: a\ndescription: {long}\n---\n"), "a");
    assert_eq!(at(&p), (3, 14));
    assert_eq!(
        p.message,
        "description is 1025 characters long, over the limit of 1024"
    );
}

#[test]
fn every_problem_is_reported() {
    let p = check("---\nname: Bad\n---\n", "bad").unwrap_err();
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(at(&p[0]), (2, 1));
    assert_eq!(p[0].message, "missing required key `description`");
    assert_eq!(at(&p[1]), (2, 7));
    assert!(p[1].message.contains("lowercase"));
}

#[test]
fn no_closing_delimiter() {
    for text in [
        "---\nname: a\ndescription: d\n",
        "---\nname: a\ndescription: d\n--\n# body",
        "---",
        "---\n",
        "---\nname: a\n ---\n",
    ] {
        let p = only(text, "a");
        assert_eq!(at(&p), (1, 1), "{text:?}");
        assert_eq!(
            p.message,
            "SKILL.md's front matter is not closed: no `---` line follows the one at line 1",
            "{text:?}"
        );
    }
}

#[test]
fn no_front_matter() {
    for text in [
        "# PDF tools\n\nname: a\n",
        "",
        "\n---\nname: a\ndescription: d\n---\n",
        " ---\nname: a\n---\n",
    ] {
        let p = only(text, "a");
        assert_eq!(at(&p), (1, 1), "{text:?}");
        assert_eq!(
            p.message, "SKILL.md has no front matter: it must start with a `---` line",
            "{text:?}"
        );
    }
    let p = only("--- name: a\n---\n", "a");
    assert_eq!(
        p.message,
        "SKILL.md's front matter must open with a line that is `---` alone, found \"--- name: a\""
    );
    // The message names the configured file.
    let spec = Spec::new("docs/README.markdown").unwrap();
    let p = crate::manifest::check(b"hello\n", "a", &spec).unwrap_err();
    assert_eq!(
        p[0].message,
        "README.markdown has no front matter: it must start with a `---` line"
    );
}

#[test]
fn crlf_line_ends() {
    let text = "---\r\nname: pdf-tools\r\ndescription: Fills forms.\r\n---\r\n# Body\r\n";
    assert!(check(text, "pdf-tools").is_ok());
    // Positions stay the file's.
    let p = only(
        "---\r\n# c\r\nname: other\r\ndescription: d\r\n---\r\n",
        "a",
    );
    assert_eq!(at(&p), (3, 7));
    let p = only("---\r\nname: a\r\ndescription: [x\r\n---\r\n", "a");
    assert_eq!(p.line, 3, "{p:?}");
    // Trailing blanks on a delimiter line are allowed.
    assert!(check("--- \r\nname: a\r\ndescription: d\r\n---\t\r\n", "a").is_ok());
}

#[test]
fn bom_is_skipped_and_not_a_column() {
    let text = format!("\u{feff}{VALID}");
    assert!(check(&text, "pdf-tools").is_ok());
    let p = only("\u{feff}---\nname: Other\ndescription: d\n---\n", "a");
    assert_eq!(at(&p), (2, 7));
    let p = only("\u{feff}# no front matter\n", "a");
    assert_eq!(at(&p), (1, 1));
    assert!(p.message.contains("has no front matter"));
}

#[test]
fn empty_or_not_a_mapping() {
    let p = only("---\n---\nbody\n", "a");
    assert_eq!(at(&p), (2, 1));
    assert_eq!(p.message, "the front matter is empty");
    let p = only("---\n# only a comment\n---\n", "a");
    assert_eq!(p.message, "the front matter is empty");
    let p = only("---\n\n- a\n- b\n---\n", "a");
    assert_eq!(at(&p), (3, 1));
    assert_eq!(
        p.message,
        "the front matter must be a mapping of keys to values, found a sequence"
    );
}

#[test]
fn yaml_errors_have_file_positions() {
    let p = only("---\nname: a\ndescription: [x\n---\n", "a");
    assert_eq!(p.line, 3, "{p:?}");
    let p = only("---\nname: a\nname: a\ndescription: d\n---\n", "a");
    assert_eq!(p.line, 3);
    assert!(p.message.contains("duplicate"), "{}", p.message);
    // A second YAML document would need a `---`, which closes the front matter: the
    // Markdown after it is never parsed, however odd.
    assert!(check("---\nname: a\ndescription: d\n---\n---\n: [\n", "a").is_ok());
}

#[test]
fn alias_bomb_in_front_matter_is_refused_fast() {
    let mut text = String::from(
        "---\nname: a\ndescription: d\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..9 {
        let refs = vec![format!("*x{}", i - 1); 9].join(", ");
        text.push_str(&format!("x{i}: &x{i} [{refs}]\n"));
    }
    text.push_str("---\n");
    let start = Instant::now();
    let p = only(&text, "a");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(p.message, "YAML aliases expand to more than 10000 nodes");
    assert!((4..=12).contains(&p.line), "{p:?}");
}

#[test]
fn deep_front_matter_is_refused_fast() {
    let text = format!("---\nname: a\nx: {}\n---\n", "[".repeat(100_000));
    let start = Instant::now();
    let p = only(&text, "a");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(p.message.contains("nesting"), "{}", p.message);
    assert_eq!(p.line, 3);
}

#[test]
fn name_any_still_follows_the_spec() {
    let mut spec = Spec::new("SKILL.md").unwrap();
    spec.name = crate::manifest::NamePolicy::Any;
    let text = "---\nname: other\ndescription: d\n---\n";
    assert!(crate::manifest::check(text.as_bytes(), "a", &spec).is_ok());
    let text = "---\nname: Other\ndescription: d\n---\n";
    let p = crate::manifest::check(text.as_bytes(), "Other", &spec).unwrap_err();
    assert!(p[0].message.contains("lowercase"));
}

/// Byte mutations of front matters: never a panic, every problem positioned.
#[test]
fn mutations_never_panic() {
    let seeds: [&[u8]; 3] = [
        VALID.as_bytes(),
        b"---\r\nname: a\r\ndescription: &d [x, *d]\r\n---\r\n",
        "\u{feff}---\nname: \"\u{e9}\"\nversion: 1\n---\n".as_bytes(),
    ];
    const INTERESTING: &[u8] = b"-[]{}:&*!|>'\"#\n\r\t \\\x00\xff\xef\xbb\xbf";
    for bytes in crate::mutate::mutations(&seeds, INTERESTING, 2_000, 0x2545_f491_4f6c_dd1d, false)
    {
        let spec = Spec::new("SKILL.md").unwrap();
        if let Err(problems) = crate::manifest::check(&bytes, "pdf-tools", &spec) {
            assert!(!problems.is_empty());
            for p in problems {
                assert!(p.line >= 1 && p.column >= 1, "{p:?} for {bytes:?}");
            }
        }
    }
}

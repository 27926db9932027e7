use super::*;
use crate::checks::ownership::codeowners::syntax::*;
use std::time::Instant;

fn owners_of(co: &CodeOwners, path: &str) -> Option<Vec<String>> {
    co.decide(path).map(|r| r.owners.clone())
}

fn line_of(co: &CodeOwners, path: &str) -> Option<u32> {
    co.decide(path).map(|r| r.line)
}

fn positions(errors: &[SyntaxError]) -> Vec<(u32, u32)> {
    errors.iter().map(|e| (e.line, e.column)).collect()
}

#[test]
fn vectors() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../../tests/vectors/codeowners.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        58,
        "the vectors file changed size; review the new cases"
    );
    // Lines GitHub reports as invalid, per case; every other case must parse cleanly.
    let expected_errors: HashMap<u64, Vec<u32>> =
        [(44, vec![2]), (45, vec![2]), (47, vec![2]), (53, vec![2])].into();
    let known_keys = [
        "id",
        "codeowners",
        "path",
        "owners",
        "source",
        "note",
        "path_is_file",
    ];
    let mut failures = Vec::new();
    for case in cases {
        let obj = case.as_object().unwrap();
        for key in obj.keys() {
            assert!(
                known_keys.contains(&key.as_str()),
                "unknown vector key `{key}`"
            );
        }
        let id = case["id"].as_u64().unwrap();
        let text = case["codeowners"].as_str().unwrap();
        let path = case["path"].as_str().unwrap();
        let note = case.get("note").and_then(|n| n.as_str()).unwrap_or("");
        let expected: Vec<String> = case["owners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_owned())
            .collect();
        // `path_is_file`: the path is a file, not a directory of that name. `decide`
        // always takes a file path, so `true` is honoured as is; `false` would ask a
        // question this API does not answer.
        if let Some(flag) = obj.get("path_is_file") {
            assert_eq!(
                flag,
                &serde_json::Value::Bool(true),
                "case {id}: path_is_file"
            );
        }

        let (co, errors) = parse(text.as_bytes());
        let got = owners_of(&co, path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "case {id} {path:?}: expected {expected:?}, got {got:?} {note} (errors: {errors:?})"
            ));
        }
        let error_lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
        let want_lines = expected_errors.get(&id).cloned().unwrap_or_default();
        if error_lines != want_lines {
            failures.push(format!(
                "case {id}: expected syntax errors on lines {want_lines:?}, got {errors:?} {note}"
            ));
        }
        // A note such as "(line 2 Invalid pattern, skipped)" must agree with the parse.
        let lower = note.to_lowercase();
        if lower.contains("invalid")
            && let Some(rest) = lower.split("line ").nth(1)
        {
            let n: u32 = rest
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap();
            if !error_lines.contains(&n) {
                failures.push(format!("case {id}: note says line {n} is invalid: {note}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn skipped_forms_are_reported_with_line_and_column() {
    let text = "* @g\n\
                /pages/[id]/ @o\n\
                \x20 !docs/* @o\n\
                ***/*.rb @r\n\
                / @o\n\
                \\#foo @o\n\
                foo#bar @o\n\
                a/b]\n\
                *.rs @ok user\n\
                *.txt docs@\n\
                a//b @o\n\
                /ok/ @ok\n\
                a/b\\";
    let (co, errors) = parse(text.as_bytes());
    assert_eq!(
        positions(&errors),
        [
            (2, 1),
            (3, 3),
            (4, 1),
            (5, 1),
            (6, 1),
            (7, 1),
            (8, 1),
            (9, 10),
            (10, 7),
            (11, 1),
            (13, 1)
        ]
    );
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages[0],
        "Invalid pattern: both `[` and `]` must be escaped with a `\\`"
    );
    assert!(messages[1].contains("`!`"), "{}", messages[1]);
    assert_eq!(
        messages[2],
        "Invalid pattern: `***` is not a valid pattern; did you mean `**/*.rb`?"
    );
    assert_eq!(
        messages[3],
        "Invalid pattern: pattern `/` will never match anything, did you mean `*`?"
    );
    assert!(messages[4].contains("\\#"), "{}", messages[4]);
    assert!(
        messages[5].contains("`#` inside a pattern"),
        "{}",
        messages[5]
    );
    assert!(messages[6].contains("both `[` and `]`"), "{}", messages[6]);
    assert!(
        messages[7].starts_with("Invalid owner `user`"),
        "{}",
        messages[7]
    );
    assert!(
        messages[8].starts_with("Invalid owner `docs@`"),
        "{}",
        messages[8]
    );
    assert!(messages[9].contains("`//`"), "{}", messages[9]);
    assert!(messages[10].contains("trailing `\\`"), "{}", messages[10]);

    // The skipped lines are gone; the others still work.
    let lines: Vec<u32> = co.rules().iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 12]);
    assert_eq!(line_of(&co, "pages/[id]/index.tsx"), Some(1));
    assert_eq!(line_of(&co, "docs/a.md"), Some(1));
    assert_eq!(line_of(&co, "a/b.rb"), Some(1));
    assert_eq!(line_of(&co, "src/lib.rs"), Some(1));
    assert_eq!(line_of(&co, "ok/x"), Some(12));
    assert_eq!(
        errors[0].to_string(),
        format!("line 2, column 1: {}", messages[0])
    );
}

#[test]
fn every_problem_on_a_line_is_reported_and_columns_count_characters() {
    let (co, errors) = parse("[x] bad @ok also-bad\n  é/[x] @o\n/é/ bad\n".as_bytes());
    assert_eq!(
        positions(&errors),
        [(1, 1), (1, 5), (1, 13), (2, 3), (3, 5)]
    );
    assert!(co.rules().is_empty());
}

#[test]
fn invalid_utf8_skips_only_that_line() {
    let (co, errors) = parse(b"* @g\n/a\xff/ @o\n/b/ @b\n");
    assert_eq!(positions(&errors), [(2, 3)]);
    assert!(errors[0].message.contains("UTF-8"));
    assert_eq!(line_of(&co, "a\u{fffd}/x"), Some(1));
    assert_eq!(line_of(&co, "b/x"), Some(3));
}

#[test]
fn owner_syntax() {
    for ok in [
        "@user",
        "@User-Name",
        "@user_emu",
        "@a.b",
        "@org/team",
        "@Org-1/team_x.y",
        "a@b.co",
        "first.last+tag@sub.example.org",
    ] {
        assert!(valid_owner(ok), "{ok} should be valid");
    }
    for bad in [
        "user",
        "@",
        "@-x",
        "@@x",
        "@org/",
        "@/team",
        "@org/team/x",
        "@us!er",
        "docs@",
        "a@b",
        "x@y@z.com",
        "a@.com",
        "a@b..com",
        "a@b.com.",
        "<a@b.com>",
    ] {
        assert!(!valid_owner(bad), "{bad} should be invalid");
    }
}

#[test]
fn duplicates_pair_each_line_with_its_next_repeat() {
    let (co, errors) = parse(b"a/ @1\n/x/y @2\na/ @3\nx/y @4\na/ @5\n/a/ @6\n");
    assert!(errors.is_empty());
    assert_eq!(
        co.duplicate_patterns(),
        [
            (1, 3, "a/".to_owned()),
            (2, 4, "/x/y".to_owned()),
            (3, 5, "a/".to_owned())
        ]
    );
    let (co, _) = parse(b"* @a\n*.rs @b\n");
    assert!(co.duplicate_patterns().is_empty());
}

#[test]
fn shadowed_rules_match_something_but_decide_nothing() {
    let (co, errors) = parse(b"* @all\n/docs/ @d\n*.md @md\n/src/ @s\n/nothing/ @n\n");
    assert!(errors.is_empty());
    let tree = ["docs/a.md", "src/x.rs", "README.md"];
    assert_eq!(co.shadowed_rules(tree), [1, 2]);
    let tree = ["docs/a.md", "src/x.rs", "README.md", "Cargo.toml"];
    assert_eq!(co.shadowed_rules(tree), [2]);
    assert!(co.shadowed_rules([]).is_empty());
    // The earlier of two duplicates is shadowed as soon as it matches anything.
    let (co, _) = parse(b"/a/ @1\n/a/ @2\n/b/ @3\n");
    assert_eq!(co.shadowed_rules(["a/x", "c/y"]), [1]);
}

#[test]
fn explicitly_unowned_is_not_unmatched() {
    let (co, errors) = parse(b"/apps/ @octocat\n/apps/github\n");
    assert!(errors.is_empty());
    let unowned = co.decide("apps/github/x.rb").unwrap();
    assert_eq!((unowned.line, unowned.owners.is_empty()), (2, true));
    assert_eq!(unowned.pattern, "/apps/github");
    assert_eq!(
        owners_of(&co, "apps/web/x.rb"),
        Some(vec!["@octocat".to_owned()])
    );
    assert_eq!(co.decide("lib/x.rb"), None);
}

#[test]
fn files_of_3_mb_or_more_are_not_loaded() {
    let mut text = b"* @g\n".to_vec();
    text.resize(MAX_CODEOWNERS_BYTES - 1, b'#');
    let (co, errors) = parse(&text);
    assert!(errors.is_empty());
    assert_eq!(line_of(&co, "x"), Some(1));

    text.push(b'#');
    let (co, errors) = parse(&text);
    assert!(co.rules().is_empty());
    assert_eq!(co.decide("x"), None);
    assert_eq!(positions(&errors), [(1, 1)]);
    assert!(errors[0].message.contains("3 MB"), "{}", errors[0].message);

    text.extend_from_slice(b"\n* @h\n");
    assert_eq!(parse(&text).1.len(), 1);
}

#[test]
fn inline_comments_end_the_owner_list() {
    let (co, errors) =
        parse(b"*.js @js-owner #This is an inline comment.\n/docs/ # nobody\n*.rs @a #c @b\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        owners_of(&co, "lib/a.js"),
        Some(vec!["@js-owner".to_owned()])
    );
    assert_eq!(owners_of(&co, "docs/x"), Some(vec![]));
    assert_eq!(owners_of(&co, "src/a.rs"), Some(vec!["@a".to_owned()]));
    // Whole-line comments, also after leading whitespace, and blank lines.
    let (co, errors) = parse(b"# c\n   # c\n\t#c\n\n   \n  /x/   @a   \n");
    assert!(errors.is_empty());
    assert_eq!(co.rules().len(), 1);
    assert_eq!(co.rules()[0].line, 6);
    assert_eq!(co.rules()[0].pattern, "/x/");
}

#[test]
fn escaped_space_and_brackets_are_literal() {
    let (co, errors) = parse(b"/a\\ b/ @o\nPath\\ With\\ Space.cs @p\n/pages/\\[id\\]/ @q\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(co.rules()[0].pattern, "/a\\ b/");
    assert_eq!(line_of(&co, "a b/c.txt"), Some(1));
    assert_eq!(line_of(&co, "a/c.txt"), None);
    assert_eq!(line_of(&co, "Testing/Path With Space.cs"), Some(2));
    assert_eq!(line_of(&co, "pages/[id]/index.tsx"), Some(3));
    assert_eq!(line_of(&co, "pages/i/index.tsx"), None);
}

#[test]
fn braces_are_literal() {
    let (co, errors) = parse(b"/src/{a,b}.rs @o\n");
    assert!(errors.is_empty());
    assert_eq!(line_of(&co, "src/{a,b}.rs"), Some(1));
    assert_eq!(line_of(&co, "src/a.rs"), None);
}

#[test]
fn crlf_and_tabs() {
    let (co, errors) = parse(b"* @g\r\n*.js\t@js\t@x\r\n/docs/ @d \r\n\r\n# c\r\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        owners_of(&co, "a.js"),
        Some(vec!["@js".to_owned(), "@x".to_owned()])
    );
    assert_eq!(owners_of(&co, "docs/a"), Some(vec!["@d".to_owned()]));
    assert_eq!(owners_of(&co, "a.rs"), Some(vec!["@g".to_owned()]));
    assert_eq!(co.rules().len(), 3);
}

#[test]
fn leading_bom_is_stripped() {
    let (co, errors) = parse(b"\xEF\xBB\xBF# comment\n* @g\n");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(line_of(&co, "x"), Some(2));
    let (co, errors) = parse(b"\xEF\xBB\xBF/docs/ @d\n");
    assert!(errors.is_empty());
    assert_eq!(line_of(&co, "docs/a"), Some(1));
    let (_, errors) = parse(b"\xEF\xBB\xBF[x] @o\n");
    assert_eq!(positions(&errors), [(1, 1)]);
    // Only at the very start: elsewhere it is an ordinary character.
    let (co, _) = parse("* @g\n\u{feff}x @o\n".as_bytes());
    assert_eq!(line_of(&co, "x"), Some(1));
    assert_eq!(line_of(&co, "\u{feff}x"), Some(2));
}

#[test]
fn glob_translation_matches_the_research_note() {
    use Target::{Directory as D, File as F, FileOrDirectory as FD};
    let cases = [
        ("foo", "**/foo", FD),
        ("/foo", "foo", FD),
        ("foo/", "**/foo", D),
        ("/build/logs/", "build/logs", D),
        ("docs/*", "docs/*", F),
        ("/*", "*", F),
        ("*", "**/*", F),
        ("*.js", "**/*.js", FD),
        ("foo/bar", "foo/bar", FD),
        ("/plugins/*/", "plugins/*", D),
        ("**", "**", F),
        ("/**", "**", F),
        ("**/logs", "**/logs", FD),
        ("foo/**", "foo/**", F),
        ("**/", "**", D),
        ("foo/**/", "foo/**", D),
        ("/src/{a,b}.rs", "src/\\{a,b\\}.rs", FD),
        ("f\\*o", "**/f\\*o", FD),
        ("a\\ b", "**/a b", FD),
        ("\\/x", "x", FD),
    ];
    for (pattern, glob, target) in cases {
        let (co, errors) = parse(format!("{pattern} @o\n").as_bytes());
        assert!(errors.is_empty(), "{pattern}: {errors:?}");
        assert_eq!(co.matchers[0], (glob.to_owned(), target), "{pattern}");
    }
}

#[test]
fn double_star_shapes() {
    let (co, _) = parse(b"foo/**/ @o\n");
    assert_eq!(line_of(&co, "foo/x"), None);
    assert_eq!(line_of(&co, "foo/x/y"), Some(1));
    assert_eq!(line_of(&co, "foo/x/y/z"), Some(1));
    let (co, _) = parse(b"/foo/**/bar/ @o\n");
    assert_eq!(line_of(&co, "foo/bar/x"), Some(1));
    assert_eq!(line_of(&co, "foo/a/b/bar/x"), Some(1));
    assert_eq!(line_of(&co, "foo/bar"), None);
    let (co, _) = parse(b"**/ @o\n");
    assert_eq!(line_of(&co, "a"), None);
    assert_eq!(line_of(&co, "a/b"), Some(1));
    let (co, _) = parse(b"a**b @o\n");
    assert_eq!(line_of(&co, "x/aZZb"), Some(1));
    assert_eq!(line_of(&co, "x/a/b"), None);
    let (co, _) = parse(b"/** @o\n");
    assert_eq!(line_of(&co, ".github/CODEOWNERS"), Some(1));
}

#[test]
fn decide_with_reuses_the_buffer_and_agrees_with_decide() {
    let (co, _) = parse(b"* @g\n*.rs @rs\n/src/ @src\n/src/gen/ \n");
    let mut scratch = Vec::new();
    for path in ["a", "a.rs", "src/a.rs", "src/gen/x.rs", "docs/x.rs"] {
        assert_eq!(
            co.decide_with(path, &mut scratch),
            co.decide(path),
            "{path}"
        );
    }
    let (empty, errors) = parse(b"");
    assert!(errors.is_empty() && empty.rules().is_empty());
    assert_eq!(empty.decide_with("a", &mut scratch), None);
}

#[test]
fn locations_are_in_github_order() {
    assert_eq!(
        LOCATIONS,
        [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
    );
}

/// A tiny deterministic PRNG (xorshift64*), so the mutation test needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The per-directory matching must give exactly what research note §3.3's two-glob
/// recipe gives (`base` and `base/**` on the path), with one correction: the note maps
/// `x/**/` to `x/**/**`, which globset collapses to `x/**`, so a file directly in `x`
/// would be owned. Here it becomes `x/**/*/**`.
#[test]
fn per_directory_matching_equals_the_two_glob_recipe() {
    fn recipe(pattern: &str) -> Vec<globset::GlobMatcher> {
        let (anchored_lead, core) = match pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (dir_only, core) = match core.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, core),
        };
        let base = if anchored_lead || core.contains('/') || core == "**" {
            core.to_owned()
        } else {
            format!("**/{core}")
        };
        let last = base.rsplit('/').next().unwrap();
        let globs = if dir_only && last == "**" {
            vec![format!("{base}/*/**")]
        } else if dir_only {
            vec![format!("{base}/**")]
        } else if last == "*" || last == "**" {
            vec![base]
        } else {
            vec![base.clone(), format!("{base}/**")]
        };
        globs
            .iter()
            .map(|g| glob_builder(g).build().unwrap().compile_matcher())
            .collect()
    }
    let segments = ["a", "b", "*", "**", "a*", "?", "x.md", "*.md"];
    let names = ["a", "b", "x.md", "ab", "c"];
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut checked = 0;
    for _ in 0..300 {
        let mut text = String::new();
        let mut patterns = Vec::new();
        for _ in 0..=rng.below(4) {
            let mut p: Vec<&str> = Vec::new();
            for _ in 0..=rng.below(3) {
                p.push(segments[rng.below(segments.len())]);
            }
            let mut pattern = p.join("/");
            if rng.below(2) == 0 {
                pattern.insert(0, '/');
            }
            if rng.below(3) == 0 {
                pattern.push('/');
            }
            text.push_str(&format!("{pattern} @o\n"));
            patterns.push(recipe(&pattern));
        }
        let (co, errors) = parse(text.as_bytes());
        assert!(errors.is_empty(), "{text}: {errors:?}");
        for _ in 0..20 {
            let path: Vec<&str> = (0..=rng.below(4))
                .map(|_| names[rng.below(names.len())])
                .collect();
            let path = path.join("/");
            let want = patterns
                .iter()
                .rposition(|globs| globs.iter().any(|g| g.is_match(&path)))
                .map(|i| u32::try_from(i + 1).unwrap());
            assert_eq!(line_of(&co, &path), want, "{path} against\n{text}");
            checked += 1;
        }
    }
    assert_eq!(checked, 6000);
}

#[test]
fn byte_mutations_never_panic() {
    let seed = "\u{feff}# comment\n* @g1 @g2\n*.js @js #inline\n/build/logs/ a@b.co\r\n\
                docs/* @d\n**/logs @l\n/a\\ b/ @o\n/pages/\\[id\\]/ @p\nfoo/**/bar @o\n\
                /plugins/*/ @org/team\n/src/{a,b}.rs @o\nf\\*o @o\n**/ @o\n/apps/github\n\
                é/ü @u\n";
    let alphabet = b"*?/\\[]{}!#@ \t\r\n.,-_aZ0\xff\xc3\xa9";
    let paths = [
        "a.js",
        "docs/a.md",
        "build/logs/x",
        "a b/c",
        "pages/[id]/x",
        "plugins/p/x",
        "é/ü",
        "",
        "/",
        "a//b",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut scratch = Vec::new();
    for _ in 0..2000 {
        let mut bytes = seed.as_bytes().to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            let byte = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, byte),
            }
        }
        let (co, errors) = parse(&bytes);
        for e in &errors {
            assert!(e.line >= 1 && e.column >= 1, "{e:?}");
        }
        for path in paths {
            let _ = co.decide_with(path, &mut scratch);
        }
        let _ = co.duplicate_patterns();
        let _ = co.shadowed_rules(paths);
    }
    // Every truncation too (a dangling escape, a cut UTF-8 sequence, ...).
    for end in 0..=seed.len() {
        let (co, _) = parse(&seed.as_bytes()[..end]);
        let _ = co.decide("docs/a.md");
    }
}

/// Patterns too large for one `GlobSet` (globset's 10 MiB NFA limit) are split across
/// shards, and the last matching line still wins across shards. `parse` keeps a file
/// under that size (see [`MAX_WILDCARD_REGEX_BYTES`]), so the rules are built directly.
#[test]
fn rules_too_large_for_one_set_are_sharded() {
    // 100 patterns of 4,000 bytes do not fit one set together but do fit in several.
    // The wildcard goes last: a `*` followed by a long run of one letter would make
    // the regex engine track every offset of the run, quadratic on a long path.
    let long = "b".repeat(4_000);
    let mut lines = vec!["/s/ @a".to_owned()];
    for i in 0..100 {
        lines.push(format!("/{long}{i}* @b"));
    }
    lines.push("/s/x/ @c".to_owned());
    lines.push("/z/ @z".to_owned());
    let compiled: Vec<Compiled> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match parse_line(i as u32 + 1, l) {
            Ok(Some(c)) => c,
            _ => panic!("line {l} does not parse"),
        })
        .collect();
    let mut errors = Vec::new();
    let co = CodeOwners::from_compiled(compiled, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        co.shards.len() >= 2,
        "expected a split, got {} shard(s)",
        co.shards.len()
    );
    assert_eq!(line_of(&co, "s/x/y"), Some(102));
    assert_eq!(line_of(&co, "s/q"), Some(1));
    assert_eq!(line_of(&co, "z/q"), Some(103));
    assert_eq!(line_of(&co, "q"), None);
    assert_eq!(line_of(&co, &format!("{long}7q")), Some(9));
    assert_eq!(line_of(&co, &format!("{long}99")), Some(101));
    assert_eq!(co.shadowed_rules(["s/x/y", "s/q"]), Vec::<u32>::new());
}

/// A pattern over the length or wildcard limits is skipped and reported as a limit;
/// the other lines still work.
#[test]
fn a_pattern_over_the_limits_is_reported() {
    let text = format!(
        "* @g\n  /{}* @o\n/z/ @z\n{} @w\n",
        "b".repeat(400_000),
        "*a".repeat(40)
    );
    let (co, errors) = parse(text.as_bytes());
    assert_eq!(positions(&errors), [(2, 3), (4, 1)]);
    assert!(errors.iter().all(|e| e.limit), "{errors:?}");
    assert!(
        errors[0].message.contains("limit of 4096"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[1].message.contains("40 wildcards"),
        "{}",
        errors[1].message
    );
    let lines: Vec<u32> = co.rules().iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 3]);
    assert_eq!(line_of(&co, "z/q"), Some(3));
    assert_eq!(line_of(&co, "abbb"), Some(1));
}

/// Owners per line are bounded: the line is skipped, at the first owner over the limit.
#[test]
fn a_line_with_too_many_owners_is_skipped_as_a_limit() {
    let owners: Vec<String> = (0..=MAX_OWNERS_PER_LINE)
        .map(|i| format!("@u{i}"))
        .collect();
    let text = format!(
        "* @g\n/x/ {}\n/x/ {}\n",
        owners.join(" "),
        owners[1..].join(" ")
    );
    let (co, errors) = parse(text.as_bytes());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 2);
    assert!(errors[0].limit);
    let column = 5 + owners[..MAX_OWNERS_PER_LINE]
        .iter()
        .map(|o| o.len() + 1)
        .sum::<usize>();
    assert_eq!(errors[0].column as usize, column);
    assert_eq!(
        co.decide("x/a").map(|r| (r.line, r.owners.len())),
        Some((3, 256))
    );
}

/// Past the file-wide budget, wildcard lines are skipped; literal lines still count.
#[test]
fn wildcard_patterns_past_the_file_budget_are_skipped() {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("/d{i}/*x*y/*.q{i} @o\n/lit{i}/ @l\n"));
    }
    let (co, errors) = parse(text.as_bytes());
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e.limit && e.line % 2 == 1),
        "{:?}",
        errors.first()
    );
    assert_eq!(line_of(&co, "lit9999/a"), Some(20_000));
    assert_eq!(line_of(&co, "d0/axy/b.q0"), Some(1));
    assert_eq!(line_of(&co, "d9999/axy/b.q9999"), None);
}

#[test]
fn performance_2000_rules_50000_paths() {
    let mut text = String::from("* @org/everyone\n");
    for i in 0..2000 {
        let line = match i % 8 {
            0 => format!("/plugins/p{i}/ @org/t{i}\n"),
            1 => format!("*.ext{i} @u{i}\n"),
            2 => format!("docs/s{i}/* d{i}@example.com\n"),
            3 => format!("**/name{i} @u{i}\n"),
            4 => format!("/src/m{i}/**/gen/ @u{i}\n"),
            5 => format!("lib{i}/ @u{i}\n"),
            6 => format!("/x{i}/*.rs @u{i}\n"),
            _ => format!("/plugins/p{}/PLUGINS.lock\n", i - 7),
        };
        text.push_str(&line);
    }
    let paths: Vec<String> = (0..50_000)
        .map(|i| match i % 5 {
            0 => format!("plugins/p{}/src/f{i}.rs", (i / 5) % 2000),
            1 => format!("docs/s{}/page{i}.md", (i / 5) % 2000),
            2 => format!("src/m{}/a/gen/f{i}.ext{}", (i / 5) % 2000, i % 2000),
            3 => format!("deep/a/b/c/lib{}/name{}/f{i}", (i / 5) % 2000, i % 2000),
            _ => format!("x{}/y{i}.rs", (i / 5) % 2000),
        })
        .collect();
    let started = Instant::now();
    let (co, errors) = parse(text.as_bytes());
    assert!(errors.is_empty());
    let built = started.elapsed();
    let mut scratch = Vec::new();
    let mut decided = 0;
    let deciding = Instant::now();
    for path in &paths {
        if co.decide_with(path, &mut scratch).is_some() {
            decided += 1;
        }
    }
    // `*` on line 1 matches everything.
    assert_eq!(decided, paths.len());
    assert_eq!(line_of(&co, "plugins/p8/src/f.rs"), Some(10));
    assert_eq!(owners_of(&co, "plugins/p0/PLUGINS.lock"), Some(vec![]));
    assert_eq!(line_of(&co, "src/m4/a/b/gen/f"), Some(6));
    eprintln!(
        "2000 rules: built in {built:?}; 50000 paths decided in {:?}",
        deciding.elapsed()
    );
}

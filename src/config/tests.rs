use super::*;
use crate::yaml::MAX_DEPTH;
use std::time::{Duration, Instant};

fn ok(yaml: &str) -> Config {
    match parse(yaml.as_bytes()) {
        Ok(config) => config,
        Err(err) => panic!("{yaml:?}: {err}"),
    }
}

fn err(yaml: &str) -> ConfigError {
    match parse(yaml.as_bytes()) {
        Ok(config) => panic!("{yaml:?} parsed: {config:?}"),
        Err(err) => err,
    }
}

fn at(e: &ConfigError) -> (u32, u32) {
    (e.line, e.column)
}

#[test]
fn defaults() {
    let d = Config::default();
    assert_eq!(d.plugins, ["plugins/*"]);
    assert_eq!(d.lock, "plugins/PLUGINS.lock");
    assert_eq!(d.manifest, Some(crate::manifest::Spec::plugin_yaml()));
    assert_eq!(d.symlinks, SymlinkPolicy::Follow);
    assert!(d.required_owners.is_empty());
    assert!(d.plugins_must_be_owned);
    assert_eq!(d.hot, ["**/SKILL.md"]);
    assert!(d.severity.is_empty());
}

#[test]
fn empty_or_comments_only_gives_defaults() {
    for yaml in [
        "",
        "\n",
        "# nothing here\n  # at all\n",
        "---\n",
        "~\n",
        "\u{feff}# bom\n",
    ] {
        assert_eq!(ok(yaml), Config::default(), "{yaml:?}");
    }
}

#[test]
fn design_example() {
    let yaml = r#"plugins: ["plugins/*"]        # globs selecting plugin directories (`*` never crosses `/`)
lock: plugins/PLUGINS.lock
manifest: plugin.yaml         # or none (null also accepted): no manifest required
symlinks: follow              # or as-link (spec/DIGEST.md)
owners:
  required: ["@acme/platform"] # see "Ownership"; empty (the default): anyone
  plugins_must_be_owned: true  # default true: every plugin file needs an owner
reload:                        # for `diff`: changes that need no restart
  hot: ["**/SKILL.md"]         # globs relative to each plugin directory
severity:                      # per finding kind: error | warning | off
  lock_not_canonical: warning
"#;
    let c = ok(yaml);
    assert_eq!(c.required_owners, ["@acme/platform"]);
    assert_eq!(
        c.severity,
        [SeverityOverride {
            kind: "lock_not_canonical".into(),
            level: Level::Warning,
            line: 11,
            column: 3
        }]
    );
    let expected = Config {
        required_owners: vec!["@acme/platform".into()],
        severity: c.severity.clone(),
        plugin_lines: c.plugin_lines.clone(),
        ..Config::default()
    };
    assert_eq!(c, expected);
}

#[test]
fn every_key_set() {
    let c = ok(
        "plugins:\n  - plugins/*\n  - extra/**/x\nlock: locks/P.lock\nmanifest: skill.yml\n\
                symlinks: as-link\nowners:\n  required: [\"@a\", \"@b/c-d\", dev@example.com]\n  \
                plugins_must_be_owned: false\nreload:\n  hot: []\n",
    );
    assert_eq!(c.plugins, ["plugins/*", "extra/**/x"]);
    assert_eq!(c.lock, "locks/P.lock");
    assert_eq!(manifest_file(&c), Some("skill.yml"));
    assert_eq!(c.symlinks, SymlinkPolicy::AsLink);
    assert_eq!(c.required_owners, ["@a", "@b/c-d", "dev@example.com"]);
    assert!(!c.plugins_must_be_owned);
    assert!(c.hot.is_empty());
}

#[test]
fn unknown_top_level_key() {
    let e = err("lock: a/b.lock\n\nplugin: [\"plugins/*\"]\n");
    assert_eq!(at(&e), (3, 1));
    assert_eq!(
        e.message,
        "unknown key `plugin` (did you mean `plugins`? expected one of: plugins, exclude, lock, manifest, symlinks, owners, reload, severity, ignore)"
    );
    assert_eq!(
        e.to_string(),
        "line 3, column 1: unknown key `plugin` (did you mean `plugins`? expected one of: plugins, exclude, lock, manifest, symlinks, owners, reload, severity, ignore)"
    );
    // Nothing near: no guess.
    let e = err("colour: red\n");
    assert_eq!(
        e.message,
        "unknown key `colour` (expected one of: plugins, exclude, lock, manifest, symlinks, owners, reload, severity, ignore)"
    );
}

#[test]
fn unknown_nested_keys() {
    let e = err("lock: x.lock\nowners: {requird: []}\n");
    assert_eq!(at(&e), (2, 10));
    assert_eq!(
        e.message,
        "unknown key `requird` in `owners` (did you mean `required`? expected one of: required, plugins_must_be_owned)"
    );
    let e = err("owners:\n  required: []\n  requird: []\n");
    assert_eq!(at(&e), (3, 3));
    let e = err("reload:\n  hott: []\n");
    assert_eq!(at(&e), (2, 3));
    assert_eq!(
        e.message,
        "unknown key `hott` in `reload` (did you mean `hot`? expected one of: hot)"
    );
}

#[test]
fn non_string_keys() {
    let e = err("lock: x.lock\n1: x\n");
    assert_eq!(at(&e), (2, 1));
    assert!(
        e.message
            .starts_with("keys must be strings, found an integer"),
        "{}",
        e.message
    );
    let e = err("severity:\n  [a]: off\n");
    assert_eq!(at(&e), (2, 3));
}

#[test]
fn duplicate_keys_are_rejected() {
    let e = err("lock: a.lock\nlock: b.lock\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("duplicate"), "{}", e.message);
}

#[test]
fn top_level_must_be_a_mapping() {
    let e = err("- plugins/*\n");
    assert_eq!(at(&e), (1, 1));
    assert!(e.message.ends_with("found a sequence"), "{}", e.message);
}

#[test]
fn plugins_validation() {
    let cases = [
        (
            "plugins: plugins/*\n",
            (1, 10),
            "`plugins` must be a list of globs, found a string",
        ),
        (
            "plugins: []\n",
            (1, 10),
            "`plugins` must list at least one glob",
        ),
        (
            "plugins:\n",
            (1, 8),
            "`plugins` must be a list of globs, found null",
        ),
        (
            "plugins: [a, 3]\n",
            (1, 14),
            "`plugins` entries must be strings, found an integer",
        ),
        (
            "plugins: [a, \"\"]\n",
            (1, 14),
            "glob \"\" in `plugins` must not be empty",
        ),
        (
            "plugins:\n  - ok/*\n  - /abs/*\n",
            (3, 5),
            "glob \"/abs/*\" in `plugins` must be relative to the repository root (no leading `/`)",
        ),
        (
            "plugins: [\"a/../b/*\"]\n",
            (1, 11),
            "glob \"a/../b/*\" in `plugins` must not contain a `..` component",
        ),
        (
            "plugins: ['plugins\\*']\n",
            (1, 11),
            "glob \"plugins\\\\*\" in `plugins` must separate path components with `/`, not `\\`",
        ),
    ];
    for (yaml, pos, message) in cases {
        let e = err(yaml);
        assert_eq!((at(&e), e.message.as_str()), (pos, message), "{yaml:?}");
    }
    assert_eq!(
        ok("plugins: [\"..x/*\", \"a..b\"]").plugins,
        ["..x/*", "a..b"]
    );
}

#[test]
fn globs_over_the_limits_are_errors_at_their_line_and_shown_short() {
    let huge = "*".repeat(100_000);
    let e = err(&format!("plugins:\n  - ok/*\n  - \"{huge}\"\n"));
    assert_eq!(at(&e), (3, 5));
    assert!(
        e.message.contains("100000 bytes, over the limit of 1024"),
        "{}",
        e.message
    );
    assert!(e.message.len() < 200, "{}", e.message);
    let e = err(&format!("reload:\n  hot: [\"{}\"]\n", "a?".repeat(33)));
    assert_eq!(at(&e).0, 2);
    assert!(e.message.contains("33 wildcards"), "{}", e.message);
    let e = err("plugins: [\"a/{b,c\"]\n");
    assert!(e.message.contains("is not a valid glob"), "{}", e.message);
    assert!(compile_glob(&"*/".repeat(32)).is_ok());
    assert_eq!(shown_glob("abc"), "abc");
    assert_eq!(shown_glob(&"é".repeat(61)), format!("{}…", "é".repeat(60)));
}

#[test]
fn lock_validation() {
    for (yaml, message) in [
        ("lock: \"\"", "`lock` must not be empty"),
        (
            "lock: /etc/x.lock",
            "`lock` must be relative to the repository root",
        ),
        ("lock: plugins/", "`lock` must name a file"),
        (
            "lock: ../x.lock",
            "`lock` must not contain a `..` component",
        ),
        (
            "lock: a/../x.lock",
            "`lock` must not contain a `..` component",
        ),
        ("lock: ./x.lock", "`lock` must be a normalized path"),
        ("lock: a//x.lock", "`lock` must be a normalized path"),
        (
            "lock: 'a\\x.lock'",
            "`lock` must separate path components with `/`",
        ),
        ("lock: [a]", "`lock` must be a string, found a sequence"),
        ("lock: 5", "`lock` must be a string, found an integer"),
    ] {
        let e = err(&format!("# c\n{yaml}\n"));
        assert_eq!(at(&e), (2, 7), "{yaml}");
        assert!(e.message.starts_with(message), "{yaml}: {}", e.message);
    }
    assert_eq!(ok("lock: PLUGINS.lock").lock, "PLUGINS.lock");
    assert_eq!(ok("lock: a/b/c.json").lock, "a/b/c.json");
}

#[test]
fn manifest_none_and_null() {
    assert_eq!(ok("manifest: none\n").manifest, None);
    assert_eq!(ok("manifest: null\n").manifest, None);
    assert_eq!(ok("manifest: ~\n").manifest, None);
    assert_eq!(ok("manifest:\n").manifest, None);
    assert_eq!(ok("manifest: \"none\"\n").manifest, None);
    assert_eq!(
        manifest_file(&ok("manifest: extension.yml\n")),
        Some("extension.yml")
    );
}

fn manifest_file(c: &Config) -> Option<&str> {
    c.manifest.as_ref().map(|m| m.file.as_str())
}

#[test]
fn manifest_validation() {
    for (yaml, says) in [
        (
            "manifest: /plugin.yaml",
            "`manifest` must be relative to the plugin directory (no leading `/`), found \"/plugin.yaml\"",
        ),
        ("manifest: \"\"", "`manifest` must not be empty, found \"\""),
        (
            "manifest: ..",
            "`manifest` must not contain a `..` component, found \"..\"",
        ),
        (
            "manifest: a/../plugin.yaml",
            "`manifest` must not contain a `..` component",
        ),
        (
            "manifest: ./plugin.yaml",
            "`manifest` must be a normalized path (no `.` or empty components)",
        ),
        (
            "manifest: 'a\\b.yaml'",
            "`manifest` must separate path components with `/`, not `\\`",
        ),
        (
            "manifest: .claude-plugin/",
            "`manifest` must name a file, not a directory",
        ),
        (
            "manifest: plugin.toml",
            "`manifest` must end in .yaml or .yml (YAML), .md or .markdown (YAML front matter) or .json (JSON), found \"plugin.toml\"",
        ),
    ] {
        let e = err(yaml);
        assert_eq!(at(&e), (1, 11), "{yaml}");
        assert!(e.message.starts_with(says), "{yaml}: {}", e.message);
    }
    let e = err("manifest: [a]");
    assert_eq!(
        e.message,
        "`manifest` must be a path, `none`, or a mapping with `file`, found a sequence"
    );
    let e = err("manifest: false");
    assert_eq!(
        e.message,
        "`manifest` must be a path, `none`, or a mapping with `file`, found a boolean"
    );
}

#[test]
fn manifest_paths_and_formats() {
    use crate::manifest::{Field, Format};
    let c = ok("manifest: .claude-plugin/plugin.json\n");
    let m = c.manifest.unwrap();
    assert_eq!(m.file, ".claude-plugin/plugin.json");
    assert_eq!(m.format, Format::Json);
    assert_eq!(m.require, [Field::Name]);
    let m = ok("manifest: SKILL.md").manifest.unwrap();
    assert_eq!(m.format, Format::FrontMatter);
    assert_eq!(m.require, [Field::Name, Field::Description]);
    assert_eq!(ok("manifest: p.YML").manifest.unwrap().format, Format::Yaml);
}

#[test]
fn manifest_mapping() {
    use crate::manifest::{Field, NamePolicy};
    let m = ok("manifest: {file: SKILL.md, require: [description, name], name: any}\n")
        .manifest
        .unwrap();
    assert_eq!(m.file, "SKILL.md");
    assert_eq!(m.require, [Field::Name, Field::Description]);
    assert_eq!(m.name, NamePolicy::Any);
    // Only `file`: the format's defaults.
    let m = ok("manifest:\n  file: plugin.json\n").manifest.unwrap();
    assert_eq!(m.require, [Field::Name]);
    assert_eq!(m.name, NamePolicy::Directory);
    let m = ok("manifest:\n  name: directory\n  require: []\n  file: x/plugin.yaml\n")
        .manifest
        .unwrap();
    assert!(m.require.is_empty());
    assert_eq!(m.file, "x/plugin.yaml");
}

#[test]
fn manifest_mapping_errors() {
    for (yaml, pos, says) in [
        (
            "manifest:\n  file: SKILL.md\n  requires: [name]\n",
            (3, 3),
            "unknown key `requires` in `manifest` (did you mean `require`? expected one of: file, require, name)",
        ),
        (
            "manifest: {require: [name]}\n",
            (1, 11),
            "`manifest` needs a `file`: the manifest's path in each plugin",
        ),
        ("manifest: {}\n", (1, 11), "`manifest` needs a `file`"),
        (
            "manifest: {file: [a]}\n",
            (1, 18),
            "`manifest.file` must be a path, found a sequence",
        ),
        (
            "manifest: {file: none}\n",
            (1, 18),
            "`manifest.file` must end in .yaml",
        ),
        (
            "manifest: {file: ../SKILL.md}\n",
            (1, 18),
            "`manifest.file` must not contain a `..` component",
        ),
        (
            "manifest:\n  file: SKILL.md\n  require: [name, license]\n",
            (3, 19),
            "`manifest.require` entries must be one of name, version, description, found \"license\"",
        ),
        (
            "manifest: {file: SKILL.md, require: name}\n",
            (1, 37),
            "`manifest.require` must be a list of fields (name, version, description), found a string",
        ),
        (
            "manifest: {file: SKILL.md, require: [name, 1]}\n",
            (1, 44),
            "`manifest.require` entries must be strings, found an integer",
        ),
        (
            "manifest: {file: SKILL.md, require: [name, name]}\n",
            (1, 44),
            "`name` is listed twice in `manifest.require`",
        ),
        (
            "manifest: {file: SKILL.md, name: dir}\n",
            (1, 34),
            "`manifest.name` must be `directory` or `any`, found \"dir\"",
        ),
        (
            "manifest: {file: SKILL.md, name: true}\n",
            (1, 34),
            "`manifest.name` must be `directory` or `any`, found a boolean",
        ),
        (
            "manifest: {1: SKILL.md}\n",
            (1, 12),
            "keys in `manifest` must be strings",
        ),
    ] {
        let e = err(yaml);
        assert_eq!(at(&e), pos, "{yaml}: {}", e.message);
        assert!(e.message.starts_with(says), "{yaml}: {}", e.message);
    }
}

#[test]
fn symlinks_values() {
    assert_eq!(ok("symlinks: follow").symlinks, SymlinkPolicy::Follow);
    assert_eq!(ok("symlinks: as-link").symlinks, SymlinkPolicy::AsLink);
    let e = err("lock: x.lock\nsymlinks: bogus\n");
    assert_eq!(at(&e), (2, 11));
    assert_eq!(
        e.message,
        "`symlinks` must be `follow` or `as-link`, found \"bogus\""
    );
    let e = err("symlinks: true");
    assert_eq!(
        e.message,
        "`symlinks` must be `follow` or `as-link`, found a boolean"
    );
}

#[test]
fn owners_validation() {
    assert_eq!(ok("owners:\n").required_owners, Vec::<String>::new());
    assert!(ok("owners: {}\n").plugins_must_be_owned);
    for good in [
        "@user",
        "@org/team",
        "@my-org/team_name",
        "a.b@example.com",
        "@Org.Name/x",
    ] {
        assert_eq!(
            ok(&format!("owners: {{required: [{good:?}]}}")).required_owners,
            [good]
        );
    }
    for bad in [
        "user", "@", "@/team", "@org/", "@a/b/c", "@a b", "a@", "@", "a@b@c", "", "@x\ty",
    ] {
        let e = err(&format!("owners:\n  required:\n    - {bad:?}\n"));
        assert_eq!(at(&e), (3, 7), "{bad:?}");
        assert!(
            e.message
                .contains("must look like @user, @org/team or an email address"),
            "{}",
            e.message
        );
    }
    let e = err("owners:\n  required: \"@a\"\n");
    assert_eq!(at(&e), (2, 13));
    assert_eq!(
        e.message,
        "`owners.required` must be a list of owners, found a string"
    );
    let e = err("owners:\n  required: [[\"@a\"]]\n");
    assert_eq!(
        e.message,
        "`owners.required` entries must be strings, found a sequence"
    );
    let e = err("owners:\n  plugins_must_be_owned: \"yes\"\n");
    assert_eq!(at(&e), (2, 26));
    assert_eq!(
        e.message,
        "`owners.plugins_must_be_owned` must be true or false, found a string"
    );
    // YAML 1.2: `yes` is a string, not a boolean.
    assert!(
        err("owners: {plugins_must_be_owned: yes}")
            .message
            .ends_with("found a string")
    );
    let e = err("owners: [\"@a\"]\n");
    assert_eq!(e.message, "`owners` must be a mapping, found a sequence");
}

#[test]
fn reload_validation() {
    assert_eq!(ok("reload:\n").hot, ["**/SKILL.md"]);
    assert_eq!(ok("reload: {}\n").hot, ["**/SKILL.md"]);
    assert_eq!(
        ok("reload: {hot: [\"*.md\", docs/**]}\n").hot,
        ["*.md", "docs/**"]
    );
    let e = err("reload:\n  hot: [\"/x.md\"]\n");
    assert_eq!(at(&e), (2, 9));
    assert_eq!(
        e.message,
        "glob \"/x.md\" in `reload.hot` must be relative to the plugin directory (no leading `/`)"
    );
    let e = err("reload:\n  hot: \"**/SKILL.md\"\n");
    assert_eq!(
        e.message,
        "`reload.hot` must be a list of globs, found a string"
    );
    let e = err("reload: hot\n");
    assert_eq!(e.message, "`reload` must be a mapping, found a string");
}

#[test]
fn severity_overrides_keep_order_and_positions() {
    let c = ok(
        "severity:\n  lock_not_canonical: off\n  codeowners_missing: error\n  \
                made_up_kind: warning\n",
    );
    let got: Vec<_> = c
        .severity
        .iter()
        .map(|s| (s.kind.as_str(), s.level, s.line, s.column))
        .collect();
    assert_eq!(
        got,
        [
            ("lock_not_canonical", Level::Off, 2, 3),
            ("codeowners_missing", Level::Error, 3, 3),
            ("made_up_kind", Level::Warning, 4, 3),
        ]
    );
    assert!(ok("severity:\n").severity.is_empty());
    assert_eq!(ok("severity: {a: warning}").severity[0].column, 12);
}

#[test]
fn severity_validation() {
    let e = err("severity:\n  lock_not_canonical: warn\n");
    assert_eq!(at(&e), (2, 23));
    assert_eq!(
        e.message,
        "severity of `lock_not_canonical` must be error, warning or off, found \"warn\""
    );
    let e = err("severity:\n  x: false\n");
    assert_eq!(
        e.message,
        "severity of `x` must be error, warning or off, found a boolean"
    );
    let e = err("severity:\n  x:\n");
    assert_eq!(
        e.message,
        "severity of `x` must be error, warning or off, found null"
    );
    let e = err("severity:\n  1: off\n");
    assert_eq!(at(&e), (2, 3));
    assert_eq!(
        e.message,
        "keys in `severity` must be finding kinds, found an integer"
    );
    let e = err("severity: [x]\n");
    assert!(
        e.message.starts_with("`severity` must be a mapping"),
        "{}",
        e.message
    );
}

#[test]
fn cli_value_parsers() {
    assert_eq!(parse_symlink_policy("follow"), Some(SymlinkPolicy::Follow));
    assert_eq!(parse_symlink_policy("as-link"), Some(SymlinkPolicy::AsLink));
    assert_eq!(parse_symlink_policy("Follow"), None);
    assert_eq!(parse_symlink_policy("bogus"), None);
    assert_eq!(parse_level("error"), Some(Level::Error));
    assert_eq!(parse_level("warning"), Some(Level::Warning));
    assert_eq!(parse_level("off"), Some(Level::Off));
    assert_eq!(parse_level("warn"), None);
    assert_eq!(parse_level(""), None);
}

#[test]
fn syntax_error_position() {
    let e = err("lock: x.lock\nplugins: [a\n");
    assert_eq!(at(&e), (2, 10));
    assert_eq!(e.message, "unclosed bracket '['");
}

#[test]
fn aliases_work() {
    let c = ok("plugins: &p [\"a/*\"]\nreload:\n  hot: *p\n");
    assert_eq!(c.hot, ["a/*"]);
    let e = err("x: &bad /abs\nplugins: [*bad]\n");
    assert_eq!(e.line, 1);
    assert!(e.message.starts_with("unknown key `x`"), "{}", e.message);
}

#[test]
fn too_large() {
    let mut big = b"# ".to_vec();
    big.resize(MAX_CONFIG_BYTES + 1, b'x');
    let e = parse(&big).unwrap_err();
    assert_eq!(at(&e), (1, 1));
    assert!(e.message.contains("over the limit"), "{}", e.message);
    big.truncate(MAX_CONFIG_BYTES);
    assert_eq!(parse(&big).unwrap(), Config::default());
}

#[test]
fn invalid_utf8() {
    let e = parse(b"lock: x.lock\n# caf\xc3\xa9 \xc3\n").unwrap_err();
    assert_eq!(at(&e), (2, 8));
    assert!(e.message.contains("not valid UTF-8"), "{}", e.message);
}

fn assert_fast_rejection(yaml: &str) -> ConfigError {
    let start = Instant::now();
    let result = parse(yaml.as_bytes());
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    result.unwrap_err()
}

#[test]
fn alias_bomb_is_rejected_fast() {
    // 9 levels of 9 aliases: ~4 * 10^8 nodes if expanded.
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(", ");
        bomb.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
    }
    let e = assert_fast_rejection(&bomb);
    assert_eq!(e.message, "YAML aliases expand to more than 10000 nodes");
    assert!(e.line > 1);
    // Inside a section that is otherwise valid: the parser stops it before any check.
    let nested = format!(
        "severity:\n{}",
        bomb.replace(": &", "_kind: &")
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    let e = assert_fast_rejection(&nested);
    assert_eq!(e.message, "YAML aliases expand to more than 10000 nodes");
}

#[test]
fn deep_nesting_is_rejected_fast() {
    let n = 100_000;
    for yaml in [
        "[".repeat(n),
        format!("plugins: {}{}", "[".repeat(n), "]".repeat(n)),
        "{a: ".repeat(n),
        format!("owners:\n  required:\n    {}", "- ".repeat(n)),
    ] {
        let e = assert_fast_rejection(&yaml);
        assert!(e.message.contains("nesting"), "{}", e.message);
    }
    // Within the limit the structure is read and then rejected for its type.
    let deep = format!(
        "plugins: {}{}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(
        err(&deep).message,
        "`plugins` entries must be strings, found a sequence"
    );
}

/// Deterministic byte mutations: never a panic, every error positioned.
#[test]
fn mutations_never_panic() {
    let seeds: [&[u8]; 4] = [
        b"plugins: [\"plugins/*\"]\nlock: plugins/PLUGINS.lock\nmanifest: none\nsymlinks: as-link\n",
        b"owners:\n  required: [\"@acme/platform\", a@b.c]\n  plugins_must_be_owned: true\nreload:\n  hot: [\"**/SKILL.md\"]\n",
        b"severity:\n  lock_not_canonical: warning\n  x: off\n? [k]\n: &a {y: *a}\n",
        b"{plugins: [a/*], lock: 'l.lock', manifest: ~, owners: {required: []}, severity: {}}",
    ];
    const INTERESTING: &[u8] = b"[]{}:-?&*!|>'\"#%@`,\n\r\t \\/.\x00\xff\xc3";
    for bytes in crate::mutate::mutations(&seeds, INTERESTING, 3_000, 0x2545_f491_4f6c_dd1d, true) {
        if let Err(e) = parse(&bytes) {
            assert!(e.line >= 1 && e.column >= 1, "{e:?} for {bytes:?}");
            assert!(!e.message.is_empty());
        }
    }
}

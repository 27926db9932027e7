//! Manifests other than plugin.yaml (issue #10, "Manifests that exist"): Agent Skills
//! (`skills/*/SKILL.md`, YAML front matter), Claude Code plugins
//! (`.claude-plugin/plugin.json`), and the mapping form of `manifest:` with `require`
//! and `name`, through the binary on real repositories.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

const CONFIG: &str = ".plugin-lock.yml";
const SKILLS_CONFIG: &str =
    "plugins: [\"skills/*\"]\nlock: skills/SKILLS.lock\nmanifest: SKILL.md\n";
const PDF_SKILL: &str = "skills/pdf-tools/SKILL.md";

fn skill(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n# {name}\n\nUse it well.\n")
}

/// Two skills with `SKILLS_CONFIG`, locked by `update` and committed.
fn skills_repo() -> Repo {
    let repo = Repo::new();
    repo.write(CONFIG, SKILLS_CONFIG)
        .write(PDF_SKILL, skill("pdf-tools", "Fills PDF forms."))
        .write("skills/pdf-tools/scripts/fill.py", "print('fill')\n")
        .write(
            "skills/web-search/SKILL.md",
            "---\r\nname: web-search\r\ndescription: Searches the web.\r\nversion: 2024.1\r\n---\r\n",
        );
    repo.update_lock();
    repo.commit("two skills");
    repo
}

/// `verify --format json`, with the exit code agreeing with the verdict.
fn verify(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let (exit, doc) = verify_json(repo.path(), args, &[]);
    let verdict = if exit == 0 { "pass" } else { "fail" };
    assert_eq!(doc["verdict"], verdict, "exit {exit} but {doc:#}");
    (exit, doc)
}

/// The only finding of the report, which must be of `kind`.
fn sole<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    let all = findings(doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    assert_eq!(all[0]["kind"], kind, "{doc:#}");
    &all[0]
}

fn at(f: &Value) -> (&str, u64, u64) {
    (
        f["path"].as_str().unwrap_or_default(),
        f["line"].as_u64().unwrap_or_default(),
        f["column"].as_u64().unwrap_or_default(),
    )
}

/// A JSON finding's message (the report appends the help after it).
fn said(f: &Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

/// The human report of a failing `verify`.
fn human(repo: &Repo) -> String {
    let out = repo.run(&["verify", "--color", "never"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// The versions `list --format json` reports, by plugin id.
fn versions(repo: &Repo) -> Vec<(String, Value)> {
    let out = repo.run(&["list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p["version"].clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Agent Skills: SKILL.md

#[test]
fn a_skills_repository_verifies_after_update() {
    let repo = skills_repo();
    let (exit, doc) = verify(&repo, &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(findings(&doc).is_empty(), "{doc:#}");
    assert_eq!(plugin_ids(&doc), ["pdf-tools", "web-search"]);
    // `version` is optional, and any string where present (CRLF front matter too).
    assert_eq!(
        versions(&repo),
        [
            ("pdf-tools".to_owned(), Value::Null),
            ("web-search".to_owned(), Value::String("2024.1".into())),
        ]
    );
}

#[test]
fn a_skill_with_a_bad_name_fails_at_its_line_and_column() {
    let repo = skills_repo();
    repo.write(
        PDF_SKILL,
        "---\n# The PDF skill\nname: PDF-Tools\ndescription: Fills PDF forms.\n---\n",
    );
    repo.update_lock();
    repo.commit("an uppercase name");
    let (exit, doc) = verify(&repo, &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let f = sole(&doc, "schema_violation");
    assert_eq!(at(f), (PDF_SKILL, 3, 7));
    assert_eq!(f["plugin"], "pdf-tools");
    assert!(
        said(f).starts_with(
            "manifest of plugin `pdf-tools`: name \"PDF-Tools\" may hold only lowercase letters a-z, digits and hyphens, found 'P'. "
        ),
        "{f:#}"
    );
    // The help names the configured file and the Agent Skills rules, not plugin.yaml.
    let text = human(&repo);
    assert!(text.contains(&format!("--> {PDF_SKILL}:3:7\n")), "{text}");
    assert!(
        text.contains("help: fix `SKILL.md`: `name` (required) must be 1–64 lowercase letters"),
        "{text}"
    );
    assert!(
        !text.contains("plugin.yaml") && !text.contains("semver"),
        "{text}"
    );
}

#[test]
fn a_skill_named_after_another_directory_fails() {
    let repo = skills_repo();
    repo.write(PDF_SKILL, skill("web-search", "Fills PDF forms."));
    repo.update_lock();
    repo.commit("a copied skill");
    let (_, doc) = verify(&repo, &[]);
    let f = sole(&doc, "schema_violation");
    assert_eq!(at(f), (PDF_SKILL, 2, 7));
    assert!(
        said(f).starts_with(
            "manifest of plugin `pdf-tools`: name \"web-search\" does not match the plugin directory \"pdf-tools\""
        ),
        "{f:#}"
    );
}

#[test]
fn skill_front_matter_errors_are_findings() {
    for (content, line, says) in [
        (
            "# PDF tools\n\nNo front matter.\n".to_owned(),
            1,
            "SKILL.md has no front matter: it must start with a `---` line",
        ),
        (
            "---\nname: pdf-tools\ndescription: x\n".to_owned(),
            1,
            "SKILL.md's front matter is not closed",
        ),
        (
            format!(
                "---\nname: pdf-tools\ndescription: {}\n---\n",
                "d".repeat(1025)
            ),
            3,
            "description is 1025 characters long, over the limit of 1024",
        ),
        (
            "\u{feff}---\nname: pdf-tools\n---\n".to_owned(),
            2,
            "missing required key `description`",
        ),
    ] {
        let repo = skills_repo();
        repo.write(PDF_SKILL, &content);
        repo.update_lock();
        repo.commit("a broken skill");
        let (exit, doc) = verify(&repo, &[]);
        assert_eq!(exit, 4, "{doc:#}");
        let f = sole(&doc, "schema_violation");
        assert_eq!(f["path"], PDF_SKILL);
        assert_eq!(f["line"], line, "{f:#}");
        assert!(said(f).contains(says), "{f:#}");
    }
}

#[test]
fn an_alias_bomb_in_a_front_matter_is_refused_quickly() {
    let repo = skills_repo();
    let mut text = String::from(
        "---\nname: pdf-tools\ndescription: d\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text.push_str("---\n");
    repo.write(PDF_SKILL, &text);
    repo.update_lock();
    repo.commit("a bomb");
    let start = Instant::now();
    let bounded = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    bounded.assert_within_bounds("alias bomb in SKILL.md");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(code(&bounded.output), 4);
    let doc = json(&bounded.output);
    let f = sole(&doc, "schema_violation");
    assert!(said(f).contains("aliases"), "{f:#}");
}

#[test]
fn a_missing_skill_file_says_what_to_add() {
    let repo = skills_repo();
    repo.remove(PDF_SKILL);
    repo.update_lock();
    repo.commit("no SKILL.md");
    let (_, doc) = verify(&repo, &[]);
    let f = sole(&doc, "missing_manifest");
    assert!(
        said(f).starts_with("plugin `pdf-tools` has no `SKILL.md`. "),
        "{f:#}"
    );
    assert_eq!(f["path"], "skills/pdf-tools/scripts/fill.py");
    let text = human(&repo);
    assert!(
        text.contains(
            "help: add `skills/pdf-tools/SKILL.md` starting with YAML front matter between `---` lines with `name: pdf-tools` and a `description`, or set `manifest: none` in .plugin-lock.yml"
        ),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Claude Code plugins: .claude-plugin/plugin.json

const FMT_JSON: &str = "plugins/formatter/.claude-plugin/plugin.json";

/// A Claude Code plugin tree (two plugins, manifests in `.claude-plugin/`), locked.
fn claude_repo() -> Repo {
    let repo = Repo::new();
    repo.write(CONFIG, "manifest: .claude-plugin/plugin.json\n")
        .write(
            FMT_JSON,
            "{\n  \"name\": \"formatter\",\n  \"version\": \"1.2.0\",\n  \"description\": \"Formats code\",\n  \"author\": {\"name\": \"Dev\"}\n}\n",
        )
        .write("plugins/formatter/commands/format.md", "Format the code.\n")
        .write(
            "plugins/reviewer/.claude-plugin/plugin.json",
            "{\"name\": \"reviewer\"}",
        )
        .write("plugins/reviewer/agents/review.md", "Review.\n");
    repo.update_lock();
    repo.commit("two Claude Code plugins");
    repo
}

#[test]
fn a_claude_code_plugin_tree_verifies() {
    let repo = claude_repo();
    let (exit, doc) = verify(&repo, &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(findings(&doc).is_empty(), "{doc:#}");
    assert_eq!(
        versions(&repo),
        [
            ("formatter".to_owned(), Value::String("1.2.0".into())),
            ("reviewer".to_owned(), Value::Null),
        ]
    );
}

#[test]
fn plugin_json_problems_are_placed_in_the_file() {
    for (content, (line, column), says) in [
        (
            "{\n  \"name\": \"formatter\",\n  \"version\": \"1.2\"\n}\n",
            (3, 14),
            "version \"1.2\" is not semver (MAJOR.MINOR.PATCH)",
        ),
        (
            "{\n  \"name\": \"fmt\"\n}\n",
            (2, 11),
            "name \"fmt\" does not match the plugin directory \"formatter\"",
        ),
        (
            "{\"name\": \"formatter\",\n \"name\": \"other\"}",
            (2, 2),
            "duplicate key \"name\" (first at line 1)",
        ),
        ("[\"formatter\"]", (1, 1), "must be a JSON object"),
        ("{\"name\": \"formatter\",}", (1, 22), "trailing comma"),
    ] {
        let repo = claude_repo();
        repo.write(FMT_JSON, content);
        repo.update_lock();
        repo.commit("a broken plugin.json");
        let (exit, doc) = verify(&repo, &[]);
        assert_eq!(exit, 4, "{doc:#}");
        let f = sole(&doc, "schema_violation");
        assert_eq!(at(f), (FMT_JSON, line, column), "{content}: {f:#}");
        assert!(said(f).contains(says), "{f:#}");
    }
}

#[test]
fn a_100000_level_plugin_json_is_one_positioned_finding() {
    let repo = claude_repo();
    repo.write(FMT_JSON, "[".repeat(100_000));
    repo.update_lock();
    repo.commit("deep");
    let bounded = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    bounded.assert_within_bounds("a 100,000-level plugin.json");
    assert_eq!(code(&bounded.output), 4, "{}", stderr(&bounded.output));
    let doc = json(&bounded.output);
    let f = sole(&doc, "schema_violation");
    assert_eq!(at(f), (FMT_JSON, 1, 33));
    assert!(
        said(f)
            .starts_with("manifest of plugin `formatter`: JSON nesting is deeper than 32 levels. "),
        "{f:#}"
    );
}

#[test]
fn a_missing_plugin_json_and_a_linked_manifest_directory() {
    let repo = claude_repo();
    repo.remove("plugins/formatter/.claude-plugin");
    repo.update_lock();
    repo.commit("no manifest");
    let (_, doc) = verify(&repo, &[]);
    let f = sole(&doc, "missing_manifest");
    assert!(
        said(f).starts_with("plugin `formatter` has no `.claude-plugin/plugin.json`. "),
        "{f:#}"
    );
    let text = human(&repo);
    assert!(
        text.contains("help: add `plugins/formatter/.claude-plugin/plugin.json`, a JSON object with `\"name\": \"formatter\"`, or set `manifest: none`"),
        "{text}"
    );

    // `.claude-plugin` as a link to the other plugin's: named, not followed.
    repo.stage(
        "plugins/formatter/.claude-plugin",
        "120000",
        b"../reviewer/.claude-plugin",
    );
    repo.commit_index("a linked manifest directory");
    let (exit, doc) = verify(&repo, &["--rev", "HEAD"]);
    assert_eq!(exit, 4, "{doc:#}");
    let f = of_kind(&doc, "schema_violation");
    assert_eq!(f.len(), 1, "{doc:#}");
    assert_eq!(f[0]["path"], "plugins/formatter/.claude-plugin");
    assert!(
        said(f[0]).starts_with(
            "manifest of plugin `formatter`: `.claude-plugin` is a symlink, not a directory holding `plugin.json`. "
        ),
        "{:#}",
        f[0]
    );
}

// ---------------------------------------------------------------------------------------
// The mapping form

#[test]
fn the_mapping_form_sets_the_required_fields_and_the_name_rule() {
    let repo = skills_repo();
    // A skill published under another name, without a description.
    repo.write(PDF_SKILL, "---\nname: acme-pdf\n---\n");
    repo.write(
        CONFIG,
        "plugins: [\"skills/*\"]\nlock: skills/SKILLS.lock\nmanifest:\n  file: SKILL.md\n  require: [name]\n  name: any\n",
    );
    repo.update_lock();
    repo.commit("looser rules");
    let (exit, doc) = verify(&repo, &[]);
    assert_eq!(exit, 0, "{doc:#}");

    // Stricter: a version is required now, and the cache must not keep the old verdict.
    repo.write(
        CONFIG,
        "plugins: [\"skills/*\"]\nlock: skills/SKILLS.lock\nmanifest:\n  file: SKILL.md\n  require: [name, version]\n  name: any\n",
    );
    repo.commit("require a version");
    let (exit, doc) = verify(&repo, &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let missing: Vec<&str> = of_kind(&doc, "schema_violation")
        .iter()
        .map(|f| f["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["pdf-tools"], "{doc:#}");
    let f = of_kind(&doc, "schema_violation")[0];
    assert_eq!(at(f), (PDF_SKILL, 2, 1));
    assert!(
        said(f).starts_with("manifest of plugin `pdf-tools`: missing required key `version`. "),
        "{f:#}"
    );
    let text = human(&repo);
    assert!(
        text.contains("`version` (required) must be a string"),
        "{text}"
    );
}

#[test]
fn the_mapping_form_is_validated_strictly() {
    for (config, line, says) in [
        (
            "manifest:\n  file: SKILL.md\n  required: [name]\n",
            "3:3",
            "unknown key `required` in `manifest` (did you mean `require`? expected one of: file, require, name)",
        ),
        (
            "manifest: {file: SKILL.md, require: [name, author]}\n",
            "1:44",
            "`manifest.require` entries must be one of name, version, description, found \"author\"",
        ),
        (
            "manifest: {require: [name]}\n",
            "1:11",
            "`manifest` needs a `file`",
        ),
        (
            "manifest: plugin.toml\n",
            "1:11",
            "`manifest` must end in .yaml or .yml (YAML), .md or .markdown (YAML front matter) or .json (JSON)",
        ),
        (
            "manifest: ../plugin.yaml\n",
            "1:11",
            "`manifest` must not contain a `..` component",
        ),
    ] {
        let repo = two_plugins();
        repo.write(CONFIG, config);
        repo.commit("configuration");
        let out = repo.run(&["verify"]);
        assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("{CONFIG}:{line}")), "{config}: {err}");
        assert!(err.contains(says), "{config}: {err}");
    }
}

#[test]
fn the_manifest_flag_takes_a_path() {
    let repo = claude_repo();
    repo.write(CONFIG, "");
    repo.commit("no configuration");
    // plugin.yaml by default: both plugins lack one.
    let (_, doc) = verify(&repo, &[]);
    assert_eq!(of_kind(&doc, "missing_manifest").len(), 2, "{doc:#}");
    let (exit, doc) = verify(&repo, &["--manifest", ".claude-plugin/plugin.json"]);
    assert_eq!(exit, 0, "{doc:#}");
    let out = repo.run(&["verify", "--manifest", "/plugin.json"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--manifest must be relative to the plugin directory"),
        "{}",
        stderr(&out)
    );
}

//! CODEOWNERS through the binary: every GitHub-semantics vector (tests/vectors/
//! codeowners.json) via `owners PATH`, and the ownership findings of `verify` (the lock,
//! the configuration, plugins, syntax, the base-tree rule).

use serde_json::Value;

use crate::util::{
    Repo, code, json, of_kind, plugin_owners, project_root, stderr, stdout, verify_json,
};

const REQUIRED: &str = "@acme/platform";

fn vectors() -> Value {
    let path = project_root().join("tests/vectors/codeowners.json");
    let text = std::fs::read_to_string(&path).expect("vectors copied into tests/vectors");
    serde_json::from_str(&text).expect("vectors parse")
}

/// Whether GitHub flags (skips) a line of the case's CODEOWNERS: the vectors say so in
/// their note ("line 2 invalid", "Invalid pattern", and `/`, which GitHub rejects as
/// "will never match anything" — research/codeowners.md).
fn flagged(case: &Value) -> bool {
    case["note"].as_str().is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.contains("invalid") || n.contains("never match")
    })
}

#[test]
fn every_codeowners_vector_through_owners() {
    let doc = vectors();
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 50, "the vector file lost cases");
    let known = [
        "id",
        "codeowners",
        "path",
        "owners",
        "source",
        "note",
        "path_is_file",
    ];
    let repo = Repo::bare_of_owners();
    let mut failures = Vec::new();
    for case in cases {
        let id = &case["id"];
        for key in case.as_object().expect("case").keys() {
            assert!(
                known.contains(&key.as_str()),
                "case {id}: unknown key {key:?}; teach this test what it means"
            );
        }
        let text = case["codeowners"].as_str().expect("codeowners");
        let path = case["path"].as_str().expect("path");
        let location = case["location"].as_str().unwrap_or(".github/CODEOWNERS");
        // A fresh index per case: each case is its own commit's tree. The path exists
        // as a file (`path_is_file` cases: a file where a directory pattern would
        // apply), so the tree is what GitHub would see.
        let _ = std::fs::remove_file(repo.path().join(".git/index"));
        repo.stage(location, "100644", text.as_bytes());
        repo.stage(path, "100644", b"x\n");
        let commit = repo.commit_index(&format!("case {id}"));
        let out = repo.run(&["owners", path, "--rev", &commit, "--format", "json"]);
        let want: Vec<&str> = case["owners"]
            .as_array()
            .expect("owners")
            .iter()
            .map(|o| o.as_str().expect("owner"))
            .collect();
        let want_code = if flagged(case) { 4 } else { 0 };
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let got: Option<Vec<&str>> = doc["paths"][0]["owners"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        if got.as_deref() != Some(&want[..])
            || code(&out) != want_code
            || doc["codeowners"].as_str() != Some(location)
            || doc["paths"][0]["path"].as_str() != Some(path)
        {
            failures.push(format!(
                "case {id} ({text:?}, {path}): expected {want:?} exit {want_code}, got {got:?} exit {} ({})",
                code(&out),
                stderr(&out).trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A committed repository with two plugins, `codeowners` at .github/CODEOWNERS (none
/// when `None`) and `config` as .plugin-lock.yml (none when `None`).
fn repo_with(codeowners: Option<&str>, config: Option<&str>) -> Repo {
    let repo = Repo::bare_of_owners();
    repo.write("README.md", "fixture\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/src/main.py", "print('alpha')\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n")
        .write("plugins/beta/notes.txt", "beta notes\n");
    if let Some(text) = codeowners {
        repo.write(".github/CODEOWNERS", text);
    }
    if let Some(text) = config {
        repo.write(".plugin-lock.yml", text);
    }
    repo.update_lock();
    repo.commit("fixture");
    repo
}

fn required_config() -> String {
    format!("owners:\n  required: [\"{REQUIRED}\"]\n")
}

fn ownership_kinds(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .filter(|k| k.starts_with("codeowners_") || k.contains("owned") || k.contains("owner"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_well_owned_repository_passes() {
    let owners =
        format!("* @team/devs\n/plugins/PLUGINS.lock {REQUIRED}\n/.plugin-lock.yml {REQUIRED}\n");
    let repo = repo_with(Some(&owners), Some(&required_config()));
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 0, "{doc:#}");
    assert!(ownership_kinds(&doc).is_empty(), "{doc:#}");
    assert_eq!(doc["verdict"], "pass");
}

#[test]
fn a_lock_owned_by_someone_else_is_not_owned() {
    let owners = format!("* {REQUIRED}\n/plugins/PLUGINS.lock @someone-else\n");
    let repo = repo_with(Some(&owners), Some(&required_config()));
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "lock_not_owned");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["path"], ".github/CODEOWNERS");
    assert_eq!(found[0]["line"], 2);
    assert_eq!(found[0]["severity"], "error");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("plugins/PLUGINS.lock")
    );
}

#[test]
fn one_outsider_beside_the_required_owner_breaks_ownership() {
    let owners = format!("* {REQUIRED}\n/plugins/PLUGINS.lock {REQUIRED} @mallory\n");
    let repo = repo_with(Some(&owners), Some(&required_config()));
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "lock_not_owned");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["line"], 2);
    assert_eq!(
        found[0]["owners"],
        serde_json::json!([REQUIRED, "@mallory"])
    );
}

#[test]
fn an_explicitly_unowned_lock_is_not_owned() {
    let repo = repo_with(Some("* @team/devs\n/plugins/PLUGINS.lock\n"), None);
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "lock_not_owned");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["path"], ".github/CODEOWNERS");
    assert_eq!(found[0]["line"], 2);
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("explicitly unowned"),
        "{doc:#}"
    );
}

#[test]
fn a_plugin_with_unowned_files_is_reported() {
    let owners = "/plugins/PLUGINS.lock @team/devs\n/plugins/alpha/ @team/alpha\n/plugins/beta/plugin.yaml @team/beta\n";
    let repo = repo_with(Some(owners), None);
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "plugin_not_owned");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["plugin"], "beta");
    assert_eq!(found[0]["path"], ".github/CODEOWNERS");
    assert_eq!(
        found[0]["unowned"],
        serde_json::json!(["plugins/beta/notes.txt"])
    );
}

#[test]
fn an_invalid_codeowners_line_is_a_syntax_error_with_line_and_column() {
    let repo = repo_with(Some("* @team/devs\n/docs/ not-an-owner\n"), None);
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "codeowners_syntax");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["path"], ".github/CODEOWNERS");
    assert_eq!(found[0]["line"], 2);
    assert_eq!(found[0]["column"], 8, "{doc:#}");
    assert_eq!(found[0]["severity"], "error");
    // `owners` refuses too.
    let out = repo.run(&["owners", "README.md"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".github/CODEOWNERS:2:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_codeowners_is_a_warning_and_an_error_when_owners_are_required() {
    let repo = repo_with(None, None);
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 0, "{doc:#}");
    let found = of_kind(&doc, "codeowners_missing");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["path"], "plugins/PLUGINS.lock");

    let repo = repo_with(None, Some(&required_config()));
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "codeowners_missing");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["severity"], "error");
}

#[test]
fn duplicate_patterns_and_shadowed_rules_are_warnings() {
    let owners =
        "/plugins/alpha/ @team/a\n* @team/devs\n/README.md @team/docs\n/README.md @team/docs2\n";
    let repo = repo_with(Some(owners), None);
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 0, "{doc:#}");
    let dup = of_kind(&doc, "codeowners_duplicate_pattern");
    assert_eq!(dup.len(), 1, "{doc:#}");
    assert_eq!(dup[0]["line"], 3);
    assert_eq!(dup[0]["severity"], "warning");
    let shadowed = of_kind(&doc, "codeowners_shadowed_rule");
    let lines: Vec<&Value> = shadowed.iter().map(|f| &f["line"]).collect();
    assert!(lines.contains(&&Value::from(1)), "{doc:#}");
    assert!(
        shadowed.iter().all(|f| f["severity"] == "warning"),
        "{doc:#}"
    );
}

#[test]
fn a_second_codeowners_location_is_ignored_and_flagged() {
    let repo = repo_with(Some("* @team/devs\n"), None);
    repo.write("CODEOWNERS", "* @someone-else\n");
    repo.commit("second codeowners");
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(c, 0, "{doc:#}");
    let found = of_kind(&doc, "codeowners_multiple_files");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["path"], "CODEOWNERS");
    assert_eq!(found[0]["severity"], "warning");
    let out = repo.run(&["owners", "README.md", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(doc["codeowners"], ".github/CODEOWNERS");
    assert_eq!(doc["paths"][0]["owners"], serde_json::json!(["@team/devs"]));
}

#[test]
fn a_head_that_reassigns_the_lock_fails_against_its_base() {
    let good = format!("* {REQUIRED}\n");
    let repo = repo_with(Some(&good), Some(&required_config()));
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write(
        ".github/CODEOWNERS",
        format!("* {REQUIRED}\n/plugins/PLUGINS.lock @mallory\n"),
    );
    let head = repo.commit("take the lock");
    let (c, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let changed = of_kind(&doc, "lock_ownership_changed");
    assert_eq!(changed.len(), 1, "{doc:#}");
    assert_eq!(changed[0]["path"], ".github/CODEOWNERS");
    assert_eq!(changed[0]["line"], 2);
    // Ownership itself is judged by the base file, where the lock is owned as required.
    assert!(of_kind(&doc, "lock_not_owned").is_empty(), "{doc:#}");
    // Without a base the head's own file decides: the lock is not owned as required.
    let (c, doc) = verify_json(repo.path(), &["--rev", &head], &[]);
    assert_eq!(c, 4);
    assert_eq!(of_kind(&doc, "lock_not_owned").len(), 1, "{doc:#}");
    assert!(of_kind(&doc, "lock_ownership_changed").is_empty());

    // The same CODEOWNERS already on the base: nothing changes, and judged by the base.
    let repo = repo_with(Some(&good), Some(&required_config()));
    repo.write("README.md", "edited\n");
    let base = repo.commit("unrelated");
    repo.write("README.md", "edited again\n");
    repo.commit("unrelated again");
    let (c, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(c, 0, "{doc:#}");
    assert!(ownership_kinds(&doc).is_empty(), "{doc:#}");
}

#[test]
fn a_base_lock_owned_by_an_outsider_is_judged_by_the_base_file() {
    // The base gives the lock to an outsider; a head that "fixes" it still fails: the
    // base file decides (as GitHub reads CODEOWNERS from the base), and the fix is a
    // change of ownership.
    let bad = format!("* {REQUIRED}\n/plugins/PLUGINS.lock @mallory\n");
    let repo = repo_with(Some(&bad), Some(&required_config()));
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write(".github/CODEOWNERS", format!("* {REQUIRED}\n"));
    repo.commit("fix ownership");
    let (c, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let not_owned = of_kind(&doc, "lock_not_owned");
    assert_eq!(not_owned.len(), 1, "{doc:#}");
    assert_eq!(not_owned[0]["line"], 2);
    assert_eq!(of_kind(&doc, "lock_ownership_changed").len(), 1, "{doc:#}");
}

#[test]
fn a_head_config_cannot_switch_the_ownership_check_off() {
    let owners = format!("* {REQUIRED}\n/plugins/PLUGINS.lock @mallory\n");
    let repo = repo_with(Some(&owners), Some(&required_config()));
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write(
        ".plugin-lock.yml",
        format!("{}severity:\n  lock_not_owned: off\n", required_config()),
    );
    repo.commit("silence the check");
    let (c, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(c, 4, "{doc:#}");
    let found = of_kind(&doc, "lock_not_owned");
    assert!(!found.is_empty(), "{doc:#}");
    assert!(found.iter().all(|f| f["severity"] == "error"));
    // Without a base, the tree's own configuration applies (that is what `off` is for).
    let (c, doc) = verify_json(repo.path(), &[], &[]);
    assert!(of_kind(&doc, "lock_not_owned").is_empty(), "{doc:#}");
    assert_eq!(c, 0, "{doc:#}");
}

#[test]
fn a_base_missing_from_the_repository_is_base_unavailable() {
    let repo = repo_with(Some("* @team/devs\n"), None);
    let missing = "0123456789abcdef0123456789abcdef01234567";
    let (c, doc) = verify_json(repo.path(), &["--base", missing], &[]);
    assert_eq!(c, 0, "{doc:#}");
    let found = of_kind(&doc, "base_unavailable");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["path"], "plugins/PLUGINS.lock");
}

#[test]
fn list_shows_each_plugins_owners() {
    let owners = "* @team/devs\n/plugins/alpha/ @team/alpha @alice\n/plugins/beta/notes.txt @bob\n";
    let repo = repo_with(Some(owners), None);
    let out = repo.run(&["list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    let owners_of = |id: &str| plugin_owners(&doc, id);
    assert_eq!(
        owners_of("alpha"),
        serde_json::json!(["@team/alpha", "@alice"])
    );
    assert_eq!(owners_of("beta"), serde_json::json!(["@bob", "@team/devs"]));
}

#[test]
fn owners_human_output_is_path_and_owners() {
    let repo = repo_with(
        Some("/plugins/ @team/a @bob\n/plugins/PLUGINS.lock @team/a\n"),
        None,
    );
    let out = repo.run(&[
        "owners",
        "plugins/alpha/plugin.yaml",
        "README.md",
        "--format",
        "human",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "plugins/alpha/plugin.yaml  @team/a @bob\nREADME.md  -\n"
    );
    // From a subdirectory, paths are relative to it, as git pathspecs are.
    let out = crate::util::run_in(
        &repo.path().join("plugins"),
        &["owners", "alpha/plugin.yaml"],
    );
    assert_eq!(stdout(&out), "plugins/alpha/plugin.yaml  @team/a @bob\n");
}

//! What changed: `verify --base` explanations (files since the base, whether the lock
//! moved, a base missing from the repository, a pull request's base in Actions),
//! `diff A B` classes (added, removed, unchanged, hot, cold), and release tags checked
//! with `verify --rev <tag>`.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

const LOCK: &str = "plugins/PLUGINS.lock";

/// `alpha` with code and a nested skill, `beta` with notes; a correct committed lock.
/// Returns the repository and the commit id.
fn skills_repo() -> (Repo, String) {
    let repo = Repo::new();
    repo.write("README.md", "fixture\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/main.py", "print('alpha')\n")
        .write("plugins/alpha/old.txt", "to be removed\n")
        .write("plugins/alpha/skills/x/SKILL.md", "# x\nDo x.\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n")
        .write("plugins/beta/notes.txt", "beta notes\n");
    repo.update_lock();
    let id = repo.commit("two plugins");
    (repo, id)
}

fn finding<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    findings(doc)
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} finding: {doc:#}"))
}

/// The `changes` field of a finding as `(path, change)` pairs.
fn change_list(f: &Value) -> Vec<(String, String)> {
    f["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes field: {f:#}"))
        .iter()
        .map(|c| {
            (
                c["path"].as_str().expect("path").to_owned(),
                c["change"].as_str().expect("change").to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

fn short(id: &str) -> &str {
    &id[..12]
}

/// A lock entry replaced by a well-formed but wrong digest.
fn set_lock_entry(repo: &Repo, id: &str, hex: &str) {
    let mut lock: serde_json::Map<String, Value> =
        serde_json::from_slice(&repo.read(LOCK)).expect("lock is JSON");
    lock.insert(id.to_owned(), Value::String(hex.to_owned()));
    let mut text = serde_json::to_string_pretty(&lock).expect("render");
    text.push('\n');
    repo.write(LOCK, text);
}

/// A `file://` URL for a local path, on Unix and on Windows (`file:///C:/...`).
fn file_url(path: &Path) -> String {
    let p = path.to_string_lossy().replace('\\', "/");
    if p.starts_with('/') {
        format!("file://{p}")
    } else {
        format!("file:///{p}")
    }
}

// ---------------------------------------------------------------------------------
// verify --base

#[test]
fn base_lists_the_files_added_modified_and_removed_when_the_lock_was_not_updated() {
    let (repo, base) = skills_repo();
    repo.write("plugins/alpha/main.py", "print('tampered')\n")
        .write("plugins/alpha/extra/new.py", "import os\n");
    repo.remove("plugins/alpha/old.txt");
    repo.commit("tamper with alpha");

    let (status, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(status, 4, "{doc:#}");
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "one finding, no warning: {doc:#}");
    let f = &all[0];
    assert_eq!(f["kind"], "integrity_mismatch");
    assert_eq!(f["plugin"], "alpha");
    assert_eq!(
        change_list(f),
        pairs(&[
            ("plugins/alpha/extra/new.py", "added"),
            ("plugins/alpha/main.py", "modified"),
            ("plugins/alpha/old.txt", "removed"),
        ])
    );
    assert_eq!(f["lock_changed"], false);
    let message = f["message"].as_str().expect("message");
    let wording = format!(
        "files changed since {} but the lock was not updated",
        short(&base)
    );
    assert!(message.contains(&wording), "{message}");
    assert!(message.contains("plugin-lock update"), "{message}");

    // People see the same: the wording in the headline, one note per file.
    let out = repo.run(&["verify", "--base", &base]);
    assert_eq!(code(&out), 4);
    let text = stdout(&out);
    assert!(text.contains(&wording), "{text}");
    for line in [
        "added:    plugins/alpha/extra/new.py",
        "modified: plugins/alpha/main.py",
        "removed:  plugins/alpha/old.txt",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(!text.contains("beta"), "{text}");
}

#[test]
fn without_a_base_a_mismatch_has_no_explanation_fields() {
    let (repo, _) = skills_repo();
    repo.write("plugins/alpha/main.py", "print('tampered')\n");
    repo.commit("tamper with alpha");
    let (status, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(status, 4);
    let f = finding(&doc, "integrity_mismatch");
    assert!(f.get("changes").is_none(), "{f:#}");
    assert!(f.get("lock_changed").is_none(), "{f:#}");
}

#[test]
fn base_with_a_lock_entry_changed_to_a_wrong_value_says_the_lock_was_updated() {
    let (repo, base) = skills_repo();
    set_lock_entry(&repo, "beta", &"ab".repeat(32));
    repo.commit("a wrong lock entry for beta");

    let (status, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(status, 4, "{doc:#}");
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    let f = &all[0];
    assert_eq!(f["kind"], "integrity_mismatch");
    assert_eq!(f["plugin"], "beta");
    assert_eq!(f["expected"], "ab".repeat(32));
    assert_eq!(f["lock_changed"], true);
    assert_eq!(change_list(f), pairs(&[]), "no file of beta changed");
    let message = f["message"].as_str().expect("message");
    let wording = format!(
        "the lock was updated since {} but does not match the files",
        short(&base)
    );
    assert!(message.contains(&wording), "{message}");
    assert!(!message.contains("was not updated"), "{message}");

    let text = stdout(&repo.run(&["verify", "--base", &base]));
    assert!(text.contains(&wording), "{text}");
    assert!(
        text.contains(&format!("none changed since {}", short(&base))),
        "{text}"
    );
}

#[test]
fn base_with_files_and_lock_both_changed_lists_the_files_and_says_the_lock_moved() {
    let (repo, base) = skills_repo();
    // `update` was run, then a file was edited again before the commit.
    repo.write("plugins/alpha/main.py", "print('v2')\n");
    repo.update_lock();
    repo.write("plugins/alpha/main.py", "print('v3')\n");
    repo.commit("alpha v2 locked, v3 committed");

    let (status, doc) = verify_json(repo.path(), &["--base", &base], &[]);
    assert_eq!(status, 4, "{doc:#}");
    let f = finding(&doc, "integrity_mismatch");
    assert_eq!(f["plugin"], "alpha");
    assert_eq!(f["lock_changed"], true);
    assert_eq!(
        change_list(f),
        pairs(&[("plugins/alpha/main.py", "modified")])
    );
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains("the lock was updated since") && message.contains("does not match"),
        "{message}"
    );
}

#[test]
fn a_base_id_missing_from_the_repository_is_a_warning_and_the_check_goes_on() {
    let (repo, _) = skills_repo();
    let missing = "0123456789abcdef0123456789abcdef01234567";

    // Nothing else wrong: the warning alone does not fail the check.
    let (status, doc) = verify_json(repo.path(), &["--base", missing], &[]);
    assert_eq!(status, 0, "{doc:#}");
    assert_eq!(doc["verdict"], "pass");
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    let w = &all[0];
    assert_eq!(w["kind"], "base_unavailable");
    assert_eq!(w["severity"], "warning");
    assert_eq!(w["path"], LOCK);
    assert_eq!(w["line"], 1);
    assert!(
        w["message"].as_str().expect("message").contains(missing),
        "{w:#}"
    );
    let out = repo.run(&["verify", "--base", missing]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("warning[base_unavailable]"), "{text}");
    assert!(text.contains("1 warning"), "{text}");

    // A tampered plugin still fails, unexplained, beside the warning.
    repo.write("plugins/beta/notes.txt", "changed\n");
    repo.commit("tamper with beta");
    let (status, doc) = verify_json(repo.path(), &["--base", missing], &[]);
    assert_eq!(status, 4, "{doc:#}");
    assert_eq!(doc["verdict"], "fail");
    let kinds: Vec<&str> = findings(&doc)
        .iter()
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["base_unavailable", "integrity_mismatch"], "{doc:#}");
    let f = finding(&doc, "integrity_mismatch");
    assert_eq!(f["plugin"], "beta");
    assert!(f.get("changes").is_none(), "{f:#}");
    assert!(f.get("lock_changed").is_none(), "{f:#}");

    // A short all-hex prefix that names nothing is the same.
    let (status, doc) = verify_json(repo.path(), &["--base", "0123456789ab"], &[]);
    assert_eq!(status, 4, "{doc:#}");
    finding(&doc, "base_unavailable");
}

#[test]
fn a_base_beyond_a_shallow_clone_is_unavailable() {
    let (origin, base) = skills_repo();
    origin.write("plugins/alpha/main.py", "print('tampered')\n");
    origin.commit("tamper with alpha");

    let parent = tempfile::tempdir().expect("temp dir");
    git_in(
        parent.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &file_url(origin.path()),
            "shallow",
        ],
    );
    let clone = parent.path().join("shallow");
    assert_eq!(
        git_in(&clone, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    let (status, doc) = verify_json(&clone, &["--base", &base], &[]);
    assert_eq!(status, 4, "{doc:#}");
    let w = finding(&doc, "base_unavailable");
    assert_eq!(w["severity"], "warning");
    assert!(
        w["message"].as_str().expect("message").contains(&base),
        "{w:#}"
    );
    let f = finding(&doc, "integrity_mismatch");
    assert_eq!(f["plugin"], "alpha");
    assert!(f.get("changes").is_none(), "{f:#}");
    // Ancestry past the shallow boundary is a commit the clone lacks, not a typo.
    let (status, doc) = verify_json(&clone, &["--base", "HEAD~1"], &[]);
    assert_eq!(status, 4, "{doc:#}");
    assert_eq!(finding(&doc, "base_unavailable")["severity"], "warning");

    // The same base in the full repository explains the change.
    let (status, doc) = verify_json(origin.path(), &["--base", &base], &[]);
    assert_eq!(status, 4);
    assert!(
        findings(&doc)
            .iter()
            .all(|f| f["kind"] != "base_unavailable"),
        "{doc:#}"
    );
    assert_eq!(
        change_list(finding(&doc, "integrity_mismatch")),
        pairs(&[("plugins/alpha/main.py", "modified")])
    );
}

#[test]
fn in_actions_a_pull_requests_base_is_used_without_the_flag() {
    let (repo, base) = skills_repo();
    repo.write("plugins/alpha/skills/x/SKILL.md", "# x\nDo y.\n");
    let head = repo.commit("edit the skill");
    let events = tempfile::tempdir().expect("temp dir");
    let event = events.path().join("event.json");
    std::fs::write(
        &event,
        format!(r#"{{"pull_request":{{"base":{{"sha":"{base}"}},"head":{{"sha":"{head}"}}}}}}"#),
    )
    .expect("write event");
    let event = event.to_str().expect("utf-8 path");
    let actions = [("GITHUB_ACTIONS", "true"), ("GITHUB_EVENT_PATH", event)];

    let (status, doc) = verify_json(repo.path(), &[], &actions);
    assert_eq!(status, 4, "{doc:#}");
    let f = finding(&doc, "integrity_mismatch");
    assert_eq!(f["lock_changed"], false);
    assert_eq!(
        change_list(f),
        pairs(&[("plugins/alpha/skills/x/SKILL.md", "modified")])
    );
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains(&format!("since {}", short(&base))),
        "{f:#}"
    );

    // Outside Actions the event file is not read.
    let (_, doc) = verify_json(repo.path(), &[], &[("GITHUB_EVENT_PATH", event)]);
    assert!(
        finding(&doc, "integrity_mismatch").get("changes").is_none(),
        "{doc:#}"
    );

    // `--base` wins over the event: with the head itself as base, nothing changed.
    let (_, doc) = verify_json(repo.path(), &["--base", &head], &actions);
    let f = finding(&doc, "integrity_mismatch");
    assert_eq!(change_list(f), pairs(&[]), "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains(&format!("since {}", short(&head))),
        "{f:#}"
    );
}

#[test]
fn in_actions_a_push_event_explains_nothing() {
    let (repo, _) = skills_repo();
    repo.write("plugins/alpha/main.py", "print('tampered')\n");
    let head = repo.commit("tamper");
    let events = tempfile::tempdir().expect("temp dir");
    let event = events.path().join("event.json");
    std::fs::write(
        &event,
        format!(r#"{{"after":"{head}","ref":"refs/heads/main"}}"#),
    )
    .expect("write event");
    let (status, doc) = verify_json(
        repo.path(),
        &[],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_PATH", event.to_str().expect("utf-8 path")),
        ],
    );
    assert_eq!(status, 4);
    assert_eq!(findings(&doc).len(), 1, "{doc:#}");
    assert!(
        finding(&doc, "integrity_mismatch").get("changes").is_none(),
        "{doc:#}"
    );
}

// ---------------------------------------------------------------------------------
// diff

fn diff_json(repo: &Repo, args: &[&str]) -> Value {
    let mut all = vec!["diff", "--format", "json"];
    all.extend_from_slice(args);
    let out = repo.run(&all);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json(&out)
}

fn entry<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no plugin {id}: {doc:#}"))
}

fn files_of(p: &Value) -> Vec<(String, String)> {
    p["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|c| {
            (
                c["path"].as_str().expect("path").to_owned(),
                c["change"].as_str().expect("change").to_owned(),
            )
        })
        .collect()
}

#[test]
fn diff_a_nested_skill_edit_is_hot() {
    let (repo, a) = skills_repo();
    repo.write("plugins/alpha/skills/x/SKILL.md", "# x\nDo x better.\n");
    repo.update_lock();
    let b = repo.commit("edit a skill");

    let doc = diff_json(&repo, &[&a, &b]);
    assert_eq!(doc["from"], a.as_str());
    assert_eq!(doc["to"], b.as_str());
    let alpha = entry(&doc, "alpha");
    assert_eq!(alpha["change"], "hot", "{doc:#}");
    assert_eq!(
        files_of(alpha),
        pairs(&[("plugins/alpha/skills/x/SKILL.md", "modified")])
    );

    let out = repo.run(&["diff", &a, &b]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("diff {}..{}", short(&a), short(&b))),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("alpha"))
        .unwrap_or_else(|| panic!("no alpha line:\n{text}"));
    assert!(line.trim_start().starts_with("hot"), "{text}");
    assert!(
        text.contains("modified  plugins/alpha/skills/x/SKILL.md"),
        "{text}"
    );
}

#[test]
fn diff_an_added_skill_file_is_cold() {
    let (repo, a) = skills_repo();
    repo.write("plugins/alpha/skills/y/SKILL.md", "# y\n");
    repo.update_lock();
    let b = repo.commit("add a skill");
    let alpha = entry(&diff_json(&repo, &[&a, &b]), "alpha").clone();
    assert_eq!(alpha["change"], "cold", "{alpha:#}");
    assert_eq!(
        files_of(&alpha),
        pairs(&[("plugins/alpha/skills/y/SKILL.md", "added")])
    );
}

#[test]
fn diff_a_removed_skill_file_is_cold() {
    let (repo, a) = skills_repo();
    repo.remove("plugins/alpha/skills/x/SKILL.md");
    repo.update_lock();
    let b = repo.commit("remove a skill");
    let alpha = entry(&diff_json(&repo, &[&a, &b]), "alpha").clone();
    assert_eq!(alpha["change"], "cold", "{alpha:#}");
    assert_eq!(
        files_of(&alpha),
        pairs(&[("plugins/alpha/skills/x/SKILL.md", "removed")])
    );
}

#[test]
fn diff_a_code_edit_is_cold_even_beside_a_skill_edit() {
    let (repo, a) = skills_repo();
    repo.write("plugins/alpha/main.py", "print('v2')\n");
    repo.update_lock();
    let b = repo.commit("edit code");
    let alpha = entry(&diff_json(&repo, &[&a, &b]), "alpha").clone();
    assert_eq!(alpha["change"], "cold", "{alpha:#}");
    assert_eq!(
        files_of(&alpha),
        pairs(&[("plugins/alpha/main.py", "modified")])
    );

    repo.write("plugins/alpha/skills/x/SKILL.md", "# x\nchanged\n");
    repo.update_lock();
    let c = repo.commit("edit a skill");
    let alpha = entry(&diff_json(&repo, &[&a, &c]), "alpha").clone();
    assert_eq!(
        alpha["change"], "cold",
        "one cold file makes it cold: {alpha:#}"
    );
    assert_eq!(
        files_of(&alpha),
        pairs(&[
            ("plugins/alpha/main.py", "modified"),
            ("plugins/alpha/skills/x/SKILL.md", "modified"),
        ])
    );
    // From b to c only the skill changed.
    assert_eq!(
        entry(&diff_json(&repo, &[&b, &c]), "alpha")["change"],
        "hot"
    );
}

#[test]
fn diff_an_added_and_a_removed_plugin() {
    let (repo, a) = skills_repo();
    let beta_locked = {
        let lock: Value = serde_json::from_slice(&repo.read(LOCK)).expect("lock");
        lock["beta"].as_str().expect("hex").to_owned()
    };
    repo.remove("plugins/beta");
    repo.write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n")
        .write("plugins/gamma/run.py", "pass\n");
    repo.update_lock();
    let b = repo.commit("beta out, gamma in");
    let gamma_locked = {
        let lock: Value = serde_json::from_slice(&repo.read(LOCK)).expect("lock");
        lock["gamma"].as_str().expect("hex").to_owned()
    };

    let doc = diff_json(&repo, &[&a, &b]);
    let ids = plugin_ids(&doc);
    assert_eq!(ids, ["alpha", "beta", "gamma"], "sorted by id: {doc:#}");
    let beta = entry(&doc, "beta");
    assert_eq!(beta["change"], "removed");
    assert_eq!(beta["locked_from"], beta_locked.as_str());
    assert_eq!(beta["locked_to"], Value::Null);
    let gamma = entry(&doc, "gamma");
    assert_eq!(gamma["change"], "added");
    assert_eq!(gamma["locked_from"], Value::Null);
    assert_eq!(gamma["locked_to"], gamma_locked.as_str());

    let text = stdout(&repo.run(&["diff", &a, &b]));
    let line = |id: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no {id} line:\n{text}"))
            .to_owned()
    };
    assert!(line("beta").trim_start().starts_with("removed"), "{text}");
    assert!(
        line("beta").contains(&format!("lock {} -> -", short(&beta_locked))),
        "{text}"
    );
    assert!(line("gamma").trim_start().starts_with("added"), "{text}");
    assert!(
        line("gamma").contains(&format!("lock - -> {}", short(&gamma_locked))),
        "{text}"
    );

    // The other way round, the classes swap.
    let doc = diff_json(&repo, &[&b, &a]);
    assert_eq!(entry(&doc, "beta")["change"], "added");
    assert_eq!(entry(&doc, "gamma")["change"], "removed");
}

#[test]
fn diff_unchanged_plugins_are_listed_with_verbose_in_human_and_always_in_json() {
    let (repo, a) = skills_repo();
    // beta's git tree changes, its digest records do not (`__pycache__` is skipped).
    repo.write("plugins/alpha/main.py", "print('v2')\n")
        .write("README.md", "outside every plugin\n")
        .write("plugins/beta/__pycache__/notes.cpython-312.pyc", "bytecode");
    repo.update_lock();
    let b = repo.commit("edit alpha");
    assert_ne!(
        repo.git(&["rev-parse", &format!("{a}:plugins/beta")]),
        repo.git(&["rev-parse", &format!("{b}:plugins/beta")])
    );

    let doc = diff_json(&repo, &[&a, &b]);
    let beta = entry(&doc, "beta");
    assert_eq!(beta["change"], "unchanged");
    assert_eq!(files_of(beta), pairs(&[]));
    assert_eq!(beta["locked_from"], beta["locked_to"]);
    assert!(beta["locked_from"].is_string(), "{doc:#}");

    let text = stdout(&repo.run(&["diff", &a, &b]));
    assert!(!text.contains("beta"), "{text}");
    assert!(
        text.contains("(1 unchanged plugin(s); -v lists them)"),
        "{text}"
    );

    let text = stdout(&repo.run(&["diff", "-v", &a, &b]));
    let beta = text
        .lines()
        .find(|l| l.contains("beta"))
        .unwrap_or_else(|| panic!("-v lists beta:\n{text}"));
    assert!(beta.trim_start().starts_with("unchanged"), "{text}");
    assert!(!text.contains("-v lists them"), "{text}");

    // A revision against itself: everything unchanged.
    let doc = diff_json(&repo, &[&b, &b]);
    for p in doc["plugins"].as_array().expect("plugins") {
        assert_eq!(p["change"], "unchanged", "{doc:#}");
    }
}

#[test]
fn diff_a_range_equals_two_revisions() {
    let (repo, a) = skills_repo();
    repo.write("plugins/alpha/skills/x/SKILL.md", "# x\nagain\n")
        .write("plugins/beta/notes.txt", "more notes\n");
    repo.update_lock();
    let b = repo.commit("edits");

    for format in ["json", "human"] {
        let two = repo.run(&["diff", "--format", format, &a, &b]);
        let range = repo.run(&["diff", "--format", format, &format!("{a}..{b}")]);
        assert_eq!(code(&two), 0);
        assert_eq!(code(&range), 0);
        assert_eq!(stdout(&two), stdout(&range), "{format}");
    }
    // Names work as well as ids.
    repo.git(&["tag", "before", &a]);
    let named = repo.run(&["diff", "--format", "json", "before..HEAD"]);
    assert_eq!(code(&named), 0, "{}", stderr(&named));
    assert_eq!(json(&named), diff_json(&repo, &[&a, &b]));
}

#[test]
fn diff_custom_hot_globs_from_the_configuration() {
    let repo = Repo::new();
    repo.write(".plugin-lock.yml", "reload: {hot: [\"*.md\"]}\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/README.md", "readme\n")
        .write("plugins/alpha/docs/guide.md", "guide\n")
        .write("plugins/alpha/skills/x/SKILL.md", "skill\n");
    repo.update_lock();
    let a = repo.commit("configured");

    // `*.md` matches at the plugin's top level only.
    repo.write("plugins/alpha/README.md", "readme v2\n");
    let b = repo.commit("readme");
    assert_eq!(
        entry(&diff_json(&repo, &[&a, &b]), "alpha")["change"],
        "hot"
    );

    repo.write("plugins/alpha/docs/guide.md", "guide v2\n");
    let c = repo.commit("guide");
    assert_eq!(
        entry(&diff_json(&repo, &[&b, &c]), "alpha")["change"],
        "cold",
        "`*` does not cross `/`"
    );

    // The default `**/SKILL.md` no longer applies.
    repo.write("plugins/alpha/skills/x/SKILL.md", "skill v2\n");
    let d = repo.commit("skill");
    assert_eq!(
        entry(&diff_json(&repo, &[&c, &d]), "alpha")["change"],
        "cold"
    );
}

#[test]
fn diff_reports_the_lock_entries_at_both_sides() {
    let (repo, a) = skills_repo();
    let before: Value = serde_json::from_slice(&repo.read(LOCK)).expect("lock");
    repo.write("plugins/alpha/main.py", "print('v2')\n");
    repo.update_lock();
    let after: Value = serde_json::from_slice(&repo.read(LOCK)).expect("lock");
    let b = repo.commit("alpha v2");
    assert_ne!(before["alpha"], after["alpha"]);

    let doc = diff_json(&repo, &[&a, &b]);
    let alpha = entry(&doc, "alpha");
    assert_eq!(alpha["locked_from"], before["alpha"]);
    assert_eq!(alpha["locked_to"], after["alpha"]);
    let beta = entry(&doc, "beta");
    assert_eq!(beta["locked_from"], before["beta"]);
    assert_eq!(beta["locked_to"], before["beta"]);

    let text = stdout(&repo.run(&["diff", &a, &b]));
    let from = before["alpha"].as_str().expect("hex");
    let to = after["alpha"].as_str().expect("hex");
    assert!(
        text.contains(&format!("lock {} -> {}", short(from), short(to))),
        "{text}"
    );

    // A change committed without updating the lock: the same entry at both sides.
    repo.write("plugins/beta/notes.txt", "unlocked edit\n");
    let c = repo.commit("beta edit, lock untouched");
    let beta = entry(&diff_json(&repo, &[&b, &c]), "beta").clone();
    assert_eq!(beta["change"], "cold");
    assert_eq!(beta["locked_from"], beta["locked_to"]);
}

#[test]
fn diff_exit_codes() {
    let (repo, a) = skills_repo();
    let out = repo.run(&["diff", &a, "HEAD"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let cases: &[&[&str]] = &[
        &["diff", "no-such-rev", "HEAD"],
        &["diff", "HEAD", "no-such-rev"],
        &["diff", "no-such-rev..HEAD"],
        &["diff", "0123456789abcdef0123456789abcdef01234567", "HEAD"],
        &["diff", "HEAD"],
        &["diff", "HEAD.."],
        &["diff", "..HEAD"],
        &["diff", "HEAD...HEAD"],
        &["diff", "HEAD", "HEAD", "HEAD"],
        &["diff"],
        &["diff", "--rev", "HEAD", "HEAD", "HEAD"],
        &["diff", "--format", "sarif", "HEAD", "HEAD"],
    ];
    for args in cases {
        let out = repo.run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
    let single = stderr(&repo.run(&["diff", "HEAD"]));
    assert!(single.contains("A..B"), "{single}");
    let unknown = stderr(&repo.run(&["diff", "no-such-rev", "HEAD"]));
    assert!(unknown.contains("no-such-rev"), "{unknown}");
}

// ---------------------------------------------------------------------------------
// release tags

#[test]
fn release_tags_annotated_and_lightweight_are_verified_at_their_commits() {
    let (repo, clean) = skills_repo();
    repo.git(&["tag", "-a", "v1.0.0", "-m", "release 1.0.0", &clean]);
    repo.git(&["tag", "v1.0.0-lw", &clean]);
    repo.write("plugins/beta/notes.txt", "tampered\n");
    let tampered = repo.commit("tamper with beta");
    repo.git(&["tag", "-a", "v1.1.0", "-m", "release 1.1.0", &tampered]);
    repo.git(&["tag", "v1.1.0-lw", &tampered]);
    // HEAD moves on past both, clean again: the tag, not HEAD, decides.
    repo.update_lock();
    repo.commit("repair");
    assert_eq!(code(&repo.run(&["verify"])), 0);

    assert_eq!(repo.git(&["cat-file", "-t", "v1.0.0"]), "tag");
    assert_eq!(repo.git(&["cat-file", "-t", "v1.0.0-lw"]), "commit");
    assert_ne!(repo.git(&["rev-parse", "v1.0.0"]), clean, "a tag object");

    for (tag, commit, want) in [
        ("v1.0.0", &clean, 0),
        ("v1.0.0-lw", &clean, 0),
        ("v1.1.0", &tampered, 4),
        ("v1.1.0-lw", &tampered, 4),
    ] {
        for rev in [tag.to_owned(), format!("refs/tags/{tag}")] {
            let (got, doc) = verify_json(repo.path(), &["--rev", &rev], &[]);
            assert_eq!(got, want, "{rev}: {doc:#}");
            assert_eq!(
                doc["source"],
                commit.as_str(),
                "{rev}: the peeled commit id"
            );
            if want == 4 {
                assert_eq!(doc["verdict"], "fail");
                let f = finding(&doc, "integrity_mismatch");
                assert_eq!(f["plugin"], "beta");
            } else {
                assert_eq!(doc["verdict"], "pass");
                assert!(findings(&doc).is_empty(), "{doc:#}");
            }
            let out = repo.run(&["verify", "--rev", &rev]);
            assert_eq!(code(&out), want, "{rev}");
            assert!(
                stdout(&out).contains(&format!("[source {}]", &commit[..12])),
                "{}",
                stdout(&out)
            );
        }
    }
}

#[test]
fn diff_flags_a_plugin_changed_without_its_lock_entry_and_check_fails_on_it() {
    let (repo, a) = skills_repo();
    repo.write("plugins/alpha/main.py", "print('edited, lock forgotten')\n");
    let b = repo.commit("edit alpha, not the lock");

    let doc = diff_json(&repo, &[&a, &b]);
    let alpha = entry(&doc, "alpha");
    assert_eq!(alpha["change"], "cold", "{doc:#}");
    assert_eq!(alpha["lock_changed"], false, "{doc:#}");
    assert_eq!(alpha["locked_from"], alpha["locked_to"]);
    assert_eq!(entry(&doc, "beta")["lock_changed"], false);

    let text = stdout(&repo.run(&["diff", &a, &b]));
    let line = text
        .lines()
        .find(|l| l.contains("alpha"))
        .unwrap_or_else(|| panic!("no alpha line:\n{text}"));
    assert!(line.ends_with("lock not updated"), "{text}");

    let out = repo.run(&["diff", "--check", &a, &b]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(stdout(&out).contains("lock not updated"));

    // With the lock updated in the same change, nothing is flagged.
    repo.update_lock();
    let c = repo.commit("lock");
    let doc = diff_json(&repo, &[&a, &c]);
    assert_eq!(entry(&doc, "alpha")["lock_changed"], true, "{doc:#}");
    let out = repo.run(&["diff", "--check", &a, &c]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(!stdout(&out).contains("lock not updated"));
}

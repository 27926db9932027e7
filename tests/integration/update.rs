//! `update`: canonical bytes, atomic writes, `--check`, `--stdout`, no needless writes.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::util::*;

const LOCK: &str = "plugins/PLUGINS.lock";

fn worktree_digest(repo: &Repo, dir: &str) -> String {
    let out = repo.run(&["digest", "--worktree", dir]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Nothing but plugin directories and the lock in `plugins/`: no temp file left over.
fn assert_no_temp_files(repo: &Repo) {
    for name in names(&repo.path().join("plugins")) {
        assert!(
            !name.starts_with('.') && !name.contains("tmp"),
            "left-over file in plugins/: {name}"
        );
    }
}

fn plugin(repo: &Repo, name: &str) {
    repo.write(
        &format!("plugins/{name}/plugin.yaml"),
        format!("name: {name}\nversion: 1.0.0\n"),
    )
    .write(
        &format!("plugins/{name}/main.py"),
        format!("print('{name}')\n"),
    );
}

#[test]
fn writes_sorted_two_space_indented_lock_with_final_newline() {
    let repo = Repo::new();
    for name in ["zeta", "beta", "Alpha", "a-b", "a"] {
        plugin(&repo, name);
    }
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let d = |name: &str| worktree_digest(&repo, &format!("plugins/{name}"));
    let expected = format!(
        "{{\n  \"Alpha\": \"{}\",\n  \"a\": \"{}\",\n  \"a-b\": \"{}\",\n  \"beta\": \"{}\",\n  \"zeta\": \"{}\"\n}}\n",
        d("Alpha"),
        d("a"),
        d("a-b"),
        d("beta"),
        d("zeta")
    );
    assert_eq!(String::from_utf8(repo.read(LOCK)).expect("utf-8"), expected);
    assert_eq!(
        names(&repo.path().join("plugins")),
        ["Alpha", "PLUGINS.lock", "a", "a-b", "beta", "zeta"]
    );
    assert_no_temp_files(&repo);

    let text = stdout(&out);
    assert!(
        text.contains(&format!("  + Alpha  {}\n", &d("Alpha")[..12])),
        "{text}"
    );
    assert!(
        text.contains("update: wrote plugins/PLUGINS.lock (a new lock, 5 entries: 5 added)"),
        "{text}"
    );
    assert!(text.contains("[source worktree]"), "{text}");

    repo.commit("lock");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // No warning either: what update writes is canonical.
    assert!(stdout(&out).contains("0 warnings"), "{}", stdout(&out));
}

#[test]
fn no_plugins_is_an_empty_object() {
    let repo = Repo::new();
    repo.write("README.md", "no plugins yet\n");
    repo.commit("empty");
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repo.read(LOCK), b"{}\n");
    assert_no_temp_files(&repo);
    repo.commit("empty lock");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // Plugins removed: back to `{}`.
    let repo = two_plugins();
    repo.remove("plugins/alpha");
    repo.remove("plugins/beta");
    repo.write("plugins/README.md", "a file is not a plugin\n");
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repo.read(LOCK), b"{}\n");
    let text = stdout(&out);
    assert!(text.contains("  - alpha  "), "{text}");
    assert!(text.contains("  - beta  "), "{text}");
}

#[test]
fn non_ascii_ids_are_written_raw_and_sorted_by_bytes() {
    let repo = Repo::new();
    for name in ["日本", "zeta", "Ωmega", "café"] {
        plugin(&repo, name);
    }
    repo.update_lock();
    let text = String::from_utf8(repo.read(LOCK)).expect("utf-8");
    assert!(!text.contains("\\u"), "{text}");
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('"'))
        .map(|l| l.split('"').next().unwrap())
        .collect();
    assert_eq!(keys, ["café", "zeta", "Ωmega", "日本"]);
    assert!(text.contains(&format!(
        "  \"café\": \"{}\",\n",
        worktree_digest(&repo, "plugins/café")
    )));
    repo.commit("non-ASCII plugins");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // A lock with \u escapes is the same entries, but not canonical.
    let escaped = text.replace("café", "caf\\u00e9");
    repo.write(LOCK, &escaped);
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    repo.update_lock();
    assert_eq!(String::from_utf8(repo.read(LOCK)).expect("utf-8"), text);
}

#[test]
fn check_lists_changes_exits_4_and_writes_nothing() {
    let repo = two_plugins();
    let lock = repo.path().join(LOCK);
    let old = json_lock(&repo);
    repo.write("plugins/alpha/src/main.py", "print('changed')\n");
    plugin(&repo, "gamma");
    repo.remove("plugins/beta");
    let before = repo.read(LOCK);
    let mtime = std::fs::metadata(&lock)
        .expect("stat")
        .modified()
        .expect("mtime");

    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let text = stdout(&out);
    let alpha = worktree_digest(&repo, "plugins/alpha");
    let gamma = worktree_digest(&repo, "plugins/gamma");
    assert!(
        text.contains(&format!(
            "  ~ alpha  {} -> {}\n",
            &old["alpha"].as_str().unwrap()[..12],
            &alpha[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  - beta   {}\n",
            &old["beta"].as_str().unwrap()[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  + gamma  {}\n", &gamma[..12])),
        "{text}"
    );
    assert!(
        text.contains("out of date (3 entries would change: 1 changed, 1 added, 1 removed)"),
        "{text}"
    );
    assert!(text.contains("run `plugin-lock update`"), "{text}");

    assert_eq!(repo.read(LOCK), before, "--check wrote the lock");
    assert_eq!(std::fs::metadata(&lock).unwrap().modified().unwrap(), mtime);
    assert_no_temp_files(&repo);

    let out = repo.run(&["update", "--check", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    assert_eq!(doc["written"], false);
    assert_eq!(doc["lock"], LOCK);
    assert_eq!(doc["source"], "worktree");
    assert_eq!(
        doc["changes"],
        json!([
            {"id": "alpha", "change": "changed", "from": old["alpha"], "to": alpha},
            {"id": "beta", "change": "removed", "from": old["beta"], "to": null},
            {"id": "gamma", "change": "added", "from": null, "to": gamma},
        ])
    );
    assert_eq!(repo.read(LOCK), before);

    // The check reads the work tree by default; the committed tree is up to date.
    let out = repo.run(&["update", "--check", "--rev", "HEAD"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn check_reports_a_missing_lock() {
    let repo = Repo::new();
    plugin(&repo, "alpha");
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(stdout(&out).contains("+ alpha"), "{}", stdout(&out));
    assert!(!repo.path().join(LOCK).exists());
}

fn json_lock(repo: &Repo) -> Value {
    serde_json::from_slice(&repo.read(LOCK)).expect("lock is JSON")
}

#[test]
fn check_compares_entries_not_bytes() {
    let repo = two_plugins();
    let lock = json_lock(&repo);
    // Same entries: reversed order, four spaces, no final newline.
    let odd = format!(
        "{{\n    \"beta\": \"{}\",\n    \"alpha\": \"{}\"\n}}",
        lock["beta"].as_str().unwrap(),
        lock["alpha"].as_str().unwrap()
    );
    repo.write(LOCK, &odd);
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));
    assert_eq!(repo.read(LOCK), odd.as_bytes());

    // `update` itself rewrites it canonically.
    let canonical = format!(
        "{{\n  \"alpha\": \"{}\",\n  \"beta\": \"{}\"\n}}\n",
        lock["alpha"].as_str().unwrap(),
        lock["beta"].as_str().unwrap()
    );
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(String::from_utf8(repo.read(LOCK)).unwrap(), canonical);
    assert!(stdout(&out).contains("wrote"), "{}", stdout(&out));
    assert_no_temp_files(&repo);
}

#[test]
fn stdout_prints_the_lock_and_writes_nothing() {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('changed')\n");
    plugin(&repo, "gamma");
    let before = repo.read(LOCK);

    let out = repo.run(&["update", "--stdout"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let printed = out.stdout.clone();
    assert_eq!(repo.read(LOCK), before, "--stdout wrote the lock");
    let doc: Value = serde_json::from_slice(&printed).expect("the lock is printed");
    assert_eq!(
        doc["gamma"],
        worktree_digest(&repo, "plugins/gamma").as_str()
    );
    assert!(printed.ends_with(b"\"\n}\n"), "{}", stdout(&out));
    assert_no_temp_files(&repo);

    // What it printed is what `update` writes.
    repo.update_lock();
    assert_eq!(repo.read(LOCK), printed);
}

#[test]
fn stdout_works_in_a_bare_repository_from_a_revision() {
    let repo = two_plugins();
    let parent = tempfile::tempdir().expect("temp dir");
    git_in(
        parent.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path().to_str().unwrap(),
            "bare.git",
        ],
    );
    let out = run_in(
        parent.path(),
        &["-C", "bare.git", "update", "--stdout", "--rev", "HEAD"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, repo.read(LOCK));
    // Writing needs a work tree.
    let out = run_in(
        parent.path(),
        &["-C", "bare.git", "update", "--rev", "HEAD"],
    );
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stderr(&out).contains("--stdout"), "{}", stderr(&out));
}

#[test]
fn an_up_to_date_lock_is_not_touched() {
    use std::os::unix::fs::MetadataExt;
    let repo = two_plugins();
    let lock = repo.path().join(LOCK);
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .expect("open")
        .set_modified(past)
        .expect("set mtime");
    let before = std::fs::metadata(&lock).expect("stat");
    let bytes = repo.read(LOCK);

    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "update: plugins/PLUGINS.lock is up to date [source worktree]\n"
    );
    let after = std::fs::metadata(&lock).expect("stat");
    assert_eq!(after.modified().unwrap(), past);
    assert_eq!(after.ino(), before.ino(), "the file was replaced");
    assert_eq!(repo.read(LOCK), bytes);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out),
        "update --check: plugins/PLUGINS.lock is up to date [source worktree]\n"
    );
}

#[test]
fn a_malformed_lock_is_replaced_saying_so() {
    let repo = two_plugins();
    repo.write(LOCK, "{\"alpha\": nope}\n");
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("would replace a malformed lock"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.read(LOCK), b"{\"alpha\": nope}\n");

    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("replaced a malformed lock (plugins/PLUGINS.lock:1:"),
        "{text}"
    );
    assert_eq!(
        json_lock(&repo)["alpha"],
        worktree_digest(&repo, "plugins/alpha").as_str()
    );
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[cfg(unix)]
#[test]
fn a_rejected_plugin_blocks_the_update() {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('changed')\n");
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("plugins/beta/passwd"))
        .expect("symlink");
    let before = repo.read(LOCK);
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("error[symlink_escape]"), "{err}");
    assert!(err.contains("plugins/beta/passwd"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert_eq!(repo.read(LOCK), before, "the lock must stay untouched");
    assert_no_temp_files(&repo);

    let out = repo.run(&["update", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    assert_eq!(doc["refused"], true);
    assert_eq!(doc["written"], false);
    assert_eq!(doc["findings"][0]["kind"], "symlink_escape");
    assert_eq!(repo.read(LOCK), before);
}

/// main and topic both change alpha (different files) and the lock; topic also adds
/// gamma, main changes beta: merging leaves the lock with conflict markers only.
fn conflicted_merge() -> Repo {
    let repo = two_plugins();
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("plugins/alpha/topic.txt", "from topic\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n");
    repo.update_lock();
    repo.commit("topic: alpha and gamma");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("plugins/alpha/main.txt", "from main\n")
        .write("plugins/beta/notes.txt", "beta notes, edited on main\n");
    repo.update_lock();
    repo.commit("main: alpha and beta");
    let merge = git_env(repo.path(), &["merge", "-q", "--no-edit", "topic"], &[]);
    assert!(!merge.status.success(), "the lock should conflict");
    let status = repo.git(&["status", "--porcelain"]);
    assert!(status.contains("UU plugins/PLUGINS.lock"), "{status}");
    repo
}

#[test]
fn a_conflicted_lock_is_lock_conflict_at_its_first_marker() {
    let repo = conflicted_merge();
    let text = String::from_utf8(repo.read("plugins/PLUGINS.lock")).unwrap();
    let marker = text
        .lines()
        .position(|l| l.starts_with("<<<<<<<"))
        .expect("markers")
        + 1;
    let (code, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(code, 4, "{doc:#}");
    let conflicts = of_kind(&doc, "lock_conflict");
    assert_eq!(conflicts.len(), 1, "{doc:#}");
    assert_eq!(conflicts[0]["path"], "plugins/PLUGINS.lock");
    assert_eq!(conflicts[0]["line"], marker as u64, "{text}");
    assert!(
        conflicts[0]["message"]
            .as_str()
            .unwrap()
            .contains("plugin-lock update"),
        "{doc:#}"
    );
    assert!(of_kind(&doc, "lock_malformed").is_empty(), "{doc:#}");
    assert!(of_kind(&doc, "unlocked_plugin").is_empty(), "{doc:#}");
}

#[test]
fn update_resolves_a_conflicted_lock_against_both_sides() {
    let repo = conflicted_merge();
    let out = repo.run(&["update", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    let entries = doc["resolved_conflict"]["entries"]
        .as_array()
        .expect("entries");
    let by_id = |id: &str| {
        entries
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {doc:#}"))["resolution"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // alpha's files merged from both sides: its digest is neither side's.
    assert_eq!(by_id("alpha"), "recomputed");
    assert_eq!(by_id("beta"), "kept from ours");
    assert_eq!(by_id("gamma"), "taken from theirs");
    assert_eq!(entries.len(), 3, "{doc:#}");
    assert_eq!(doc["written"], true);

    // The resolved lock is the merged tree's: the merge commit verifies.
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--no-edit"]);
    let (code, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn update_in_human_output_names_each_resolution() {
    let repo = conflicted_merge();
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("update: resolved the merge conflict in plugins/PLUGINS.lock"),
        "{text}"
    );
    for (resolution, id) in [
        ("recomputed", "alpha"),
        ("kept from ours", "beta"),
        ("taken from theirs", "gamma"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(resolution) && l.contains(id)),
            "{resolution} {id}:\n{text}"
        );
    }
    assert!(!text.contains("malformed"), "{text}");
}

/// The merge driver set up as the README says: the attribute and the driver command.
fn with_merge_driver(repo: &Repo) {
    repo.write(".gitattributes", "plugins/PLUGINS.lock merge=plugin-lock\n");
    repo.commit("merge driver for the lock");
    repo.git(&[
        "config",
        "merge.plugin-lock.driver",
        &format!("'{BIN}' merge-driver %O %A %B %P"),
    ]);
}

#[test]
fn the_merge_driver_merges_locks_of_branches_that_changed_different_plugins() {
    let repo = two_plugins();
    with_merge_driver(&repo);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("plugins/alpha/src/main.py", "print('topic')\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n");
    repo.update_lock();
    repo.commit("topic: alpha, gamma");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("plugins/beta/notes.txt", "beta notes, edited on main\n");
    repo.update_lock();
    repo.commit("main: beta");
    let merge = git_env(repo.path(), &["merge", "-q", "--no-edit", "topic"], &[]);
    assert!(
        merge.status.success(),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let (code, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(code, 0, "the merge commit verifies: {doc:#}");
    assert_eq!(
        repo.run(&["update", "--check"]).status.code(),
        Some(0),
        "the merged lock is the one update writes"
    );
}

#[test]
fn the_merge_driver_marks_only_the_entry_both_sides_changed() {
    let repo = two_plugins();
    with_merge_driver(&repo);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("plugins/alpha/topic.txt", "topic\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n");
    repo.update_lock();
    repo.commit("topic: alpha, gamma");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("plugins/alpha/main.txt", "main\n");
    repo.update_lock();
    repo.commit("main: alpha");
    let merge = git_env(repo.path(), &["merge", "-q", "--no-edit", "topic"], &[]);
    assert!(!merge.status.success());
    let text = String::from_utf8(repo.read("plugins/PLUGINS.lock")).unwrap();
    assert_eq!(text.matches("<<<<<<<").count(), 1, "{text}");
    let hunk: String = text
        .lines()
        .skip_while(|l| !l.starts_with("<<<<<<<"))
        .take_while(|l| !l.starts_with(">>>>>>>"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        hunk.contains("\"alpha\"") && !hunk.contains("\"gamma\""),
        "{text}"
    );
    assert!(
        text.contains("\"gamma\""),
        "gamma taken from theirs: {text}"
    );
    let marker = text.lines().position(|l| l.starts_with("<<<<<<<")).unwrap() + 1;
    let (code, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(code, 4);
    assert_eq!(
        of_kind(&doc, "lock_conflict")[0]["line"],
        marker as u64,
        "{doc:#}"
    );

    // update resolves it; the merge commit then verifies.
    let out = repo.run(&["update", "--format", "json"]);
    assert_eq!(code_of(&out), 0, "{}", stderr(&out));
    let entries = json(&out)["resolved_conflict"]["entries"].clone();
    assert_eq!(entries[0]["id"], "alpha");
    assert_eq!(entries[0]["resolution"], "recomputed");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--no-edit"]);
    assert_eq!(verify_json(repo.path(), &[], &[]).0, 0);
}

#[test]
fn the_merge_driver_refuses_a_side_that_is_not_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let (base, ours, theirs) = (p("O", "{}\n"), p("A", "{}\n"), p("B", "[1]\n"));
    let out = run_in(
        dir.path(),
        &[
            "merge-driver",
            &base,
            &ours,
            &theirs,
            "plugins/PLUGINS.lock",
        ],
    );
    assert_eq!(code_of(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("their lock"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("A")).unwrap(),
        "{}\n"
    );
}

fn code_of(out: &std::process::Output) -> i32 {
    code(out)
}

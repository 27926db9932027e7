//! Which tree is read: `--rev` in all its spellings, `--index`, `--worktree`, `-C`,
//! subdirectories, bare and shallow clones, nested plugin layouts.

use std::path::Path;

use crate::util::*;

/// `two_plugins`, then a commit that edits alpha without updating the lock.
/// Returns the repository, the clean commit and the tampered commit (HEAD).
fn history() -> (Repo, String, String) {
    let repo = two_plugins();
    let clean = repo.git(&["rev-parse", "HEAD"]);
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    let tampered = repo.commit("tamper with alpha");
    assert_ne!(clean, tampered);
    (repo, clean, tampered)
}

/// The ids of the plugins an `integrity_mismatch` names.
fn mismatched(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "integrity_mismatch")
        .map(|f| f["plugin"].as_str().expect("plugin").to_owned())
        .collect()
}

/// The `actual` digest of the mismatch for `plugin`.
fn actual_of(doc: &serde_json::Value, plugin: &str) -> String {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == "integrity_mismatch" && f["plugin"] == plugin)
        .unwrap_or_else(|| panic!("no mismatch for {plugin}: {doc:#}"))["actual"]
        .as_str()
        .expect("actual")
        .to_owned()
}

/// The digest `digest DIR` prints (first field of its line).
fn digest_of(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["digest"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    assert_eq!(code(&out), 0, "digest {args:?}: {}", stderr(&out));
    let text = stdout(&out);
    let digest = text.split_whitespace().next().expect("a digest").to_owned();
    assert_eq!(digest.len(), 64, "{text}");
    digest
}

/// Asserts `verify --rev REV` reads `expected_commit` and passes (or not).
fn assert_rev(repo: &Repo, rev: &str, expected_commit: &str, passes: bool) {
    let (exit, doc) = verify_json(repo.path(), &["--rev", rev], &[]);
    assert_eq!(doc["source"], expected_commit, "--rev {rev}: {doc:#}");
    if passes {
        assert_eq!(exit, 0, "--rev {rev} should pass: {doc:#}");
        assert_eq!(doc["verdict"], "pass");
        assert!(mismatched(&doc).is_empty());
    } else {
        assert_eq!(exit, 4, "--rev {rev} should fail: {doc:#}");
        assert_eq!(doc["verdict"], "fail");
        assert_eq!(mismatched(&doc), ["alpha"]);
    }
}

#[test]
fn default_source_is_head() {
    let (repo, _clean, tampered) = history();
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4);
    assert_eq!(doc["source"], tampered.as_str());
    assert_eq!(mismatched(&doc), ["alpha"]);
}

#[test]
fn rev_branch_name() {
    let (repo, clean, tampered) = history();
    repo.git(&["branch", "good", &clean]);
    assert_rev(&repo, "good", &clean, true);
    assert_rev(&repo, "main", &tampered, false);
    // A full ref name works as well.
    assert_rev(&repo, "refs/heads/good", &clean, true);
}

#[test]
fn rev_annotated_tag_is_peeled_to_its_commit() {
    let (repo, clean, tampered) = history();
    repo.git(&["tag", "-a", "v1.0.0", "-m", "release", &clean]);
    repo.git(&["tag", "-a", "v1.0.1", "-m", "release", &tampered]);
    let tag_object = repo.git(&["rev-parse", "v1.0.0"]);
    assert_ne!(tag_object, clean, "an annotated tag is its own object");
    assert_rev(&repo, "v1.0.0", &clean, true);
    assert_rev(&repo, "v1.0.1", &tampered, false);
}

#[test]
fn rev_lightweight_tag() {
    let (repo, clean, tampered) = history();
    repo.git(&["tag", "light-good", &clean]);
    repo.git(&["tag", "light-bad", &tampered]);
    assert_rev(&repo, "light-good", &clean, true);
    assert_rev(&repo, "light-bad", &tampered, false);
}

#[test]
fn rev_relative_to_head() {
    let (repo, clean, tampered) = history();
    assert_rev(&repo, "HEAD~1", &clean, true);
    assert_rev(&repo, "HEAD^", &clean, true);
    assert_rev(&repo, "HEAD", &tampered, false);
}

#[test]
fn rev_relative_the_other_way_round() {
    // HEAD~1 tampered, HEAD repaired: the answer flips with the revision.
    let (repo, _clean, tampered) = history();
    repo.update_lock();
    let repaired = repo.commit("repair the lock");
    assert_rev(&repo, "HEAD", &repaired, true);
    assert_rev(&repo, "HEAD~1", &tampered, false);
}

#[test]
fn rev_full_and_short_commit_ids() {
    let (repo, clean, tampered) = history();
    assert_rev(&repo, &clean, &clean, true);
    assert_rev(&repo, &tampered, &tampered, false);
    assert_rev(&repo, &clean[..10], &clean, true);
    assert_rev(&repo, &tampered[..10], &tampered, false);
    let short = repo.git(&["rev-parse", "--short", &clean]);
    assert_rev(&repo, &short, &clean, true);
}

#[test]
fn unknown_revision_is_exit_2() {
    let repo = two_plugins();
    let out = repo.run(&["verify", "--rev", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown revision `no-such-branch`"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn index_sees_a_staged_fix_that_head_does_not() {
    let (repo, _clean, tampered) = history();
    // Restore alpha's file and stage it, without committing.
    repo.write("plugins/alpha/src/main.py", "print('alpha')\n");
    repo.git(&["add", "plugins/alpha/src/main.py"]);
    // An unstaged edit on top must not reach the index.
    repo.write("plugins/alpha/src/main.py", "print('unstaged')\n");

    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], tampered.as_str());

    let (exit, doc) = verify_json(repo.path(), &["--index"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["source"], "index");
    assert_eq!(doc["verdict"], "pass");

    // And the work tree sees the unstaged edit.
    let (exit, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], "worktree");
    assert_eq!(mismatched(&doc), ["alpha"]);
}

#[test]
fn index_sees_a_staged_break() {
    let repo = two_plugins();
    repo.write("plugins/beta/notes.txt", "staged change\n");
    repo.git(&["add", "plugins/beta/notes.txt"]);
    let (exit, doc) = verify_json(repo.path(), &["--index"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(mismatched(&doc), ["beta"]);
    assert_eq!(verify_json(repo.path(), &[], &[]).0, 0);
}

#[test]
fn worktree_counts_an_untracked_plugin_file() {
    let repo = two_plugins();
    repo.write("plugins/alpha/extra.py", "print('new')\n");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "?? plugins/alpha/extra.py"
    );

    let (exit, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(mismatched(&doc), ["alpha"]);
    let actual = actual_of(&doc, "alpha");
    // HEAD and the index do not have the file.
    assert_eq!(verify_json(repo.path(), &[], &[]).0, 0);
    assert_eq!(verify_json(repo.path(), &["--index"], &[]).0, 0);
    // The work-tree digest is what committing the file gives.
    assert_eq!(
        digest_of(repo.path(), &["--worktree", "plugins/alpha"]),
        actual
    );
    repo.commit("add extra.py");
    assert_eq!(digest_of(repo.path(), &["plugins/alpha"]), actual);
}

#[test]
fn worktree_skips_ignored_files() {
    let repo = two_plugins();
    repo.write(".gitignore", "*.log\nbuild/\n");
    repo.commit("ignore logs");
    repo.write("plugins/alpha/debug.log", "noise\n")
        .write("plugins/beta/build/out.bin", [0u8, 1, 2]);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    let (exit, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn worktree_leaves_out_a_deleted_tracked_file() {
    let repo = two_plugins();
    repo.remove("plugins/beta/notes.txt");
    let (exit, doc) = verify_json(repo.path(), &["--worktree"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(mismatched(&doc), ["beta"]);
    let actual = actual_of(&doc, "beta");
    // HEAD and the index still have the file.
    assert_eq!(verify_json(repo.path(), &[], &[]).0, 0);
    assert_eq!(verify_json(repo.path(), &["--index"], &[]).0, 0);
    // The digest is that of the plugin without the file.
    repo.commit("delete notes");
    assert_eq!(digest_of(repo.path(), &["plugins/beta"]), actual);
}

#[test]
fn worktree_edits_never_change_a_commit_verification() {
    let repo = two_plugins();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let before = stdout(&repo.run(&["verify", "--format", "json"]));

    repo.write("plugins/alpha/src/main.py", "print('edited')\n")
        .write("plugins/beta/new.txt", "untracked\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 1.0.0\n")
        .write("plugins/PLUGINS.lock", "not json at all");
    repo.remove("plugins/beta/notes.txt");
    // Staged changes are not the commit either.
    repo.git(&["add", "plugins/alpha"]);

    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stdout(&out), before, "byte-identical to before the edits");
    assert_eq!(json(&out)["source"], head.as_str());
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // The work tree does see them.
    assert_eq!(code(&repo.run(&["verify", "--worktree"])), 4);
}

#[test]
fn source_flags_are_exclusive() {
    let repo = two_plugins();
    let out = repo.run(&["verify", "--index", "--worktree"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = repo.run(&["verify", "--rev", "HEAD", "--index"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = repo.run(&["--worktree", "update", "--rev", "HEAD"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = repo.run(&["digest", "--rev", "HEAD", "--worktree", "plugins/alpha"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--worktree"), "{}", stderr(&out));
}

#[test]
fn dash_c_runs_from_elsewhere() {
    let (repo, clean, tampered) = history();
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let path = repo.path().to_str().expect("utf-8 temp path");

    let (exit, doc) = verify_json(elsewhere.path(), &["-C", path], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], tampered.as_str());
    let (exit, doc) = verify_json(elsewhere.path(), &["-C", path, "--rev", "HEAD~1"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["source"], clean.as_str());

    // A relative -C, and -C into a subdirectory.
    let parent = repo.path().parent().expect("parent");
    let name = repo
        .path()
        .file_name()
        .expect("name")
        .to_str()
        .expect("utf-8");
    assert_eq!(verify_json(parent, &["-C", name], &[]).0, 4);
    let sub = format!("{path}/plugins/beta");
    assert_eq!(verify_json(elsewhere.path(), &["-C", &sub], &[]).0, 4);

    // `-C` is where `digest` paths are relative to.
    assert_eq!(
        digest_of(elsewhere.path(), &["-C", &sub, "."]),
        digest_of(repo.path(), &["plugins/beta"])
    );
}

#[test]
fn dash_c_to_a_missing_directory_or_a_non_repository_is_exit_2() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = run_in(elsewhere.path(), &["-C", "does-not-exist", "verify"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("does-not-exist"), "{}", stderr(&out));

    let out = run_in(elsewhere.path(), &["verify"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn runs_from_a_subdirectory() {
    let (repo, clean, tampered) = history();
    let sub = repo.path().join("plugins/alpha");
    let (exit, doc) = verify_json(&sub, &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], tampered.as_str());
    // Plugins outside the current directory are still checked (the whole tree is).
    assert_eq!(doc["plugins"].as_array().expect("plugins").len(), 2);
    let (exit, doc) = verify_json(&sub, &["--rev", "HEAD~1"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["source"], clean.as_str());
    // The work tree too.
    let (exit, _) = verify_json(&sub.join("src"), &["--worktree"], &[]);
    assert_eq!(exit, 4);
}

#[test]
fn digest_paths_are_relative_to_the_current_directory() {
    let repo = two_plugins();
    let alpha = digest_of(repo.path(), &["plugins/alpha"]);
    let beta = digest_of(repo.path(), &["plugins/beta"]);
    let sub = repo.path().join("plugins/alpha");

    let out = run_in(&sub, &["digest", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{alpha}  .\n"));
    let out = run_in(&sub, &["digest", "../beta", "./"]);
    assert_eq!(stdout(&out), format!("{beta}  ../beta\n{alpha}  ./\n"));
    let out = run_in(&repo.path().join("plugins"), &["digest", "alpha"]);
    assert_eq!(stdout(&out), format!("{alpha}  alpha\n"));

    // A directory that is not in the tree, or a file, is exit 2.
    let out = run_in(&sub, &["digest", "nope"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stderr(&out).contains("`nope`"), "{}", stderr(&out));
    let out = run_in(&sub, &["digest", "plugin.yaml"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
}

fn clone_into(args: &[&str]) -> tempfile::TempDir {
    let parent = tempfile::tempdir().expect("temp dir");
    let mut all = vec!["clone", "-q"];
    all.extend_from_slice(args);
    git_in(parent.path(), &all);
    parent
}

#[test]
fn bare_clone_verifies_with_dash_c() {
    let (repo, clean, tampered) = history();
    let origin = repo.path().to_str().expect("utf-8");
    let parent = clone_into(&["--bare", origin, "bare.git"]);
    let dir = parent.path();

    let (exit, doc) = verify_json(dir, &["-C", "bare.git"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], tampered.as_str());
    assert_eq!(mismatched(&doc), ["alpha"]);
    let (exit, doc) = verify_json(dir, &["-C", "bare.git", "--rev", "HEAD~1"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["source"], clean.as_str());
    // From inside the bare repository as well.
    assert_eq!(
        verify_json(&dir.join("bare.git"), &["--rev", &clean], &[]).0,
        0
    );
    // `list` and `digest` read it too.
    let out = run_in(dir, &["-C", "bare.git", "list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["plugins"][0]["status"], "mismatch");
    assert_eq!(
        digest_of(dir, &["-C", "bare.git", "plugins/beta"]),
        digest_of(repo.path(), &["plugins/beta"])
    );
}

#[test]
fn bare_clone_has_no_worktree_or_index_to_read() {
    let repo = two_plugins();
    let origin = repo.path().to_str().expect("utf-8");
    let parent = clone_into(&["--bare", origin, "bare.git"]);
    let out = run_in(parent.path(), &["-C", "bare.git", "verify", "--worktree"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("--worktree"), "{err}");
    assert!(err.contains("bare"), "{err}");
}

#[test]
fn shallow_clone_verifies_its_head() {
    let (repo, clean, tampered) = history();
    let url = format!("file://{}", repo.path().display());
    let parent = clone_into(&["--depth", "1", &url, "shallow"]);
    let dir = parent.path().join("shallow");
    assert_eq!(
        git_in(&dir, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    let (exit, doc) = verify_json(&dir, &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], tampered.as_str());
    assert_eq!(mismatched(&doc), ["alpha"]);

    // The parent commit exists in the origin, not in the clone.
    assert_eq!(
        verify_json(repo.path(), &["--rev", "HEAD~1"], &[]).1["source"],
        clean.as_str()
    );
    let out = run_in(&dir, &["verify", "--rev", "HEAD~1"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("unknown revision `HEAD~1`"),
        "{}",
        stderr(&out)
    );
    let out = run_in(&dir, &["verify", "--rev", &clean]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
}

#[test]
fn shallow_clone_of_a_clean_head_passes() {
    let repo = two_plugins();
    repo.write("README.md", "second commit\n");
    let head = repo.commit("touch the readme");
    let url = format!("file://{}", repo.path().display());
    let parent = clone_into(&["--depth", "1", &url, "shallow"]);
    let dir = parent.path().join("shallow");
    let (exit, doc) = verify_json(&dir, &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["source"], head.as_str());
    assert_eq!(verify_json(&dir, &["--worktree"], &[]).0, 0);
}

/// Plugins two levels below `plugins/`, with files and `__pycache__` around them.
fn nested() -> Repo {
    let repo = Repo::new();
    repo.write(".plugin-lock.yml", "plugins: [\"plugins/*/*\"]\n")
        .write("plugins/README.md", "all plugins\n")
        .write("plugins/inputs/README.md", "input plugins\n")
        .write(
            "plugins/inputs/cpu/plugin.yaml",
            "name: cpu\nversion: 1.0.0\n",
        )
        .write("plugins/inputs/cpu/cpu.py", "CPU = 1\n")
        .write(
            "plugins/inputs/mem/plugin.yaml",
            "name: mem\nversion: 0.3.0\n",
        )
        .write(
            "plugins/outputs/file/plugin.yaml",
            "name: file\nversion: 2.0.0\n",
        )
        .write("plugins/__pycache__/stale/x.pyc", [0u8, 0xff])
        .write(
            "plugins/inputs/__pycache__/loader.cpython-312.pyc",
            [1u8, 2],
        );
    repo.update_lock();
    repo.commit("nested plugins");
    repo
}

#[test]
fn nested_layout_ids_are_relative_to_the_lock() {
    let repo = nested();
    let lock: serde_json::Value =
        serde_json::from_slice(&repo.read("plugins/PLUGINS.lock")).expect("lock is JSON");
    let ids: Vec<&String> = lock.as_object().expect("object").keys().collect();
    assert_eq!(ids, ["inputs/cpu", "inputs/mem", "outputs/file"]);
    assert_eq!(
        lock["inputs/cpu"].as_str().expect("hex"),
        digest_of(repo.path(), &["plugins/inputs/cpu"])
    );

    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["findings"], serde_json::json!([]));

    let out = repo.run(&["list", "--format", "json"]);
    let doc = json(&out);
    let listed: Vec<(&str, &str)> = doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["dir"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("inputs/cpu", "plugins/inputs/cpu"),
            ("inputs/mem", "plugins/inputs/mem"),
            ("outputs/file", "plugins/outputs/file"),
        ]
    );
}

#[test]
fn nested_layout_detects_tampering_and_new_plugins() {
    let repo = nested();
    repo.write("plugins/inputs/cpu/cpu.py", "CPU = 2\n")
        .write(
            "plugins/outputs/s3/plugin.yaml",
            "name: s3\nversion: 1.0.0\n",
        )
        // Files at plugin depth are not plugins either.
        .write("plugins/outputs/NOTES.md", "notes\n");
    repo.commit("change things");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let kinds: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["plugin"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("integrity_mismatch", "inputs/cpu"),
            ("unlocked_plugin", "outputs/s3")
        ]
    );
}

#[test]
fn pycache_under_plugins_is_never_a_plugin() {
    let repo = two_plugins();
    repo.write("plugins/__pycache__/mod.cpython-312.pyc", [0u8, 1])
        .write("plugins/__pycache__/sub/other.pyc", [2u8])
        .write("plugins/LICENSE", "a file beside the plugins\n");
    // Forced in even if some global ignore would skip them.
    repo.git(&["add", "-f", "plugins"]);
    repo.commit("pycache");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    let ids = plugin_ids(&doc);
    assert_eq!(ids, ["alpha", "beta"]);
    let out = repo.run(&["update", "--check"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

//! `update` against the work tree's lock whatever it hashes, and the files it warns
//! about: untracked ones it hashed, and ones whose staged content differs.

use serde_json::Value;

use crate::util::*;

const LOCK: &str = "plugins/PLUGINS.lock";

fn json_out(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let out = repo.run(args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}{}", stdout(&out), stderr(&out)));
    (code(&out), doc)
}

#[test]
fn the_untracked_file_trap_is_caught_and_tracked_gives_the_commits_lock() {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('alpha 2')\n")
        .write("plugins/alpha/notes.tmp", "scratch\n");

    // The trap: `update` hashes the untracked file, and says so, naming it.
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: plugins/alpha/notes.tmp is untracked"),
        "{err}"
    );
    assert!(err.contains("git add plugins/alpha/notes.tmp"), "{err}");
    assert!(err.contains("plugin-lock update --tracked"), "{err}");
    assert!(
        stdout(&out).contains("(1 entry: 1 changed)"),
        "{}",
        stdout(&out)
    );
    // ... and the commit `git commit -am` makes does not match that lock.
    repo.git(&["commit", "-qam", "edit"]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("integrity_mismatch"),
        "{}",
        stdout(&out)
    );

    // `--tracked` leaves the untracked file out: the lock matches the commit.
    let out = repo.run(&["update", "--tracked"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("notes.tmp"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("[source tracked]"),
        "{}",
        stdout(&out)
    );
    repo.git(&["commit", "-qam", "lock"]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        repo.git(&["status", "--porcelain"])
            .contains("?? plugins/alpha/notes.tmp")
    );
}

#[test]
fn tracked_hashes_the_work_tree_content_git_commit_a_would_commit() {
    let repo = two_plugins();
    // Modified and not staged; a tracked file deleted on disk; an untracked file.
    repo.write("plugins/beta/notes.txt", "beta notes, edited\n");
    repo.remove("plugins/alpha/src/main.py");
    repo.write("plugins/beta/new.txt", "untracked\n");
    let out = repo.run(&["update", "--tracked"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    repo.git(&["commit", "-qam", "edit"]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // It cannot be asked of another tree.
    let out = repo.run(&["update", "--tracked", "--rev", "HEAD"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--tracked"), "{}", stderr(&out));
}

#[test]
fn a_file_staged_with_other_content_than_the_work_tree_is_named() {
    let repo = two_plugins();
    repo.write("plugins/beta/notes.txt", "staged version\n");
    repo.git(&["add", "plugins/beta/notes.txt"]);
    repo.write("plugins/beta/notes.txt", "work-tree version\n");
    // A file whose stat changed but whose content did not is not named.
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");

    let (exit, doc) = json_out(&repo, &["update", "--format", "json"]);
    assert_eq!(exit, 0, "{doc:#}");
    let warnings = doc["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{doc:#}");
    assert_eq!(warnings[0]["kind"], "unstaged");
    assert_eq!(warnings[0]["path"], "plugins/beta/notes.txt");
    assert_eq!(warnings[0]["plugin"], "beta");
    assert!(
        warnings[0]["help"]
            .as_str()
            .unwrap()
            .contains("git add plugins/beta/notes.txt"),
        "{doc:#}"
    );

    // Staged: nothing to warn about.
    repo.git(&["add", "-A"]);
    let out = repo.run(&["update"]);
    assert_eq!(stderr(&out), "");
}

#[test]
fn update_from_another_branch_reports_against_the_work_trees_lock() {
    let repo = two_plugins();
    repo.git(&["checkout", "-qb", "other"]);
    for name in ["alpha", "beta", "gamma"] {
        repo.write(
            &format!("plugins/{name}/plugin.yaml"),
            format!("name: {name}\nversion: 3.0.0\n"),
        );
    }
    repo.update_lock();
    repo.commit("three entries change on `other`");
    repo.git(&["checkout", "-q", "main"]);
    let before = repo.read(LOCK);

    let (exit, doc) = json_out(&repo, &["update", "--rev", "other", "--format", "json"]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["written"], true);
    assert_eq!(doc["compared_with_worktree"], true);
    let changes: Vec<(&str, &str)> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("alpha", "changed"),
            ("beta", "changed"),
            ("gamma", "added")
        ]
    );
    // The work tree's lock is now `other`'s, as `git diff` shows.
    assert_ne!(repo.read(LOCK), before);
    let other_lock = repo.git(&["show", "other:plugins/PLUGINS.lock"]);
    assert_eq!(
        String::from_utf8(repo.read(LOCK)).unwrap().trim_end(),
        other_lock.trim_end()
    );
    let stat = repo.git(&["diff", "--numstat", "--", LOCK]);
    assert!(stat.starts_with("3\t2\t"), "{stat}");

    // Again: the work tree's lock is up to date with `other` now.
    let out = repo.run(&["update", "--rev", "other"]);
    assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));
    let commit = repo.git(&["rev-parse", "other"]);
    assert!(
        stdout(&out).contains(&format!("[source {}]", &commit[..12])),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_new_untracked_plugin_is_one_warning_and_many_files_are_counted() {
    let repo = two_plugins();
    repo.write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 1.0.0\n");
    for i in 0..30 {
        repo.write(&format!("plugins/gamma/file{i}.txt"), "x\n");
        repo.write(&format!("plugins/beta/scratch{i:02}.tmp"), "x\n");
    }
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("plugins/gamma").count(), 2, "{err}"); // message and help
    assert!(
        err.contains("warning: plugins/gamma/ is untracked"),
        "{err}"
    );
    assert!(err.contains("`git add plugins/gamma`"), "{err}");
    // 31 warnings: 20 shown whole, then a count; JSON has every one.
    assert!(err.contains("warning: 11 more warning(s)"), "{err}");
    let (_, doc) = json_out(&repo, &["update", "--format", "json"]);
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 31, "{doc:#}");
}

#[test]
fn a_first_lock_with_nothing_tracked_is_one_warning() {
    let repo = Repo::new();
    for name in ["a", "b", "c"] {
        repo.write(
            &format!("plugins/{name}/plugin.yaml"),
            format!("name: {name}\nversion: 1.0.0\n"),
        );
    }
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(
        err.contains("none of the 3 plugins is tracked yet"),
        "{err}"
    );
    assert!(err.contains("`git add plugins`"), "{err}");
}

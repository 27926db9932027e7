//! `hook pre-push`, `hook install`, `hook uninstall`: real `git push` to a local bare
//! remote, with the hook written by `hook install` and the built binary on git's PATH.

use std::path::Path;
use std::process::Output;

use crate::util::*;

const Z40: &str = "0000000000000000000000000000000000000000";

/// A repository with two good plugins, a bare remote `origin`, and the hook installed.
struct Pushing {
    repo: Repo,
    remote: tempfile::TempDir,
}

fn bin_env() -> Vec<(&'static str, String)> {
    vec![("PATH", path_with_bin())]
}

fn with_bin(dir: &Path, args: &[&str]) -> Output {
    let path = path_with_bin();
    run_env(dir, args, &[("PATH", &path)])
}

impl Pushing {
    fn new() -> Pushing {
        let p = Pushing::without_hook();
        let out = with_bin(p.repo.path(), &["hook", "install"]);
        assert_eq!(code(&out), 0, "install: {}", stderr(&out));
        p
    }

    fn without_hook() -> Pushing {
        let repo = two_plugins();
        let remote = tempfile::tempdir().expect("temp dir");
        git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
        let url = remote.path().to_str().expect("utf-8 temp path");
        repo.git(&["remote", "add", "origin", url]);
        Pushing { repo, remote }
    }

    /// `git push ARGS` with plugin-lock on PATH; the output whatever the status.
    fn push(&self, args: &[&str]) -> Output {
        push_in(self.repo.path(), args)
    }

    /// The remote's id for `name`, `None` when it has no such ref.
    fn remote_ref(&self, name: &str) -> Option<String> {
        let out = git_env(
            self.remote.path(),
            &["rev-parse", "--verify", "-q", name],
            &[],
        );
        (code(&out) == 0).then(|| stdout(&out).trim().to_owned())
    }

    /// Commits a change to a plugin file without updating the lock.
    fn tamper(&self, msg: &str) -> String {
        self.repo
            .write("plugins/alpha/src/main.py", format!("print('{msg}')\n"));
        self.repo.commit(msg)
    }
}

fn push_in(dir: &Path, args: &[&str]) -> Output {
    let env = bin_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut full = vec!["push"];
    full.extend_from_slice(args);
    git_env(dir, &full, &env)
}

fn hook_file(dir: &Path) -> std::path::PathBuf {
    dir.join(".git/hooks/pre-push")
}

#[test]
fn a_clean_push_passes_quietly() {
    let p = Pushing::new();
    let head = p.repo.git(&["rev-parse", "HEAD"]);
    let out = p.push(&["-q", "origin", "main"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        p.remote_ref("refs/heads/main").as_deref(),
        Some(head.as_str())
    );
    let said: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("pre-push"))
        .map(str::to_owned)
        .collect();
    assert_eq!(said.len(), 1, "one line at most: {said:?}");
    assert!(said[0].contains("ok"), "{said:?}");
}

#[test]
fn a_tampered_branch_is_refused_and_the_remote_keeps_its_ref() {
    let p = Pushing::new();
    p.repo.git(&["switch", "-q", "-c", "x"]);
    let out = p.push(&["-q", "origin", "x"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = p.remote_ref("refs/heads/x").expect("x pushed");
    // The tampered commit below is checked with the cache warm.
    let cache = p.repo.path().join(".git/plugin-lock/cache-v1");
    assert!(cache.is_file(), "the first push warmed the cache");

    p.tamper("tampered");
    let out = p.push(&["origin", "x"]);
    let err = stderr(&out);
    assert_ne!(code(&out), 0, "{err}");
    assert_eq!(p.remote_ref("refs/heads/x"), Some(before.clone()));
    assert!(err.contains("integrity_mismatch"), "{err}");
    assert!(err.contains("plugin alpha"), "{err}");
    assert!(err.contains("refs/heads/x"), "{err}");
    assert!(err.contains("plugin-lock update"), "{err}");
    // The remote's old id is the base: the finding says which file changed since.
    assert!(err.contains("modified: plugins/alpha/src/main.py"), "{err}");
    assert!(err.contains(&before[..12]), "{err}");

    // A new branch with the same tampered tip is refused too (no base to explain with).
    let out = p.push(&["origin", "x:refs/heads/fresh"]);
    assert_ne!(code(&out), 0);
    assert_eq!(p.remote_ref("refs/heads/fresh"), None);
}

#[test]
fn an_annotated_tag_on_a_tampered_commit_is_refused() {
    let p = Pushing::new();
    assert_eq!(code(&p.push(&["-q", "origin", "main"])), 0);
    p.repo.git(&["switch", "-q", "-c", "release"]);
    p.tamper("release");
    p.repo.git(&["tag", "-a", "v1.0.0", "-m", "release 1.0.0"]);
    let out = p.push(&["origin", "v1.0.0"]);
    let err = stderr(&out);
    assert_ne!(code(&out), 0, "{err}");
    assert!(err.contains("refs/tags/v1.0.0"), "{err}");
    assert!(err.contains("plugin alpha"), "{err}");
    assert!(err.contains("git tag -f"), "{err}");
    assert_eq!(p.remote_ref("refs/tags/v1.0.0"), None);

    // A lightweight tag on a good commit passes.
    p.repo.git(&["tag", "v0.9.0", "main"]);
    let out = p.push(&["-q", "origin", "v0.9.0"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn two_refs_where_only_the_second_is_bad_are_refused_whole() {
    let p = Pushing::new();
    let good = p.repo.git(&["rev-parse", "HEAD"]);
    p.repo.git(&["switch", "-q", "-c", "zz-bad"]);
    p.tamper("second");
    p.repo.git(&["switch", "-q", "main"]);
    let out = p.push(&["origin", "main", "zz-bad"]);
    let err = stderr(&out);
    assert_ne!(code(&out), 0, "{err}");
    assert!(err.contains("FAILED refs/heads/zz-bad"), "{err}");
    assert!(err.contains("pre-push: ok refs/heads/main"), "{err}");
    assert!(err.contains(&format!("({})", &good[..12])), "{err}");
    assert!(err.contains("1 of 2 refs failed"), "{err}");
    // git pushes nothing when the hook fails: not even the good ref.
    assert_eq!(p.remote_ref("refs/heads/main"), None);
    assert_eq!(p.remote_ref("refs/heads/zz-bad"), None);
}

#[test]
fn a_deletion_passes_even_of_a_bad_branch() {
    let p = Pushing::new();
    p.repo.git(&["switch", "-q", "-c", "bad"]);
    p.tamper("bad");
    let out = p.push(&["-q", "--no-verify", "origin", "bad"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(p.remote_ref("refs/heads/bad").is_some());
    let out = p.push(&["-q", "origin", "--delete", "bad"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(p.remote_ref("refs/heads/bad"), None);
}

#[test]
fn the_hook_reads_every_stdin_line_and_json_lists_every_ref() {
    let p = Pushing::without_hook();
    let good = p.repo.git(&["rev-parse", "HEAD"]);
    let bad = p.tamper("bad");
    let input = format!(
        "refs/heads/main {good} refs/heads/main {Z40}\n(delete) {Z40} refs/heads/old {good}\nHEAD~0 {bad} refs/heads/bad {good}\n"
    );
    let out = run_stdin(
        p.repo.path(),
        &["hook", "pre-push", "origin", "url", "--format", "json"],
        input.as_bytes(),
        &[],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["verdict"], "fail");
    assert_eq!(doc["remote"], "origin");
    let refs = doc["refs"].as_array().expect("refs");
    assert_eq!(refs.len(), 2, "the deletion is skipped: {doc}");
    assert_eq!(refs[0]["local_ref"], "refs/heads/main");
    assert_eq!(refs[0]["verdict"], "pass");
    assert_eq!(refs[0]["remote_id"], serde_json::Value::Null);
    assert_eq!(refs[1]["local_ref"], "HEAD~0");
    assert_eq!(refs[1]["local_id"], bad.as_str());
    assert_eq!(refs[1]["commit"], bad.as_str());
    assert_eq!(refs[1]["verdict"], "fail");
    let finding = &refs[1]["findings"][0];
    assert_eq!(finding["kind"], "integrity_mismatch");
    assert_eq!(finding["plugin"], "alpha");
    assert_eq!(finding["lock_changed"], false);
    assert_eq!(finding["changes"][0]["path"], "plugins/alpha/src/main.py");
}

#[test]
fn empty_stdin_passes_and_malformed_stdin_is_exit_2_with_the_line() {
    let p = Pushing::without_hook();
    let out = run_stdin(p.repo.path(), &["hook", "pre-push", "o", "u"], b"", &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let head = p.repo.git(&["rev-parse", "HEAD"]);
    let input = format!("refs/heads/main {head} refs/heads/main {Z40}\nnot a pre-push line\n");
    let out = run_stdin(
        p.repo.path(),
        &["hook", "pre-push", "o", "u"],
        input.as_bytes(),
        &[],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
}

#[test]
fn quiet_success_prints_nothing_and_github_format_annotates() {
    let p = Pushing::without_hook();
    let head = p.repo.git(&["rev-parse", "HEAD"]);
    let line = format!("refs/heads/main {head} refs/heads/main {Z40}\n");
    let out = run_stdin(
        p.repo.path(),
        &["-q", "hook", "pre-push", "o", "u"],
        line.as_bytes(),
        &[],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "");

    let bad = p.tamper("bad");
    let line = format!("refs/heads/main {bad} refs/heads/main {head}\n");
    let out = run_stdin(
        p.repo.path(),
        &["hook", "pre-push", "o", "u"],
        line.as_bytes(),
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(code(&out), 4);
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with(
            "::error file=plugins/PLUGINS.lock,line=2,title=integrity_mismatch (alpha)::"
        )),
        "{text}"
    );
    assert!(text.contains("::stop-commands::"), "{text}");
}

#[test]
fn pre_commit_framework_mode_verifies_to_ref_against_from_ref() {
    let p = Pushing::without_hook();
    let good = p.repo.git(&["rev-parse", "HEAD"]);
    let bad = p.tamper("bad");
    let run = |env: &[(&str, &str)]| run_env(p.repo.path(), &["hook", "pre-commit-framework"], env);
    let out = run(&[
        ("PRE_COMMIT_FROM_REF", Z40),
        ("PRE_COMMIT_TO_REF", good.as_str()),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&[
        ("PRE_COMMIT_FROM_REF", good.as_str()),
        ("PRE_COMMIT_TO_REF", bad.as_str()),
        ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
    ]);
    let err = stderr(&out);
    assert_eq!(code(&out), 4, "{err}");
    assert!(err.contains("FAILED refs/heads/main"), "{err}");
    assert!(err.contains("modified: plugins/alpha/src/main.py"), "{err}");
    // A root-commit push sets only the local branch; a manual run sets nothing (HEAD).
    let out = run(&[("PRE_COMMIT_LOCAL_BRANCH", good.as_str())]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&[]);
    assert_eq!(code(&out), 4, "HEAD is the tampered commit");
}

#[test]
fn a_foreign_hook_is_kept_unless_forced() {
    let p = Pushing::without_hook();
    let path = hook_file(p.repo.path());
    let foreign = "#!/bin/sh\necho someone else's hook\n";
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, foreign).unwrap();

    let out = with_bin(p.repo.path(), &["hook", "install"]);
    assert_eq!(code(&out), 2);
    // The file is named (as gix resolved the path: compare its tail only).
    let named = stderr(&out).contains(&format!(
        "hooks{}pre-push is a pre-push hook that plugin-lock did not write",
        std::path::MAIN_SEPARATOR
    ));
    assert!(named, "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);

    let out = with_bin(p.repo.path(), &["hook", "uninstall"]);
    assert_eq!(code(&out), 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);

    let out = with_bin(p.repo.path(), &["hook", "install", "--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let installed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        installed,
        std::fs::read_to_string(project_root().join("hooks/pre-push"))
            .unwrap()
            .replace("\r\n", "\n"),
        "install writes the vendored hook"
    );
    p.tamper("bad");
    assert_ne!(code(&p.push(&["origin", "main"])), 0);
}

#[test]
fn install_is_idempotent_and_uninstall_removes_only_its_own_hook() {
    let p = Pushing::without_hook();
    let path = hook_file(p.repo.path());
    let out = with_bin(p.repo.path(), &["hook", "install"]);
    assert_eq!(code(&out), 0);
    let first = std::fs::read(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    let out = with_bin(p.repo.path(), &["hook", "install", "--format", "json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["action"], "unchanged");
    assert_eq!(std::fs::read(&path).unwrap(), first);

    let out = with_bin(p.repo.path(), &["hook", "uninstall"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!path.exists());
    let out = with_bin(p.repo.path(), &["hook", "uninstall"]);
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("nothing to remove"),
        "{}",
        stdout(&out)
    );

    // A foreign hook survives uninstall; --force removes it.
    std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
    assert_eq!(code(&with_bin(p.repo.path(), &["hook", "uninstall"])), 2);
    assert!(path.exists());
    assert_eq!(
        code(&with_bin(p.repo.path(), &["hook", "uninstall", "--force"])),
        0
    );
    assert!(!path.exists());
}

#[test]
fn core_hooks_path_is_honoured_relative_to_the_work_tree() {
    let p = Pushing::without_hook();
    p.repo.git(&["config", "core.hooksPath", ".githooks"]);
    // From a subdirectory: still the work tree's root, as git runs hooks there.
    let out = with_bin(&p.repo.path().join("plugins"), &["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(p.repo.path().join(".githooks/pre-push").is_file());
    assert!(!hook_file(p.repo.path()).exists());
    p.tamper("bad");
    let out = p.push(&["origin", "main"]);
    assert_ne!(code(&out), 0, "git ran the hook from core.hooksPath");
    assert!(stderr(&out).contains("plugin alpha"), "{}", stderr(&out));
    let out = with_bin(p.repo.path(), &["hook", "uninstall"]);
    assert_eq!(code(&out), 0);
    assert!(!p.repo.path().join(".githooks/pre-push").exists());
}

#[test]
fn a_linked_worktree_installs_into_the_common_hooks_dir() {
    let p = Pushing::without_hook();
    let parent = tempfile::tempdir().unwrap();
    let wt = parent.path().join("wt");
    p.repo
        .git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    let out = with_bin(&wt, &["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(hook_file(p.repo.path()).is_file(), "common dir's hooks/");
    assert!(!p.repo.path().join(".git/worktrees/wt/hooks").exists());
    // git runs it for pushes from the linked worktree.
    std::fs::write(wt.join("plugins/alpha/src/main.py"), "print('wt')\n").unwrap();
    git_in(&wt, &["commit", "-q", "-am", "tamper in worktree"]);
    let out = push_in(&wt, &["origin", "side"]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("refs/heads/side"), "{}", stderr(&out));
}

#[test]
fn without_plugin_lock_on_path_the_hook_stops_the_push() {
    let p = Pushing::new();
    // PATH with git and sh but not the built binary (skip if plugin-lock is installed there).
    let dirs: Vec<std::path::PathBuf> = ["/usr/bin", "/bin"]
        .iter()
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_dir())
        .collect();
    if dirs.iter().any(|d| d.join("plugin-lock").exists())
        || !dirs.iter().any(|d| d.join("git").exists())
    {
        return;
    }
    let path = std::env::join_paths(&dirs).unwrap();
    let out = git_env(
        p.repo.path(),
        &["push", "origin", "main"],
        &[("PATH", path.to_str().unwrap())],
    );
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("plugin-lock is not on PATH"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("cargo install"), "{}", stderr(&out));
    assert_eq!(p.remote_ref("refs/heads/main"), None);
}

#[test]
fn the_vendored_hook_is_executable_and_posix_sh() {
    let path = project_root().join("hooks/pre-push");
    // (A Windows checkout may convert it to CRLF unless .gitattributes pins `eol=lf`.)
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\r\n", "\n");
    assert!(text.starts_with("#!/bin/sh\n"));
    assert!(text.contains("# plugin-lock pre-push hook:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "hooks/pre-push must be committed as 100755"
        );
        let out = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "sh -n: {}", stderr(&out));
    }
}

#[test]
fn hook_commands_refuse_tree_flags_and_sarif() {
    let p = Pushing::without_hook();
    let out = run_env(p.repo.path(), &["hook", "install", "--rev", "HEAD"], &[]);
    assert_eq!(code(&out), 2);
    let out = run_stdin(
        p.repo.path(),
        &["hook", "pre-push", "o", "u", "--format", "sarif"],
        b"",
        &[],
    );
    assert_eq!(code(&out), 2);
}

#[test]
fn a_new_branch_is_explained_against_the_remotes_default_branch() {
    let p = Pushing::new();
    let out = p.push(&["-q", "origin", "main"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    p.repo.git(&["fetch", "-q", "origin"]);
    p.repo.git(&["remote", "set-head", "origin", "main"]);
    let fork = p.repo.git(&["rev-parse", "HEAD"]);
    p.repo.git(&["switch", "-q", "-c", "fresh"]);
    p.tamper("tampered on a new branch");
    let out = p.push(&["origin", "fresh"]);
    let err = stderr(&out);
    assert_ne!(code(&out), 0, "{err}");
    assert_eq!(p.remote_ref("refs/heads/fresh"), None);
    assert!(err.contains("modified: plugins/alpha/src/main.py"), "{err}");
    assert!(err.contains(&fork[..12]), "{err}");
}

#[test]
fn install_merge_driver_sets_it_up_once_and_a_real_merge_uses_it() {
    let repo = two_plugins();
    let out = with_bin(repo.path(), &["hook", "install", "--merge-driver"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "added `/plugins/PLUGINS.lock merge=plugin-lock` to .gitattributes (commit it)"
        ),
        "{text}"
    );
    assert!(text.contains("set merge.plugin-lock.driver"), "{text}");
    assert_eq!(
        String::from_utf8(repo.read(".gitattributes")).unwrap(),
        "* -text\n/plugins/PLUGINS.lock merge=plugin-lock\n"
    );
    assert_eq!(
        repo.git(&["config", "merge.plugin-lock.driver"]),
        "plugin-lock merge-driver %O %A %B %P"
    );
    // Idempotent: nothing is added twice.
    let out = with_bin(repo.path(), &["hook", "install", "--merge-driver"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("names the driver already"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        repo.read(".gitattributes")
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        2
    );
    repo.commit("the lock's merge driver");

    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("plugins/alpha/src/main.py", "print('topic')\n");
    repo.update_lock();
    repo.commit("topic: alpha");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("plugins/beta/notes.txt", "beta, edited on main\n");
    repo.update_lock();
    repo.commit("main: beta");
    let path = path_with_bin();
    let merge = git_env(
        repo.path(),
        &["merge", "-q", "--no-edit", "topic"],
        &[("PATH", &path)],
    );
    assert!(merge.status.success(), "{}", stderr(&merge));
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

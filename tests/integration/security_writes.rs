//! Issue #16, writes outside the repository: every file plugin-lock writes stays where it
//! belongs. The lock (named by the repository or `--lock`) is written only inside the work
//! tree, through no symlink and never into `.git`; `--report` replaces its path, never
//! writes through it; the default report has a name nobody can guess in advance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::*;

/// Every file and link under `dir` with its content (or link target): what "nothing
/// changed" is checked against.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let rel = path.strip_prefix(dir).expect("inside").to_path_buf();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                stack.push(path);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// A repository with one plugin and the given `.plugin-lock.yml`, committed.
fn origin_with_config(config: &str) -> Repo {
    let repo = Repo::new();
    repo.write("plugins/a/plugin.yaml", "name: a\nversion: 1.0.0\n")
        .write("plugins/a/main.py", "print('a')\n")
        .write(".plugin-lock.yml", config);
    repo.commit("hostile");
    repo
}

/// `outside/victim/authorized_keys` and a sibling, the files an attacker aims at.
fn victims(outside: &Path) -> PathBuf {
    let victim = outside.join("victim");
    std::fs::create_dir_all(&victim).expect("mkdir");
    std::fs::write(
        victim.join("authorized_keys"),
        b"ssh-ed25519 AAAA user@host\n",
    )
    .expect("write");
    std::fs::write(victim.join("config"), b"[core]\n").expect("write");
    victim
}

fn assert_refused(out: &std::process::Output, what: &str, names: &str) {
    assert_eq!(
        code(out),
        2,
        "{what}: stdout {} stderr {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(err.contains(names), "{what}: {err}");
}

#[test]
fn a_committed_directory_symlink_in_the_lock_path_never_lets_update_write_outside() {
    let outside = tempfile::tempdir().expect("temp dir");
    let victim = victims(outside.path());
    let work = outside.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    // The clone is `outside/work/clone`: `up -> ../..` is `outside`.
    let origin = Repo::new();
    origin
        .write("plugins/a/plugin.yaml", "name: a\nversion: 1.0.0\n")
        .write("plugins/a/main.py", "print('a')\n")
        .write(
            ".plugin-lock.yml",
            "plugins: [\"up/victim/*\"]\nlock: up/victim/authorized_keys\n",
        );
    origin.git(&["add", "-A"]);
    origin.stage("up", "120000", b"../..");
    origin.commit_index("hostile");
    let url = format!("file://{}", origin.path().display());
    git_in(&work, &["clone", "-q", &url, "clone"]);
    let clone = work.join("clone");
    assert!(
        std::fs::symlink_metadata(clone.join("up"))
            .expect("up")
            .file_type()
            .is_symlink()
    );

    let before_victim = snapshot(&victim);
    let before_git = snapshot(&clone.join(".git"));
    for args in [&["update"][..], &["update", "--format", "json"]] {
        let out = run_in(&clone, args);
        assert_refused(&out, "update through `up`", "up/victim/authorized_keys");
        assert!(
            stderr(&out).contains(".plugin-lock.yml"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(snapshot(&victim), before_victim, "a file outside changed");
    assert_eq!(snapshot(&clone.join(".git")), before_git, ".git changed");
}

#[test]
fn a_lock_path_inside_the_git_dir_is_refused() {
    for (dir, lock) in [
        (".git", ".git/config"),
        (".GIT", ".GIT/config"),
        ("plugins/.Git", "plugins/.Git/x.lock"),
    ] {
        let repo = origin_with_config(&format!("plugins: [\"{dir}/*\"]\nlock: {lock}\n"));
        let before = snapshot(&repo.path().join(".git"));
        let out = repo.run(&["update"]);
        assert_refused(&out, lock, lock);
        assert!(
            stderr(&out).contains(".plugin-lock.yml"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            snapshot(&repo.path().join(".git")),
            before,
            "{lock}: .git changed"
        );
    }
    // The flag too, and a git dir the work tree holds under another name.
    let repo = origin_with_config("{}\n");
    let before = snapshot(&repo.path().join(".git"));
    let out = repo.run(&[
        "update",
        "--lock",
        ".git/hooks/pre-push",
        "--plugins",
        ".git/hooks/*",
    ]);
    assert_refused(&out, "--lock .git/…", "--lock");
    assert_eq!(snapshot(&repo.path().join(".git")), before);

    let outer = tempfile::tempdir().expect("temp dir");
    let work = outer.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git_in(
        &work,
        &["init", "-q", "-b", "main", "--separate-git-dir", "store"],
    );
    let store = work.join("store");
    let before = snapshot(&store);
    let out = run_in(
        &work,
        &["update", "--lock", "store/config", "--plugins", "store/*"],
    );
    assert_refused(&out, "--lock into a separate git dir", "store/config");
    assert_eq!(snapshot(&store), before, "the git dir changed");
}

#[test]
fn a_lock_flag_outside_the_work_tree_is_refused() {
    let repo = origin_with_config("{}\n");
    let outside = tempfile::tempdir().expect("temp dir");
    let victim = victims(outside.path());
    let before = snapshot(outside.path());
    let abs = victim.join("authorized_keys");
    let abs = abs.to_string_lossy().into_owned();
    let abs_plugins = format!("{}/*", victim.display());
    for (lock, plugins) in [
        ("../x.lock", "../*"),
        ("plugins/../../x.lock", "plugins/../../*"),
        (abs.as_str(), abs_plugins.as_str()),
    ] {
        let out = repo.run(&["update", "--lock", lock, "--plugins", plugins]);
        assert_refused(&out, lock, "--lock");
        assert_eq!(snapshot(outside.path()), before, "{lock}");
    }
    assert!(
        !repo
            .path()
            .parent()
            .expect("parent")
            .join("x.lock")
            .exists()
    );
}

#[cfg(unix)]
#[test]
fn a_lock_path_that_is_a_symlink_is_refused_and_its_target_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let outside = tempfile::tempdir().expect("temp dir");
    let victim = victims(outside.path());
    let target = victim.join("authorized_keys");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o751)).expect("chmod");
    let repo = origin_with_config("{}\n");
    std::os::unix::fs::symlink(&target, repo.path().join("plugins/PLUGINS.lock")).expect("symlink");
    // A link inside the work tree is refused as well: the lock is a file of its own.
    let inside = repo.path().join("real.lock");
    std::fs::write(&inside, b"{}\n").expect("write");
    std::os::unix::fs::symlink("real.lock", repo.path().join("inner.lock")).expect("symlink");
    let before = snapshot(outside.path());
    let out = repo.run(&["update"]);
    assert_refused(&out, "a symlinked lock", "plugins/PLUGINS.lock");
    let out = repo.run(&["update", "--lock", "inner.lock"]);
    assert_refused(&out, "a symlink inside", "inner.lock");
    assert_eq!(snapshot(outside.path()), before);
    assert_eq!(std::fs::read(&inside).expect("read"), b"{}\n");
    assert!(
        std::fs::symlink_metadata(repo.path().join("plugins/PLUGINS.lock"))
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
}

/// The mode a fresh file gets in `dir` (the umask's answer).
#[cfg(unix)]
fn fresh_mode(dir: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::write(&probe, b"").expect("write");
    let mode = std::fs::metadata(&probe)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    std::fs::remove_file(&probe).expect("rm");
    mode
}

#[cfg(unix)]
#[test]
fn a_report_path_that_is_a_symlink_is_replaced_never_written_through() {
    use std::os::unix::fs::PermissionsExt;
    let repo = two_plugins();
    let outside = tempfile::tempdir().expect("temp dir");
    let victim = victims(outside.path());
    let target = victim.join("authorized_keys");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o751)).expect("chmod");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let report = out_dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &report).expect("symlink");
    let before = snapshot(outside.path());
    let out = repo.run(&["verify", "--report", &report.to_string_lossy()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        snapshot(outside.path()),
        before,
        "the link's target changed"
    );
    let meta = std::fs::symlink_metadata(&report).expect("lstat");
    assert!(meta.is_file(), "the report replaced the link");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        fresh_mode(out_dir.path()),
        "a new report takes the default mode, not the link target's"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("read")).expect("JSON");
    assert!(doc["findings"].is_array(), "{doc:#}");
}

#[cfg(unix)]
#[test]
fn the_default_report_is_a_fresh_file_no_other_user_can_plant_in_runner_temp() {
    let repo = two_plugins();
    let runner_temp = tempfile::tempdir().expect("temp dir");
    let outside = tempfile::tempdir().expect("temp dir");
    let victim = victims(outside.path());
    // Another local user plants the old fixed name, pointing at their target.
    let planted = runner_temp.path().join("plugin-lock-report.json");
    std::os::unix::fs::symlink(victim.join("authorized_keys"), &planted).expect("symlink");
    let output = runner_temp.path().join("github_output");
    std::fs::write(&output, b"").expect("write");
    let before = snapshot(outside.path());
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("RUNNER_TEMP", &*runner_temp.path().to_string_lossy()),
        ("GITHUB_OUTPUT", &*output.to_string_lossy()),
    ];
    let mut reports = Vec::new();
    for _ in 0..2 {
        let out = run_env(repo.path(), &["verify"], &env);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        reports = std::fs::read_to_string(&output)
            .expect("read")
            .lines()
            .filter_map(|l| l.strip_prefix("report=").map(PathBuf::from))
            .collect();
    }
    assert_eq!(
        snapshot(outside.path()),
        before,
        "the planted link was followed"
    );
    assert!(
        std::fs::symlink_metadata(&planted)
            .expect("lstat")
            .file_type()
            .is_symlink(),
        "the planted link was replaced"
    );
    assert_eq!(reports.len(), 2, "one report output per run");
    assert_ne!(reports[0], reports[1], "each run has its own report");
    for report in &reports {
        assert_eq!(report.parent(), Some(runner_temp.path()), "{report:?}");
        assert_ne!(report, &planted);
        let meta = std::fs::symlink_metadata(report).expect("the named report exists");
        assert!(meta.is_file());
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report).expect("read")).expect("JSON");
        assert!(doc["findings"].is_array(), "{doc:#}");
    }
}

#[test]
fn update_still_writes_a_lock_in_a_new_directory_of_the_work_tree() {
    let repo = origin_with_config("plugins: [\"locks/deep/*\"]\nlock: locks/deep/PLUGINS.lock\n");
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(repo.read("locks/deep/PLUGINS.lock").starts_with(b"{"));
}

/// `mkfifo PATH`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {path:?}");
}

#[cfg(unix)]
#[test]
fn a_hook_that_is_a_fifo_or_a_device_is_foreign_and_never_read() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let path_env = path_with_bin();
    let env = [("PATH", path_env.as_str())];
    let repo = Repo::new();
    let hooks = repo.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    let hook = hooks.join("pre-push");
    let outside = tempfile::tempdir().expect("temp dir");
    let foreign = outside.path().join("their-hook");
    std::fs::write(&foreign, b"#!/bin/sh\necho theirs\n").expect("write");
    std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    let fifo = || {
        let _ = std::fs::remove_file(&hook);
        mkfifo(&hook);
    };
    let zero = || {
        let _ = std::fs::remove_file(&hook);
        std::os::unix::fs::symlink("/dev/zero", &hook).expect("symlink");
    };
    let link = || {
        let _ = std::fs::remove_file(&hook);
        std::os::unix::fs::symlink(&foreign, &hook).expect("symlink");
    };
    let setups: [(&str, &dyn Fn()); 3] = [
        ("a FIFO", &fifo),
        ("a link to /dev/zero", &zero),
        ("a link to someone's hook", &link),
    ];
    for (what, setup) in setups {
        setup();
        let before = std::fs::symlink_metadata(&hook).expect("lstat").file_type();
        for action in ["install", "uninstall"] {
            let run = run_bounded(repo.path(), &["hook", action], &env);
            run.assert_within_bounds(&format!("hook {action} over {what}"));
            assert_eq!(code(&run.output), 2, "{what}: {}", stderr(&run.output));
            assert!(
                stderr(&run.output).contains("did not write"),
                "{what}: {}",
                stderr(&run.output)
            );
            let now = std::fs::symlink_metadata(&hook).expect("kept").file_type();
            assert_eq!(now, before, "{what}: the hook was kept");
        }
        let run = run_bounded(repo.path(), &["hook", "install", "--force"], &env);
        run.assert_within_bounds(&format!("hook install --force over {what}"));
        assert_eq!(code(&run.output), 0, "{what}: {}", stderr(&run.output));
        let meta = std::fs::symlink_metadata(&hook).expect("installed");
        assert!(
            meta.is_file() && !meta.file_type().is_fifo(),
            "{what}: replaced"
        );
        assert_eq!(
            meta.permissions().mode() & 0o111,
            0o111,
            "{what}: executable"
        );
        assert!(
            std::fs::read_to_string(&hook)
                .expect("read")
                .contains("plugin-lock hook pre-push"),
            "{what}"
        );
    }
    assert_eq!(
        std::fs::read(&foreign).expect("read"),
        b"#!/bin/sh\necho theirs\n",
        "the link's target was written through"
    );
    assert_eq!(
        std::fs::metadata(&foreign)
            .expect("stat")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
}

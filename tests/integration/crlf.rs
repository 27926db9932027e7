//! The key acceptance: a Windows-style checkout (CRLF in the work tree) verifies the
//! same as the LF blobs that were committed, from every source.

use std::path::{Path, PathBuf};

use crate::util::*;

/// A repository with multi-line LF text files in its plugins and a committed lock.
fn lf_origin() -> Repo {
    let repo = Repo::new();
    // No attribute: a checkout converts as `core.autocrlf` says.
    repo.remove(".gitattributes");
    repo.write("README.md", "fixture\nwith lines\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write(
            "plugins/alpha/src/main.py",
            "import sys\n\ndef main():\n    print('alpha')\n",
        )
        .write("plugins/alpha/data.bin", [0u8, b'\n', 0xff, b'\n', 0])
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n")
        .write("plugins/beta/notes.txt", "beta notes\nsecond line\n")
        .write("plugins/beta/docs/usage.txt", "one\ntwo\nthree\n");
    repo.update_lock();
    repo.commit("LF plugins");
    // Nothing committed has a CR.
    for path in [
        "plugins/alpha/plugin.yaml",
        "plugins/beta/notes.txt",
        "plugins/PLUGINS.lock",
    ] {
        let blob = repo.git(&["cat-file", "-p", &format!("HEAD:{path}")]);
        assert!(!blob.contains('\r'), "{path} was committed with CR");
    }
    repo
}

/// Clones `origin` through a file:// URL with extra `git clone` arguments.
fn clone(origin: &Repo, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", origin.path().display());
    let mut all = vec!["clone", "-q"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[&url, "clone"]);
    git_in(parent.path(), &all);
    let dir = parent.path().join("clone");
    (parent, dir)
}

fn has_crlf(dir: &Path, rel: &str) -> bool {
    let bytes = std::fs::read(dir.join(rel)).expect("read checkout");
    bytes.windows(2).any(|w| w == b"\r\n")
}

fn digest(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["digest"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all);
    assert_eq!(code(&out), 0, "digest {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Every source agrees with the committed lock in a checkout at `dir`.
fn assert_all_sources_pass(dir: &Path) {
    for args in [
        &["verify"][..],
        &["verify", "--worktree"],
        &["verify", "--index"],
    ] {
        let out = run_in(dir, args);
        assert_eq!(code(&out), 0, "{args:?}:\n{}{}", stdout(&out), stderr(&out));
    }
    let out = run_in(dir, &["update", "--check"]);
    assert_eq!(code(&out), 0, "update --check:\n{}", stdout(&out));
    assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));

    for plugin in ["plugins/alpha", "plugins/beta"] {
        assert_eq!(
            digest(dir, &["--worktree", plugin]),
            digest(dir, &[plugin]),
            "{plugin}: work tree and commit differ"
        );
        assert_eq!(digest(dir, &["--index", plugin]), digest(dir, &[plugin]));
    }
}

#[test]
fn autocrlf_checkout_verifies_from_every_source() {
    let origin = lf_origin();
    let (_parent, dir) = clone(&origin, &["-c", "core.autocrlf=true"]);
    // The checkout really is CRLF (text files, the lock too), binary files untouched.
    for rel in [
        "plugins/alpha/plugin.yaml",
        "plugins/alpha/src/main.py",
        "plugins/beta/notes.txt",
        "plugins/PLUGINS.lock",
    ] {
        assert!(has_crlf(&dir, rel), "{rel} has no CRLF in the checkout");
    }
    assert_eq!(
        std::fs::read(dir.join("plugins/alpha/data.bin")).expect("read"),
        [0u8, b'\n', 0xff, b'\n', 0]
    );

    assert_all_sources_pass(&dir);
    // And the digests are those of the origin.
    assert_eq!(
        digest(&dir, &["--worktree", "plugins/alpha", "plugins/beta"]),
        digest(origin.path(), &["plugins/alpha", "plugins/beta"])
    );
}

#[test]
fn autocrlf_checkout_update_leaves_the_lock_alone() {
    let origin = lf_origin();
    let (_parent, dir) = clone(&origin, &["-c", "core.autocrlf=true"]);
    let before = std::fs::read(dir.join("plugins/PLUGINS.lock")).expect("read");
    let out = run_in(&dir, &["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read(dir.join("plugins/PLUGINS.lock")).expect("read"),
        before,
        "update rewrote an up-to-date lock"
    );
    assert_eq!(git_in(&dir, &["status", "--porcelain"]), "");
}

#[test]
fn autocrlf_checkout_still_detects_a_real_edit() {
    let origin = lf_origin();
    let (_parent, dir) = clone(&origin, &["-c", "core.autocrlf=true"]);
    std::fs::write(
        dir.join("plugins/beta/notes.txt"),
        "beta notes\r\nedited\r\n",
    )
    .expect("w");
    let out = run_in(&dir, &["verify", "--worktree", "--format", "json"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["kind"], "integrity_mismatch");
    assert_eq!(doc["findings"][0]["plugin"], "beta");
    // The digest is that of the LF content git would commit.
    let lf = lf_origin();
    lf.write("plugins/beta/notes.txt", "beta notes\nedited\n");
    lf.commit("edit");
    let expected = digest(lf.path(), &["plugins/beta"]);
    assert_eq!(
        doc["findings"][0]["actual"].as_str().expect("actual"),
        expected.split_whitespace().next().expect("digest")
    );
    // `update` in the clone then records that digest.
    let out = run_in(&dir, &["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&run_in(&dir, &["verify", "--worktree"])), 0);
    // HEAD has neither the edit nor the new lock: it still verifies.
    assert_eq!(code(&run_in(&dir, &["verify"])), 0);
    git_in(&dir, &["commit", "-q", "-am", "edit beta, update the lock"]);
    assert_eq!(code(&run_in(&dir, &["verify"])), 0);
    assert_eq!(code(&run_in(&dir, &["verify", "--rev", "HEAD~1"])), 0);
}

#[test]
fn gitattributes_eol_crlf_checkout_verifies() {
    let origin = lf_origin();
    origin.write(".gitattributes", "*.txt text eol=crlf\n");
    origin.commit("txt files are CRLF on checkout");
    // A plain clone: no autocrlf, the attributes alone convert.
    let (_parent, dir) = clone(&origin, &[]);
    assert!(has_crlf(&dir, "plugins/beta/notes.txt"));
    assert!(has_crlf(&dir, "plugins/beta/docs/usage.txt"));
    assert!(!has_crlf(&dir, "plugins/beta/plugin.yaml"));
    assert!(!has_crlf(&dir, "plugins/PLUGINS.lock"));

    assert_all_sources_pass(&dir);
    let before = std::fs::read(dir.join("plugins/PLUGINS.lock")).expect("read");
    let out = run_in(&dir, &["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.join("plugins/PLUGINS.lock")).expect("read"),
        before
    );
}

#[test]
fn gitattributes_and_autocrlf_together() {
    let origin = lf_origin();
    origin.write(".gitattributes", "*.txt text eol=crlf\n*.bin binary\n");
    origin.commit("attributes");
    let (_parent, dir) = clone(&origin, &["-c", "core.autocrlf=true"]);
    assert!(has_crlf(&dir, "plugins/beta/notes.txt"));
    assert!(has_crlf(&dir, "plugins/alpha/plugin.yaml"));
    assert_all_sources_pass(&dir);
}

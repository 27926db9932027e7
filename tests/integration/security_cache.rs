//! What the result cache trusts (issue #16, bypass class 3): only a file sealed with the
//! user's own key for this repository, only outside CI unless asked for, and only a
//! regular file reached through no symlink; anything else is ignored, never waited on.

use std::path::Path;
use std::process::{Command, Output};

use crate::cache::{Seal, cache_file, forge_sealed, verify_json};
use crate::util::*;

const Z40: &str = "0000000000000000000000000000000000000000";

/// `two_plugins` with a warm cache, then alpha tampered with (lock unchanged), committed
/// and verified once, so the cache holds the tampered tree's (true) result.
fn tampered_with_warm_cache() -> Repo {
    let repo = two_plugins();
    assert_eq!(verify_json(&repo, &[]).0, 0);
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper");
    let (status, report) = verify_json(&repo, &[]);
    assert_eq!(status, 4, "{report}");
    repo
}

/// The attack: every cached digest that mismatches its lock entry is replaced by the
/// locked one, so a cache that is believed makes the tampered plugin pass.
fn forge_passing(repo: &Repo, seal: &Seal<'_>) {
    let (_, report) = verify_json(repo, &["--no-cache"]);
    let swaps: Vec<(String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "integrity_mismatch")
        .map(|f| {
            let s = |k: &str| f[k].as_str().expect("digest").to_owned();
            (s("actual"), s("expected"))
        })
        .collect();
    assert!(!swaps.is_empty(), "{report}");
    forge_sealed(repo, seal, |v| {
        for (actual, expected) in &swaps {
            if v["digest"] == actual.as_str() {
                v["digest"] = serde_json::Value::String(expected.clone());
            }
        }
    });
}

/// `hook pre-push` for HEAD pushed as a new `main`, as git runs it.
fn pre_push(repo: &Repo, env: &[(&str, &str)]) -> Output {
    let head = repo.git(&["rev-parse", "HEAD"]);
    let input = format!("refs/heads/main {head} refs/heads/main {Z40}\n");
    run_stdin(
        repo.path(),
        &["hook", "pre-push", "origin", "url"],
        input.as_bytes(),
        env,
    )
}

#[test]
fn a_forged_entry_sealed_with_the_unkeyed_checksum_is_ignored_by_verify_and_pre_push() {
    let repo = tampered_with_warm_cache();
    forge_passing(&repo, &Seal::Unkeyed);
    let (status, report) = verify_json(&repo, &[]);
    assert_eq!(status, 4, "the forged cache was believed: {report}");
    assert!(
        report.to_string().contains("integrity_mismatch"),
        "{report}"
    );
    // With the cache warm again (rewritten by that run, under the key): still caught.
    assert_eq!(verify_json(&repo, &[]).0, 4, "warm");
    forge_passing(&repo, &Seal::Unkeyed);
    let out = pre_push(&repo, &[]);
    assert_eq!(
        code(&out),
        4,
        "pre-push believed the forged cache: {}",
        stderr(&out)
    );
    forge_passing(&repo, &Seal::Unkeyed);
    let out = run_env(repo.path(), &["hook", "pre-commit-framework"], &[]);
    assert_eq!(code(&out), 4, "pre-commit believed it: {}", stderr(&out));
}

#[test]
fn a_cache_sealed_for_another_user_or_repository_is_ignored() {
    let repo = tampered_with_warm_cache();
    // Another user (their own key, in their own cache directory) forges a passing cache
    // for this very repository: their plugin-lock believes it...
    let other = tempfile::tempdir().expect("temp dir");
    let other_home = other.path().to_str().expect("utf-8 temp path");
    let as_other = [("XDG_CACHE_HOME", other_home)];
    assert_eq!(code(&run_env(repo.path(), &["verify"], &as_other)), 4);
    let theirs = Seal::Keyed {
        home: other.path(),
        repo: repo.path(),
    };
    forge_passing(&repo, &theirs);
    let out = run_env(repo.path(), &["verify"], &as_other);
    assert_eq!(code(&out), 0, "the forge is sealed right: {}", stderr(&out));
    // ...this user's does not, on verify or on the hook.
    forge_passing(&repo, &theirs);
    assert_eq!(
        verify_json(&repo, &[]).0,
        4,
        "another user's cache was believed"
    );
    forge_passing(&repo, &theirs);
    assert_eq!(
        code(&pre_push(&repo, &[])),
        4,
        "pre-push: another user's cache"
    );

    // This user's own cache of one repository, copied into another (a clone handed over
    // with its .git, the same trees): believed where it was made, not where it lands.
    let copy = tempfile::tempdir().expect("temp dir");
    let status = Command::new("cp")
        .args(["-a", &format!("{}/.", repo.path().display())])
        .arg(copy.path())
        .status()
        .expect("cp runs");
    assert!(status.success());
    let mine = Seal::Keyed {
        home: test_cache_home(),
        repo: repo.path(),
    };
    forge_passing(&repo, &mine);
    let forged = std::fs::read(cache_file(&repo)).expect("cache");
    assert_eq!(verify_json(&repo, &[]).0, 0, "the forge is sealed right");
    std::fs::write(copy.path().join(".git/plugin-lock/cache-v1"), &forged).expect("copy");
    let out = run_in(copy.path(), &["verify", "--format", "json"]);
    let report = json(&out);
    assert_eq!(
        code(&out),
        4,
        "a cache copied from another repository was believed: {report}"
    );
    std::fs::write(copy.path().join(".git/plugin-lock/cache-v1"), &forged).expect("copy");
    let head = git_in(copy.path(), &["rev-parse", "HEAD"]);
    let input = format!("refs/heads/main {head} refs/heads/main {Z40}\n");
    let out = run_stdin(
        copy.path(),
        &["hook", "pre-push", "o", "u"],
        input.as_bytes(),
        &[],
    );
    assert_eq!(code(&out), 4, "pre-push: a copied cache: {}", stderr(&out));
}

#[test]
fn under_ci_the_cache_is_off_unless_asked_for() {
    let repo = two_plugins();
    for ci in [("CI", "true"), ("GITHUB_ACTIONS", "true")] {
        let out = run_env(repo.path(), &["verify", "--format", "json"], &[ci]);
        assert_eq!(code(&out), 0, "{ci:?}: {}", stderr(&out));
        assert!(!cache_file(&repo).exists(), "{ci:?}: a cache was written");
        let out = run_env(
            repo.path(),
            &["verify", "--format", "json", "--cache", "--no-cache"],
            &[ci],
        );
        assert_eq!(code(&out), 0, "{ci:?}: {}", stderr(&out));
        assert!(!cache_file(&repo).exists(), "{ci:?}: --no-cache wins");
    }
    // A cache left by an earlier (local) run, poisoned: CI runs neither read nor write it.
    assert_eq!(verify_json(&repo, &[]).0, 0);
    crate::cache::poison(&repo);
    let poisoned = std::fs::read(cache_file(&repo)).expect("cache");
    repo.write("plugins/beta/notes.txt", "changed\n");
    repo.update_lock();
    repo.commit("change beta");
    let ci = [("CI", "true")];
    let out = run_env(repo.path(), &["verify", "--format", "json"], &ci);
    assert_eq!(
        code(&out),
        0,
        "under CI the cache was read: {}",
        stdout(&out)
    );
    assert_eq!(std::fs::read(cache_file(&repo)).expect("cache"), poisoned);
    // Asked for, it is used: the poisoned entry is read.
    for asked in [
        (&["verify", "--cache"][..], &[("CI", "true")][..]),
        (&["verify"], &[("CI", "true"), ("PLUGIN_LOCK_CACHE", "1")]),
    ] {
        std::fs::write(cache_file(&repo), &poisoned).expect("write");
        let out = run_env(repo.path(), asked.0, asked.1);
        assert_eq!(code(&out), 4, "{asked:?}: the cache was not read");
    }
    std::fs::remove_file(cache_file(&repo)).expect("rm");
    let out = run_env(repo.path(), &["verify", "--cache"], &ci);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        cache_file(&repo).is_file(),
        "--cache under CI writes the cache"
    );
}

#[test]
fn without_a_usable_key_there_is_no_cache_and_no_error() {
    let repo = two_plugins();
    let home = tempfile::tempdir().expect("temp dir");
    let key_dir = home.path().join("plugin-lock");
    std::fs::create_dir_all(&key_dir).expect("mkdir");
    let check = |what: &str, env: &[(&str, &str)]| {
        let run = run_bounded(repo.path(), &["-v", "verify", "--format", "json"], env);
        run.assert_within_bounds(what);
        assert_eq!(code(&run.output), 0, "{what}: {}", stderr(&run.output));
        assert!(!cache_file(&repo).exists(), "{what}: a cache was written");
        assert!(
            stderr(&run.output).contains("ran without the cache"),
            "{what}: {}",
            stderr(&run.output)
        );
    };
    // No cache directory at all (XDG_CACHE_HOME and HOME empty).
    check(
        "no home",
        &[("XDG_CACHE_HOME", ""), ("HOME", ""), ("LOCALAPPDATA", "")],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = key_dir.join("key");
        let env = [(
            "XDG_CACHE_HOME",
            home.path().to_str().expect("utf-8 temp path"),
        )];
        // A FIFO is not waited on.
        let made = Command::new("mkfifo").arg(&key).status().expect("mkfifo");
        assert!(made.success());
        check("a FIFO key", &env);
        std::fs::remove_file(&key).expect("rm");
        // A link (to a key someone else may know) is not followed.
        let elsewhere = home.path().join("known");
        std::fs::write(&elsewhere, [7u8; 32]).expect("write");
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        std::os::unix::fs::symlink(&elsewhere, &key).expect("symlink");
        check("a symlinked key", &env);
        std::fs::remove_file(&key).expect("rm");
        // A key others can read is no secret.
        std::fs::write(&key, [7u8; 32]).expect("write");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        check("a key open to others", &env);
        // A damaged key is not guessed at.
        std::fs::write(&key, [7u8; 5]).expect("write");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        check("a short key", &env);
    }
}

/// `verify`, `hook pre-commit-framework` and `hook pre-push` with `plant` making the
/// cache file something that is not a regular file: each finishes within the bounds,
/// passes, and leaves a regular cache file in its place.
#[cfg(unix)]
fn runs_within_bounds_over(what: &str, plant: impl Fn(&Path)) {
    let repo = two_plugins();
    std::fs::create_dir_all(repo.path().join(".git/plugin-lock")).expect("mkdir");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let input = format!("refs/heads/main {head} refs/heads/main {Z40}\n");
    for run_as in ["verify", "pre-commit-framework", "pre-push"] {
        plant(&cache_file(&repo));
        let run = match run_as {
            "verify" => run_bounded(repo.path(), &["verify"], &[]),
            "pre-commit-framework" => {
                run_bounded(repo.path(), &["hook", "pre-commit-framework"], &[])
            }
            _ => run_bounded_stdin(
                repo.path(),
                &["hook", "pre-push", "o", "u"],
                &[],
                input.as_bytes(),
            ),
        };
        let label = format!("{what}: {run_as}");
        run.assert_within_bounds(&label);
        assert_eq!(code(&run.output), 0, "{label}: {}", stderr(&run.output));
        let meta = std::fs::symlink_metadata(cache_file(&repo)).expect("cache");
        assert!(meta.is_file(), "{label}: the cache is not replaced");
    }
}

#[cfg(unix)]
#[test]
fn a_cache_file_that_is_a_fifo_is_not_waited_on() {
    runs_within_bounds_over("a FIFO", |path| {
        let _ = std::fs::remove_file(path);
        let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
        assert!(made.success());
    });
}

#[cfg(unix)]
#[test]
fn a_cache_file_linked_to_an_endless_device_is_not_read() {
    runs_within_bounds_over("a link to /dev/zero", |path| {
        let _ = std::fs::remove_file(path);
        std::os::unix::fs::symlink("/dev/zero", path).expect("symlink");
    });
}

#[cfg(unix)]
#[test]
fn a_cache_reached_through_a_symlink_is_neither_read_nor_written_through() {
    let repo = tampered_with_warm_cache();
    let outside = tempfile::tempdir().expect("temp dir");
    // The cache's directory linked elsewhere: nothing is read or written there.
    let dir = repo.path().join(".git/plugin-lock");
    std::fs::remove_dir_all(&dir).expect("rm");
    std::os::unix::fs::symlink(outside.path(), &dir).expect("symlink");
    assert_eq!(verify_json(&repo, &[]).0, 4);
    let left: Vec<_> = std::fs::read_dir(outside.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "written through the link: {left:?}");
    std::fs::remove_file(&dir).expect("rm");
    assert_eq!(verify_json(&repo, &[]).0, 4);

    // The file linked to a forged cache (sealed right for this user and repository,
    // so that only not following the link keeps it out), and to a file to protect.
    let victim = outside.path().join("victim");
    let mine = Seal::Keyed {
        home: test_cache_home(),
        repo: repo.path(),
    };
    forge_passing(&repo, &mine);
    std::fs::rename(cache_file(&repo), &victim).expect("move");
    let before = std::fs::read(&victim).expect("victim");
    std::os::unix::fs::symlink(&victim, cache_file(&repo)).expect("symlink");
    let (status, report) = verify_json(&repo, &[]);
    assert_eq!(status, 4, "read through the link: {report}");
    assert_eq!(
        std::fs::read(&victim).expect("victim"),
        before,
        "written through"
    );
    let meta = std::fs::symlink_metadata(cache_file(&repo)).expect("cache");
    assert!(meta.is_file(), "the link is replaced by a cache of its own");
    // The same forge as a regular file is believed: the link alone kept it out.
    std::fs::copy(&victim, cache_file(&repo)).expect("copy");
    assert_eq!(verify_json(&repo, &[]).0, 0);
}

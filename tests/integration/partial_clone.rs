//! Partial clones (`--filter=blob:none`) from a local promisor remote: blobs that are
//! not there yet are fetched from it, or named with the path, the tree and what to do.
//! Every remote here is a directory on this machine (`file://`).

use std::path::{Path, PathBuf};

use crate::util::*;

/// A blob-less clone of `origin` (no checkout unless `checkout`), in a new temp dir.
fn blobless_clone(origin: &Repo, checkout: bool) -> (tempfile::TempDir, PathBuf) {
    origin.git(&["config", "uploadpack.allowFilter", "true"]);
    let parent = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", origin.path().display());
    let mut args = vec!["clone", "-q", "--filter=blob:none"];
    if !checkout {
        args.push("--no-checkout");
    }
    args.extend([url.as_str(), "clone"]);
    git_in(parent.path(), &args);
    let dir = parent.path().join("clone");
    (parent, dir)
}

/// The objects reachable from `rev` that the clone does not have.
fn missing_ids(dir: &Path, rev: &str) -> Vec<String> {
    git_in(dir, &["rev-list", "--objects", "--missing=print", rev])
        .lines()
        .filter_map(|l| l.strip_prefix('?'))
        .map(str::to_owned)
        .collect()
}

fn missing(dir: &Path, rev: &str) -> usize {
    missing_ids(dir, rev).len()
}

/// `two_plugins`, then a commit that changes `alpha` without updating the lock.
fn origin_with_stale_lock() -> Repo {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('alpha, edited')\n");
    repo.commit("alpha changes, the lock does not");
    repo
}

#[test]
fn verify_in_a_blobless_clone_fetches_what_it_hashes() {
    let origin = two_plugins();
    let (_keep, clone) = blobless_clone(&origin, false);
    assert!(missing(&clone, "HEAD") > 0);
    let run = run_bounded(&clone, &["verify", "--rev", "HEAD"], &[]);
    run.assert_within_bounds("verify in a blob-less clone");
    assert_eq!(code(&run.output), 0, "{}", stderr(&run.output));
    assert!(stdout(&run.output).contains("verify: ok 2 plugins match"));
    // Everything it read came; what it had no use for did not.
    let readme = origin.git(&["rev-parse", "HEAD:README.md"]);
    assert_eq!(missing_ids(&clone, "HEAD"), [readme]);
}

#[test]
fn a_blob_that_may_not_be_fetched_is_named_with_its_path_and_the_way_out() {
    let origin = two_plugins();
    let (_keep, clone) = blobless_clone(&origin, false);
    let run = run_bounded(
        &clone,
        &["verify", "--rev", "HEAD"],
        &[("GIT_NO_LAZY_FETCH", "1")],
    );
    run.assert_within_bounds("verify with lazy fetching off");
    assert_eq!(code(&run.output), 2, "{}", stdout(&run.output));
    let err = stderr(&run.output);
    let head = git_in(&clone, &["rev-parse", "HEAD"]);
    // The first blob read is the lock's.
    assert!(
        err.contains(&format!(
            "`plugins/PLUGINS.lock` in commit {}: object",
            &head[..12]
        )),
        "{err}"
    );
    assert!(err.contains("is not in this repository"), "{err}");
    assert!(err.contains("GIT_NO_LAZY_FETCH is set"), "{err}");
    assert!(err.contains("git fetch --refetch --no-filter"), "{err}");
    assert!(err.contains("filter: blob:none"), "{err}");
}

#[test]
fn an_unreachable_promisor_remote_fails_fast_with_the_path() {
    let origin = two_plugins();
    let (_keep, clone) = blobless_clone(&origin, false);
    // The remote is gone (a runner without network, a moved repository).
    let gone = clone.parent().unwrap().join("gone.git");
    git_in(
        &clone,
        &[
            "remote",
            "set-url",
            "origin",
            &format!("file://{}", gone.display()),
        ],
    );
    let run = run_bounded(&clone, &["verify", "--rev", "HEAD"], &[]);
    run.assert_within_bounds("verify with the remote gone");
    assert_eq!(code(&run.output), 2, "{}", stdout(&run.output));
    let err = stderr(&run.output);
    assert!(err.contains("`plugins/PLUGINS.lock` in commit"), "{err}");
    assert!(err.contains("asking `origin` for it failed"), "{err}");
    assert!(err.contains("git fetch origin"), "{err}");
}

#[test]
fn a_base_without_its_blobs_is_a_warning_and_the_verdict_stands() {
    let origin = origin_with_stale_lock();
    // actions/checkout with `filter: blob:none`: the checked-out commit's blobs only.
    let (_keep, clone) = blobless_clone(&origin, true);
    assert!(missing(&clone, "HEAD~1") > 0);
    let (exit, doc) = verify_json(&clone, &["--base", "HEAD~1"], &[("GIT_NO_LAZY_FETCH", "1")]);
    assert_eq!(exit, 4, "{doc:#}");
    let mismatch = of_kind(&doc, "integrity_mismatch");
    assert_eq!(mismatch.len(), 1, "{doc:#}");
    assert!(mismatch[0].get("changes").is_none(), "{doc:#}");
    let base = of_kind(&doc, "base_unavailable");
    assert_eq!(base.len(), 1, "{doc:#}");
    assert_eq!(base[0]["severity"], "warning");
    let message = base[0]["message"].as_str().unwrap();
    assert!(message.contains("plugins/alpha/src/main.py"), "{message}");
    assert!(message.contains("changes are not explained"), "{message}");

    // With lazy fetching, the base's blob comes and the change is explained.
    let (exit, doc) = verify_json(&clone, &["--base", "HEAD~1"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert!(of_kind(&doc, "base_unavailable").is_empty(), "{doc:#}");
    let mismatch = of_kind(&doc, "integrity_mismatch");
    assert_eq!(
        mismatch[0]["changes"][0]["path"], "plugins/alpha/src/main.py",
        "{doc:#}"
    );
}

#[test]
fn a_plugin_that_is_a_link_is_judged_in_a_blobless_clone_as_in_a_full_one() {
    let origin = two_plugins();
    std::os::unix::fs::symlink("alpha", origin.path().join("plugins/linked")).unwrap();
    origin.commit("a plugin directory that is a link");
    let (want, full) = verify_json(origin.path(), &["--rev", "HEAD"], &[]);
    let (_keep, clone) = blobless_clone(&origin, false);
    let (got, partial) = verify_json(&clone, &["--rev", "HEAD"], &[]);
    assert_eq!(got, want, "{partial:#}");
    assert_eq!(findings(&partial), findings(&full));
}

//! Explanations without `--base`: the merge base with the branch's upstream, else with
//! the remote's default branch; a `--base` that names nothing is a mistake (exit 2).

use crate::util::*;

/// `two_plugins` pushed to a bare `origin` (fetched back, so `origin/main` exists), then
/// a branch `feature` made by `setup`, and a commit on it that changes `alpha` without
/// the lock.
fn on_a_branch(setup: &[&[&str]]) -> (Repo, tempfile::TempDir) {
    let repo = two_plugins();
    let remote = tempfile::tempdir().expect("temp dir");
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.git(&["fetch", "-q", "origin"]);
    for args in setup {
        repo.git(args);
    }
    repo.write("plugins/alpha/src/main.py", "print('alpha, edited')\n");
    repo.commit("alpha changes, the lock does not");
    (repo, remote)
}

#[test]
fn a_branch_with_an_upstream_is_explained_against_the_merge_base() {
    let (repo, _remote) =
        on_a_branch(&[&["switch", "-q", "-c", "feature", "--track", "origin/main"]]);
    let fork = repo.git(&["rev-parse", "origin/main"]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        text.contains(&format!(
            "files changed since {} but the lock was not updated",
            &fork[..12]
        )),
        "{text}"
    );
    assert!(
        text.contains("modified: plugins/alpha/src/main.py"),
        "{text}"
    );
    assert!(
        err.contains(&format!(
            "note: changes are explained against {}, the merge base with origin/main (the upstream of feature)",
            &fork[..12]
        )),
        "{err}"
    );

    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4);
    assert_eq!(doc["base"]["commit"], fork.as_str());
    assert_eq!(doc["base"]["chosen"], "inferred");
    assert_eq!(doc["base"]["merge_base_with"], "origin/main");
    let mismatch = of_kind(&doc, "integrity_mismatch");
    assert_eq!(
        mismatch[0]["changes"][0]["path"],
        "plugins/alpha/src/main.py"
    );

    // `--rev` naming the branch finds the same upstream.
    repo.git(&["switch", "-q", "main"]);
    let (_, doc) = verify_json(repo.path(), &["--rev", "feature"], &[]);
    assert_eq!(doc["base"]["why"], "the upstream of feature", "{doc:#}");
}

#[test]
fn without_an_upstream_the_remotes_default_branch_is_the_base() {
    let (repo, _remote) = on_a_branch(&[
        &["remote", "set-head", "origin", "main"],
        &["switch", "-q", "-c", "feature"],
    ]);
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4);
    assert_eq!(
        doc["base"]["why"], "the default branch of origin",
        "{doc:#}"
    );
    assert_eq!(doc["base"]["merge_base_with"], "origin/main", "{doc:#}");
    assert!(of_kind(&doc, "integrity_mismatch")[0]["changes"].is_array());
}

#[test]
fn with_nothing_to_merge_with_nothing_is_explained_and_nothing_is_said() {
    let (repo, _remote) = on_a_branch(&[&["switch", "-q", "-c", "feature"]]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4);
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("changed since"), "{}", stdout(&out));
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    assert!(doc.get("base").is_none(), "{doc:#}");
}

#[test]
fn an_inferred_base_does_not_decide_ownership() {
    // The upstream's CODEOWNERS would leave the lock unowned; the verified tree's rules
    // apply, as they do without a base: only `--base` (or a pull request) moves them.
    let (repo, _remote) =
        on_a_branch(&[&["switch", "-q", "-c", "feature", "--track", "origin/main"]]);
    repo.git(&["switch", "-q", "main"]);
    repo.write(".github/CODEOWNERS", "/README.md @fixture/docs\n");
    repo.commit("upstream owns nothing of the lock");
    repo.git(&["push", "-q", "origin", "main"]);
    repo.git(&["fetch", "-q", "origin"]);
    repo.git(&["switch", "-q", "feature"]);
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(doc["base"]["chosen"], "inferred", "{doc:#}");
    assert!(of_kind(&doc, "lock_not_owned").is_empty(), "{doc:#}");
    let (_, doc) = verify_json(repo.path(), &["--base", "origin/main"], &[]);
    assert_eq!(doc["base"]["chosen"], "given", "{doc:#}");
    assert!(!of_kind(&doc, "lock_not_owned").is_empty(), "{doc:#}");
}

#[test]
fn a_base_that_names_nothing_is_exit_2_and_an_absent_commit_is_base_unavailable() {
    let repo = two_plugins();
    let out = repo.run(&["verify", "--base", "mian"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("unknown revision `mian`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");

    // An id the clone does not have may be a commit beyond a shallow clone's depth.
    let absent = "0123456789abcdef0123456789abcdef01234567";
    let (exit, doc) = verify_json(repo.path(), &["--base", absent], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(of_kind(&doc, "base_unavailable").len(), 1, "{doc:#}");
}

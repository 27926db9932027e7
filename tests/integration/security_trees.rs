//! Whole-tree walks over trees that repeat subtrees by id (ten small trees can name
//! 10^10 paths): the ownership survey and plugin discovery refuse them at once, before
//! walking, with a clear error, on `verify`, `owners`, `list` and the hooks.

use crate::util::*;

const Z40: &str = "0000000000000000000000000000000000000000";

/// Commits `root` on top of HEAD as the new `main` (never checked out: it cannot be).
fn commit_tree(repo: &Repo, root: &str) -> String {
    let commit = repo.git(&["commit-tree", root, "-p", "HEAD", "-m", "bomb"]);
    repo.git(&["update-ref", "refs/heads/main", &commit]);
    commit
}

fn assert_refused(run: &Bounded, what: &str, walk: &str) {
    run.assert_within_bounds(what);
    assert_eq!(code(&run.output), 2, "{what}: {}", stderr(&run.output));
    let err = stderr(&run.output);
    assert!(
        err.contains(walk) && err.contains("more than 5000000 entries"),
        "{what}: {err}"
    );
}

#[test]
fn a_tree_bomb_outside_any_plugin_is_refused_by_the_ownership_survey() {
    let repo = two_plugins();
    let root = with_entry(&repo, "", "vendor", &tree_bomb(&repo));
    let commit = commit_tree(&repo, &root);
    for args in [
        vec!["verify", "--rev", &commit],
        vec!["owners", "--rev", &commit],
        vec!["list", "--rev", &commit],
    ] {
        let run = run_bounded(repo.path(), &args, &[]);
        assert_refused(&run, &args.join(" "), "ownership survey, at `vendor`");
    }
    // The hooks judge the pushed commit the same way.
    let parent = repo.git(&["rev-parse", "HEAD~1"]);
    let input = format!("refs/heads/main {commit} refs/heads/main {parent}\n");
    let run = run_bounded_stdin(
        repo.path(),
        &["hook", "pre-push", "origin", "file:///dev/null"],
        &[],
        input.as_bytes(),
    );
    run.assert_within_bounds("hook pre-push");
    assert_ne!(code(&run.output), 0, "{}", stderr(&run.output));
    let run = run_bounded(
        repo.path(),
        &["hook", "pre-commit-framework"],
        &[
            ("PRE_COMMIT_FROM_REF", &parent),
            ("PRE_COMMIT_TO_REF", &commit),
        ],
    );
    run.assert_within_bounds("hook pre-commit-framework");
    assert_ne!(code(&run.output), 0, "{}", stderr(&run.output));
    let _ = Z40;
}

#[test]
fn a_tree_bomb_inside_a_plugin_that_holds_plugins_is_refused() {
    // `plugins/outer` is a plugin and holds `plugins/outer/inner`: the survey walks its
    // files one by one, so a bomb beside the inner plugin must be charged before that.
    let repo = Repo::new();
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"plugins/*\", \"plugins/*/*\"]\nmanifest: none\n",
    )
    .write("plugins/outer/main.py", "print('outer')\n")
    .write("plugins/outer/inner/main.py", "print('inner')\n");
    repo.update_lock();
    repo.commit("nested plugins");
    let outer = with_entry(&repo, "plugins/outer", "data", &tree_bomb(&repo));
    let plugins = with_entry(&repo, "plugins", "outer", &format!("040000 tree {outer}"));
    let root = with_entry(&repo, "", "plugins", &format!("040000 tree {plugins}"));
    let commit = commit_tree(&repo, &root);
    let run = run_bounded(repo.path(), &["verify", "--rev", &commit], &[]);
    run.assert_within_bounds("verify");
    assert_ne!(code(&run.output), 0, "{}", stderr(&run.output));
}

#[test]
fn a_tree_bomb_below_a_recursive_plugins_glob_is_refused_by_discovery() {
    let repo = Repo::bare_of_owners();
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"plugins/**\"]\nmanifest: none\n",
    )
    .write("plugins/alpha/main.py", "print('alpha')\n");
    repo.update_lock();
    repo.commit("one plugin");
    let plugins = with_entry(&repo, "plugins", "bomb", &tree_bomb(&repo));
    let root = with_entry(&repo, "", "plugins", &format!("040000 tree {plugins}"));
    let commit = commit_tree(&repo, &root);
    for args in [
        vec!["verify", "--rev", &commit],
        vec!["list", "--rev", &commit],
        vec!["update", "--check", "--rev", &commit],
    ] {
        let run = run_bounded(repo.path(), &args, &[]);
        assert_refused(
            &run,
            &args.join(" "),
            "finding plugins with the glob `plugins/**`",
        );
    }
}

#[test]
fn a_repository_of_many_real_files_is_walked_in_full() {
    // The bound counts a shared subtree each time it is named, which is what a checkout
    // holds: 10,000 real paths (one subtree named 100 times) are far below it.
    let repo = two_plugins();
    let blob = git_stdin(repo.path(), &["hash-object", "-w", "--stdin"], Some(b"x\n"));
    let leaf: String = (0..100)
        .map(|i| format!("100644 blob {blob}\tf{i}\n"))
        .collect();
    let leaf = git_stdin(repo.path(), &["mktree"], Some(leaf.as_bytes()));
    let dirs: String = (0..100)
        .map(|i| format!("040000 tree {leaf}\td{i}\n"))
        .collect();
    let vendor = git_stdin(repo.path(), &["mktree"], Some(dirs.as_bytes()));
    let root = with_entry(&repo, "", "vendor", &format!("040000 tree {vendor}"));
    let commit = commit_tree(&repo, &root);
    let run = run_bounded(repo.path(), &["verify", "--rev", &commit], &[]);
    run.assert_within_bounds("verify");
    assert_eq!(code(&run.output), 0, "{}", stderr(&run.output));
}

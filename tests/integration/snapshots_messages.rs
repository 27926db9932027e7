//! Snapshots of the messages people stumbled on when adopting plugin-lock, each as it
//! reads now. Regenerate with `SNAPSHOTS=overwrite cargo test --test integration
//! snapshots_messages`, then review the diff; commit ids are `[..]`.

use snapbox::{assert_data_eq, str};

use crate::util::*;

/// The output of `args` (both streams, stdout first) and its exit code.
fn said(repo: &Repo, args: &[&str]) -> (i32, String) {
    let out = repo.run(args);
    (code(&out), format!("{}{}", stdout(&out), stderr(&out)))
}

fn plugins() -> Repo {
    let repo = Repo::new();
    repo.write(".github/CODEOWNERS", "* @acme/platform\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n");
    repo.update_lock();
    repo.commit("two plugins");
    repo
}

#[test]
fn a_lock_not_in_canonical_form_says_what_differs() {
    let repo = plugins();
    let lock = String::from_utf8(repo.read("plugins/PLUGINS.lock")).unwrap();
    repo.write("plugins/PLUGINS.lock", lock.replace('\n', "\r\n"));
    repo.git(&["config", "core.autocrlf", "false"]);
    repo.commit("a CRLF lock");
    let (exit, text) = said(&repo, &["verify", "--format", "concise"]);
    assert_eq!(exit, 0);
    assert_data_eq!(
        text,
        str![[r#"
plugins/PLUGINS.lock:1:1: warning[lock_not_canonical] the lock `plugins/PLUGINS.lock` is not in canonical form: it has CRLF line ends (an editor, or `core.autocrlf` on Windows: give the lock `-text` in .gitattributes); canonical is LF. Rewrite it: run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock
verify: ok 2 plugins match (plugins/PLUGINS.lock, 1 warning) [source [..]]

"#]]
    );
}

#[test]
fn an_unowned_configuration_without_required_owners_is_said_plainly() {
    let repo = plugins();
    repo.write(".github/CODEOWNERS", "/plugins/ @acme/plugins\n");
    repo.write(".plugin-lock.yml", "plugins: [\"plugins/*\"]\n");
    repo.commit("the configuration has no owner");
    let (exit, text) = said(&repo, &["verify", "--format", "concise"]);
    assert_eq!(exit, 4);
    assert_data_eq!(
        text,
        str![[r#"
.github/CODEOWNERS:1:1: error[lock_not_owned] `.plugin-lock.yml` has no owner in CODEOWNERS: no rule matches it. Add a rule that gives it an owner (e.g. `/.plugin-lock.yml @your-team`), so that a change to it needs that owner's review
verify: FAILED 1 error, 0 warnings; 2 plugins checked against plugins/PLUGINS.lock [source [..]]

"#]]
    );
}

#[test]
fn a_repeated_codeowners_pattern_is_one_finding() {
    let repo = plugins();
    repo.write(
        ".github/CODEOWNERS",
        "* @acme/platform\n/plugins/ @acme/a\n/plugins/ @acme/b\n",
    );
    repo.commit("a repeated pattern");
    let (_, text) = said(&repo, &["verify", "--format", "concise"]);
    assert_data_eq!(
        text,
        str![[r#"
.github/CODEOWNERS:2:1: warning[codeowners_duplicate_pattern] pattern `/plugins/` on line 2 is repeated on line 3; only line 3 counts. Merge the owners onto one line: only the last line with a pattern counts.
verify: ok 2 plugins match (plugins/PLUGINS.lock, 1 warning) [source [..]]

"#]]
    );
}

#[test]
fn update_refuses_with_the_help_verify_gives() {
    let repo = plugins();
    repo.stage("plugins/alpha/vendor", "160000", b"");
    let (exit, text) = said(&repo, &["update", "--index"]);
    assert_eq!(exit, 4);
    assert_data_eq!(
        text,
        str![[r#"
error[unsupported_entry]: plugin `alpha` is rejected: `plugins/alpha/vendor` is a submodule; a plugin cannot contain one
  --> plugins/alpha/vendor:1
   = help: commit the files themselves (a plugin is a directory of regular files and links to files, each within the blob size limit); hash a link to a directory as its target text with `symlinks: as-link`; or, if the directory is not a plugin, list it under `exclude:` in .plugin-lock.yml

update: refused: 1 plugin(s) rejected; plugins/PLUGINS.lock is unchanged

"#]]
    );
}

#[test]
fn errors_that_stop_a_run_are_said_once_in_plain_words() {
    let repo = plugins();
    let (exit, text) = said(&repo, &["verify", "--rev", "nosuch"]);
    assert_eq!(exit, 2);
    assert_data_eq!(
        text,
        str![[r#"
plugin-lock: error: unknown revision `nosuch`: no branch, tag or commit has that name (`git branch -a`, `git tag` list them)

"#]]
    );
    repo.write(".plugin-lock.yml", "plugin: [\"plugins/*\"]\n");
    repo.commit("a misspelled key");
    let (exit, text) = said(&repo, &["verify"]);
    assert_eq!(exit, 2);
    assert_data_eq!(
        text,
        str![[r#"
plugin-lock: error: .plugin-lock.yml:1:1: unknown key `plugin` (did you mean `plugins`? expected one of: plugins, exclude, lock, manifest, symlinks, owners, reload, severity, ignore)

"#]]
    );
    let (exit, text) = said(&repo, &["hook", "pre-push"]);
    assert_eq!(exit, 2);
    assert_data_eq!(
        text,
        str![[r#"
error: the following required arguments were not provided:
  <REMOTE>
  <URL>

Usage: plugin-lock hook pre-push <REMOTE> <URL>

For more information, try '--help'.

"#]]
    );
    let outside = tempfile::tempdir().unwrap();
    let out = run_in(outside.path(), &["verify"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).matches("not a git repository").count(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn concise_and_the_counts_per_kind() {
    let repo = plugins();
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 9.0.0\n");
    repo.write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n");
    repo.commit("alpha changes, gamma arrives");
    let (exit, text) = said(&repo, &["verify", "--format", "concise"]);
    assert_eq!(exit, 4);
    assert_data_eq!(
        text,
        str![[r#"
plugins/PLUGINS.lock:2:1: error[integrity_mismatch] plugin `alpha` does not match its lock entry. If the change to plugins/alpha is intended, run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock; otherwise restore its files
plugins/gamma/plugin.yaml:1:1: error[unlocked_plugin] plugin `gamma` has no entry in plugins/PLUGINS.lock. If the plugin is meant to be there, run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock
verify: FAILED 2 errors, 0 warnings; 3 plugins checked against plugins/PLUGINS.lock [source [..]]

"#]]
    );
    let (_, text) = said(&repo, &["verify", "-q"]);
    assert!(!text.contains("error[integrity_mismatch], "), "{text}");
}

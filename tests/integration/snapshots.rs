//! Snapshots of the human output, as a user reads it. Regenerate with
//! `SNAPSHOTS=overwrite cargo test --test integration snapshots`, then review the diff;
//! commit ids are `[..]` (the fixtures are deterministic, but ids are not the point).

use snapbox::{assert_data_eq, str};

use crate::util::*;

const GHOST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Two valid plugins, a committed lock, and a CODEOWNERS (so the output does not
/// depend on how a repository without one is treated).
fn clean() -> Repo {
    let repo = Repo::new();
    repo.write(".github/CODEOWNERS", "* @acme/platform\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/src/main.py", "print('alpha')\n")
        .write("plugins/alpha/src.txt", "sorts after src/\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n")
        .write("plugins/beta/notes.txt", "beta notes\n");
    repo.update_lock();
    repo.commit("two plugins");
    repo
}

/// `clean`, then: alpha edited (mismatch), gamma added (unlocked), a `ghost` entry
/// without directory (missing), all committed.
fn broken() -> Repo {
    let repo = clean();
    let lock = String::from_utf8(repo.read("plugins/PLUGINS.lock")).expect("utf-8");
    let lock = lock.replace("\n}\n", &format!(",\n  \"ghost\": \"{GHOST}\"\n}}\n"));
    repo.write("plugins/PLUGINS.lock", lock)
        .write("plugins/alpha/src/main.py", "print('tampered')\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n");
    repo.commit("break things");
    repo
}

fn ok_stdout(repo: &Repo, args: &[&str], exit: i32) -> String {
    let out = repo.run(args);
    assert_eq!(
        code(&out),
        exit,
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "{args:?}");
    stdout(&out)
}

#[test]
fn verify_passing() {
    let repo = clean();
    assert_data_eq!(
        ok_stdout(&repo, &["verify"], 0),
        str![[r#"
verify: ok 2 plugins match (plugins/PLUGINS.lock, 0 warnings) [source [..]]

"#]]
    );
}

#[test]
fn verify_failing() {
    let repo = broken();
    assert_data_eq!(
        ok_stdout(&repo, &["verify"], 4),
        str![[r#"
error[integrity_mismatch]: plugin `alpha` does not match its lock entry
  --> plugins/PLUGINS.lock:2
   = expected: 75f6e691b7c6adc427f102113b0889e5fcfdf6d8ca6fe864f76f67a4e2c6de5c
   = actual:   04bb50c2bbb90c3e2258d76032eabe91e8f149c58bc7b0f4c826e5897b701a09
   = help: if the change to plugins/alpha is intended, run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock; otherwise restore its files

error[missing_plugin_directory]: lock entry `ghost` has no plugin directory `plugins/ghost`
  --> plugins/PLUGINS.lock:4
   = help: restore `plugins/ghost`, or drop the entry: run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock

error[unlocked_plugin]: plugin `gamma` has no entry in plugins/PLUGINS.lock
  --> plugins/gamma/plugin.yaml:1
   = help: if the plugin is meant to be there, run `plugin-lock update`, review the change and commit plugins/PLUGINS.lock

1 error[integrity_mismatch], 1 error[unlocked_plugin], 1 error[missing_plugin_directory]
verify: FAILED 3 errors, 0 warnings; 3 plugins checked against plugins/PLUGINS.lock [source [..]]

"#]]
    );
}

#[test]
fn update_writing() {
    let repo = broken();
    assert_data_eq!(
        ok_stdout(&repo, &["update"], 0),
        str![[r#"
  ~ alpha  75f6e691b7c6 -> 04bb50c2bbb9
  + gamma  f0040c0ed6da
  - ghost  000000000000
update: wrote plugins/PLUGINS.lock (3 entries: 1 changed, 1 added, 1 removed) [source worktree]

"#]]
    );
    // `-v`: whole digests, for a reader comparing with another tool's output.
    let repo = broken();
    assert_data_eq!(
        ok_stdout(&repo, &["update", "-v"], 0),
        str![[r#"
  ~ alpha  75f6e691b7c6adc427f102113b0889e5fcfdf6d8ca6fe864f76f67a4e2c6de5c -> 04bb50c2bbb90c3e2258d76032eabe91e8f149c58bc7b0f4c826e5897b701a09
  + gamma  f0040c0ed6dad65dca863a92c941428383a55bce4af8bc33074631e0f919fbf0
  - ghost  0000000000000000000000000000000000000000000000000000000000000000
update: wrote plugins/PLUGINS.lock (3 entries: 1 changed, 1 added, 1 removed) [source worktree]

"#]]
    );
    assert_data_eq!(
        String::from_utf8(repo.read("plugins/PLUGINS.lock")).expect("utf-8"),
        str![[r#"
{
  "alpha": "04bb50c2bbb90c3e2258d76032eabe91e8f149c58bc7b0f4c826e5897b701a09",
  "beta": "1585e9e3febbcb679b8618431839f0bb69ea0cc86bd7a96c522d8f0528d1878c",
  "gamma": "f0040c0ed6dad65dca863a92c941428383a55bce4af8bc33074631e0f919fbf0"
}

"#]]
    );
    assert_data_eq!(
        ok_stdout(&repo, &["update"], 0),
        str![[r#"
update: plugins/PLUGINS.lock is up to date [source worktree]

"#]]
    );
}

#[test]
fn update_check_failing() {
    let repo = broken();
    assert_data_eq!(
        ok_stdout(&repo, &["update", "--check"], 4),
        str![[r#"
  ~ alpha  75f6e691b7c6 -> 04bb50c2bbb9
  + gamma  f0040c0ed6da
  - ghost  000000000000
update --check: plugins/PLUGINS.lock is out of date (3 entries would change: 1 changed, 1 added, 1 removed); run `plugin-lock update` [source worktree]

"#]]
    );
}

#[test]
fn list_table() {
    let repo = broken();
    assert_data_eq!(
        ok_stdout(&repo, &["list"], 0),
        str![[r#"
ID     VERSION  STATUS             DIGEST        LOCKED        OWNERS
alpha  1.0.0    mismatch           04bb50c2bbb9  75f6e691b7c6  @acme/platform
beta   2.1.0    ok                 1585e9e3febb  1585e9e3febb  @acme/platform
gamma  0.1.0    unlocked           f0040c0ed6da  -             @acme/platform
ghost  -        missing_directory  -             000000000000  -
3 plugin(s) in plugins/PLUGINS.lock [source [..]]

"#]]
    );
    assert_data_eq!(
        ok_stdout(&repo, &["list", "-v", "--rev", "HEAD~1"], 0),
        str![[r#"
ID     VERSION  STATUS  DIGEST                                                            LOCKED                                                            OWNERS
alpha  1.0.0    ok      75f6e691b7c6adc427f102113b0889e5fcfdf6d8ca6fe864f76f67a4e2c6de5c  75f6e691b7c6adc427f102113b0889e5fcfdf6d8ca6fe864f76f67a4e2c6de5c  @acme/platform
beta   2.1.0    ok      1585e9e3febbcb679b8618431839f0bb69ea0cc86bd7a96c522d8f0528d1878c  1585e9e3febbcb679b8618431839f0bb69ea0cc86bd7a96c522d8f0528d1878c  @acme/platform
2 plugin(s) in plugins/PLUGINS.lock [source [..]]

"#]]
    );
}

#[test]
fn digest_explain() {
    let repo = clean();
    assert_data_eq!(
        ok_stdout(
            &repo,
            &["digest", "--explain", "plugins/alpha", "plugins/beta"],
            0
        ),
        str![[r#"
aa79de86bc869098b67c313565486b5b7e64192730e8750b19fd04b5e758d547  27  plugin.yaml
2fed55f1437cb5d2c9d3529fe2d09fe465a663b62f5caae159cae1048ba952a4  15  src/main.py
c28d3caaab68f044f71acd8ee118b07b16eb6567a1ec6f3b52a0ea1cce447d5f  17  src.txt
75f6e691b7c6adc427f102113b0889e5fcfdf6d8ca6fe864f76f67a4e2c6de5c  plugins/alpha
3f4447a24e3a1869048f6d0965f73953712acdc89ce19dd78bce85e3d392e52a  11  notes.txt
227745db7bac98ab8a28f81fde9a0d5518a7203145f938be0f01ab61005c6889  26  plugin.yaml
1585e9e3febbcb679b8618431839f0bb69ea0cc86bd7a96c522d8f0528d1878c  plugins/beta

"#]]
    );
}

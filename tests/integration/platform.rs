//! Platform drift predicted from the committed tree: names that Windows or macOS check
//! out differently. Every such name goes in with git plumbing, never the file system.

use crate::util::*;

/// `two_plugins` with `entries` staged into `alpha` and committed; the JSON report of
/// `verify --rev HEAD` (the lock is not updated: only the drift findings are looked at).
fn with_staged(entries: &[(&str, &str, &[u8])]) -> serde_json::Value {
    let repo = two_plugins();
    for (path, mode, content) in entries {
        repo.stage(&format!("plugins/alpha/{path}"), mode, content);
    }
    repo.commit_index("names a checkout cannot keep");
    verify_json(repo.path(), &[], &[]).1
}

fn one<'a>(doc: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    let found = of_kind(doc, kind);
    assert_eq!(found.len(), 1, "one {kind}: {doc:#}");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["plugin"], "alpha");
    found[0]
}

#[test]
fn two_names_that_differ_only_in_case() {
    let doc = with_staged(&[
        ("Rules.md", "100644", b"upper\n"),
        ("rules.md", "100644", b"lower\n"),
    ]);
    let f = one(&doc, "case_collision");
    assert_eq!(f["path"], "plugins/alpha/rules.md");
    assert_eq!(
        f["message"],
        "`plugins/alpha/Rules.md` and `plugins/alpha/rules.md` differ only in case: on Windows and macOS (case-insensitive by default) a checkout holds one file for both, and a loader hashes another plugin than the lock. Rename one of them so that the names differ by more than case"
    );
}

#[test]
fn two_names_equal_after_normalization_and_one_not_in_nfc() {
    let doc = with_staged(&[
        ("caf\u{e9}.txt", "100644", b"nfc\n"),
        ("cafe\u{301}.txt", "100644", b"nfd\n"),
    ]);
    // Located at the second in record order (the NFC name sorts after `e`), naming both.
    let f = one(&doc, "unicode_collision");
    assert_eq!(f["path"], "plugins/alpha/caf\u{e9}.txt");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.starts_with("`plugins/alpha/cafe\u{301}.txt` and `plugins/alpha/caf\u{e9}.txt` are one name after Unicode normalization: on macOS"),
        "{message}"
    );
    let f = one(&doc, "unicode_unnormalized");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .ends_with("Rename it to its NFC form `plugins/alpha/caf\u{e9}.txt`"),
        "{f:#}"
    );
}

#[test]
fn names_windows_refuses_each_with_its_reason() {
    let long = format!("{}.txt", "d/".repeat(130));
    for (name, says) in [
        ("CON", "`CON` is the Windows device name `CON`"),
        ("aux.txt", "`aux.txt` is the Windows device name `aux`"),
        ("Com1.log", "`Com1.log` is the Windows device name `Com1`"),
        (
            "lpt\u{b2}",
            "`lpt\u{b2}` is the Windows device name `lpt\u{b2}`",
        ),
        ("a:b", "`a:b` contains `:`"),
        ("notes.", "`notes.` ends with a dot"),
        ("notes ", "`notes ` ends with a space"),
        (long.as_str(), "characters long, over Windows' 260"),
    ] {
        let doc = with_staged(&[(name, "100644", b"x\n")]);
        let f = one(&doc, "windows_invalid_name");
        assert_eq!(f["path"], format!("plugins/alpha/{name}"));
        let message = f["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
        assert!(
            message.contains("git for Windows refuses it (`core.protectNTFS`)"),
            "{message}"
        );
    }
}

#[test]
fn a_symlink_is_predicted_to_become_a_text_file_without_symlink_support() {
    let repo = two_plugins();
    repo.write("plugins/alpha/shared.py", "print('shared')\n");
    std::os::unix::fs::symlink("shared.py", repo.path().join("plugins/alpha/link.py")).unwrap();
    repo.update_lock();
    repo.commit("a link inside a plugin");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "a warning: {doc:#}");
    let f = one(&doc, "symlink_checkout");
    assert_eq!(f["path"], "plugins/alpha/link.py");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("`core.symlinks=false`"),
        "{f:#}"
    );
    // The prediction comes from the committed tree: a clone without symlink support
    // (where the link is a text file on disk) is told the same.
    let parent = tempfile::tempdir().unwrap();
    git_in(
        parent.path(),
        &[
            "-c",
            "core.symlinks=false",
            "clone",
            "-q",
            repo.path().to_str().unwrap(),
            "clone",
        ],
    );
    let clone = parent.path().join("clone");
    assert!(!clone.join("plugins/alpha/link.py").is_symlink());
    let (exit, doc) = verify_json(&clone, &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(of_kind(&doc, "symlink_checkout").len(), 1, "{doc:#}");
    // Like every lint, it can be raised or turned off.
    repo.write(".plugin-lock.yml", "severity:\n  symlink_checkout: off\n");
    repo.commit("links are fine here");
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    assert!(of_kind(&doc, "symlink_checkout").is_empty(), "{doc:#}");
}

//! `--checkout`: the files as a runtime loader sees them on this disk, byte for byte,
//! compared with the lock, and each difference explained by its cause.

use std::path::Path;

use crate::util::*;

/// A repository without attributes: a plugin with text files and a binary one.
fn origin() -> Repo {
    let repo = Repo::bare_of_owners();
    repo.remove(".gitattributes");
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/main.py", "print(1)\nprint(2)\n")
        .write("plugins/alpha/data.bin", b"\0\x01binary\n");
    repo.update_lock();
    repo.commit("a plugin, no attributes");
    repo
}

fn causes(doc: &serde_json::Value) -> Vec<(String, String)> {
    of_kind(doc, "integrity_mismatch")
        .iter()
        .flat_map(|f| f["causes"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_owned(),
                c["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_autocrlf_checkout_fails_checkout_naming_each_crlf_file_until_the_attribute_is_set() {
    let origin = origin();
    // CI predicts it from the committed tree: each text file, never the binary one.
    let eol_paths = |doc: &serde_json::Value| -> Vec<String> {
        of_kind(doc, "eol_conversion")
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let (exit, doc) = verify_json(origin.path(), &["--rev", "HEAD"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(
        eol_paths(&doc),
        ["plugins/alpha/main.py", "plugins/alpha/plugin.yaml"],
        "{doc:#}"
    );
    for f in of_kind(&doc, "eol_conversion") {
        assert_eq!(f["severity"], "warning");
        assert_eq!(f["cause"], "no_attribute");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains("`core.autocrlf=true`"), "{message}");
        // The help joins the message as its own sentence, capitalised.
        assert!(
            message.contains("Add `plugins/** -text` at the end of the top-level .gitattributes")
                && message.contains("`git add --renormalize plugins`"),
            "{message}"
        );
    }
    let (_keep, clone) = clone_with(origin.path(), "core.autocrlf=true");
    assert!(
        std::fs::read(clone.join("plugins/alpha/main.py"))
            .unwrap()
            .contains(&b'\r')
    );
    // The blobs are the same on every platform.
    let (exit, doc) = verify_json(&clone, &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    // The loader's view is not.
    let (exit, doc) = verify_json(&clone, &["--checkout"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(doc["source"], "checkout");
    let found = causes(&doc);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["plugins/alpha/main.py", "plugins/alpha/plugin.yaml"],
        "{doc:#}"
    );
    for (_, cause) in &found {
        assert!(
            cause.starts_with("CRLF line ends here where the commit has LF"),
            "{cause}"
        );
    }
    let out = run_in(&clone, &["verify", "--checkout"]);
    assert!(
        stdout(&out).contains("as checked out on this disk does not match its lock entry"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("`plugins/** -text` in .gitattributes"),
        "{}",
        stdout(&out)
    );

    // `digest --checkout --explain` beside `digest --explain`: the same binary file, other text.
    let checkout = stdout(&run_in(
        &clone,
        &["digest", "--checkout", "--explain", "plugins/alpha"],
    ));
    let committed = stdout(&run_in(&clone, &["digest", "--explain", "plugins/alpha"]));
    let line =
        |text: &str, name: &str| text.lines().find(|l| l.ends_with(name)).unwrap().to_owned();
    assert_eq!(line(&checkout, "data.bin"), line(&committed, "data.bin"));
    assert_ne!(line(&checkout, "main.py"), line(&committed, "main.py"));

    // The fix: keep plugin bytes exact, renormalize, commit; a fresh clone then passes.
    origin.write(".gitattributes", "plugins/** -text\n");
    origin.git(&["add", "--renormalize", "."]);
    origin.commit("plugin files keep their bytes");
    let (_keep2, fixed) = clone_with(origin.path(), "core.autocrlf=true");
    let (exit, doc) = verify_json(&fixed, &["--checkout"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    // And CI has nothing left to predict, in the origin or the fresh clone.
    for dir in [origin.path(), fixed.as_path()] {
        let (exit, doc) = verify_json(dir, &["--rev", "HEAD"], &[]);
        assert_eq!(exit, 0, "{doc:#}");
        assert!(eol_paths(&doc).is_empty(), "{doc:#}");
    }
}

#[test]
fn a_link_checked_out_as_a_file_is_explained() {
    let origin = origin();
    origin.write("plugins/alpha/shared.py", "print('shared')\n");
    std::os::unix::fs::symlink("shared.py", origin.path().join("plugins/alpha/link.py")).unwrap();
    origin.update_lock();
    origin.commit("a link");
    let (_keep, clone) = clone_with(origin.path(), "core.symlinks=false");
    let (exit, doc) = verify_json(&clone, &["--checkout"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let found = causes(&doc);
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(found[0].0, "plugins/alpha/link.py");
    assert!(
        found[0]
            .1
            .contains("a symlink in the commit, a plain file here"),
        "{}",
        found[0].1
    );
}

#[test]
fn ignored_files_count_and_git_never_does() {
    let origin = origin();
    origin.write(".gitignore", "*.log\n");
    origin.commit("ignore logs");
    let dir: &Path = origin.path();
    let (exit, _) = verify_json(dir, &["--checkout"], &[]);
    assert_eq!(exit, 0);
    // A loader loads an ignored file as readily as any other.
    origin.write("plugins/alpha/debug.log", "left behind\n");
    let (exit, doc) = verify_json(dir, &["--checkout"], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let found = causes(&doc);
    assert_eq!(found[0].0, "plugins/alpha/debug.log");
    assert!(
        found[0].1.contains("untracked or ignored"),
        "{}",
        found[0].1
    );
    // A nested repository's `.git` is not part of the plugin.
    std::fs::remove_file(dir.join("plugins/alpha/debug.log")).unwrap();
    origin.write("plugins/alpha/.git/HEAD", "ref: refs/heads/main\n");
    let (exit, doc) = verify_json(dir, &["--checkout"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    // update records what git stores, not the checkout.
    let out = origin.run(&["update", "--checkout"]);
    assert_eq!(code(&out), 2);
}

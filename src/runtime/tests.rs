use super::*;

use sha2::{Digest as _, Sha256};
use std::path::Path;

/// spec/DIGEST.md written out independently: records `path 0x1F size 0x1F content`
/// joined by 0x1E, in component order, over regular files only.
fn spec_digest(files: &[(&str, &[u8])]) -> String {
    let mut sorted: Vec<&(&str, &[u8])> = files.iter().collect();
    sorted.sort_by_key(|(p, _)| p.replace('/', "\0"));
    let mut h = Sha256::new();
    for (i, (path, content)) in sorted.iter().enumerate() {
        if i > 0 {
            h.update([0x1e]);
        }
        h.update(path.as_bytes());
        h.update([0x1f]);
        h.update(content.len().to_string().as_bytes());
        h.update([0x1f]);
        h.update(content);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

const ALPHA: &[(&str, &[u8])] = &[
    ("plugin.yaml", b"name: alpha\nversion: 1.0.0\n"),
    ("src/main.py", b"print('alpha')\n"),
];
const BETA: &[(&str, &[u8])] = &[("plugin.yaml", b"name: beta\nversion: 1.0.0\n")];

/// alpha and beta on disk, both locked with digests computed by the spec.
fn deployed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, content) in ALPHA {
        write(dir.path(), &format!("plugins/alpha/{rel}"), content);
    }
    for (rel, content) in BETA {
        write(dir.path(), &format!("plugins/beta/{rel}"), content);
    }
    write_lock(
        dir.path(),
        &[("alpha", spec_digest(ALPHA)), ("beta", spec_digest(BETA))],
    );
    dir
}

fn write_lock(root: &Path, entries: &[(&str, String)]) {
    let map = entries
        .iter()
        .map(|(id, d)| ((*id).to_owned(), d.clone()))
        .collect();
    write(root, "plugins/PLUGINS.lock", lock::render(&map).as_bytes());
}

fn statuses(report: &Report) -> Vec<(&str, &'static str)> {
    report
        .plugins
        .iter()
        .map(|p| (p.id.as_str(), p.status.as_str()))
        .collect()
}

#[test]
fn a_deployed_tree_that_matches_its_lock_is_ok() {
    let dir = deployed();
    let report = verify(dir.path(), &Options::default()).unwrap();
    assert!(report.ok(), "{report:#?}");
    assert_eq!(statuses(&report), [("alpha", "ok"), ("beta", "ok")]);
    assert_eq!(
        report.plugins[0].status,
        Status::Ok {
            digest: spec_digest(ALPHA)
        }
    );
    assert!(report.findings.is_empty());
}

#[test]
fn mismatch_unlocked_and_missing_are_reported_as_verify_words_them() {
    let dir = deployed();
    write(
        dir.path(),
        "plugins/alpha/src/main.py",
        b"print('swapped')\n",
    );
    write(dir.path(), "plugins/gamma/plugin.yaml", b"name: gamma\n");
    std::fs::remove_dir_all(dir.path().join("plugins/beta")).unwrap();
    let report = verify(dir.path(), &Options::default()).unwrap();
    assert!(!report.ok());
    assert_eq!(
        statuses(&report),
        [
            ("alpha", "mismatch"),
            ("beta", "missing"),
            ("gamma", "unlocked")
        ]
    );
    let titles: Vec<(&str, String)> = report
        .findings
        .iter()
        .map(|f| (f.kind.as_str(), f.title().into_owned()))
        .collect();
    let titles: Vec<(&str, &str)> = titles.iter().map(|(k, t)| (*k, t.as_str())).collect();
    assert_eq!(
        titles,
        [
            (
                "integrity_mismatch",
                "plugin `alpha` does not match its lock entry"
            ),
            (
                "missing_plugin_directory",
                "lock entry `beta` has no plugin directory `plugins/beta`"
            ),
            (
                "unlocked_plugin",
                "plugin `gamma` has no entry in plugins/PLUGINS.lock"
            ),
        ]
    );
    let mismatch = &report.findings[0];
    assert_eq!(mismatch.path, "plugins/PLUGINS.lock");
    assert_eq!(mismatch.line, 2, "alpha's entry is on line 2");
    assert_eq!(mismatch.fields["expected"], spec_digest(ALPHA));
}

#[test]
fn load_verified_hands_back_the_bytes_that_were_hashed() {
    let dir = deployed();
    let plugin = load_verified(dir.path(), "alpha", &Options::default()).unwrap();
    assert_eq!(plugin.digest, spec_digest(ALPHA));
    let paths: Vec<&str> = plugin.files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["plugin.yaml", "src/main.py"]);
    // Swapped on disk after the check: what the loader holds is what was verified.
    write(
        dir.path(),
        "plugins/alpha/src/main.py",
        b"print('swapped')\n",
    );
    assert_eq!(plugin.file("src/main.py"), Some(&b"print('alpha')\n"[..]));
    assert_eq!(plugin.file("nope.py"), None);
}

#[test]
fn load_verified_of_a_tampered_plugin_returns_nothing_but_the_finding() {
    let dir = deployed();
    write(dir.path(), "plugins/alpha/payload.py", b"import os\n");
    match load_verified(dir.path(), "alpha", &Options::default()) {
        Err(LoadError::Integrity(f)) => {
            assert_eq!(f.kind, Kind::IntegrityMismatch);
            assert_eq!(f.plugin.as_deref(), Some("alpha"));
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(dir.path().join("plugins/beta")).unwrap();
    match load_verified(dir.path(), "beta", &Options::default()) {
        Err(LoadError::Integrity(f)) => assert_eq!(f.kind, Kind::MissingPluginDirectory),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load_verified(dir.path(), "../etc", &Options::default()),
        Err(LoadError::UnknownPlugin(id)) if id == "../etc"
    ));
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_plugin_is_refused() {
    let dir = deployed();
    write(dir.path(), "secret.txt", b"not yours\n");
    std::os::unix::fs::symlink("../../secret.txt", dir.path().join("plugins/alpha/leak")).unwrap();
    let report = verify(dir.path(), &Options::default()).unwrap();
    match &report.plugins[0].status {
        Status::Rejected { kind, path, .. } => {
            assert_eq!(*kind, Kind::SymlinkEscape);
            assert_eq!(path, "plugins/alpha/leak");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.findings[0].kind, Kind::SymlinkEscape);
    let err = load_verified(dir.path(), "alpha", &Options::default()).unwrap_err();
    assert!(matches!(err, LoadError::Integrity(f) if f.kind == Kind::SymlinkEscape));
}

#[test]
fn the_configuration_names_the_globs_and_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "skills/review/SKILL.md",
        b"---\nname: review\n---\n",
    );
    write(
        dir.path(),
        ".plugin-lock.yml",
        b"plugins: [\"skills/*\"]\nlock: skills/SKILLS.lock\nmanifest: none\n",
    );
    let digest = spec_digest(&[("SKILL.md", b"---\nname: review\n---\n")]);
    let map = [("review".to_owned(), digest)].into_iter().collect();
    write(
        dir.path(),
        "skills/SKILLS.lock",
        lock::render(&map).as_bytes(),
    );
    let report = verify(dir.path(), &Options::default()).unwrap();
    assert_eq!(report.lock_path, "skills/SKILLS.lock");
    assert_eq!(statuses(&report), [("review", "ok")]);
}

#[test]
fn no_lock_or_a_broken_one_is_an_error_naming_the_file() {
    let dir = deployed();
    std::fs::remove_file(dir.path().join("plugins/PLUGINS.lock")).unwrap();
    let err = verify(dir.path(), &Options::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("PLUGINS.lock: the lock does not exist; nothing can be verified without it"),
        "{err}"
    );
    write(
        dir.path(),
        "plugins/PLUGINS.lock",
        b"{\n  \"alpha\": 1\n}\n",
    );
    let err = verify(dir.path(), &Options::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("plugins/PLUGINS.lock:2:"),
        "{err}"
    );
    write(dir.path(), ".plugin-lock.yml", b"plugin: [x]\n");
    let err = verify(dir.path(), &Options::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(".plugin-lock.yml:1:1:"),
        "{err}"
    );
}

#[test]
fn an_explicit_lock_path_is_used_instead() {
    let dir = deployed();
    let elsewhere = tempfile::tempdir().unwrap();
    let lock_file = elsewhere.path().join("pinned.lock");
    let map = [("alpha".to_owned(), spec_digest(ALPHA))]
        .into_iter()
        .collect();
    std::fs::write(&lock_file, lock::render(&map)).unwrap();
    let options = Options {
        lock_path: Some(lock_file),
        ..Options::default()
    };
    let report = verify(dir.path(), &options).unwrap();
    assert_eq!(statuses(&report), [("alpha", "ok"), ("beta", "unlocked")]);
}

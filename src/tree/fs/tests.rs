//! The file-system tree against the digest vectors (each case written to a temporary
//! directory; cases a file system cannot hold, such as a submodule, are skipped and
//! counted) and against the hostile inputs a deployed directory can hold.

use super::*;
use crate::config::SymlinkPolicy;
use crate::digest::{self, Options};

fn decode_base64(s: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut bits, mut n, mut out) = (0u32, 0, Vec::new());
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = table.iter().position(|t| *t == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn content(entry: &serde_json::Value) -> Vec<u8> {
    if let Some(text) = entry["text"].as_str() {
        return text.as_bytes().to_vec();
    }
    if let Some(b64) = entry["base64"].as_str() {
        return decode_base64(b64);
    }
    Vec::new()
}

fn options(policy: SymlinkPolicy) -> Options {
    Options {
        policy,
        records: false,
        read_only: false,
        contents: false,
        line_ends: false,
    }
}

fn digest_of(root: &Path, dir: &str, policy: SymlinkPolicy) -> digest::Outcome {
    let mut tree = Dir::new(root);
    let node = tree.lookup(BStr::new(dir)).unwrap().unwrap();
    let mut buf = Vec::new();
    digest::plugin(&mut tree, BStr::new(dir), &node, &options(policy), &mut buf).unwrap()
}

#[cfg(unix)]
fn write_entry(root: &Path, path: &str, entry: &serde_json::Value) {
    use std::os::unix::fs::PermissionsExt;
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    match entry["mode"].as_str().unwrap() {
        "120000" => std::os::unix::fs::symlink(entry["target"].as_str().unwrap(), &full).unwrap(),
        mode => {
            std::fs::write(&full, content(entry)).unwrap();
            if mode == "100755" {
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn every_digest_vector_a_file_system_can_hold_passes_on_disk() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/vectors/digest-v1.json")).unwrap();
    let plugin_dir = doc["plugin_dir"].as_str().unwrap();
    let (mut passed, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let entries: Vec<&serde_json::Value> = case["entries"]
            .as_array()
            .unwrap()
            .iter()
            .chain(case["outside"].as_array().into_iter().flatten())
            .collect();
        if entries.iter().any(|e| e["mode"] == "160000") {
            skipped.push(name);
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(plugin_dir)).unwrap();
        for entry in case["entries"].as_array().unwrap() {
            let path = format!("{plugin_dir}/{}", entry["path"].as_str().unwrap());
            write_entry(tmp.path(), &path, entry);
        }
        for entry in case["outside"].as_array().into_iter().flatten() {
            write_entry(tmp.path(), entry["path"].as_str().unwrap(), entry);
        }
        let policy = match case["policy"].as_str().unwrap_or("follow") {
            "as-link" => SymlinkPolicy::AsLink,
            _ => SymlinkPolicy::Follow,
        };
        let outcome = digest_of(tmp.path(), plugin_dir, policy);
        let expect = &case["expect"];
        let ok = match (&outcome.result, expect["digest"].as_str()) {
            (Ok(got), Some(want)) => got == want,
            (Err(r), None) => Some(r.kind.as_str()) == expect["rejection"].as_str(),
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{name}: expected {expect}, got {:?}",
                outcome.result
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(skipped, ["submodule_unsupported"], "cases skipped");
    assert!(passed >= 30, "only {passed} cases ran");
}

#[cfg(unix)]
#[test]
fn a_linked_directory_is_a_link_not_walked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("plugins/a")).unwrap();
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    std::fs::write(root.join("elsewhere/secret.txt"), "s").unwrap();
    std::os::unix::fs::symlink("../../elsewhere", root.join("plugins/a/dir")).unwrap();
    let mut tree = Dir::new(root);
    let node = tree.lookup(BStr::new("plugins/a")).unwrap().unwrap();
    let mut out = Vec::new();
    assert_eq!(
        tree.walk(BStr::new("plugins/a"), &node, &mut out).unwrap(),
        None
    );
    assert_eq!(
        out,
        vec![(
            BString::from("dir"),
            Node {
                kind: Kind::Link,
                id: None
            }
        )]
    );
    // A lookup through the link finds nothing, as in a git tree.
    assert_eq!(
        tree.lookup(BStr::new("plugins/a/dir/secret.txt")).unwrap(),
        None
    );
    let outcome = digest_of(root, "plugins/a", SymlinkPolicy::Follow);
    let rejection = outcome.result.unwrap_err();
    assert_eq!(rejection.kind.as_str(), "symlink_escape", "{rejection:?}");
}

#[test]
fn paths_that_climb_out_of_the_root_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("root")).unwrap();
    std::fs::write(tmp.path().join("outside.txt"), "x").unwrap();
    let mut tree = Dir::new(tmp.path().join("root"));
    let file = Node {
        kind: Kind::File,
        id: None,
    };
    assert_eq!(tree.lookup(BStr::new("../outside.txt")).unwrap(), None);
    for bad in ["../outside.txt", "a//b", "./x"] {
        let err = tree.read(BStr::new(bad), &file, &mut Vec::new()).err();
        assert!(matches!(err, Some(Error::Usage(_))), "{bad}: {err:?}");
    }
}

#[test]
fn a_file_over_the_blob_limit_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("p")).unwrap();
    let big = std::fs::File::create(tmp.path().join("p/big.bin")).unwrap();
    big.set_len(max_blob_size() + 1).unwrap();
    let mut tree = Dir::new(tmp.path());
    let node = tree.lookup(BStr::new("p/big.bin")).unwrap().unwrap();
    let err = tree
        .read(BStr::new("p/big.bin"), &node, &mut Vec::new())
        .err();
    assert!(
        matches!(
            err,
            Some(Error::BlobTooLarge {
                at_least: false,
                ..
            })
        ),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_fails_to_read_instead_of_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("p")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(tmp.path().join("p/pipe"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this machine: nothing to test with
    }
    std::fs::write(tmp.path().join("p/a.txt"), "a").unwrap();
    let mut tree = Dir::new(tmp.path());
    let node = tree.lookup(BStr::new("p")).unwrap().unwrap();
    let err = digest::plugin(
        &mut tree,
        BStr::new("p"),
        &node,
        &options(SymlinkPolicy::Follow),
        &mut Vec::new(),
    )
    .err();
    assert!(matches!(err, Some(Error::Io { .. })), "{err:?}");
}

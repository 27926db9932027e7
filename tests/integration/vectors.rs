//! Every digest vector (tests/vectors/digest-v1.json), each in a real git tree built
//! with plumbing, through `plugin-lock digest --format json`.

use crate::util::{Repo, code, json, project_root, stderr};

fn vectors() -> serde_json::Value {
    let path = project_root().join("tests/vectors/digest-v1.json");
    let text = std::fs::read_to_string(&path).expect("vectors copied into tests/vectors");
    serde_json::from_str(&text).expect("vectors parse")
}

fn content(entry: &serde_json::Value) -> Vec<u8> {
    if let Some(text) = entry["text"].as_str() {
        return text.as_bytes().to_vec();
    }
    if let Some(b64) = entry["base64"].as_str() {
        return decode_base64(b64);
    }
    if let Some(target) = entry["target"].as_str() {
        return target.as_bytes().to_vec();
    }
    Vec::new()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = table.iter().position(|t| *t == c).expect("base64 digit") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn every_digest_vector_passes_in_a_real_git_tree() {
    let doc = vectors();
    let plugin_dir = doc["plugin_dir"].as_str().expect("plugin_dir");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30, "the vector file lost cases");
    let repo = Repo::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        // A fresh index per case: each case is its own commit's tree.
        let _ = std::fs::remove_file(repo.path().join(".git/index"));
        for entry in case["entries"].as_array().expect("entries") {
            let path = format!("{plugin_dir}/{}", entry["path"].as_str().expect("path"));
            repo.stage(
                &path,
                entry["mode"].as_str().expect("mode"),
                &content(entry),
            );
        }
        for entry in case["outside"].as_array().into_iter().flatten() {
            let path = entry["path"].as_str().expect("path");
            repo.stage(path, entry["mode"].as_str().expect("mode"), &content(entry));
        }
        let commit = repo.commit_index(name);
        let policy = case["policy"].as_str().unwrap_or("follow");
        let out = repo.run(&[
            "digest",
            plugin_dir,
            "--rev",
            &commit,
            "--symlinks",
            policy,
            "--format",
            "json",
        ]);
        let expect = &case["expect"];
        let doc = json(&out);
        let got = &doc["digests"][0];
        if let Some(digest) = expect["digest"].as_str() {
            if code(&out) != 0 || got["digest"].as_str() != Some(digest) {
                failures.push(format!(
                    "{name}: expected {digest}, got {got} (exit {}, {})",
                    code(&out),
                    stderr(&out)
                ));
            }
        } else {
            let kind = expect["rejection"].as_str().expect("rejection");
            if code(&out) != 4 || got["rejection"]["kind"].as_str() != Some(kind) {
                failures.push(format!(
                    "{name}: expected rejection {kind}, got {got} (exit {})",
                    code(&out)
                ));
            } else {
                let path = got["rejection"]["path"].as_str().unwrap_or("");
                if !path.starts_with(plugin_dir) {
                    failures.push(format!(
                        "{name}: rejection path {path:?} is not repository-relative"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The copy in tests/vectors must equal the shared spec's when the shared folder exists.
#[test]
fn vector_copy_has_not_drifted_from_the_spec() {
    let shared = project_root().join("../shared/spec/vectors");
    if !shared.is_dir() {
        return; // a runner without the shared folder: nothing to compare with
    }
    for entry in std::fs::read_dir(&shared).expect("list shared vectors") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        let local = project_root().join("tests/vectors").join(&name);
        if !local.exists() {
            continue; // only the vectors this project tests against are copied
        }
        assert_eq!(
            std::fs::read(entry.path()).expect("read shared"),
            std::fs::read(&local).expect("read copy"),
            "tests/vectors/{} differs from the shared spec's copy; re-copy it",
            name.to_string_lossy()
        );
    }
}

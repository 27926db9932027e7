//! The per-plugin result cache (`<git dir>/plugin-lock/cache-v1`): used for revisions
//! only, never trusted over a change, survives damage and concurrent runs, and
//! `--no-cache` leaves it alone. (What it trusts: tests/integration/security_cache.rs.)

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::util::*;

pub fn cache_file(repo: &Repo) -> PathBuf {
    repo.path().join(".git/plugin-lock/cache-v1")
}

pub fn verify_json(repo: &Repo, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = repo.run(&args);
    (code(&out), json(&out))
}

/// Rewrites every cached digest to zeros, with a valid MAC under this test run's key: a
/// cache that is read would now report mismatches.
pub fn poison(repo: &Repo) {
    forge(repo, |v| {
        if v["digest"].is_string() {
            v["digest"] = serde_json::Value::String("0".repeat(64));
        }
    });
}

#[test]
fn a_warm_cache_is_written_and_read() {
    let repo = two_plugins();
    let (code1, cold) = verify_json(&repo, &[]);
    assert_eq!(code1, 0);
    assert!(cache_file(&repo).is_file(), "verify writes the cache");
    let (code2, warm) = verify_json(&repo, &[]);
    assert_eq!((code2, &warm), (0, &cold));
    // It is read: an entry forged with the user's own key is believed (whoever holds
    // the key is trusted; security_cache.rs: nobody else is).
    poison(&repo);
    let (code3, _) = verify_json(&repo, &[]);
    assert_eq!(code3, 4, "the poisoned cache was not read");
}

#[test]
fn a_plugin_changed_after_a_warm_run_misses_and_fails() {
    let repo = two_plugins();
    assert_eq!(verify_json(&repo, &[]).0, 0);
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper");
    let (code, report) = verify_json(&repo, &[]);
    assert_eq!(code, 4, "{report}");
    assert!(
        report.to_string().contains("integrity_mismatch"),
        "{report}"
    );
    // Still caught the second time, from the cache.
    let (code, again) = verify_json(&repo, &[]);
    assert_eq!((code, &again), (4, &report));
}

#[test]
fn a_damaged_cache_is_ignored_and_rebuilt() {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper");
    let (expected_code, expected) = verify_json(&repo, &[]);
    assert_eq!(expected_code, 4);
    let good = std::fs::read(cache_file(&repo)).expect("cache");
    let wrong_version = String::from_utf8(good.clone()).expect("utf-8").replacen(
        "plugin-lock cache v1",
        "plugin-lock cache v9",
        1,
    );
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"\x00\xffnot a cache at all\n\t\t\n".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("truncated header", good[..10].to_vec()),
        ("wrong version", wrong_version.into_bytes()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in damaged {
        std::fs::write(cache_file(&repo), &bytes).expect("write");
        let (code, report) = verify_json(&repo, &[]);
        assert_eq!((code, &report), (expected_code, &expected), "{what}");
        assert_eq!(
            std::fs::read(cache_file(&repo)).expect("cache"),
            good,
            "{what}: the cache is rebuilt"
        );
    }
}

#[test]
fn concurrent_runs_agree() {
    concurrent_runs_agree_on(&two_plugins());
}

#[test]
fn concurrent_runs_agree_with_ownership_entries() {
    concurrent_runs_agree_on(&owned_repo());
}

fn concurrent_runs_agree_on(repo: &Repo) {
    for round in 0..3 {
        let path = repo.path().to_path_buf();
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || run_in(&path, &["verify", "--format", "json"]))
            })
            .collect();
        let outs: Vec<_> = runs.into_iter().map(|h| h.join().expect("run")).collect();
        assert_eq!(code(&outs[0]), 0, "round {round}: {}", stderr(&outs[0]));
        assert_eq!(code(&outs[1]), 0, "round {round}: {}", stderr(&outs[1]));
        assert_eq!(json(&outs[0]), json(&outs[1]), "round {round}");
    }
    // What they left is a whole, valid cache.
    let (code, _) = verify_json(repo, &[]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(cache_file(repo)).expect("cache");
    assert!(text.starts_with("plugin-lock cache v1 "), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(repo.path().join(".git/plugin-lock"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let repo = two_plugins();
    let (code, cold) = verify_json(&repo, &["--no-cache"]);
    assert_eq!(code, 0);
    assert!(!cache_file(&repo).exists(), "--no-cache wrote a cache");
    assert_eq!(verify_json(&repo, &[]).0, 0);
    poison(&repo);
    let poisoned = std::fs::read(cache_file(&repo)).expect("cache");
    let (code, report) = verify_json(&repo, &["--no-cache"]);
    assert_eq!((code, &report), (0, &cold), "--no-cache read the cache");
    repo.write("plugins/beta/notes.txt", "changed\n");
    repo.update_lock();
    repo.commit("change beta");
    assert_eq!(verify_json(&repo, &["--no-cache"]).0, 0);
    assert_eq!(
        std::fs::read(cache_file(&repo)).expect("cache"),
        poisoned,
        "--no-cache changed the cache"
    );
}

#[test]
fn the_worktree_and_index_do_not_use_the_cache() {
    let repo = two_plugins();
    for source in ["--worktree", "--index"] {
        assert_eq!(verify_json(&repo, &[source]).0, 0, "{source}");
        assert!(!cache_file(&repo).exists(), "{source} wrote a cache");
    }
    assert_eq!(verify_json(&repo, &[]).0, 0);
    poison(&repo);
    for source in ["--worktree", "--index"] {
        assert_eq!(
            verify_json(&repo, &[source]).0,
            0,
            "{source} read the cache"
        );
    }
}

#[test]
fn a_link_resolved_outside_its_plugin_is_not_cached() {
    // The plugin's tree stays the same while what its link points at appears.
    let repo = Repo::new();
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    repo.commit("alpha");
    repo.stage("plugins/alpha/link", "120000", b"../../shared/x.txt");
    repo.commit_index("a link out of the plugin, dangling");
    let kind = |repo: &Repo| {
        let (_, report) = verify_json(repo, &[]);
        report.to_string()
    };
    let first = kind(&repo);
    assert!(first.contains("dangling_symlink"), "{first}");
    repo.git(&["checkout", "-q", "--", "."]);
    repo.write("shared/x.txt", "shared\n");
    repo.commit("the target appears");
    let second = kind(&repo);
    assert!(second.contains("symlink_escape"), "{second}");
    assert!(!second.contains("dangling_symlink"), "{second}");
}

/// Who a forged cache file is sealed for.
pub enum Seal<'a> {
    /// The unkeyed checksum of old: `sha256(entries)`, which anyone can compute.
    Unkeyed,
    /// HMAC-SHA256 under the key in `home` (an `XDG_CACHE_HOME`), bound to `repo`'s
    /// common dir: what plugin-lock writes for that user and repository.
    Keyed { home: &'a Path, repo: &'a Path },
}

/// Rewrites the cache with `edit` applied to every entry's JSON value, sealed with this
/// test run's key: the forged file is whole and is read.
pub fn forge(repo: &Repo, edit: impl Fn(&mut serde_json::Value)) {
    let seal = Seal::Keyed {
        home: test_cache_home(),
        repo: repo.path(),
    };
    forge_sealed(repo, &seal, edit);
}

/// [`forge`] sealed as `seal` says.
pub fn forge_sealed(repo: &Repo, seal: &Seal<'_>, edit: impl Fn(&mut serde_json::Value)) {
    let text = String::from_utf8(std::fs::read(cache_file(repo)).expect("cache")).expect("utf-8");
    let (_, body) = text.split_once('\n').expect("header");
    let mut forged = String::new();
    for line in body.lines() {
        let (key, value) = line.split_once('\t').expect("entry");
        let mut v: serde_json::Value = serde_json::from_str(value).expect("entry json");
        edit(&mut v);
        forged.push_str(&format!("{key}\t{v}\n"));
    }
    write_sealed(&cache_file(repo), seal, &forged);
}

/// Writes a cache file of `entries` at `path`, sealed as `seal` says.
pub fn write_sealed(path: &Path, seal: &Seal<'_>, entries: &str) {
    const HEADER: &str = "plugin-lock cache v1";
    let sum = match seal {
        Seal::Unkeyed => Sha256::digest(entries.as_bytes()).to_vec(),
        Seal::Keyed { home, repo } => {
            let key = std::fs::read(home.join("plugin-lock/key")).expect("key");
            let common = std::fs::canonicalize(repo.join(".git")).expect("common dir");
            let id = common.into_os_string().into_encoded_bytes();
            let id_len = (id.len() as u64).to_le_bytes();
            hmac_sha256(&key, &[HEADER.as_bytes(), &id_len, &id, entries.as_bytes()]).to_vec()
        }
    };
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(path, format!("{HEADER} {hex}\n{entries}")).expect("write cache");
}

/// HMAC-SHA256 (RFC 2104), written out here so that the tests do not take the binary's
/// word for it.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn kinds(report: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| format!("{} {}", f["kind"].as_str().unwrap_or(""), f["line"]))
        .collect();
    out.sort();
    out
}

/// Two plugins owned by `@team`, and a `docs/guide/` of 40 Markdown files (enough to be
/// cached as a subtree of its own) whose `/docs/` rule `*.md` shadows.
fn owned_repo() -> Repo {
    let repo = two_plugins();
    repo.write(
        ".github/CODEOWNERS",
        "* @team\n/docs/ @docs-team\n*.md @writers\n",
    );
    for i in 0..40 {
        repo.write(&format!("docs/guide/page{i:02}.md"), format!("page {i}\n"));
    }
    repo.commit("owners and docs");
    repo
}

#[test]
fn ownership_results_are_cached_and_follow_codeowners_changes() {
    let repo = owned_repo();
    let (code, cold) = verify_json(&repo, &["--no-cache"]);
    assert_eq!(code, 0, "{cold}");
    assert_eq!(kinds(&cold), ["codeowners_shadowed_rule 2"], "{cold}");
    let (_, warm) = verify_json(&repo, &[]);
    assert_eq!(warm, cold);
    assert_eq!(verify_json(&repo, &[]).1, cold, "from the cache");

    // Only CODEOWNERS changes (no plugin tree does): beta becomes explicitly unowned.
    repo.write(
        ".github/CODEOWNERS",
        "* @team\n/docs/ @docs-team\n*.md @writers\n/plugins/beta/\n",
    );
    repo.commit("beta loses its owner");
    let (code, warm) = verify_json(&repo, &[]);
    let (_, fresh) = verify_json(&repo, &["--no-cache"]);
    assert_eq!(warm, fresh);
    assert_eq!(code, 4, "{warm}");
    assert!(
        kinds(&warm).contains(&"plugin_not_owned 1".to_owned()),
        "{warm}"
    );
}

#[test]
fn a_new_file_deep_in_a_cached_subtree_is_seen_by_the_shadowed_rule_check() {
    let repo = owned_repo();
    assert_eq!(
        kinds(&verify_json(&repo, &[]).1),
        ["codeowners_shadowed_rule 2"]
    );
    // `/docs/` now decides a file: no longer shadowed, although the rest of
    // docs/guide/ is what the cache holds.
    repo.write("docs/guide/deeper/diagram.svg", "<svg/>\n");
    repo.commit("a file that only /docs/ owns");
    let (code, warm) = verify_json(&repo, &[]);
    assert_eq!((code, kinds(&warm)), (0, Vec::<String>::new()), "{warm}");
    assert_eq!(warm, verify_json(&repo, &["--no-cache"]).1);
}

#[test]
fn cached_ownership_is_read_and_a_damaged_entry_is_recomputed() {
    let repo = owned_repo();
    let (_, cold) = verify_json(&repo, &["--no-cache"]);
    assert_eq!(verify_json(&repo, &[]).1, cold);
    // A plugin summary forged with the user's key is believed: proof that it is read.
    forge(&repo, |v| {
        if let Some(plugin) = v.get_mut("plugin").filter(|p| p.is_array()) {
            *plugin = serde_json::json!([[], ["plugins/alpha/forged.txt"]]);
        }
    });
    let (code, forged) = verify_json(&repo, &[]);
    assert_eq!(code, 4, "{forged}");
    assert!(forged.to_string().contains("forged.txt"), "{forged}");
    // A summary naming a rule this CODEOWNERS does not have is not trusted.
    assert_eq!(verify_json(&repo, &["--no-cache"]).0, 0);
    std::fs::remove_file(cache_file(&repo)).expect("remove");
    assert_eq!(verify_json(&repo, &[]).1, cold);
    forge(&repo, |v| {
        if v.get("matched").is_some() {
            v["matched"] = serde_json::json!([0, 1, 2, 99]);
            v["decided"] = serde_json::json!([]);
        }
    });
    assert_eq!(verify_json(&repo, &[]).1, cold);
}

#[test]
fn a_tree_nested_deeper_than_the_walk_recurses_is_surveyed_alike_warm_and_cold() {
    let repo = two_plugins();
    repo.write(
        ".github/CODEOWNERS",
        "* @team\n/docs/ @docs-team\n*.md @writers\n/plugins/beta/ @beta\n",
    );
    repo.commit("owners");
    // 200 levels below docs/, and a plugin file 100 levels down (staged with plumbing:
    // no such path needs to exist on disk).
    let deep = "d/".repeat(200);
    repo.stage(&format!("docs/{deep}page.md"), "100644", b"deep\n");
    let deep_plugin = format!("plugins/alpha/{}x.txt", "n/".repeat(100));
    repo.stage(&deep_plugin, "100644", b"deep in alpha\n");
    repo.commit_index("deep trees");
    let (_, cold) = verify_json(&repo, &["--no-cache"]);
    // alpha changed (mismatch), `/docs/` is shadowed by `*.md` at every depth.
    let found = kinds(&cold);
    assert!(
        found.contains(&"codeowners_shadowed_rule 2".to_owned()),
        "{cold}"
    );
    assert!(
        found.iter().any(|k| k.starts_with("integrity_mismatch")),
        "{cold}"
    );
    let (_, warm1) = verify_json(&repo, &[]);
    let (_, warm2) = verify_json(&repo, &[]);
    assert_eq!((&warm1, &warm2), (&cold, &cold));
    let out = repo.run(&["owners", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(plugin_owners(&doc, "alpha"), serde_json::json!(["@team"]));
}

#[test]
fn nested_plugins_in_a_deep_tree_get_every_file_they_hold() {
    let repo = Repo::new();
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"plugins/*\", \"plugins/*/inner\"]\nmanifest: none\n",
    )
    .write(
        ".github/CODEOWNERS",
        "* @team\n/plugins/outer/inner/ @inner\n",
    )
    .write("plugins/outer/a.txt", "a\n")
    .write("plugins/outer/inner/b.txt", "b\n");
    repo.commit("nested plugins");
    let deep = "n/".repeat(80);
    repo.stage(
        &format!("plugins/outer/inner/{deep}c.txt"),
        "100644",
        b"c\n",
    );
    repo.stage(&format!("plugins/outer/{deep}d.txt"), "100644", b"d\n");
    repo.commit_index("deep files");
    for extra in [&["--no-cache"][..], &[], &[]] {
        let mut args = vec!["owners", "--format", "json"];
        args.extend_from_slice(extra);
        let out = repo.run(&args);
        let doc = json(&out);
        let owners = |id: &str| plugin_owners(&doc, id);
        assert_eq!(
            owners("outer"),
            serde_json::json!(["@team", "@inner"]),
            "{doc}"
        );
        assert_eq!(
            owners("outer/inner"),
            serde_json::json!(["@inner"]),
            "{doc}"
        );
    }
}

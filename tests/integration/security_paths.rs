//! Issue #16, classes 1, 2 and 4 and the digest's bounds: paths are bytes until proven
//! UTF-8, links are inside or outside on exact bytes, committed bytecode is a finding,
//! and hostile trees and links are refused within the time and memory bounds.
//!
//! Each bypass is checked the three ways a tampered plugin could pass: `verify`, `verify`
//! again with the cache warm, and the pre-push hook.

use std::process::Output;

use serde_json::Value;

use crate::util::*;

const FILE: &str = "100644";
const LINK: &str = "120000";

/// A bare remote `origin` and the installed hook; the current branch is pushed once
/// (it must pass), which also warms the cache.
fn with_remote(repo: &Repo) -> tempfile::TempDir {
    let remote = tempfile::tempdir().expect("temp dir");
    git_in(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&[
        "remote",
        "add",
        "origin",
        remote.path().to_str().expect("utf-8 temp path"),
    ]);
    let path = path_with_bin();
    let out = run_env(repo.path(), &["hook", "install"], &[("PATH", &path)]);
    assert_eq!(code(&out), 0, "install: {}", stderr(&out));
    let out = push(repo);
    assert_eq!(code(&out), 0, "the good state pushes: {}", stderr(&out));
    remote
}

fn push(repo: &Repo) -> Output {
    let path = path_with_bin();
    git_env(
        repo.path(),
        &["push", "-q", "origin", "HEAD:refs/heads/main"],
        &[("PATH", &path)],
    )
}

fn remote_main(remote: &tempfile::TempDir) -> String {
    git_in(remote.path(), &["rev-parse", "refs/heads/main"])
}

/// `verify` fails with `kind`, so does a second run (cache warm), and the push is refused
/// with the remote unchanged. Returns the first finding of `kind`.
fn refused_everywhere(repo: &Repo, remote: &tempfile::TempDir, kind: &str) -> Value {
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert!(!of_kind(&doc, kind).is_empty(), "{kind} in {doc:#}");
    let cache = repo.path().join(".git/plugin-lock/cache-v1");
    assert!(cache.is_file(), "verify wrote the cache");
    let (again, warm) = verify_json(repo.path(), &[], &[]);
    assert_eq!(again, 4, "with the cache warm: {warm:#}");
    assert_eq!(doc["findings"], warm["findings"], "the same findings warm");
    let before = remote_main(remote);
    let out = push(repo);
    assert_ne!(code(&out), 0, "the push is refused: {}", stderr(&out));
    assert!(stderr(&out).contains(kind), "{}", stderr(&out));
    assert_eq!(remote_main(remote), before, "the remote keeps its ref");
    of_kind(&doc, kind)[0].clone()
}

fn manifest(name: &str) -> String {
    format!("name: {name}\nversion: 1.0.0\n")
}

// ---------------------------------------------------------------------------------------
// Class 1: paths are bytes until proven UTF-8

#[test]
fn non_utf8_plugin_directory_beside_its_u_fffd_twin_is_unsupported_path() {
    let repo = Repo::new();
    let twin = "plugins/p\u{fffd}";
    repo.write(&format!("{twin}/plugin.yaml"), manifest("p\u{fffd}"))
        .write(&format!("{twin}/main.py"), "print('locked')\n");
    repo.update_lock();
    repo.commit("a plugin whose name holds U+FFFD");
    let remote = with_remote(&repo);

    // A directory whose name has the byte 0xff where its twin has U+FFFD: a loader runs
    // it; the lossy id made it the same plugin as the twin, and it was never hashed.
    repo.stage_bytes(b"plugins/p\xff/plugin.yaml", FILE, manifest("p").as_bytes());
    repo.stage_bytes(b"plugins/p\xff/main.py", FILE, b"print('payload')\n");
    repo.commit_index("its non-UTF-8 twin");
    let f = refused_everywhere(&repo, &remote, "unsupported_path");
    // Named unambiguously: the byte escaped, never shown as the twin's U+FFFD.
    assert_eq!(f["plugin"], "p\\xff", "{f:#}");
    assert_eq!(f["path"], "plugins/p\\xff", "{f:#}");
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    let ids = plugin_ids(&doc);
    assert_eq!(ids, ["p\\xff", "p\u{fffd}"], "both are plugins: {doc:#}");
}

#[test]
fn non_utf8_component_anywhere_in_a_plugin_path_is_unsupported_path() {
    let repo = Repo::new();
    repo.write(".plugin-lock.yml", "plugins: [\"plugins/*/*\"]\n");
    let twin = "plugins/g\u{fffd}/child";
    repo.write(&format!("{twin}/plugin.yaml"), manifest("child"))
        .write(&format!("{twin}/main.py"), "print('locked')\n");
    repo.update_lock();
    repo.commit("plugins/*/* with U+FFFD in the group");
    let remote = with_remote(&repo);

    // The bad byte is in the group, not in the plugin's own name.
    repo.stage_bytes(
        b"plugins/g\xff/child/plugin.yaml",
        FILE,
        manifest("child").as_bytes(),
    );
    repo.stage_bytes(b"plugins/g\xff/child/main.py", FILE, b"print('payload')\n");
    repo.commit_index("a non-UTF-8 group beside it");
    let f = refused_everywhere(&repo, &remote, "unsupported_path");
    assert_eq!(f["plugin"], "g\\xff/child", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains("not UTF-8"),
        "{f:#}"
    );
    // `update` refuses too: such a plugin cannot be locked.
    let before = repo.read("plugins/PLUGINS.lock");
    let out = repo.run(&["update", "--index"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(repo.read("plugins/PLUGINS.lock"), before);
}

#[test]
fn directories_whose_ids_read_alike_are_each_an_error_naming_the_other() {
    let repo = two_plugins();
    // A real backslash name that reads like the escaped form of the byte 0xff.
    repo.stage(
        "plugins/q\\xff/plugin.yaml",
        FILE,
        manifest("q\\xff").as_bytes(),
    );
    repo.stage_bytes(b"plugins/q\xff/plugin.yaml", FILE, manifest("q").as_bytes());
    repo.commit_index("two names that read the same");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let found = of_kind(&doc, "unsupported_path");
    assert_eq!(found.len(), 2, "both directories are refused: {doc:#}");
    for f in found {
        let message = f["message"].as_str().expect("message");
        assert!(message.contains("both have the id `q\\xff`"), "{message}");
        assert!(message.contains("(not UTF-8, shown escaped)"), "{message}");
    }
}

// ---------------------------------------------------------------------------------------
// Class 2: inside/outside for links on exact bytes

#[test]
fn link_to_a_directory_that_differs_by_one_invalid_byte_is_outside_the_plugin() {
    let repo = Repo::new();
    let plugin = "plugins/p\u{fffd}";
    repo.write(".plugin-lock.yml", format!("plugins: [\"{plugin}\"]\n"))
        .write(&format!("{plugin}/plugin.yaml"), manifest("p\u{fffd}"))
        .write(&format!("{plugin}/loader.py"), "print('locked')\n");
    repo.update_lock();
    repo.commit("one plugin, its loader committed");
    let remote = with_remote(&repo);

    // The loader becomes a link to the same bytes in a directory beside the plugin whose
    // name differs by 0xff versus U+FFFD: the lossy test called it inside, hashed the
    // outside file into the plugin (the same digest) and cached it by the plugin's tree.
    repo.git(&["rm", "-q", "--cached", &format!("{plugin}/loader.py")]);
    repo.stage_bytes(
        format!("{plugin}/loader.py").as_bytes(),
        LINK,
        b"../p\xff/payload",
    );
    repo.stage_bytes(b"plugins/p\xff/payload", FILE, b"print('locked')\n");
    repo.commit_index("the loader links outside");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");

    // Then only the outside payload changes: the plugin's tree id stays the same.
    repo.stage_bytes(b"plugins/p\xff/payload", FILE, b"print('payload')\n");
    repo.commit_index("the payload changes");
    let f = refused_everywhere(&repo, &remote, "symlink_escape");
    assert_eq!(f["path"], format!("{plugin}/loader.py"), "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains("plugins/p\\xff/payload"),
        "the outside file named unambiguously: {f:#}"
    );
}

// ---------------------------------------------------------------------------------------
// Class 4: committed bytecode

#[test]
fn committed_bytecode_inside_a_plugin_is_bytecode_committed() {
    let repo = two_plugins();
    let remote = with_remote(&repo);
    // An unchecked-hash .pyc (PEP 552 flags = 2) of other source: Python runs it in
    // place of helpers.py, and the digest leaves it out.
    let mut pyc = vec![0xcb, 0x0d, 0x0d, 0x0a, 2, 0, 0, 0];
    pyc.extend_from_slice(&[0u8; 8]);
    pyc.extend_from_slice(b"\xe3payload");
    repo.write("plugins/alpha/src/helpers.py", "def f(): return 1\n");
    repo.update_lock();
    repo.commit("helpers");
    assert_eq!(code(&push(&repo)), 0);
    repo.write(
        "plugins/alpha/src/__pycache__/helpers.cpython-312.pyc",
        &pyc,
    )
    .write("plugins/alpha/old.pyc", [1u8])
    // Bytecode outside any plugin is not a finding.
    .write("tools/__pycache__/build.cpython-312.pyc", [2u8]);
    repo.git(&["add", "-f", "."]);
    repo.commit_index("bytecode rides along");
    let f = refused_everywhere(&repo, &remote, "bytecode_committed");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["plugin"], "alpha");
    assert_eq!(
        f["path"], "plugins/alpha/old.pyc",
        "the first in record order"
    );
    assert_eq!(f["count"], 2, "{f:#}");
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains("plugins/alpha/src/__pycache__/helpers.cpython-312.pyc"),
        "{message}"
    );
    assert!(
        message.contains("git rm -r --cached plugins/alpha/old.pyc plugins/alpha/src/__pycache__"),
        "{message}"
    );
    assert!(message.contains("*.py[co]"), "{message}");
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(of_kind(&doc, "bytecode_committed").len(), 1, "{doc:#}");
    assert_eq!(
        doc["findings"].as_array().expect("findings").len(),
        1,
        "the digest is unchanged (no mismatch): {doc:#}"
    );

    // SARIF lists the rule.
    let out = repo.run(&["verify", "--format", "sarif"]);
    assert!(
        stdout(&out).contains("bytecode_committed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn committed_bytecode_can_be_lowered_with_severity() {
    let repo = two_plugins();
    repo.write("plugins/beta/legacy.pyo", [1u8, 2]);
    repo.write(
        ".plugin-lock.yml",
        "severity:\n  bytecode_committed: warning\n",
    );
    repo.update_lock();
    repo.commit("a .pyo, lowered to a warning");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    let f = &of_kind(&doc, "bytecode_committed")[0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["path"], "plugins/beta/legacy.pyo");
    // Warm cache: still reported.
    let (exit, warm) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0);
    assert_eq!(warm["findings"], doc["findings"]);
}

// ---------------------------------------------------------------------------------------
// Bounds in the walk and the resolver

#[test]
fn link_target_longer_than_path_max_is_refused_without_reading_it() {
    let repo = two_plugins();
    // 280 MiB of one byte: a few hundred KiB in git, more than the memory bound read.
    // Made by a pipe, not in this process (children inherit its peak RSS).
    let made = std::process::Command::new("sh")
        .current_dir(repo.path())
        .args([
            "-c",
            "head -c 293601280 /dev/zero | tr '\\0' a | git hash-object -w --stdin",
        ])
        .output()
        .expect("sh runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let id = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let line = format!("{LINK} {id}\tplugins/alpha/huge\0");
    git_stdin(
        repo.path(),
        &["update-index", "--add", "-z", "--index-info"],
        Some(line.as_bytes()),
    );
    repo.stage("plugins/beta/long", LINK, &[b'b'; 5000]);
    repo.commit_index("link targets over PATH_MAX");
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    run.assert_within_bounds("a 280 MiB link target");
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let found = of_kind(&doc, "unsupported_entry");
    assert_eq!(found.len(), 2, "{doc:#}");
    let message = found[0]["message"].as_str().expect("message");
    assert!(message.contains("more than 4096"), "{message}");
    assert!(message.contains(&(280u64 << 20).to_string()), "{message}");
}

#[test]
fn links_whose_targets_climb_back_and_forth_exhaust_the_resolver_budget() {
    let repo = two_plugins();
    repo.write("plugins/alpha/d/x", "x\n");
    repo.update_lock();
    repo.commit("a directory to climb in and out of");
    // 2,000 links sharing one 4 KB target `d/../d/../…/plugin.yaml`.
    let mut target = "d/../".repeat(800);
    target.push_str("plugin.yaml");
    let blob = git_stdin(
        repo.path(),
        &["hash-object", "-w", "--stdin"],
        Some(target.as_bytes()),
    );
    let mut lines = Vec::new();
    for i in 0..2000 {
        lines.extend_from_slice(format!("{LINK} {blob}\tplugins/alpha/l{i:04}").as_bytes());
        lines.push(0);
    }
    git_stdin(
        repo.path(),
        &["update-index", "--add", "-z", "--index-info"],
        Some(&lines),
    );
    repo.commit_index("a link bomb");
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    run.assert_within_bounds("2,000 links of 4 KB climbing targets");
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let f = &of_kind(&doc, "symlink_loop")[0];
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("1000000 path components"), "{message}");
}

// A tree object `{mode} {name}\0{id}` per entry, built without git so that 100,000
// levels cost milliseconds (one `git mktree` per level would take minutes).
fn tree_bytes(entries: &[(&str, &str, gix::ObjectId)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (mode, name, id) in entries {
        out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        out.extend_from_slice(id.as_bytes());
    }
    out
}

/// A zlib stream of stored (uncompressed) blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65535).peekable();
    if data.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A chain `d/d/…/d` `depth` directories deep with a file `f` at every level (so
/// listing it whole is quadratic), written as one pack; returns its top tree.
fn deep_chain(repo: &Repo, depth: usize) -> String {
    let sha1 = gix::hash::Kind::Sha1;
    let blob_data = b"deep\n".to_vec();
    let blob = gix::objs::compute_hash(sha1, gix::objs::Kind::Blob, &blob_data).expect("hash");
    let mut objects: Vec<(u8, Vec<u8>)> = vec![(3, blob_data)];
    let mut tree = tree_bytes(&[("100644", "f", blob)]);
    let mut id = gix::objs::compute_hash(sha1, gix::objs::Kind::Tree, &tree).expect("hash");
    for _ in 0..depth {
        objects.push((2, tree));
        tree = tree_bytes(&[("40000", "d", id), ("100644", "f", blob)]);
        id = gix::objs::compute_hash(sha1, gix::objs::Kind::Tree, &tree).expect("hash");
    }
    objects.push((2, tree));
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(objects.len() as u32).to_be_bytes());
    for (kind, data) in &objects {
        let mut size = data.len();
        let mut byte = (kind << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        pack.push(byte);
        pack.extend_from_slice(&zlib_stored(data));
    }
    let mut hasher = gix::hash::hasher(sha1);
    hasher.update(&pack);
    let sum = hasher.try_finalize().expect("pack checksum");
    pack.extend_from_slice(sum.as_bytes());
    git_stdin(repo.path(), &["index-pack", "--stdin"], Some(&pack));
    id.to_string()
}

#[test]
fn tree_nested_100000_directories_deep_is_refused_in_linear_time() {
    let repo = two_plugins();
    let deep = deep_chain(&repo, 100_000);
    let alpha = with_entry(&repo, "plugins/alpha", "d", &format!("040000 tree {deep}"));
    let plugins = with_entry(&repo, "plugins", "alpha", &format!("040000 tree {alpha}"));
    let root = with_entry(&repo, "", "plugins", &format!("040000 tree {plugins}"));
    let commit = repo.git(&["commit-tree", &root, "-p", "HEAD", "-m", "deep"]);
    repo.git(&["update-ref", "refs/heads/main", &commit]);
    let run = run_bounded(
        repo.path(),
        &["verify", "--format", "json", "--rev", &commit],
        &[],
    );
    run.assert_within_bounds("a tree 100,000 directories deep");
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let f = &of_kind(&doc, "unsupported_path")[0];
    assert_eq!(f["plugin"], "alpha", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains("more than 4096 bytes"),
        "{f:#}"
    );
    // Twice: with the cache in place.
    let run = run_bounded(
        repo.path(),
        &["verify", "--format", "json", "--rev", &commit],
        &[],
    );
    run.assert_within_bounds("again, cache warm");
    assert_eq!(code(&run.output), 4);
}

#[test]
fn tree_that_repeats_a_subtree_into_ten_billion_paths_is_refused() {
    let repo = two_plugins();
    // Ten trees of ten entries, each naming the tree below ten times: 10^10 files.
    let entry = tree_bomb(&repo);
    let alpha = with_entry(&repo, "plugins/alpha", "bomb", &entry);
    let plugins = with_entry(&repo, "plugins", "alpha", &format!("040000 tree {alpha}"));
    let root = with_entry(&repo, "", "plugins", &format!("040000 tree {plugins}"));
    let commit = repo.git(&["commit-tree", &root, "-p", "HEAD", "-m", "bomb"]);
    let run = run_bounded(
        repo.path(),
        &["verify", "--format", "json", "--rev", &commit],
        &[],
    );
    run.assert_within_bounds("a tree of 10^10 paths");
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let f = &of_kind(&doc, "unsupported_entry")[0];
    assert_eq!(f["plugin"], "alpha", "{f:#}");
    assert!(
        f["message"]
            .as_str()
            .expect("message")
            .contains("more than 250000 entries"),
        "{f:#}"
    );
}

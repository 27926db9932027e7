//! Bad input, one test per case: each builds a real repository, runs the binary and
//! checks what a user sees — the documented exit code, a finding or error that names the
//! file (and line), no panic, and an answer within seconds.
//!
//! Names Windows cannot hold (control characters, non-UTF-8) and symlinks or submodules
//! go into the tree with git plumbing ([`Repo::stage`]), never through the file system.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::process::Output;
use std::time::{Duration, Instant};

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::util::{Repo, code, findings, run_in, stderr, stdout, two_plugins};

const LOCK: &str = "plugins/PLUGINS.lock";
const CONFIG: &str = ".plugin-lock.yml";
const ALPHA_MANIFEST: &str = "plugins/alpha/plugin.yaml";
const LINK: &str = "120000";
const GITLINK: &str = "160000";
const FILE: &str = "100644";

// ---------------------------------------------------------------------------------------
// Helpers

/// What every run must satisfy whatever the input: no panic, an answer within seconds.
fn checked(out: Output, args: &[&str], start: Instant) -> Output {
    let took = start.elapsed();
    assert!(
        !stderr(&out).contains("panicked"),
        "plugin-lock {args:?} panicked:\n{}",
        stderr(&out)
    );
    assert!(
        took < Duration::from_secs(10),
        "plugin-lock {args:?} took {took:?}"
    );
    out
}

/// Runs plugin-lock in `repo`.
fn run(repo: &Repo, args: &[&str]) -> Output {
    let start = Instant::now();
    checked(repo.run(args), args, start)
}

/// Runs plugin-lock in any directory.
fn run_at(dir: &std::path::Path, args: &[&str]) -> Output {
    let start = Instant::now();
    checked(run_in(dir, args), args, start)
}

/// Any JSON document; deserializing fails on an object that repeats a key anywhere
/// (`serde_json::Value` would silently keep the last one).
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}

/// stdout as one JSON document with no repeated keys (a contract: DESIGN.md).
fn json(out: &Output) -> Value {
    if let Err(e) = serde_json::from_slice::<NoDuplicateKeys>(&out.stdout) {
        panic!("stdout is not clean JSON ({e}):\n{}", stdout(out));
    }
    crate::util::json(out)
}

/// `verify --format json`: the exit code and the document, which must agree.
fn verify(repo: &Repo) -> (i32, Value) {
    let out = run(repo, &["verify", "--format", "json"]);
    let doc = json(&out);
    let verdict = if code(&out) == 0 { "pass" } else { "fail" };
    assert_eq!(doc["verdict"], verdict, "exit {} but {doc:#}", code(&out));
    (code(&out), doc)
}

/// The kinds of the error findings, sorted.
fn error_kinds(doc: &Value) -> Vec<&str> {
    let mut kinds: Vec<&str> = findings(doc)
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    kinds.sort_unstable();
    kinds
}

/// The one finding of `kind` (there must be exactly one).
fn the<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    let of_kind: Vec<&Value> = findings(doc).iter().filter(|f| f["kind"] == kind).collect();
    assert_eq!(of_kind.len(), 1, "want one `{kind}` finding in {doc:#}");
    of_kind[0]
}

fn has(doc: &Value, kind: &str) -> bool {
    findings(doc).iter().any(|f| f["kind"] == kind)
}

/// Where a finding is: file, line, column (`None`: JSON null) and plugin (`None`: null).
struct At<'a> {
    path: &'a str,
    line: u64,
    column: Option<u64>,
    plugin: Option<&'a str>,
}

fn assert_at(f: &Value, at: &At<'_>) {
    assert_eq!(f["path"], at.path, "path of {f:#}");
    assert_eq!(f["line"], at.line, "line of {f:#}");
    assert_eq!(
        f["column"],
        at.column.map_or(Value::Null, Value::from),
        "column of {f:#}"
    );
    assert_eq!(
        f["plugin"],
        at.plugin.map_or(Value::Null, Value::from),
        "plugin of {f:#}"
    );
}

/// Human `verify`: exit 4, the `error[kind]` header and ` --> location` each once.
fn assert_human(repo: &Repo, kind: &str, location: &str) {
    let out = run(repo, &["verify", "--color", "never"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    // Names from the tree must not break lines or reach the terminal as control codes.
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in:\n{text:?}"
    );
    let head = format!("error[{kind}]: ");
    let arrow = format!("--> {location}\n");
    assert_eq!(text.matches(&head).count(), 1, "`{head}` once in:\n{text}");
    assert_eq!(
        text.matches(&arrow).count(),
        1,
        "`{arrow}` once in:\n{text}"
    );
    assert!(text.contains("FAILED"), "a failing verdict in:\n{text}");
}

/// How human output shows a path: control characters escaped (`\t`, `\u{1}`).
fn shown(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The lock entries of a committed, canonical lock.
fn lock_entries(repo: &Repo) -> BTreeMap<String, String> {
    serde_json::from_slice(&repo.read(LOCK)).expect("the fixture's lock is JSON")
}

// ---------------------------------------------------------------------------------------
// The lock

/// Two valid plugins whose committed lock is replaced by `lock`.
fn with_lock(lock: impl AsRef<[u8]>) -> Repo {
    let repo = two_plugins();
    repo.write(LOCK, lock);
    repo.commit("bad lock");
    repo
}

/// `verify` reports one `lock_malformed` at `line:column`, whose message has `says`.
fn assert_malformed(repo: &Repo, line: u64, column: u64, says: &str) {
    let (exit, doc) = verify(repo);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(error_kinds(&doc), ["lock_malformed"], "{doc:#}");
    let f = the(&doc, "lock_malformed");
    assert_at(
        f,
        &At {
            path: LOCK,
            line,
            column: Some(column),
            plugin: None,
        },
    );
    let message = f["message"].as_str().expect("message");
    assert!(message.contains(says), "`{says}` in {message:?}");
    assert!(
        message.contains("plugin-lock update"),
        "the fix in {message:?}"
    );
}

#[test]
fn lock_that_is_a_json_list() {
    let repo = with_lock("[\n  \"alpha\"\n]\n");
    assert_malformed(&repo, 1, 1, "found a list");
    assert_human(&repo, "lock_malformed", &format!("{LOCK}:1:1"));
}

#[test]
fn lock_with_a_nested_object_value() {
    let repo = with_lock("{\n  \"alpha\": {\"digest\": \"00\"}\n}\n");
    assert_malformed(&repo, 2, 12, "must be a string of 64 lowercase hex");
}

#[test]
fn lock_with_a_non_hex_value() {
    let bad = "g".repeat(64);
    let repo = with_lock(format!("{{\n  \"alpha\": \"{bad}\"\n}}\n"));
    assert_malformed(&repo, 2, 12, "not a hex digit");
    assert_human(&repo, "lock_malformed", &format!("{LOCK}:2:12"));
}

#[test]
fn lock_with_uppercase_hex() {
    let repo = two_plugins();
    let entries = lock_entries(&repo);
    let lock = format!(
        "{{\n  \"alpha\": \"{}\",\n  \"beta\": \"{}\"\n}}\n",
        entries["alpha"],
        entries["beta"].to_uppercase()
    );
    repo.write(LOCK, lock);
    repo.commit("uppercase digest");
    assert_malformed(&repo, 3, 11, "uppercase");
}

#[test]
fn lock_with_a_duplicate_key() {
    let repo = two_plugins();
    let entries = lock_entries(&repo);
    let (a, b) = (&entries["alpha"], &entries["beta"]);
    repo.write(
        LOCK,
        format!("{{\n  \"alpha\": \"{a}\",\n  \"beta\": \"{b}\",\n  \"alpha\": \"{a}\"\n}}\n"),
    );
    repo.commit("duplicate key");
    // At the duplicate, naming the first.
    assert_malformed(&repo, 4, 3, "first at line 2");
}

#[test]
fn lock_that_is_not_utf8() {
    let mut lock = b"{\n  \"alpha\": \"".to_vec();
    lock.extend_from_slice(&[0xff; 64]);
    lock.extend_from_slice(b"\"\n}\n");
    let repo = with_lock(lock);
    assert_malformed(&repo, 2, 13, "UTF-8");
}

#[test]
fn lock_of_40_mb_is_refused_at_line_1_quickly() {
    // A valid-looking lock that keeps going: no parser may be given it.
    let mut lock = b"{\n".to_vec();
    let line = format!("  \"p\": \"{}\",\n", "0".repeat(64));
    while lock.len() < 40 * 1024 * 1024 {
        lock.extend_from_slice(line.as_bytes());
    }
    lock.extend_from_slice(b"  \"z\": \"0\"\n}\n");
    let repo = with_lock(lock);
    let start = Instant::now();
    assert_malformed(&repo, 1, 1, "16 MiB");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn lock_that_is_empty() {
    let repo = with_lock("");
    assert_malformed(&repo, 1, 1, "empty lock file");
}

#[test]
fn lock_with_trailing_garbage() {
    let repo = two_plugins();
    let mut lock = repo.read(LOCK);
    lock.extend_from_slice(b"\n  garbage\n");
    repo.write(LOCK, lock);
    repo.commit("trailing garbage");
    // The canonical lock of two plugins is 4 lines; the garbage is on line 6.
    assert_malformed(&repo, 6, 3, "after the end of the lock object");
}

#[test]
fn update_replaces_a_malformed_lock_and_says_so() {
    let repo = two_plugins();
    let canonical = repo.read(LOCK);
    repo.write(LOCK, "[\"not a lock\"]\n");
    repo.commit("break the lock");

    let out = run(&repo, &["update", "--check"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("would replace a malformed lock"));
    assert_eq!(
        repo.read(LOCK),
        b"[\"not a lock\"]\n",
        "--check writes nothing"
    );

    let out = run(&repo, &["update"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("replaced a malformed lock") && said.contains(&format!("{LOCK}:1:1")),
        "update says what it replaced and where:\n{said}"
    );
    assert_eq!(repo.read(LOCK), canonical, "the lock is canonical again");

    repo.commit("fixed lock");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(findings(&doc).iter().all(|f| f["severity"] != "error"));
    assert!(!has(&doc, "lock_not_canonical"), "{doc:#}");
}

#[test]
fn lock_missing_while_plugins_exist() {
    let repo = two_plugins();
    repo.remove(LOCK);
    repo.commit("no lock");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(error_kinds(&doc), ["lock_missing"], "{doc:#}");
    // Located at the first plugin: its manifest.
    assert_at(
        the(&doc, "lock_missing"),
        &At {
            path: ALPHA_MANIFEST,
            line: 1,
            column: None,
            plugin: None,
        },
    );
    assert_human(&repo, "lock_missing", &format!("{ALPHA_MANIFEST}:1"));
}

#[test]
fn no_plugins_and_no_lock_is_not_a_silent_pass() {
    let repo = Repo::new();
    repo.remove(".gitattributes");
    repo.write("README.md", "nothing here yet\n");
    repo.commit("empty");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(error_kinds(&doc), ["plugins_glob_unmatched"], "{doc:#}");
    assert!(doc["plugins"].as_array().expect("plugins").is_empty());
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4);
    assert!(
        stdout(&out).starts_with(
            "error[plugins_glob_unmatched]: no directory matches the plugins glob `plugins/*` (the default, or --plugins; there is no .plugin-lock.yml): no plugin is verified\n  --> README.md:1\n"
        ),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("`plugin-lock init`"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn empty_lock_object_and_no_plugins_pass() {
    let repo = Repo::new();
    repo.write(LOCK, "{}\n");
    repo.commit("empty lock");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(error_kinds(&doc).is_empty(), "{doc:#}");
    assert!(
        !has(&doc, "lock_not_canonical"),
        "`{{}}\\n` is canonical: {doc:#}"
    );
}

/// Two plugins whose (correct) lock is written with its keys out of order.
fn unsorted_lock(config: Option<&str>) -> Repo {
    let repo = two_plugins();
    let entries = lock_entries(&repo);
    let (a, b) = (&entries["alpha"], &entries["beta"]);
    repo.write(
        LOCK,
        format!("{{\n  \"beta\": \"{b}\",\n  \"alpha\": \"{a}\"\n}}\n"),
    );
    if let Some(config) = config {
        repo.write(CONFIG, config);
    }
    repo.commit("unsorted lock");
    repo
}

#[test]
fn lock_not_canonical_is_a_warning() {
    let repo = unsorted_lock(None);
    let entries = lock_entries(&repo);
    let (a, b) = (&entries["alpha"], &entries["beta"]);
    let variants = [
        format!("{{\n  \"beta\": \"{b}\",\n  \"alpha\": \"{a}\"\n}}\n"),
        format!("{{\n    \"alpha\": \"{a}\",\n    \"beta\": \"{b}\"\n}}\n"),
        format!("{{\"alpha\": \"{a}\", \"beta\": \"{b}\"}}"),
        format!("{{\r\n  \"alpha\": \"{a}\",\r\n  \"beta\": \"{b}\"\r\n}}\r\n"),
    ];
    for (i, lock) in variants.iter().enumerate() {
        repo.write(LOCK, lock);
        repo.commit(&format!("variant {i}"));
        let (exit, doc) = verify(&repo);
        assert_eq!(exit, 0, "variant {i}: {doc:#}");
        let f = the(&doc, "lock_not_canonical");
        assert_eq!(f["severity"], "warning");
        assert_at(
            f,
            &At {
                path: LOCK,
                line: 1,
                column: None,
                plugin: None,
            },
        );
        assert!(
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("plugin-lock update")),
            "{f:#}"
        );
    }
}

#[test]
fn lock_not_canonical_raised_to_error_fails() {
    let repo = unsorted_lock(Some("severity:\n  lock_not_canonical: error\n"));
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(error_kinds(&doc), ["lock_not_canonical"], "{doc:#}");
    assert_human(&repo, "lock_not_canonical", &format!("{LOCK}:1"));
}

#[test]
fn lock_not_canonical_turned_off_is_silent() {
    let repo = unsorted_lock(Some("severity:\n  lock_not_canonical: off\n"));
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(!has(&doc, "lock_not_canonical"), "{doc:#}");
}

#[test]
fn severity_cannot_lower_the_integrity_contract() {
    let repo = two_plugins();
    repo.write(
        CONFIG,
        "severity:\n  lock_not_canonical: off\n  integrity_mismatch: warning\n",
    );
    repo.commit("lower the contract");
    for format in ["human", "json"] {
        let out = run(&repo, &["verify", "--format", format]);
        assert_eq!(code(&out), 2, "{format}: {}{}", stdout(&out), stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{CONFIG}:3:")),
            "file and line in {err:?}"
        );
        assert!(err.contains("integrity_mismatch"), "the kind in {err:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Manifests

/// Two plugins where alpha's manifest is `manifest`, locked and committed.
fn with_alpha_manifest(manifest: impl AsRef<[u8]>) -> Repo {
    let repo = two_plugins();
    repo.write(ALPHA_MANIFEST, manifest);
    repo.update_lock();
    repo.commit("alpha's manifest");
    repo
}

/// `verify` fails with `schema_violation`s only, all in alpha's manifest; returns the first.
fn schema_violation(repo: &Repo) -> Value {
    let (exit, doc) = verify(repo);
    assert_eq!(exit, 4, "{doc:#}");
    let kinds = error_kinds(&doc);
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == "schema_violation"),
        "{doc:#}"
    );
    let first = findings(&doc)
        .iter()
        .find(|f| f["kind"] == "schema_violation")
        .expect("a schema_violation")
        .clone();
    assert_eq!(first["path"], ALPHA_MANIFEST);
    assert_eq!(first["plugin"], "alpha");
    assert!(first["line"].as_u64().is_some_and(|l| l >= 1), "{first:#}");
    assert!(
        first["column"].as_u64().is_some_and(|c| c >= 1),
        "{first:#}"
    );
    first
}

#[test]
fn manifest_alias_bomb_is_refused_quickly() {
    let mut yaml = String::from("name: alpha\nversion: 1.0.0\n");
    yaml.push_str(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        yaml.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let start = Instant::now();
    let repo = with_alpha_manifest(&yaml);
    let f = schema_violation(&repo);
    assert!(start.elapsed() < Duration::from_secs(10));
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("alias"), "{message:?}");
    // Somewhere in the anchors and aliases, not before them.
    assert!(
        f["line"].as_u64().is_some_and(|l| (3..=11).contains(&l)),
        "{f:#}"
    );
}

#[test]
fn manifest_nested_100000_levels_is_refused_quickly() {
    let start = Instant::now();
    let repo = with_alpha_manifest("[".repeat(100_000));
    let f = schema_violation(&repo);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(f["line"], 1, "{f:#}");
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("nesting"), "{message:?}");
}

#[test]
fn manifest_with_another_plugins_name() {
    let repo = with_alpha_manifest("# the alpha plugin\nname: beta\nversion: 1.0.0\n");
    let f = schema_violation(&repo);
    assert_at(
        &f,
        &At {
            path: ALPHA_MANIFEST,
            line: 2,
            column: Some(7),
            plugin: Some("alpha"),
        },
    );
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains("\"beta\"") && message.contains("\"alpha\""),
        "{message:?}"
    );
    assert_human(&repo, "schema_violation", &format!("{ALPHA_MANIFEST}:2:7"));
}

#[test]
fn manifest_with_a_version_that_is_not_semver() {
    for manifest in [
        "name: alpha\nversion: 1.0\n",
        "name: alpha\nversion: \"1.0\"\n",
    ] {
        let repo = with_alpha_manifest(manifest);
        let f = schema_violation(&repo);
        assert_at(
            &f,
            &At {
                path: ALPHA_MANIFEST,
                line: 2,
                column: Some(10),
                plugin: Some("alpha"),
            },
        );
    }
}

#[test]
fn manifest_missing() {
    let repo = two_plugins();
    repo.remove(ALPHA_MANIFEST);
    repo.update_lock();
    repo.commit("no manifest");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 4, "{doc:#}");
    assert_eq!(error_kinds(&doc), ["missing_manifest"], "{doc:#}");
    // Located at the plugin: its first file, as there is no manifest.
    assert_at(
        the(&doc, "missing_manifest"),
        &At {
            path: "plugins/alpha/src/main.py",
            line: 1,
            column: None,
            plugin: Some("alpha"),
        },
    );
}

#[test]
fn manifest_none_requires_no_manifest() {
    let repo = two_plugins();
    repo.remove(ALPHA_MANIFEST);
    repo.write("plugins/beta/plugin.yaml", "name: [not, a, name]\n");
    repo.write(CONFIG, "manifest: none\n");
    repo.update_lock();
    repo.commit("no manifests required");
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(
        !has(&doc, "missing_manifest") && !has(&doc, "schema_violation"),
        "{doc:#}"
    );
}

// ---------------------------------------------------------------------------------------
// Configuration, revisions, repositories

/// Two plugins with `.plugin-lock.yml` committed; `verify` must stop with exit 2,
/// naming the file and `line`, and saying `says`.
fn assert_config_error(config: &str, line: u32, says: &str) {
    let repo = two_plugins();
    repo.write(CONFIG, config);
    repo.commit("configuration");
    let out = run(&repo, &["verify"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{CONFIG}:{line}:")),
        "file and line in {err:?}"
    );
    assert!(err.contains(says), "`{says}` in {err:?}");
}

#[test]
fn config_with_an_unknown_key() {
    assert_config_error("plugins: [\"plugins/*\"]\nlocks: other.lock\n", 2, "locks");
}

#[test]
fn config_with_a_nested_unknown_key() {
    assert_config_error(
        "owners:\n  required: [\"@acme/platform\"]\n  must_be_owned: true\n",
        3,
        "must_be_owned",
    );
}

#[test]
fn config_with_a_bogus_symlink_policy() {
    assert_config_error("symlinks: bogus\n", 1, "bogus");
}

#[test]
fn unknown_revision() {
    let repo = two_plugins();
    for format in ["human", "json"] {
        let out = run(&repo, &["verify", "--rev", "nope", "--format", format]);
        assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
        assert!(stderr(&out).contains("`nope`"), "{}", stderr(&out));
    }
}

#[test]
fn not_a_repository() {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = run_at(empty.path(), &["verify"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );

    // The same through -C, from inside a repository.
    let repo = two_plugins();
    let dir = empty.path().to_str().expect("UTF-8 temp path");
    let out = run(&repo, &["-C", dir, "verify"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("not a git repository"),
        "{}",
        stderr(&out)
    );

    // And a -C that does not exist.
    let missing = empty.path().join("missing");
    let missing = missing.to_str().expect("UTF-8 temp path");
    let out = run(&repo, &["-C", missing, "verify"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains(missing), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// Rejected plugins (spec/DIGEST.md)

/// Two plugins (locked) plus `entries` staged with plumbing and committed.
fn staged(entries: &[(&str, &str, &[u8])]) -> Repo {
    let repo = two_plugins();
    for (path, mode, content) in entries {
        repo.stage(path, mode, content);
    }
    repo.commit_index("staged entries");
    repo
}

/// `verify` rejects `plugin` once, as `kind` at `path`; `update` refuses and leaves the
/// lock byte-identical.
fn assert_rejected(repo: &Repo, kind: &str, path: &str, plugin: &str) {
    let (exit, doc) = verify(repo);
    assert_eq!(exit, 4, "{doc:#}");
    let f = the(&doc, kind);
    assert_at(
        f,
        &At {
            path,
            line: 1,
            column: None,
            plugin: Some(plugin),
        },
    );
    assert_eq!(f["path"], path, "the `path` field");
    let status = doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == plugin)
        .expect("the plugin is listed");
    assert_eq!(status["status"], "rejected", "{status:#}");
    assert_eq!(status["rejection"]["kind"], kind, "{status:#}");
    assert_eq!(status["rejection"]["path"], path, "{status:#}");
    assert_update_refuses(repo, path);
}

/// `update` (from the index, which holds the staged entries) exits 4 naming `path`, and
/// the lock keeps every byte.
fn assert_update_refuses(repo: &Repo, path: &str) {
    let before = repo.read(LOCK);
    let out = run(repo, &["update", "--index"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refused: 1 plugin(s) rejected"), "{err}");
    assert!(err.contains(&format!("--> {}:1", shown(path))), "{err}");
    assert_eq!(repo.read(LOCK), before, "the lock is untouched");

    let out = run(repo, &["update", "--index", "--format", "json"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["refused"], true, "{doc:#}");
    assert_eq!(doc["written"], false, "{doc:#}");
    // The reasons are the rejections, the plugin's first (in record order) first.
    let reasons = findings(&doc);
    assert!(!reasons.is_empty(), "{doc:#}");
    assert!(reasons.iter().any(|r| r["path"] == path), "{doc:#}");
    assert_eq!(repo.read(LOCK), before, "the lock is untouched");
}

#[test]
fn symlink_escaping_the_plugin() {
    let repo = two_plugins();
    repo.write("other/secret", "s3cret\n");
    repo.commit("a secret beside the plugins");
    repo.stage("plugins/alpha/secret", LINK, b"../../other/secret");
    repo.commit_index("link out of the plugin");
    assert_rejected(&repo, "symlink_escape", "plugins/alpha/secret", "alpha");
    assert_human(&repo, "symlink_escape", "plugins/alpha/secret:1");
}

#[test]
fn symlink_with_an_absolute_target() {
    let repo = staged(&[("plugins/alpha/passwd", LINK, b"/etc/passwd")]);
    assert_rejected(&repo, "symlink_escape", "plugins/alpha/passwd", "alpha");
}

#[test]
fn symlink_loop() {
    let repo = staged(&[("plugins/alpha/a", LINK, b"a")]);
    assert_rejected(&repo, "symlink_loop", "plugins/alpha/a", "alpha");
    // Two links that name each other: each one loops, each is reported.
    let repo = staged(&[
        ("plugins/alpha/a", LINK, b"b"),
        ("plugins/alpha/b", LINK, b"a"),
    ]);
    let (_, doc) = verify(&repo);
    let loops: Vec<&str> = findings(&doc)
        .iter()
        .filter(|f| f["kind"] == "symlink_loop")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(loops, ["plugins/alpha/a", "plugins/alpha/b"], "{doc:#}");
}

#[test]
fn dangling_symlink() {
    let repo = staged(&[("plugins/alpha/gone", LINK, b"missing.txt")]);
    assert_rejected(&repo, "dangling_symlink", "plugins/alpha/gone", "alpha");
    assert_human(&repo, "dangling_symlink", "plugins/alpha/gone:1");
}

#[cfg(unix)]
#[test]
fn dangling_symlink_in_the_work_tree_stops_update() {
    // `update` reads the work tree by default: a real link on disk.
    let repo = two_plugins();
    std::os::unix::fs::symlink("missing.txt", repo.path().join("plugins/alpha/gone"))
        .expect("symlink");
    let before = repo.read(LOCK);
    let out = run(&repo, &["update"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("dangling_symlink"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("plugins/alpha/gone:1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.read(LOCK), before);
}

#[test]
fn update_refusal_lists_only_the_rejection() {
    // A rejected plugin whose manifest is also wrong: the manifest does not stop
    // `update`, so it is not a reason for the refusal.
    let repo = two_plugins();
    repo.write(ALPHA_MANIFEST, "name: wrong\n");
    repo.commit("wrong manifest");
    repo.stage("plugins/alpha/gone", LINK, b"missing.txt");
    repo.commit_index("and a dangling link");
    assert_rejected(&repo, "dangling_symlink", "plugins/alpha/gone", "alpha");
    let out = run(&repo, &["update", "--index"]);
    assert!(
        !stderr(&out).contains("schema_violation"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn symlink_to_a_directory() {
    let repo = staged(&[("plugins/alpha/sources", LINK, b"src")]);
    assert_rejected(&repo, "unsupported_entry", "plugins/alpha/sources", "alpha");
}

#[test]
fn submodule_inside_a_plugin() {
    let repo = staged(&[("plugins/alpha/vendor/lib", GITLINK, b"")]);
    assert_rejected(
        &repo,
        "unsupported_entry",
        "plugins/alpha/vendor/lib",
        "alpha",
    );
}

/// `plugins/gamma` is not a directory but `mode`; a new plugin, so also unlocked.
fn odd_plugin(mode: &str) {
    let repo = staged(&[("plugins/gamma", mode, b"alpha")]);
    assert_rejected(&repo, "unsupported_entry", "plugins/gamma", "gamma");
    let (_, doc) = verify(&repo);
    assert_eq!(
        error_kinds(&doc),
        ["unlocked_plugin", "unsupported_entry"],
        "{doc:#}"
    );
}

#[test]
fn plugin_that_is_a_symlink() {
    odd_plugin(LINK);
}

#[test]
fn plugin_that_is_a_submodule() {
    odd_plugin(GITLINK);
}

#[test]
fn file_names_with_control_characters() {
    for name in [
        "tab\there.txt",
        "new\nline.txt",
        "ctl\u{1}.txt",
        "del\u{7f}.txt",
    ] {
        let path = format!("plugins/alpha/{name}");
        let repo = staged(&[(&path, FILE, b"data\n")]);
        let (exit, doc) = verify(&repo);
        assert_eq!(exit, 4, "{name:?}: {doc:#}");
        assert_eq!(error_kinds(&doc), ["unsupported_path"], "{name:?}: {doc:#}");
        assert_rejected(&repo, "unsupported_path", &path, "alpha");
        // People see the name escaped, on one line.
        assert_human(&repo, "unsupported_path", &format!("{}:1", shown(&path)));
        let out = run(&repo, &["digest", "plugins/alpha"]);
        assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&shown(name)), "{name:?} escaped in {err:?}");
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    }
}

#[test]
fn file_name_that_is_not_utf8() {
    let repo = two_plugins();
    repo.stage_bytes(b"plugins/alpha/\xff\xfe.txt", FILE, b"data\n");
    repo.commit_index("not UTF-8");
    // JSON holds UTF-8 only: the path shows each bad byte escaped (never as U+FFFD,
    // which a real name can hold).
    assert_rejected(
        &repo,
        "unsupported_path",
        "plugins/alpha/\\xff\\xfe.txt",
        "alpha",
    );
}

#[test]
fn several_offending_entries_are_each_reported_the_first_in_record_order_decides() {
    // Git's tree order is `a-b`, `a.txt`, `a/`; record order puts `a/b` first.
    let repo = staged(&[
        ("plugins/alpha/a-b", GITLINK, b""),
        ("plugins/alpha/a.txt", LINK, b"/etc/passwd"),
        ("plugins/alpha/a/b", LINK, b"missing"),
        ("plugins/alpha/z", LINK, b"z"),
    ]);
    let (exit, doc) = verify(&repo);
    assert_eq!(exit, 4, "{doc:#}");
    let mut reported: Vec<(&str, &str)> = findings(&doc)
        .iter()
        .filter(|f| f["plugin"] == "alpha" && f["severity"] == "error")
        .map(|f| (f["kind"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    reported.sort_unstable();
    assert_eq!(
        reported,
        [
            ("dangling_symlink", "plugins/alpha/a/b"),
            ("symlink_escape", "plugins/alpha/a.txt"),
            ("symlink_loop", "plugins/alpha/z"),
            ("unsupported_entry", "plugins/alpha/a-b"),
        ],
        "{doc:#}"
    );
    // The plugin's status names the first in record order.
    let alpha = doc["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "alpha")
        .unwrap();
    assert_eq!(alpha["rejection"]["kind"], "dangling_symlink");
    assert_eq!(alpha["rejection"]["path"], "plugins/alpha/a/b");
    assert_update_refuses(&repo, "plugins/alpha/a/b");
}

// ---------------------------------------------------------------------------------------
// `digest`

#[test]
fn digest_of_a_path_that_is_not_a_directory() {
    let repo = two_plugins();
    for dir in [
        "plugins/nope",
        "plugins/alpha/plugin.yaml",
        "README.md",
        "../outside",
    ] {
        let out = run(&repo, &["digest", dir]);
        assert_eq!(code(&out), 2, "{dir}: {}{}", stdout(&out), stderr(&out));
        assert!(stderr(&out).contains(dir), "{dir}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{dir}: {}", stdout(&out));
    }
}

#[test]
fn digest_of_a_rejected_plugin() {
    let repo = staged(&[("plugins/alpha/gone", LINK, b"missing.txt")]);
    let out = run(&repo, &["digest", "plugins/alpha", "plugins/beta"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("dangling_symlink"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("plugins/alpha/gone"),
        "{}",
        stderr(&out)
    );
    let beta = &lock_entries(&repo)["beta"];
    assert_eq!(stdout(&out), format!("{beta}  plugins/beta\n"));

    let out = run(&repo, &["digest", "--format", "json", "plugins/alpha"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let doc = json(&out);
    let entry = &doc["digests"][0];
    assert_eq!(entry["dir"], "plugins/alpha");
    assert_eq!(entry["digest"], Value::Null);
    assert_eq!(entry["rejection"]["kind"], "dangling_symlink");
    assert_eq!(entry["rejection"]["path"], "plugins/alpha/gone");
}

// ---------------------------------------------------------------------------------------
// Determinism

#[test]
fn json_output_of_a_failing_repository_is_byte_identical() {
    let repo = two_plugins();
    repo.write("plugins/beta/notes.txt", "edited\n");
    repo.write("plugins/gamma/plugin.yaml", "name: delta\nversion: x\n");
    for i in 0..8 {
        repo.write(&format!("plugins/p{i}/plugin.yaml"), "name: wrong\n");
    }
    repo.commit("many problems");
    repo.stage("plugins/alpha/gone", LINK, b"missing.txt");
    repo.stage("plugins/p3/loop", LINK, b"loop");
    repo.commit_index("and rejections");
    let first = run(&repo, &["verify", "--format", "json"]);
    let second = run(&repo, &["verify", "--format", "json"]);
    assert_eq!(code(&first), 4);
    assert_eq!(code(&second), 4);
    assert!(findings(&json(&first)).len() > 10, "{}", stdout(&first));
    assert_eq!(first.stdout, second.stdout);
}

//! `verify` (and `list`) as a user meets them: exit codes, findings with their
//! locations and fixes, statuses, ordering, `-q` and colour.

use serde_json::{Value, json};

use crate::util::*;

const LOCK: &str = "plugins/PLUGINS.lock";

/// The lock as a JSON object.
fn lock_of(repo: &Repo) -> serde_json::Map<String, Value> {
    serde_json::from_slice::<Value>(&repo.read(LOCK))
        .expect("lock is JSON")
        .as_object()
        .expect("lock is an object")
        .clone()
}

/// Writes the lock canonically (serde_json sorts keys, pretty is 2-space indent).
fn write_lock(repo: &Repo, lock: &serde_json::Map<String, Value>) {
    let mut text = serde_json::to_string_pretty(lock).expect("render");
    text.push('\n');
    repo.write(LOCK, text);
}

/// The 1-based line of `id`'s entry in the lock file.
fn lock_line(repo: &Repo, id: &str) -> u64 {
    let text = String::from_utf8(repo.read(LOCK)).expect("utf-8");
    let key = format!("\"{id}\":");
    let index = text
        .lines()
        .position(|l| l.trim_start().starts_with(&key))
        .unwrap_or_else(|| panic!("{id} not in the lock:\n{text}"));
    index as u64 + 1
}

fn digest_of(repo: &Repo, dir: &str) -> String {
    let out = repo.run(&["digest", dir]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

fn plugin<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no plugin {id}: {doc:#}"))
}

#[test]
fn a_committed_tampered_plugin_fails_and_update_repairs_it() {
    let repo = two_plugins();
    let expected = lock_of(&repo)["alpha"].as_str().expect("hex").to_owned();
    let line = lock_line(&repo, "alpha");
    assert_eq!(line, 2);
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper with alpha");
    let actual = digest_of(&repo, "plugins/alpha");
    assert_ne!(actual, expected);

    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["verdict"], "fail");
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "exactly one finding: {doc:#}");
    let f = &all[0];
    assert_eq!(f["kind"], "integrity_mismatch");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["plugin"], "alpha");
    assert_eq!(f["expected"], expected.as_str());
    assert_eq!(f["actual"], actual.as_str());
    assert_eq!(f["path"], LOCK);
    assert_eq!(f["line"], line);
    assert_eq!(f["column"], Value::Null);
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("plugin-lock update"), "{message}");
    assert_eq!(plugin(&doc, "alpha")["status"], "mismatch");
    assert_eq!(plugin(&doc, "beta")["status"], "ok");

    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4);
    let text = stdout(&out);
    assert!(text.contains("error[integrity_mismatch]"), "{text}");
    assert!(text.contains(&format!("{LOCK}:{line}")), "{text}");
    assert!(text.contains("plugin-lock update"), "{text}");
    assert!(text.contains(&expected) && text.contains(&actual), "{text}");
    assert!(text.contains("alpha"), "{text}");
    assert!(
        !text.contains("beta"),
        "untouched plugins are not reported:\n{text}"
    );
    assert!(text.contains("FAILED"), "{text}");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    // The fix the message names.
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(lock_of(&repo)["alpha"], actual.as_str());
    repo.commit("update the lock");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("ok 2 plugins match"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_mismatch_points_at_its_own_lock_line() {
    let repo = two_plugins();
    let line = lock_line(&repo, "beta");
    assert_eq!(line, 3);
    repo.write("plugins/beta/notes.txt", "changed\n");
    repo.commit("tamper with beta");
    let doc = json(&repo.run(&["verify", "--format", "json"]));
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    assert_eq!(all[0]["plugin"], "beta");
    assert_eq!(all[0]["line"], 3);
    let text = stdout(&repo.run(&["verify"]));
    assert!(text.contains(&format!(" --> {LOCK}:3\n")), "{text}");
}

#[test]
fn an_unlocked_plugin_is_located_at_its_manifest() {
    let repo = two_plugins();
    repo.write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 0.1.0\n")
        .write("plugins/gamma/main.py", "pass\n");
    repo.commit("add gamma without locking it");

    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    let f = &all[0];
    assert_eq!(f["kind"], "unlocked_plugin");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["plugin"], "gamma");
    assert_eq!(f["path"], "plugins/gamma/plugin.yaml");
    assert_eq!(f["line"], 1);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("plugin-lock update")
    );
    assert_eq!(plugin(&doc, "gamma")["status"], "unlocked");
    assert_eq!(plugin(&doc, "gamma")["locked"], Value::Null);

    let text = stdout(&repo.run(&["verify"]));
    assert!(text.contains("error[unlocked_plugin]"), "{text}");
    assert!(text.contains(" --> plugins/gamma/plugin.yaml:1"), "{text}");
    assert!(text.contains("plugin-lock update"), "{text}");
}

#[test]
fn an_unlocked_plugin_without_manifest_is_located_at_its_first_file() {
    let repo = two_plugins();
    repo.write("plugins/gamma/z.py", "pass\n")
        .write("plugins/gamma/lib/a.py", "pass\n");
    repo.commit("add gamma");
    let out = repo.run(&["verify", "--manifest", "none", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    assert_eq!(all[0]["kind"], "unlocked_plugin");
    // The first file in record order: `lib/a.py` sorts before `z.py`.
    assert_eq!(all[0]["path"], "plugins/gamma/lib/a.py");
    assert_eq!(all[0]["line"], 1);
}

#[test]
fn a_lock_entry_without_directory_is_reported_at_its_line() {
    let repo = two_plugins();
    let beta = lock_of(&repo)["beta"].as_str().expect("hex").to_owned();
    repo.remove("plugins/beta");
    repo.commit("remove beta, keep its entry");

    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    let all = findings(&doc);
    assert_eq!(all.len(), 1, "{doc:#}");
    let f = &all[0];
    assert_eq!(f["kind"], "missing_plugin_directory");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["plugin"], "beta");
    assert_eq!(f["path"], LOCK);
    assert_eq!(f["line"], 3);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("plugin-lock update")
    );
    let p = plugin(&doc, "beta");
    assert_eq!(p["status"], "missing_directory");
    assert_eq!(p["dir"], "plugins/beta");
    assert_eq!(p["digest"], Value::Null);
    assert_eq!(p["locked"], beta.as_str());

    let text = stdout(&repo.run(&["verify"]));
    assert!(text.contains("error[missing_plugin_directory]"), "{text}");
    assert!(text.contains(&format!(" --> {LOCK}:3")), "{text}");
    // The verdict counts plugins that exist.
    assert!(text.contains("1 plugin checked"), "{text}");

    // `update` drops the entry.
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("- beta"), "{}", stdout(&out));
    assert!(!lock_of(&repo).contains_key("beta"));
    repo.commit("drop beta");
    assert_eq!(code(&repo.run(&["verify"])), 0);
}

/// One plugin of each status: alpha mismatch, beta ok, gamma unlocked, ghost
/// missing_directory, delta rejected (a link out of the repository) and unlocked.
fn every_status() -> Repo {
    let repo = two_plugins();
    let mut lock = lock_of(&repo);
    lock.insert("ghost".into(), json!("0".repeat(64)));
    write_lock(&repo, &lock);
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n")
        .write("plugins/gamma/plugin.yaml", "name: gamma\nversion: 3.0.0\n")
        .write("plugins/delta/plugin.yaml", "name: delta\nversion: 0.0.1\n");
    repo.git(&["add", "-A"]);
    repo.stage("plugins/delta/link", "120000", b"/etc/passwd");
    repo.commit_index("one of each");
    repo
}

#[test]
fn list_reports_every_status_and_exits_0() {
    let repo = every_status();
    let out = repo.run(&["list", "--format", "json"]);
    assert_eq!(code(&out), 0, "list reports, it does not judge");
    let doc = json(&out);
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(doc["source"], head.as_str());
    let statuses: Vec<(&str, &str)> = doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("alpha", "mismatch"),
            ("beta", "ok"),
            ("delta", "rejected"),
            ("gamma", "unlocked"),
            ("ghost", "missing_directory"),
        ]
    );
    let alpha = plugin(&doc, "alpha");
    assert_eq!(alpha["version"], "1.0.0");
    assert_eq!(alpha["dir"], "plugins/alpha");
    assert_eq!(alpha["digest"], digest_of(&repo, "plugins/alpha").as_str());
    assert_ne!(alpha["locked"], alpha["digest"]);
    assert_eq!(alpha["rejection"], Value::Null);
    assert_eq!(alpha["owners"], json!(["@fixture/owners"]));

    let beta = plugin(&doc, "beta");
    assert_eq!(beta["locked"], beta["digest"]);

    let delta = plugin(&doc, "delta");
    assert_eq!(delta["digest"], Value::Null);
    assert_eq!(delta["locked"], Value::Null);
    assert_eq!(delta["version"], "0.0.1");
    assert_eq!(delta["rejection"]["kind"], "symlink_escape");
    assert_eq!(delta["rejection"]["path"], "plugins/delta/link");
    assert!(delta["rejection"]["message"].is_string());

    let gamma = plugin(&doc, "gamma");
    assert_eq!(gamma["locked"], Value::Null);
    assert!(gamma["digest"].is_string());

    let ghost = plugin(&doc, "ghost");
    assert_eq!(ghost["dir"], "plugins/ghost");
    assert_eq!(ghost["digest"], Value::Null);
    assert_eq!(ghost["version"], Value::Null);
    assert_eq!(ghost["locked"], "0".repeat(64).as_str());

    let out = repo.run(&["list"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for status in [
        "mismatch",
        "ok",
        "rejected",
        "unlocked",
        "missing_directory",
    ] {
        assert!(text.contains(status), "{status} missing:\n{text}");
    }
    assert!(text.contains("symlink_escape"), "{text}");
}

#[test]
fn findings_are_all_reported_and_sorted() {
    let repo = every_status();
    let out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    let got: Vec<(String, u64, String, String)> = findings(&doc)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["kind"].as_str().unwrap().to_owned(),
                f["plugin"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "findings sorted by (path, line, kind, plugin)");
    let expected = [
        (LOCK, 2, "integrity_mismatch", "alpha"),
        (LOCK, 4, "missing_plugin_directory", "ghost"),
        ("plugins/delta/link", 1, "symlink_escape", "delta"),
        ("plugins/delta/plugin.yaml", 1, "unlocked_plugin", "delta"),
        ("plugins/gamma/plugin.yaml", 1, "unlocked_plugin", "gamma"),
    ]
    .map(|(p, l, k, id)| (p.to_owned(), l, k.to_owned(), id.to_owned()));
    assert_eq!(got, expected);
    for f in findings(&doc) {
        assert_eq!(f["severity"], "error");
        assert!(f["line"].as_u64().unwrap() >= 1);
    }
    assert_eq!(
        findings(&doc)[2]["path"],
        "plugins/delta/link",
        "a rejection carries its path field"
    );

    // Human output: the same findings in the same order.
    let text = stdout(&repo.run(&["verify"]));
    let heads: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error["))
        .map(|l| l.split(']').next().unwrap())
        .collect();
    assert_eq!(
        heads,
        [
            "error[integrity_mismatch",
            "error[missing_plugin_directory",
            "error[symlink_escape",
            "error[unlocked_plugin",
            "error[unlocked_plugin",
        ]
    );
    assert!(text.contains("FAILED 5 errors"), "{text}");

    // Byte-identical JSON for the same inputs.
    assert_eq!(repo.run(&["verify", "--format", "json"]).stdout, out.stdout);
}

/// every_status with a lock that is not canonical (a warning).
fn with_warning(repo: &Repo) {
    let lock = lock_of(repo);
    let text = serde_json::to_string(&lock).expect("render"); // one line, no newline
    repo.write(LOCK, text);
    // Not `commit` (`add -A`): every_status staged a link that is not on disk.
    repo.git(&["add", LOCK]);
    repo.commit_index("lock on one line");
}

#[test]
fn quiet_prints_only_errors() {
    let repo = every_status();
    with_warning(&repo);
    let loud = stdout(&repo.run(&["verify"]));
    assert!(loud.contains("warning[lock_not_canonical]"), "{loud}");
    assert!(loud.contains("1 warning"), "{loud}");

    for flag in ["-q", "--quiet"] {
        let out = repo.run(&["verify", flag]);
        assert_eq!(code(&out), 4);
        let text = stdout(&out);
        assert!(text.contains("error[integrity_mismatch]"), "{text}");
        assert!(text.contains("error[unlocked_plugin]"), "{text}");
        assert!(!text.contains("warning"), "{text}");
        assert!(!text.contains("FAILED"), "no verdict line:\n{text}");
        let errors = text.lines().filter(|l| l.starts_with("error[")).count();
        assert_eq!(errors, 5, "{text}");
    }
}

#[test]
fn quiet_prints_nothing_when_only_warnings() {
    let repo = two_plugins();
    with_warning(&repo);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "warnings do not fail");
    assert!(stdout(&out).contains("warning[lock_not_canonical]"));
    let out = repo.run(&["verify", "-q"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
}

fn tampered() -> Repo {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper");
    repo
}

#[test]
fn color_always_paints_and_never_does_not() {
    let repo = tampered();
    let out = repo.run(&["verify", "--color", "always"]);
    assert_eq!(code(&out), 4);
    let text = stdout(&out);
    assert!(
        text.contains("\x1b[1;31merror[integrity_mismatch]\x1b[0m"),
        "{text:?}"
    );
    assert!(text.contains("\x1b["), "{text:?}");

    for args in [
        &["verify", "--color", "never"][..],
        &["verify", "--color", "auto"],
        &["verify"],
    ] {
        let out = repo.run(args);
        assert_eq!(code(&out), 4);
        assert!(
            !stdout(&out).contains('\x1b'),
            "{args:?}: {:?}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("error[integrity_mismatch]"));
    }
    let out = run_env(repo.path(), &["verify"], &[("NO_COLOR", "1")]);
    assert!(!stdout(&out).contains('\x1b'), "{:?}", stdout(&out));
    // JSON never has colour.
    let out = repo.run(&["verify", "--color", "always", "--format", "json"]);
    assert!(!stdout(&out).contains('\x1b'));
    json(&out);
}

#[test]
fn color_auto_on_a_terminal_honours_no_color() {
    let repo = tampered();
    let Some(out) = run_on_tty(repo.path(), &["verify"], &[]) else {
        eprintln!("skipped: no pseudo-terminal (util-linux `script`) available");
        return;
    };
    assert!(
        stdout(&out).contains("\x1b[1;31merror[integrity_mismatch]"),
        "a terminal gets colour: {:?}",
        stdout(&out)
    );
    let out = run_on_tty(repo.path(), &["verify"], &[("NO_COLOR", "1")]).expect("tty");
    assert!(stdout(&out).contains("error[integrity_mismatch]"));
    assert!(!stdout(&out).contains('\x1b'), "{:?}", stdout(&out));
    let out = run_on_tty(repo.path(), &["verify", "--color", "never"], &[]).expect("tty");
    assert!(!stdout(&out).contains('\x1b'), "{:?}", stdout(&out));
    // An empty NO_COLOR is not set (no-color.org).
    let out = run_on_tty(repo.path(), &["verify"], &[("NO_COLOR", "")]).expect("tty");
    assert!(stdout(&out).contains('\x1b'), "{:?}", stdout(&out));
}

#[test]
fn a_passing_verify_says_so() {
    let repo = two_plugins();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("verify: ok 2 plugins match"), "{text}");
    assert!(
        text.contains(&format!("[source {}]", &head[..12])),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");
    let doc = json(&repo.run(&["verify", "--format", "json"]));
    assert_eq!(doc["verdict"], "pass");
    assert_eq!(doc["findings"], json!([]));
    assert_eq!(doc["source"], head.as_str());
}

#[test]
fn a_plain_verify_runs_within_the_resource_bounds() {
    let repo = two_plugins();
    let run = run_bounded(repo.path(), &["verify"], &[]);
    run.assert_within_bounds("verify");
    assert_eq!(code(&run.output), 0, "{}", stderr(&run.output));
    assert!(run.max_rss_kib.is_none_or(|kib| kib > 0));
}

/// The harness behind every resource-bound test can fail: a run that reads a 300 MiB
/// file whole (the size limit raised past it) is caught by the memory bound (sampled
/// every few milliseconds: reading 300 MiB takes far longer).
#[test]
fn the_resource_bounds_catch_a_run_that_holds_a_large_file() {
    let repo = Repo::new();
    repo.write("plugins/big/plugin.yaml", "name: big\nversion: 1.0.0\n");
    repo.git(&["add", "-A"]);
    // Built outside the test process, so that the test's own memory stays small.
    let id = std::process::Command::new("sh")
        .current_dir(repo.path())
        .args([
            "-c",
            "head -c 314572800 /dev/zero | git hash-object -w --stdin",
        ])
        .output()
        .expect("sh runs");
    let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    assert_eq!(id.len(), 40, "hash-object failed");
    git_stdin(
        repo.path(),
        &["update-index", "--add", "--index-info"],
        Some(format!("100644 {id}\tplugins/big/model.bin\n").as_bytes()),
    );
    repo.commit_index("a large file");
    let run = run_bounded(repo.path(), &["--max-blob-size", "1G", "verify"], &[]);
    let caught = std::panic::catch_unwind(|| run.assert_within_bounds("verify")).is_err();
    assert!(
        caught,
        "a 300 MiB read passed the 256 MiB bound: {:?} KiB, exit {:?}, stderr {}",
        run.max_rss_kib,
        run.output.status,
        stderr(&run.output)
    );
}

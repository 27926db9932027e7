//! `verify` inside a GitHub Actions step, read back the way the runner and code scanning
//! read it: workflow commands parsed with the runner's rules (actions/runner
//! `ActionCommand.TryParseV2`, `::stop-commands::`), the job summary, `$GITHUB_OUTPUT`,
//! and SARIF 2.1.0 as code scanning requires it.
//!
//! Hostile file names (`:`, newlines) are staged with git plumbing, never created on disk.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::util::*;

const LINK: &str = "120000";
const FILE: &str = "100644";
const LOCK: &str = "plugins/PLUGINS.lock";

// ---------------------------------------------------------------------------------------
// A simulated Actions step and the runner's reading of it

/// The files and directories the runner gives a step.
struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    fn new() -> Step {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("runner-temp")).expect("mkdir");
        // The runner creates both files, empty, before the step runs.
        std::fs::write(dir.path().join("summary.md"), "").expect("write");
        std::fs::write(dir.path().join("output.txt"), "").expect("write");
        Step { dir }
    }

    fn runner_temp(&self) -> PathBuf {
        self.dir.path().join("runner-temp")
    }

    fn path_str(path: &Path) -> String {
        path.to_str().expect("temp paths are UTF-8").to_owned()
    }

    /// Runs plugin-lock in `repo` with the step's environment and `GITHUB_ACTIONS=true`.
    fn run(&self, repo: &Repo, args: &[&str]) -> Output {
        self.run_with(repo, args, &[])
    }

    /// [`Step::run`] with more environment (an event file).
    fn run_with(&self, repo: &Repo, args: &[&str], more: &[(&str, &str)]) -> Output {
        let summary = Self::path_str(&self.dir.path().join("summary.md"));
        let output = Self::path_str(&self.dir.path().join("output.txt"));
        let temp = Self::path_str(&self.runner_temp());
        let mut env = vec![
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.as_str()),
            ("GITHUB_OUTPUT", output.as_str()),
            ("RUNNER_TEMP", temp.as_str()),
        ];
        env.extend_from_slice(more);
        run_env(repo.path(), args, &env)
    }

    /// A `pull_request` event file whose base is `base`, in the step's directory.
    fn pull_request_event(&self, base: &str) -> String {
        let path = self.dir.path().join("event.json");
        let event = serde_json::json!({
            "pull_request": { "number": 7, "base": { "sha": base }, "head": { "sha": "0" } }
        });
        std::fs::write(&path, event.to_string()).expect("write event");
        Self::path_str(&path)
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("summary.md")).expect("summary")
    }

    /// `$GITHUB_OUTPUT` parsed as the runner parses it: `name=value` lines and
    /// `name<<DELIMITER` … `DELIMITER` blocks.
    fn outputs(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.dir.path().join("output.txt")).expect("outputs");
        let mut lines = text.lines();
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            let heredoc = line.find("<<");
            let eq = line.find('=');
            match (heredoc, eq) {
                (Some(h), eq) if eq.is_none_or(|e| h < e) => {
                    let (name, delimiter) = (&line[..h], &line[h + 2..]);
                    let mut value = Vec::new();
                    loop {
                        let l = lines.next().expect("the delimiter closes the value");
                        if l == delimiter {
                            break;
                        }
                        value.push(l);
                    }
                    out.push((name.to_owned(), value.join("\n")));
                }
                (_, Some(e)) => out.push((line[..e].to_owned(), line[e + 1..].to_owned())),
                _ => panic!("not an output line: {line:?}\n{text}"),
            }
        }
        out
    }

    fn output(&self, name: &str) -> String {
        let all = self.outputs();
        let values: Vec<&String> = all
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values.len(), 1, "one `{name}` output: {all:?}");
        values[0].clone()
    }
}

/// What the runner executes from a step's stdout: every command outside
/// `::stop-commands::TOKEN` … `::TOKEN::`, whose lines it ignores. Asserts the block is
/// closed by its own token, and that nothing but annotations runs.
fn runner_view(stdout: &str) -> Vec<WorkflowCommand> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    let mut blocks = 0;
    for line in stdout.split('\n') {
        let trimmed = line.trim_start();
        if let Some(token) = &stopped {
            if trimmed.trim_end_matches('\r') == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        let Some(command) = parse_command(line) else {
            continue;
        };
        if command.name == "stop-commands" {
            let token = command.message.trim_end_matches('\r').to_owned();
            assert!(token.len() >= 16, "an unguessable token: {token:?}");
            stopped = Some(token);
            blocks += 1;
            continue;
        }
        commands.push(command);
    }
    assert!(
        stopped.is_none(),
        "the stop-commands block is closed:\n{stdout}"
    );
    assert_eq!(
        blocks, 1,
        "one stop-commands block around the report:\n{stdout}"
    );
    for c in &commands {
        assert!(
            ["error", "warning", "notice"].contains(&c.name.as_str()),
            "only annotations run: {c:?}\n{stdout}"
        );
    }
    commands
}

fn named<'a>(commands: &'a [WorkflowCommand], name: &str) -> Vec<&'a WorkflowCommand> {
    commands.iter().filter(|c| c.name == name).collect()
}

// ---------------------------------------------------------------------------------------
// Annotations

/// Plugins `p1`…`pN` with manifests and a committed, correct lock.
fn plugins(n: usize) -> Repo {
    let repo = Repo::new();
    // Names Windows forbids can only enter the index when git does not guard NTFS paths.
    repo.git(&["config", "core.protectNTFS", "false"]);
    for i in 1..=n {
        repo.write(
            &format!("plugins/p{i:02}/plugin.yaml"),
            format!("name: p{i:02}\nversion: 1.0.{i}\n"),
        )
        .write(&format!("plugins/p{i:02}/main.py"), format!("print({i})\n"));
    }
    repo.update_lock();
    repo.commit("plugins");
    repo
}

#[test]
fn hostile_file_names_come_back_whole_and_inject_nothing() {
    let repo = plugins(5);
    // One rejected entry per plugin (a plugin is rejected once, for its first entry).
    let hostile: [(&str, &str, &[u8], &str); 5] = [
        ("plugins/p01/a,b:c%d", LINK, b"missing", "dangling_symlink"),
        (
            "plugins/p02/x\n::warning::injected",
            FILE,
            b"data\n",
            "unsupported_path",
        ),
        (
            "plugins/p03/line=9,title=forged::x",
            LINK,
            b"missing",
            "dangling_symlink",
        ),
        (
            "plugins/p04/100%25 done%0A::error::x",
            LINK,
            b"/etc/passwd",
            "symlink_escape",
        ),
        (
            "plugins/p05/cr\r::notice::x",
            FILE,
            b"data\n",
            "unsupported_path",
        ),
    ];
    for (path, mode, content, _) in &hostile {
        repo.stage(path, mode, content);
    }
    repo.commit_index("hostile names");

    let step = Step::new();
    let out = step.run(&repo, &["verify"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let commands = runner_view(&text);
    let errors = named(&commands, "error");
    assert_eq!(errors.len(), hostile.len(), "{commands:#?}");
    assert!(named(&commands, "warning").is_empty(), "{commands:#?}");
    assert!(named(&commands, "notice").is_empty(), "{commands:#?}");
    for (path, _, _, kind) in &hostile {
        let plugin = &path["plugins/".len()..][..3];
        let c = errors
            .iter()
            .find(|c| c.prop("file") == Some(*path))
            .unwrap_or_else(|| panic!("an annotation at {path:?}: {commands:#?}"));
        assert_eq!(c.prop("line"), Some("1"), "{c:?}");
        assert_eq!(c.prop("title"), Some(format!("{kind} ({plugin})").as_str()));
        assert_eq!(
            c.props.len(),
            3,
            "file, line, title and nothing forged: {c:?}"
        );
        assert!(!c.message.is_empty());
    }

    // Outside the block no line, trimmed as the runner trims it, starts an injected
    // command; the report inside the block may quote the names.
    let mut inside = false;
    let mut token = String::new();
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        if inside {
            if trimmed == format!("::{token}::") {
                inside = false;
            }
            continue;
        }
        if let Some(t) = trimmed.strip_prefix("::stop-commands::") {
            token = t.to_owned();
            inside = true;
            continue;
        }
        for injected in ["::warning::injected", "::error::x", "::notice::x"] {
            assert!(!trimmed.starts_with(injected), "injected: {line:?}\n{text}");
        }
    }
}

#[test]
fn twenty_five_failures_ten_annotations_a_notice_and_a_full_summary() {
    let repo = plugins(25);
    for i in 1..=25 {
        repo.write(
            &format!("plugins/p{i:02}/main.py"),
            format!("print(-{i})\n"),
        );
    }
    repo.commit("tamper with every plugin");

    let step = Step::new();
    // No --format: GITHUB_ACTIONS=true makes it github.
    let out = step.run(&repo, &["verify"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let commands = runner_view(&stdout(&out));
    let errors = named(&commands, "error");
    assert_eq!(errors.len(), 10, "{commands:#?}");
    for e in &errors {
        assert_eq!(e.prop("file"), Some(LOCK));
        assert!(
            e.prop("title")
                .unwrap()
                .starts_with("integrity_mismatch (p")
        );
    }
    let notices = named(&commands, "notice");
    assert_eq!(notices.len(), 1, "{commands:#?}");
    assert!(notices[0].message.contains("15 more"), "{:?}", notices[0]);
    assert!(notices[0].message.contains("summary"), "{:?}", notices[0]);

    let summary = step.summary();
    assert!(summary.contains("fail"), "{summary}");
    for i in 1..=25 {
        let id = format!("`p{i:02}`");
        assert!(summary.contains(&id), "{id} in the summary:\n{summary}");
    }

    assert_eq!(step.output("status"), "fail");
    assert_eq!(step.output("failures"), "25");
    let report = PathBuf::from(step.output("report"));
    // A fresh file of its own in RUNNER_TEMP (tests/integration/security_writes.rs).
    assert_eq!(report.parent(), Some(step.runner_temp().as_path()));
    let doc: Value = serde_json::from_slice(&std::fs::read(&report).expect("the report exists"))
        .expect("the report is JSON");
    assert_eq!(doc["verdict"], "fail");
    assert_eq!(doc["findings"].as_array().expect("findings").len(), 25);
    // It is `verify --format json`'s document, byte for byte.
    let json_out = repo.run(&["verify", "--format", "json"]);
    assert_eq!(std::fs::read(&report).unwrap(), json_out.stdout);
}

#[test]
fn a_passing_repository_says_pass_and_annotates_nothing() {
    let repo = two_plugins();
    let step = Step::new();
    let out = step.run(&repo, &["verify"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(runner_view(&stdout(&out)).is_empty(), "{}", stdout(&out));
    assert_eq!(step.output("status"), "pass");
    assert_eq!(step.output("failures"), "0");
    let report = step.output("report");
    let doc: Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).unwrap();
    assert_eq!(doc["verdict"], "pass");
    assert!(step.summary().contains("pass"), "{}", step.summary());
}

#[test]
fn report_flag_names_the_report_output() {
    let repo = two_plugins();
    let step = Step::new();
    let path = step.dir.path().join("out dir").join("report.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = step.run(&repo, &["verify", "--report", path.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(PathBuf::from(step.output("report")), path);
    assert!(path.is_file());
    let in_temp = std::fs::read_dir(step.runner_temp()).unwrap();
    assert!(
        in_temp.flatten().all(|e| !e
            .file_name()
            .to_string_lossy()
            .starts_with("plugin-lock-report")),
        "no second report in RUNNER_TEMP"
    );
}

#[test]
fn github_is_the_default_only_inside_actions() {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper");
    // Outside Actions: the human report, no workflow commands.
    let out = run_env(repo.path(), &["verify"], &[("GITHUB_ACTIONS", "false")]);
    assert_eq!(code(&out), 4);
    assert!(
        !stdout(&out).lines().any(|l| l.starts_with("::")),
        "{}",
        stdout(&out)
    );
    // Inside, an explicit --format wins.
    let step = Step::new();
    let out = step.run(&repo, &["verify", "--format", "json"]);
    assert_eq!(json(&out)["verdict"], "fail");
    assert!(step.outputs().is_empty(), "{:?}", step.outputs());
}

// ---------------------------------------------------------------------------------------
// SARIF

fn sarif(repo: &Repo) -> Value {
    let out = repo.run(&["verify", "--format", "sarif"]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    json(&out)
}

fn text_of<'a>(v: &'a Value, key: &str) -> &'a str {
    let t = v[key]["text"].as_str().unwrap_or_default();
    assert!(!t.trim().is_empty(), "{key}.text in {v:#}");
    t
}

/// A relative URI reference: unreserved characters, `/` and `%XX` only; decoded.
fn decode_uri(uri: &str) -> String {
    assert!(
        !uri.starts_with('/') && !uri.contains("://"),
        "relative: {uri}"
    );
    let bytes = uri.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-._~/".contains(&b),
                "{:?} unencoded in {uri}",
                b as char
            );
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// alpha tampered, an unlocked plugin whose directory needs encoding, a bad manifest.
fn failing_repo() -> Repo {
    let repo = two_plugins();
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: two\n")
        .write(
            "plugins/new plugin #1/plugin.yaml",
            "name: new plugin #1\nversion: 0.1.0\n",
        );
    repo.commit("break things");
    repo
}

#[test]
fn sarif_has_what_code_scanning_requires() {
    let repo = failing_repo();
    let doc = sarif(&repo);
    assert_eq!(doc["version"], "2.1.0");
    assert!(
        doc["$schema"]
            .as_str()
            .unwrap_or_default()
            .contains("sarif"),
        "{}",
        doc["$schema"]
    );
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "plugin-lock");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://"),
        "{driver:#}"
    );
    let rules = driver["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    for rule in rules {
        assert!(
            rule["id"].as_str().is_some_and(|s| !s.is_empty()),
            "{rule:#}"
        );
        // Each rule links its page: the repository of Cargo.toml, docs/findings.md, the
        // kind's anchor.
        assert_eq!(
            rule["helpUri"].as_str(),
            Some(
                format!(
                    "{}/blob/main/docs/findings.md#{}",
                    env!("CARGO_PKG_REPOSITORY"),
                    rule["id"].as_str().unwrap()
                )
                .as_str()
            ),
            "{rule:#}"
        );
        text_of(rule, "shortDescription");
        text_of(rule, "fullDescription");
        text_of(rule, "help");
    }

    let findings = json(&repo.run(&["verify", "--format", "json"]))["findings"].clone();
    let findings = findings.as_array().expect("findings");
    let results = runs[0]["results"].as_array().expect("results");
    assert_eq!(results.len(), findings.len(), "one result per finding");
    let mut kinds = Vec::new();
    for (result, finding) in results.iter().zip(findings) {
        let rule_id = result["ruleId"].as_str().expect("ruleId");
        assert_eq!(rule_id, finding["kind"]);
        kinds.push(rule_id.to_owned());
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], rule_id, "ruleIndex points at its rule");
        text_of(result, "message");
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        let locations = result["locations"].as_array().expect("locations");
        assert!(!locations.is_empty(), "{result:#}");
        let physical = &locations[0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"].as_str().expect("uri");
        assert_eq!(decode_uri(uri), finding["path"], "{result:#}");
        let line = physical["region"]["startLine"].as_u64().expect("startLine");
        assert!(line >= 1);
        assert_eq!(line, finding["line"]);
        let fingerprints = result["partialFingerprints"]
            .as_object()
            .expect("fingerprints");
        assert!(
            fingerprints
                .get("primaryLocationLineHash")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "{result:#}"
        );
    }
    for kind in ["integrity_mismatch", "unlocked_plugin", "schema_violation"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The unlocked plugin's directory is percent-encoded.
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "plugins/new%20plugin%20%231/plugin.yaml"
        ),
        "{results:#?}"
    );
}

#[test]
fn sarif_fingerprints_survive_a_moved_lock_line() {
    let repo = two_plugins();
    repo.write("plugins/beta/notes.txt", "tampered\n");
    repo.commit("tamper with beta");
    let mismatch = |doc: &Value| -> (u64, Value) {
        let r = doc["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["ruleId"] == "integrity_mismatch")
            .unwrap_or_else(|| panic!("a mismatch: {doc:#}"))
            .clone();
        let line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .expect("line");
        (line, r["partialFingerprints"].clone())
    };
    let (line_before, before) = mismatch(&sarif(&repo));

    // A new plugin whose entry sorts first: beta's entry moves down one line.
    repo.write("plugins/aaa/plugin.yaml", "name: aaa\nversion: 1.0.0\n");
    repo.commit("add aaa");
    let out = repo.run(&["digest", "plugins/aaa"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let digest = stdout(&out).split_whitespace().next().unwrap().to_owned();
    let lock = String::from_utf8(repo.read(LOCK)).unwrap();
    let lock = lock.replacen("{\n", &format!("{{\n  \"aaa\": \"{digest}\",\n"), 1);
    repo.write(LOCK, lock);
    repo.commit("lock aaa");

    let doc = sarif(&repo);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "only beta fails: {doc:#}");
    let (line_after, after) = mismatch(&doc);
    assert_eq!(line_after, line_before + 1);
    assert_eq!(after, before, "same problem, same fingerprints");
}

// ---------------------------------------------------------------------------------------
// Pull-request reports: changed files, priority, a summary that scales, exit 2

#[test]
fn a_pull_request_annotates_every_changed_file_and_the_summary_names_them() {
    let repo = plugins(5);
    let base = repo.git(&["rev-parse", "HEAD"]);
    // p01: a file edited, the lock not updated. p02: a file added, the lock not
    // updated. p03: edited, the lock updated, then edited again.
    repo.write("plugins/p01/main.py", "print('edited')\n");
    repo.write("plugins/p02/extra.py", "print('new')\n");
    repo.write("plugins/p03/main.py", "print('first edit')\n");
    let stale = repo.read(LOCK);
    repo.update_lock();
    let updated = repo.read(LOCK);
    std::fs::write(repo.path().join(LOCK), &stale).unwrap();
    let p03_line = String::from_utf8(updated.clone())
        .unwrap()
        .lines()
        .find(|l| l.contains("\"p03\""))
        .unwrap()
        .to_owned();
    let lock: String = String::from_utf8(stale)
        .unwrap()
        .lines()
        .map(|l| {
            if l.contains("\"p03\"") {
                p03_line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    repo.write(LOCK, format!("{lock}\n"));
    repo.write("plugins/p03/main.py", "print('second edit')\n");
    repo.commit("three plugins change");

    let step = Step::new();
    let event = step.pull_request_event(&base);
    let out = step.run_with(&repo, &["verify"], &[("GITHUB_EVENT_PATH", &event)]);
    assert_eq!(code(&out), 4, "{}{}", stdout(&out), stderr(&out));
    let commands = runner_view(&stdout(&out));
    let errors = named(&commands, "error");
    let at = |path: &str| -> Vec<&&WorkflowCommand> {
        errors
            .iter()
            .filter(|e| e.prop("file") == Some(path))
            .collect()
    };
    assert_eq!(at(LOCK).len(), 3, "{commands:#?}");
    let short = &base[..12];
    for (path, id, change, lock) in [
        ("plugins/p01/main.py", "p01", "modified", "was not updated"),
        ("plugins/p02/extra.py", "p02", "added", "was not updated"),
        (
            "plugins/p03/main.py",
            "p03",
            "modified",
            "was updated but does not match",
        ),
    ] {
        let here = at(path);
        assert_eq!(here.len(), 1, "{path}: {commands:#?}");
        assert_eq!(here[0].prop("line"), Some("1"));
        assert_eq!(
            here[0].prop("title"),
            Some(format!("integrity_mismatch ({id})").as_str())
        );
        assert_eq!(
            here[0].message,
            format!("{change} since {short}; the lock entry for `{id}` {lock}")
        );
    }
    let summary = step.summary();
    for path in [
        "plugins/p01/main.py",
        "plugins/p02/extra.py",
        "plugins/p03/main.py",
    ] {
        assert!(summary.contains(&format!("`{path}`")), "{path}:\n{summary}");
    }
    // The unchanged plugins are collapsed, with 12-digit digests.
    assert!(
        summary.contains("<details><summary>2 plugin(s) match their lock entries</summary>"),
        "{summary}"
    );
    let longest_hex = summary
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest_hex < 64,
        "no whole digest in the summary:\n{summary}"
    );
}

#[test]
fn the_ten_error_slots_go_to_the_integrity_contract_first() {
    let repo = plugins(12);
    for i in 1..=12 {
        repo.remove(&format!("plugins/p{i:02}/plugin.yaml"));
    }
    repo.update_lock();
    // A plugin added without its lock entry: the one finding that matters most.
    repo.write("plugins/zz/plugin.yaml", "name: zz\nversion: 1.0.0\n");
    repo.commit("12 manifests gone, one plugin unlocked");

    let step = Step::new();
    let out = step.run(&repo, &["verify"]);
    assert_eq!(code(&out), 4);
    let commands = runner_view(&stdout(&out));
    let errors = named(&commands, "error");
    assert_eq!(errors.len(), 10, "{commands:#?}");
    assert_eq!(
        errors[0].prop("title"),
        Some("unlocked_plugin (zz)"),
        "{commands:#?}"
    );
    let notices = named(&commands, "notice");
    assert!(
        notices[0]
            .message
            .contains("3 more annotation(s) not shown")
            && notices[0].message.contains("3 missing_manifest"),
        "{:?}",
        notices[0]
    );
}

#[test]
fn a_summary_of_five_thousand_plugins_with_25_mismatches_stays_small() {
    let repo = Repo::new();
    for i in 0..5000 {
        repo.write(
            &format!("plugins/p{i:04}/plugin.yaml"),
            format!("name: p{i:04}\nversion: 1.0.0\n"),
        )
        .write(&format!("plugins/p{i:04}/main.py"), format!("print({i})\n"));
    }
    repo.update_lock();
    let base = repo.commit("5000 plugins");
    let tampered: Vec<String> = (0..25).map(|i| format!("p{:04}", i * 199)).collect();
    for id in &tampered {
        repo.write(&format!("plugins/{id}/main.py"), "print('tampered')\n");
    }
    repo.commit("25 tampered");

    let step = Step::new();
    let out = step.run(&repo, &["verify", "--base", &base]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let summary = step.summary();
    assert!(summary.len() < 64 * 1024, "{} bytes", summary.len());
    for id in &tampered {
        assert!(summary.contains(&format!("`{id}`")), "{id}");
        assert!(
            summary.contains(&format!("modified `plugins/{id}/main.py`")),
            "{id}"
        );
    }
    assert!(
        summary.contains("4975 plugin(s) match their lock entries (not listed past 200"),
        "{summary}"
    );
}

#[test]
fn a_configuration_error_is_annotated_summarised_and_output() {
    let repo = two_plugins();
    repo.write(".plugin-lock.yml", "plugins: [\"plugins/*\"]\nbogus: 1\n");
    repo.commit("a key that does not exist");
    let step = Step::new();
    let out = step.run(&repo, &["verify"]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    let commands: Vec<WorkflowCommand> = stdout(&out).lines().filter_map(parse_command).collect();
    let errors = named(&commands, "error");
    assert_eq!(errors.len(), 1, "{commands:#?}");
    assert_eq!(errors[0].prop("file"), Some(".plugin-lock.yml"));
    assert_eq!(errors[0].prop("line"), Some("2"));
    assert_eq!(errors[0].prop("col"), Some("1"));
    assert!(
        errors[0].message.contains("unknown key `bogus`"),
        "{:?}",
        errors[0]
    );
    assert!(
        step.summary().contains("could not run"),
        "{}",
        step.summary()
    );
    assert_eq!(step.output("status"), "error");
    assert_eq!(step.output("failures"), "0");
    assert!(
        step.output("error")
            .contains(".plugin-lock.yml:2:1: unknown key")
    );

    // An error without a file is an annotation without one.
    let out = step.run(&repo, &["verify", "--rev", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    let commands: Vec<WorkflowCommand> = stdout(&out).lines().filter_map(parse_command).collect();
    assert_eq!(commands.len(), 1, "{commands:#?}");
    assert_eq!(commands[0].prop("file"), None);
    assert!(commands[0].message.contains("no-such-branch"));
}

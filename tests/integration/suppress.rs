//! `ignore:` entries: a suppressed finding is reported as such on every format and never
//! decides the verdict; an entry that suppresses nothing is `unused_ignore`; the
//! integrity contract cannot be ignored.

use crate::util::*;

/// `two_plugins` with committed bytecode in `alpha` and `config` as `.plugin-lock.yml`.
fn with_bytecode(config: &str) -> Repo {
    let repo = two_plugins();
    repo.write(
        "plugins/alpha/src/__pycache__/main.cpython-311.pyc",
        "\0bytecode",
    );
    repo.write(".plugin-lock.yml", config);
    repo.update_lock();
    repo.commit("bytecode, and a configuration");
    repo
}

const IGNORED: &str = "plugins: [\"plugins/*\"]\nignore:\n  - kind: bytecode_committed\n    plugin: alpha\n    reason: \"vendored until the rewrite (TICKET-42)\"\n";

#[test]
fn a_suppressed_finding_is_reported_and_does_not_fail() {
    let repo = with_bytecode("plugins: [\"plugins/*\"]\n");
    let (exit, _) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "bytecode_committed is an error");

    let repo = with_bytecode(IGNORED);
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(doc["verdict"], "pass");
    let f = of_kind(&doc, "bytecode_committed");
    assert_eq!(f.len(), 1, "{doc:#}");
    assert_eq!(
        f[0]["suppressed"]["reason"],
        "vendored until the rewrite (TICKET-42)"
    );
    assert_eq!(f[0]["suppressed"]["line"], 3);

    let out = repo.run(&["verify", "--format", "sarif"]);
    assert_eq!(code(&out), 0);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "bytecode_committed")
        .expect("the suppressed result is kept");
    assert_eq!(r["suppressions"][0]["kind"], "external");
    assert_eq!(
        r["suppressions"][0]["justification"],
        "vendored until the rewrite (TICKET-42)"
    );

    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains(
            "note: 1 finding(s) suppressed by `ignore:` in .plugin-lock.yml (-v lists them)"
        ),
        "{}",
        stdout(&out)
    );
    let out = repo.run(&["verify", "-v"]);
    assert!(
        stdout(&out).contains("suppressed[bytecode_committed]"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("reason: vendored until the rewrite (TICKET-42)"),
        "{}",
        stdout(&out)
    );

    let summary_dir = tempfile::tempdir().unwrap();
    let summary = summary_dir.path().join("summary.md");
    std::fs::write(&summary, "").unwrap();
    let out = run_env(
        repo.path(),
        &["verify"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("RUNNER_TEMP", summary_dir.path().to_str().unwrap()),
        ],
    );
    assert_eq!(code(&out), 0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### Suppressed by `ignore:`"), "{md}");
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));
}

#[test]
fn an_entry_that_suppresses_nothing_is_unused_ignore() {
    let repo = two_plugins();
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"plugins/*\"]\nignore:\n  - kind: bytecode_committed\n    plugin: alpha\n    reason: gone since\n",
    );
    repo.commit("a stale suppression");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    let unused = of_kind(&doc, "unused_ignore");
    assert_eq!(unused.len(), 1, "{doc:#}");
    assert_eq!(unused[0]["path"], ".plugin-lock.yml");
    assert_eq!(unused[0]["line"], 3);
    assert_eq!(unused[0]["severity"], "warning");
}

#[test]
fn the_integrity_contract_cannot_be_ignored_and_a_reason_is_required() {
    let repo = two_plugins();
    repo.write(
        ".plugin-lock.yml",
        "ignore:\n  - kind: integrity_mismatch\n    plugin: alpha\n    reason: trust me\n",
    );
    repo.commit("try to hide a mismatch");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(".plugin-lock.yml:2:5: `integrity_mismatch` is part of the integrity contract and cannot be ignored"),
        "{}",
        stderr(&out)
    );
    repo.write(
        ".plugin-lock.yml",
        "ignore:\n  - kind: bytecode_committed\n    plugin: alpha\n    reason: \"  \"\n",
    );
    repo.commit("no reason");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("needs a non-empty `reason`"),
        "{}",
        stderr(&out)
    );
}

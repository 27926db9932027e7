//! What every report says about a finding's documentation, and `--statistics`.

use crate::util::*;

const DOCS: &str = "https://github.com/plugin-lock/plugin-lock/blob/main/docs/findings.md";

/// `two_plugins` with `alpha` tampered and no CODEOWNERS: one error, one warning.
fn failing() -> Repo {
    let repo = two_plugins();
    repo.remove(".github");
    repo.write("plugins/alpha/src/main.py", "print('tampered')\n");
    repo.commit("tamper, no CODEOWNERS");
    repo
}

#[test]
fn json_findings_link_their_documentation_and_human_does_under_verbose() {
    let repo = failing();
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    for f in findings(&doc) {
        assert_eq!(
            f["help_uri"].as_str().unwrap(),
            format!("{DOCS}#{}", f["kind"].as_str().unwrap()),
            "{f:#}"
        );
    }
    let out = repo.run(&["verify"]);
    assert!(!stdout(&out).contains(DOCS), "{}", stdout(&out));
    let out = repo.run(&["verify", "-v"]);
    let text = stdout(&out);
    // The link is the last `= help:` line of its finding.
    let block: Vec<&str> = text
        .split("\n\n")
        .find(|b| b.starts_with("error[integrity_mismatch]"))
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        block.last().unwrap().trim(),
        format!("= help: {DOCS}#integrity_mismatch"),
        "{text}"
    );
}

#[test]
fn statistics_count_each_kind_and_severity() {
    let repo = failing();
    let out = repo.run(&["verify", "--statistics"]);
    assert_eq!(code(&out), 4);
    assert_eq!(
        stdout(&out),
        format!(
            "1  error    integrity_mismatch\n1  warning  codeowners_missing\nverify: FAILED 1 error, 1 warning; 2 plugins checked against plugins/PLUGINS.lock [source {}]\n",
            &repo.git(&["rev-parse", "HEAD"])[..12]
        )
    );
    let out = repo.run(&["verify", "--statistics", "--format", "json"]);
    assert_eq!(code(&out), 4);
    let doc = json(&out);
    assert_eq!(doc["verdict"], "fail");
    let rows: Vec<(&str, &str, u64)> = doc["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["severity"].as_str().unwrap(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("integrity_mismatch", "error", 1),
            ("codeowners_missing", "warning", 1)
        ]
    );
    let out = repo.run(&["verify", "--statistics", "--format", "sarif"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn concise_is_one_grep_friendly_line_per_finding() {
    let repo = failing();
    let out = repo.run(&["verify", "--format", "concise"]);
    assert_eq!(code(&out), 4);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(
            "plugins/PLUGINS.lock:1:1: warning[codeowners_missing] no CODEOWNERS file"
        ),
        "{text}"
    );
    assert!(
        lines[1].starts_with("plugins/PLUGINS.lock:2:1: error[integrity_mismatch] plugin `alpha` does not match its lock entry"),
        "{text}"
    );
    assert_eq!(
        lines[2],
        format!(
            "verify: FAILED 1 error, 1 warning; 2 plugins checked against plugins/PLUGINS.lock [source {}]",
            &head[..12]
        )
    );
    // The human report ends with the counts per kind when there is more than one kind.
    let out = repo.run(&["verify"]);
    assert!(
        stdout(&out).contains(
            "\n1 error[integrity_mismatch], 1 warning[codeowners_missing]\nverify: FAILED"
        ),
        "{}",
        stdout(&out)
    );
    let out = repo.run(&["list", "--format", "concise"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn each_subcommand_help_lists_only_the_flags_it_uses() {
    let repo = two_plugins();
    let help = |sub: &[&str]| {
        let mut args = sub.to_vec();
        args.push("--help");
        let out = repo.run(&args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    let verify = help(&["verify"]);
    for flag in [
        "--base",
        "--rev",
        "--plugins",
        "--required-owner",
        "--no-cache",
    ] {
        assert!(verify.contains(flag), "verify --help lists {flag}");
    }
    let digest = help(&["digest"]);
    for flag in ["--base", "--required-owner", "--lock", "--no-cache"] {
        assert!(
            !digest.contains(flag),
            "digest --help does not list {flag}:\n{digest}"
        );
    }
    assert!(
        digest.contains("--symlinks") && digest.contains("--rev"),
        "{digest}"
    );
    let merge = help(&["merge-driver"]);
    assert!(
        !merge.contains("--format") && !merge.contains("--rev"),
        "{merge}"
    );
    assert!(!help(&["diff"]).contains("--index"));
    // Hidden is not removed: a flag given where it does not apply still parses as before.
    let out = repo.run(&["digest", "--base", "HEAD", "plugins/alpha"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

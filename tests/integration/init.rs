//! `init` on repositories shaped like the layouts it knows: then `verify` passes on the
//! commit, without a hand edit.

use crate::util::*;

fn init(repo: &Repo, args: &[&str]) -> std::process::Output {
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    repo.run(&all)
}

/// `init`, commit what it wrote, `verify`: the exit code and the report.
fn init_commit_verify(repo: &Repo) -> (i32, serde_json::Value) {
    let out = init(repo, &[]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    repo.commit("plugin-lock init");
    verify_json(repo.path(), &[], &[])
}

#[test]
fn a_nested_tree_with_shared_code_and_a_symlinked_aggregate_passes_after_init() {
    let repo = Repo::bare_of_owners();
    for dir in [
        "plugins/inputs/cpu",
        "plugins/inputs/mem",
        "plugins/outputs/file",
    ] {
        repo.write(&format!("{dir}/plugin.go"), "package p\n");
    }
    repo.write("plugins/inputs/README.md", "# inputs\n");
    repo.write("plugins/common/util.go", "package common\n");
    repo.write("plugins/common/helpers/h.go", "package helpers\n");
    repo.write("plugins/inputs/all/all.go", "package all\n");
    std::os::unix::fs::symlink(
        "../../../../outside",
        repo.path().join("plugins/inputs/all/escape"),
    )
    .unwrap();
    repo.commit("a Go agent's plugin tree");

    let out = init(&repo, &["--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "init: found nested plugins (plugins/<category>/<plugin>, 2 categories)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("excluded plugins/common: holds files of its own"),
        "{text}"
    );
    assert!(
        text.contains("excluded plugins/inputs/all: rejected (symlink_escape)"),
        "{text}"
    );
    assert!(
        text.contains("would write .plugin-lock.yml and plugins/PLUGINS.lock (nothing written)"),
        "{text}"
    );
    assert!(!repo.path().join(".plugin-lock.yml").exists());
    assert!(!repo.path().join("plugins/PLUGINS.lock").exists());

    let (exit, doc) = init_commit_verify(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(
        plugin_ids(&doc),
        ["inputs/cpu", "inputs/mem", "outputs/file"]
    );
}

#[test]
fn flat_plugins_without_manifests_get_manifest_none() {
    let repo = Repo::bare_of_owners();
    for name in ["alpha", "beta"] {
        repo.write(&format!("plugins/{name}/{name}.sh"), "echo hi\n");
    }
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    repo.commit("a shell framework");
    let out = init(&repo, &["--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["plugins"][0], "plugins/*");
    assert!(doc["manifest"].is_null(), "{doc:#}");
    assert_eq!(doc["found"], 2);
    let config = String::from_utf8(repo.read(".plugin-lock.yml")).unwrap();
    assert!(config.contains("manifest: none\n"), "{config}");
    assert!(
        config.contains("`plugin.yaml` is in 1 of 2 plugins"),
        "{config}"
    );
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

#[test]
fn init_never_overwrites_without_force() {
    let repo = Repo::bare_of_owners();
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    repo.commit("one plugin");
    assert_eq!(code(&init(&repo, &[])), 0);
    let config = repo.read(".plugin-lock.yml");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(".plugin-lock.yml exists already; init never overwrites it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.read(".plugin-lock.yml"), config);
    // A lock without a configuration is kept as well.
    repo.remove(".plugin-lock.yml");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("plugins/PLUGINS.lock exists already"),
        "{}",
        stderr(&out)
    );
    assert!(
        !repo.path().join(".plugin-lock.yml").exists(),
        "nothing written"
    );
    let out = init(&repo, &["--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repo.read(".plugin-lock.yml"), config);
}

#[test]
fn unowned_plugins_do_not_fail_the_first_run_and_init_says_so() {
    let repo = Repo::new();
    repo.write(
        ".github/CODEOWNERS",
        "/README.md @acme/docs\n/.plugin-lock.yml @acme/platform\n/plugins/PLUGINS.lock @acme/platform\n",
    );
    for name in ["alpha", "beta"] {
        repo.write(
            &format!("plugins/{name}/plugin.yaml"),
            format!("name: {name}\nversion: 1.0.0\n"),
        );
    }
    repo.commit("plugins nobody owns");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("owners: `owners.plugins_must_be_owned: false`"),
        "{}",
        stdout(&out)
    );
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

#[test]
fn nothing_recognisable_is_exit_2_naming_what_was_looked_for() {
    let repo = Repo::new();
    repo.write("src/main.c", "int main(void) { return 0; }\n");
    repo.commit("no plugins");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("init recognises no plugin layout here"),
        "{}",
        stderr(&out)
    );
    assert!(!repo.path().join(".plugin-lock.yml").exists());
}

#[test]
fn an_unowned_lock_is_the_one_edit_init_names() {
    let repo = Repo::new();
    repo.write(
        ".github/CODEOWNERS",
        "/README.md @acme/docs\n/plugins/ @acme/plugins\n",
    );
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    repo.commit("the lock would have no owner");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("`plugin-lock verify` will still report 1 error(s); the first:"),
        "{text}"
    );
    assert!(
        text.contains("error[lock_not_owned]: `.plugin-lock.yml` has no owner in CODEOWNERS"),
        "{text}"
    );
    assert!(
        text.contains("add a rule that gives it an owner (e.g. `/.plugin-lock.yml @your-team`)"),
        "{text}"
    );
}

#[test]
fn a_skills_repository_gets_skill_md_and_passes_after_init() {
    let repo = Repo::bare_of_owners();
    for name in ["pdf-tools", "web-search"] {
        repo.write(
            &format!("skills/{name}/SKILL.md"),
            format!("---\nname: {name}\ndescription: Does {name} things.\n---\n\n# {name}\n"),
        );
        repo.write(&format!("skills/{name}/scripts/run.py"), "print('run')\n");
    }
    repo.commit("two skills");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("init: found skills (skills/*)\n"),
        "{text}"
    );
    assert!(
        text.contains("2 plugin(s) matched by `skills/*`; the lock will be skills/PLUGINS.lock"),
        "{text}"
    );
    assert!(
        text.contains("manifest: every plugin has `SKILL.md`: it is required and checked"),
        "{text}"
    );
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(plugin_ids(&doc), ["pdf-tools", "web-search"]);
}

#[test]
fn skills_whose_front_matter_breaks_the_rules_are_not_required_and_init_says_why() {
    let repo = Repo::bare_of_owners();
    repo.write(
        "skills/good/SKILL.md",
        "---\nname: good\ndescription: Fine.\n---\n",
    );
    repo.write(
        "skills/Bad_Name/SKILL.md",
        "---\nname: Bad_Name\ndescription: Not per the rules.\n---\n",
    );
    repo.commit("one skill breaks the naming rules");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("manifest: none required: every plugin has `SKILL.md`, but 1 finding(s) say they do not pass its rules"),
        "{}",
        stdout(&out)
    );
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

#[test]
fn a_claude_code_marketplace_locks_its_local_plugins() {
    let repo = Repo::bare_of_owners();
    repo.write(
        ".claude-plugin/marketplace.json",
        r#"{"name": "acme", "plugins": [
            {"name": "formatter", "source": "./plugins/formatter"},
            {"name": "linter", "source": "./plugins/linter"},
            {"name": "remote", "source": {"source": "github", "repo": "acme/remote"}}
        ]}"#,
    );
    for name in ["formatter", "linter"] {
        repo.write(
            &format!("plugins/{name}/.claude-plugin/plugin.json"),
            format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\"}}\n"),
        );
        repo.write(&format!("plugins/{name}/commands/run.md"), "# run\n");
    }
    repo.commit("a marketplace");
    let out = init(&repo, &["--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["plugins"],
        serde_json::json!(["plugins/formatter", "plugins/linter"])
    );
    assert_eq!(doc["manifest"], ".claude-plugin/plugin.json");
    assert_eq!(doc["lock"], "plugins/PLUGINS.lock");
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(plugin_ids(&doc), ["formatter", "linter"]);
}

#[test]
fn a_category_with_a_symlinked_aggregate_directory_is_still_a_category() {
    let repo = Repo::bare_of_owners();
    for dir in [
        "plugins/inputs/cpu",
        "plugins/inputs/mem",
        "plugins/outputs/file",
    ] {
        repo.write(&format!("{dir}/plugin.go"), "package p\n");
    }
    repo.write("shared/all/all.go", "package all\n");
    std::os::unix::fs::symlink("../../shared/all", repo.path().join("plugins/inputs/all")).unwrap();
    repo.commit("an aggregate directory linked into a category");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("init: found nested plugins"), "{text}");
    assert!(
        text.contains("excluded plugins/inputs/all: rejected (unsupported_entry)"),
        "{text}"
    );
    repo.commit("init");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(
        plugin_ids(&doc),
        ["inputs/cpu", "inputs/mem", "outputs/file"]
    );
}

/// A plugin repository that pins no line ends: two text files and a binary one.
fn unpinned() -> Repo {
    let repo = Repo::bare_of_owners();
    repo.remove(".gitattributes");
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/main.py", "print(1)\n")
        .write("plugins/alpha/logo.bin", b"\0\x01\x02binary\n");
    repo.commit("plugins without attributes");
    repo
}

const PIN: &str = "# plugin-lock: plugin files are checked out byte for byte, as the lock hashes them\n/plugins/** -text\n";

/// Runs step 2 of init's next steps as printed: `git add --renormalize … && git add …
/// && git commit …`.
fn run_step_two(dir: &std::path::Path, init_out: &str) {
    let step = init_out
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("2. "))
        .unwrap_or_else(|| panic!("no step 2 in {init_out}"));
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(dir).args(["-c", step]);
    clean_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{step}: {}", stderr(&out));
}

#[test]
fn files_git_would_convert_get_the_line_end_pin_and_checkouts_then_match() {
    let repo = unpinned();
    let out = init(&repo, &["--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  line ends: 2 plugin file(s) would be checked out with other line ends than committed (`eol_conversion`: CRLF under git for Windows' `core.autocrlf=true`)"),
        "{text}"
    );
    assert!(
        text.contains(
            "would add `/plugins/** -text` to .gitattributes (`--no-gitattributes` leaves it alone)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "would write .plugin-lock.yml, plugins/PLUGINS.lock and .gitattributes (nothing written)"
        ),
        "{text}"
    );
    assert!(!repo.path().join(".gitattributes").exists());

    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "added `/plugins/** -text` to .gitattributes: checkouts keep the committed bytes"
        ),
        "{text}"
    );
    assert!(
        text.contains("init: wrote .plugin-lock.yml, plugins/PLUGINS.lock and .gitattributes"),
        "{text}"
    );
    assert!(
        text.contains("  2. git add --renormalize plugins && git add .plugin-lock.yml plugins/PLUGINS.lock .gitattributes && git commit"),
        "{text}"
    );
    assert_eq!(String::from_utf8(repo.read(".gitattributes")).unwrap(), PIN);
    run_step_two(repo.path(), &text);
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert!(of_kind(&doc, "eol_conversion").is_empty(), "{doc:#}");
    // Git for Windows' default checkout now holds what the lock hashes.
    let (_keep, clone) = clone_with(repo.path(), "core.autocrlf=true");
    assert_eq!(
        std::fs::read(clone.join("plugins/alpha/main.py")).unwrap(),
        b"print(1)\n"
    );
    let (exit, doc) = verify_json(&clone, &["--checkout"], &[]);
    assert_eq!(exit, 0, "{doc:#}");

    // Run again, init finds the pin in place and says nothing of line ends.
    let out = init(&repo, &["--dry-run"]);
    assert!(!stdout(&out).contains("line ends:"), "{}", stdout(&out));
}

#[test]
fn a_windows_work_tree_is_locked_as_it_will_be_committed_with_the_pin() {
    // A Windows user (`core.autocrlf=true`) adopts plugin-lock: the files on disk have
    // CRLF, and with the pin `git add` stores them so.
    let origin = unpinned();
    let (_keep, windows) = clone_with(origin.path(), "core.autocrlf=true");
    assert_eq!(
        std::fs::read(windows.join("plugins/alpha/main.py")).unwrap(),
        b"print(1)\r\n"
    );
    let out = run_in(&windows, &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    run_step_two(&windows, &stdout(&out));
    let (exit, doc) = verify_json(&windows, &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    let (exit, doc) = verify_json(&windows, &["--checkout"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    // And a Linux clone of that commit holds the same bytes.
    let (_keep_linux, linux) = clone_with(&windows, "core.autocrlf=false");
    let (exit, doc) = verify_json(&linux, &["--checkout"], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

#[test]
fn the_pin_is_appended_to_an_existing_gitattributes_and_reported_in_json() {
    let repo = unpinned();
    repo.write(".gitattributes", "*.png binary");
    repo.commit("attributes without a final newline");
    let out = init(&repo, &["--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["gitattributes"]["converted_files"], 2, "{doc:#}");
    assert_eq!(
        doc["gitattributes"]["lines"],
        serde_json::json!(["/plugins/** -text"])
    );
    assert_eq!(doc["gitattributes"]["written"], true);
    assert_eq!(
        doc["written"],
        serde_json::json!([".plugin-lock.yml", "plugins/PLUGINS.lock", ".gitattributes"])
    );
    assert_eq!(
        String::from_utf8(repo.read(".gitattributes")).unwrap(),
        format!("*.png binary\n{PIN}")
    );
}

#[test]
fn no_gitattributes_leaves_the_file_alone_and_names_the_line() {
    let repo = unpinned();
    let out = init(&repo, &["--no-gitattributes"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(".gitattributes left alone (--no-gitattributes): add `/plugins/** -text` to it (README, \"Runtime loaders and platforms\")"),
        "{text}"
    );
    assert!(
        text.contains("init: wrote .plugin-lock.yml and plugins/PLUGINS.lock\n"),
        "{text}"
    );
    assert!(!text.contains("--renormalize"), "{text}");
    assert!(!repo.path().join(".gitattributes").exists());
    let (exit, doc) = init_commit_verify_after(&repo);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(of_kind(&doc, "eol_conversion").len(), 2, "{doc:#}");
}

fn init_commit_verify_after(repo: &Repo) -> (i32, serde_json::Value) {
    repo.commit("plugin-lock init");
    verify_json(repo.path(), &[], &[])
}

#[test]
fn an_inner_gitattributes_that_overrides_the_pin_is_named() {
    let repo = unpinned();
    repo.write("plugins/alpha/.gitattributes", "*.py text eol=crlf\n");
    repo.commit("a plugin that asks for CRLF");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("added `/plugins/** -text` to .gitattributes, yet 1 file(s) are still converted: a `.gitattributes` inside the plugin tree overrides it (`plugin-lock verify` names each file)"),
        "{text}"
    );
    // A second run does not add the line again, and says why the drift stays.
    let out = init(&repo, &["--force"]);
    assert!(
        stdout(&out).contains(".gitattributes pins the plugin tree already, so a `.gitattributes` inside it overrides the pin"),
        "{}",
        stdout(&out)
    );
    assert_eq!(String::from_utf8(repo.read(".gitattributes")).unwrap(), PIN);
}

#[test]
fn a_gitattributes_that_is_not_utf8_is_refused_and_nothing_is_written() {
    let repo = unpinned();
    repo.write(".gitattributes", b"*.txt text # caf\xe9\n");
    repo.commit("latin-1 attributes");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(".gitattributes: not UTF-8 text (byte 16), so plugin-lock does not rewrite it; add its line by hand (or run `init --no-gitattributes`)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(repo.read(".gitattributes"), b"*.txt text # caf\xe9\n");
    assert!(!repo.path().join(".plugin-lock.yml").exists());
    assert!(!repo.path().join("plugins/PLUGINS.lock").exists());
    // Without the pin it goes ahead.
    let out = init(&repo, &["--no-gitattributes"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_gitattributes_that_is_not_utf8_but_pins_already_is_left_as_it_is() {
    let repo = unpinned();
    let bytes = b"# caf\xe9\n/plugins/** -text\n";
    repo.write(".gitattributes", bytes);
    repo.commit("latin-1 attributes that pin the plugins");
    let out = init(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stdout(&out).contains("line ends:"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("init: wrote .plugin-lock.yml and plugins/PLUGINS.lock\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.read(".gitattributes"), bytes);
}

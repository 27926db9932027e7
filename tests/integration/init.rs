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

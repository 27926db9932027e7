//! First contact on a real repository: no silent green, exclusions, plugins inside
//! plugins, renamed plugins, and the work tree's configuration that is not what runs.

use crate::util::*;

fn plugin(repo: &Repo, dir: &str) {
    let name = dir.rsplit('/').next().unwrap();
    repo.write(
        &format!("{dir}/plugin.yaml"),
        format!("name: {name}\nversion: 1.0.0\n"),
    )
    .write(&format!("{dir}/main.py"), format!("print('{name}')\n"));
}

#[test]
fn a_misspelled_glob_is_an_error_at_its_line() {
    let repo = Repo::new();
    plugin(&repo, "skills/search");
    repo.write(
        ".plugin-lock.yml",
        "plugins:\n  - skills/*\n  - skils/*\nlock: skills/PLUGINS.lock\n",
    );
    repo.update_lock();
    repo.commit("skills, and a typo");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with(
            "error[plugins_glob_unmatched]: the plugins glob `skils/*` matches no directory: nothing it was meant to select is verified\n  --> .plugin-lock.yml:3\n"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_empty_lock_and_no_plugins_is_the_one_nothing_yet_state() {
    let repo = Repo::new();
    repo.write("plugins/PLUGINS.lock", "{}\n");
    repo.commit("plugins are still to come");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        stdout(&out),
        format!(
            "verify: ok no plugins yet: nothing matches the plugins globs and plugins/PLUGINS.lock is empty (0 warnings) [source {}]\n",
            &head[..12]
        )
    );
}

#[test]
fn a_configuration_only_in_the_work_tree_is_said_to_be_unused() {
    let repo = Repo::new();
    plugin(&repo, "skills/search");
    repo.commit("skills, no configuration yet");
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"skills/*\"]\nlock: skills/PLUGINS.lock\n",
    );
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 4);
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        stderr(&out),
        format!(
            "note: verifying HEAD ({}); your uncommitted .plugin-lock.yml is not used (commit, or check the work tree with `--worktree`)\n",
            &head[..12]
        )
    );
    assert!(
        stdout(&out).contains("plugins_glob_unmatched"),
        "{}",
        stdout(&out)
    );
    // Committed (with its lock), it is used, and nothing is said.
    repo.update_lock();
    repo.commit("configuration");
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(stderr(&out), "");
    // An edited lock that is not committed is named too.
    repo.write("skills/PLUGINS.lock", "{}\n");
    let out = repo.run(&["verify"]);
    assert!(
        stderr(&out).contains("your uncommitted changes to skills/PLUGINS.lock is not used"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn excluded_directories_are_listed_never_hashed() {
    let repo = Repo::new();
    plugin(&repo, "plugins/inputs/cpu");
    plugin(&repo, "plugins/inputs/mem");
    // Go-agent style: `all/` is an aggregator with a link outside it, not a plugin.
    repo.write("plugins/inputs/all/all.go", "package all\n");
    std::os::unix::fs::symlink(
        "../../../../etc/passwd",
        repo.path().join("plugins/inputs/all/escape"),
    )
    .unwrap();
    repo.write(
        ".plugin-lock.yml",
        "plugins: [\"plugins/*/*\"]\nexclude: [\"plugins/inputs/all\"]\nmanifest: plugin.yaml\n",
    );
    repo.update_lock();
    repo.commit("inputs");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
    assert_eq!(plugin_ids(&doc), ["inputs/cpu", "inputs/mem"]);
    let out = repo.run(&["list", "--format", "json"]);
    let list = json(&out);
    assert_eq!(list["excluded"][0]["dir"], "plugins/inputs/all");
    assert_eq!(list["excluded"][0]["status"], "excluded");
    assert_eq!(list["excluded"][0]["exclude"], "plugins/inputs/all");
    let out = repo.run(&["list"]);
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("plugins/inputs/all") && l.contains("excluded")),
        "{}",
        stdout(&out)
    );
    assert!(
        !String::from_utf8(repo.read("plugins/PLUGINS.lock"))
            .unwrap()
            .contains("all")
    );
}

#[test]
fn a_plugin_inside_a_plugin_names_both_directories_and_globs() {
    let repo = Repo::new();
    plugin(&repo, "plugins/inputs");
    plugin(&repo, "plugins/inputs/cpu");
    repo.write(
        ".plugin-lock.yml",
        "plugins:\n  - plugins/*\n  - plugins/*/*\nmanifest: none\n",
    );
    repo.update_lock();
    repo.commit("overlapping globs");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    let nested = of_kind(&doc, "nested_plugin");
    assert_eq!(nested.len(), 1, "{doc:#}");
    assert_eq!(nested[0]["path"], ".plugin-lock.yml");
    assert_eq!(nested[0]["line"], 3);
    assert_eq!(nested[0]["plugin"], "inputs/cpu");
    let message = nested[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("plugin directory `plugins/inputs/cpu` (matched by `plugins/*/*`) is inside plugin directory `plugins/inputs` (matched by `plugins/*`)"),
        "{message}"
    );
    // `exclude` is the way out.
    repo.write(
        ".plugin-lock.yml",
        "plugins:\n  - plugins/*\n  - plugins/*/*\nexclude: [plugins/inputs]\nmanifest: none\n",
    );
    repo.update_lock();
    repo.commit("the aggregate is excluded");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0, "{doc:#}");
}

#[test]
fn a_renamed_plugin_is_one_finding_and_update_renames_the_entry() {
    let repo = two_plugins();
    repo.git(&["mv", "plugins/beta", "plugins/gamma"]);
    repo.commit("beta moves to gamma");
    let (_, doc) = verify_json(repo.path(), &["--manifest", "none"], &[]);
    let kinds: Vec<&str> = findings(&doc)
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["plugin_renamed"], "{doc:#}");
    let f = &findings(&doc)[0];
    assert_eq!(f["line"], 3);
    assert!(
        f["message"].as_str().unwrap().starts_with(
            "plugin `beta` moved to `gamma` (same digest), but its lock entry still names `beta`"
        ),
        "{f:#}"
    );
    let out = repo.run(&["update", "--manifest", "none"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("+ gamma"), "{}", stdout(&out));
    assert!(stdout(&out).contains("- beta"), "{}", stdout(&out));
}

#[test]
fn every_rejection_of_a_plugin_is_reported() {
    let repo = two_plugins();
    for name in ["a", "b", "c"] {
        std::os::unix::fs::symlink(
            format!("missing-{name}"),
            repo.path().join(format!("plugins/alpha/{name}.py")),
        )
        .unwrap();
    }
    repo.commit("three dangling links");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4);
    let dangling: Vec<&str> = of_kind(&doc, "dangling_symlink")
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        dangling,
        [
            "plugins/alpha/a.py",
            "plugins/alpha/b.py",
            "plugins/alpha/c.py"
        ]
    );
    let out = repo.run(&["update"]);
    assert_eq!(code(&out), 4);
    let err = stderr(&out);
    assert_eq!(err.matches("error[dangling_symlink]").count(), 3, "{err}");
    assert!(
        err.contains("update: refused: 1 plugin(s) rejected"),
        "{err}"
    );
}

#[test]
fn discovery_findings_show_on_every_output_format() {
    let repo = Repo::bare_of_owners();
    plugin(&repo, "plugins/inputs");
    plugin(&repo, "plugins/inputs/cpu");
    plugin(&repo, "plugins/old");
    repo.write(
        ".plugin-lock.yml",
        "plugins:\n  - plugins/*\n  - plugins/*/*\nexclude: [plugins/common]\nmanifest: none\n",
    );
    repo.update_lock();
    repo.commit("nested, and a plugin about to move");
    repo.git(&["mv", "plugins/old", "plugins/new"]);
    repo.commit("old moves to new");
    let summary_dir = tempfile::tempdir().unwrap();
    let summary = summary_dir.path().join("summary.md");
    for format in ["human", "json", "sarif", "concise", "github"] {
        std::fs::write(&summary, "").unwrap();
        let out = run_env(
            repo.path(),
            &["verify", "--format", format],
            &[
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
                ("RUNNER_TEMP", summary_dir.path().to_str().unwrap()),
            ],
        );
        assert_eq!(code(&out), 4, "{format}: {}", stderr(&out));
        let text = stdout(&out);
        for kind in ["nested_plugin", "plugin_renamed"] {
            assert!(text.contains(kind), "{format} names {kind}:\n{text}");
        }
        if format == "github" {
            let md = std::fs::read_to_string(&summary).unwrap();
            assert!(
                md.contains("nested_plugin") && md.contains("plugin_renamed"),
                "{md}"
            );
        }
    }
}

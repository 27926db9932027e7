//! `eol_conversion`: line ends a checkout would change, predicted from the committed
//! blobs and the tree's own `.gitattributes` files at every level.

use crate::util::*;

/// A repository without attributes whose plugin `alpha` holds `files`, locked and
/// committed.
fn repo_with(files: &[(&str, &[u8])]) -> Repo {
    let repo = Repo::new();
    repo.remove(".gitattributes");
    repo.write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    for (path, content) in files {
        repo.write(&format!("plugins/alpha/{path}"), content);
    }
    repo.update_lock();
    repo.commit("alpha");
    repo
}

/// (path in the plugin, cause) of each `eol_conversion` of `verify --rev HEAD`, and
/// the exit code.
fn causes_at(repo: &Repo, args: &[&str]) -> (i32, Vec<(String, String)>) {
    let (exit, doc) = verify_json(repo.path(), args, &[]);
    let found = of_kind(&doc, "eol_conversion")
        .iter()
        .map(|f| {
            (
                f["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("plugins/alpha/")
                    .to_owned(),
                f["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (exit, found)
}

fn causes(repo: &Repo) -> Vec<(String, String)> {
    let (exit, found) = causes_at(repo, &["--rev", "HEAD"]);
    assert_eq!(exit, 0, "warnings only");
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

const TEXT: &[u8] = b"line one\nline two\n";
const CRLF: &[u8] = b"line one\r\nline two\r\n";

#[test]
fn without_attributes_text_files_are_named_and_binary_or_crlf_ones_are_not() {
    let repo = repo_with(&[
        ("main.py", TEXT),
        ("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\n"),
        ("windows.txt", CRLF),
        ("one-line", b"no line end"),
        // Binary past git's first 8,000 bytes only: still text to git's detection.
        ("late.dat", &[b"x\n".repeat(4000), vec![0]].concat()),
    ]);
    assert_eq!(
        causes(&repo),
        pairs(&[
            ("late.dat", "no_attribute"),
            ("main.py", "no_attribute"),
            ("plugin.yaml", "no_attribute"),
        ])
    );
}

#[test]
fn attributes_at_every_level_decide_as_git_does() {
    let repo = repo_with(&[
        ("a.txt", TEXT),
        ("b.md", TEXT),
        ("c.sh", TEXT),
        ("d.dat", TEXT),
        ("e.bin", b"\0\x01\n"),
        ("sub/f.txt", TEXT),
        ("sub/g.txt", CRLF),
        ("h.txt", CRLF),
    ]);
    // The top level: text=auto everywhere, a macro, `binary`.
    repo.write(
        ".gitattributes",
        "* text=auto\n[attr]pinned text eol=lf\n*.dat binary\n*.bin text\n*.sh pinned\n",
    );
    // plugins/: markdown with CRLF on every platform.
    repo.write("plugins/.gitattributes", "*.md text eol=crlf\n");
    // Inside the plugin: its own rules win below it; a CRLF blob marked text.
    repo.write(
        "plugins/alpha/sub/.gitattributes",
        "*.txt text\n[attr]ignored -text\n",
    );
    repo.write("plugins/alpha/.gitattributes", "h.txt text eol=lf\n");
    repo.update_lock();
    repo.commit("attributes");
    // Blobs committed with CRLF before the attributes called them text (plumbing: a
    // `git add` now would store LF).
    for path in ["sub/g.txt", "h.txt"] {
        repo.stage(&format!("plugins/alpha/{path}"), "100644", CRLF);
    }
    assert_eq!(code(&repo.run(&["update", "--index"])), 0);
    repo.git(&["add", "plugins/PLUGINS.lock"]);
    repo.commit_index("CRLF blobs");
    assert_eq!(
        causes(&repo),
        pairs(&[
            // The plugin's own attributes files are plugin files too.
            (".gitattributes", "text_auto"),
            ("a.txt", "text_auto"),
            ("b.md", "eol_crlf"),
            // `text` says text, whatever git's detection would say.
            ("e.bin", "text"),
            ("h.txt", "crlf_blob"),
            ("plugin.yaml", "text_auto"),
            ("sub/.gitattributes", "text_auto"),
            ("sub/f.txt", "text"),
            ("sub/g.txt", "crlf_blob"),
        ])
    );
    // Real git agrees: a clone as Git for Windows makes it converts exactly the files
    // predicted to change on checkout (a CRLF blob changes at the next `git add`).
    let (_keep, clone) = clone_with(repo.path(), "core.autocrlf=true");
    let converted: Vec<String> = causes(&repo)
        .into_iter()
        .filter(|(_, cause)| cause != "crlf_blob")
        .map(|(path, _)| path)
        .collect();
    let on_disk: Vec<String> = git_in(&repo.path().join("plugins/alpha"), &["ls-files"])
        .lines()
        .filter(|path| {
            // The origin's files are its blobs (written by this test, never converted).
            let read = |root: &std::path::Path| {
                std::fs::read(root.join("plugins/alpha").join(path)).unwrap()
            };
            read(&clone) != read(repo.path())
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(on_disk, converted);

    // The messages name the platforms and the fix.
    let (_, doc) = verify_json(repo.path(), &[], &[]);
    let md = of_kind(&doc, "eol_conversion")
        .into_iter()
        .find(|f| f["path"] == "plugins/alpha/b.md")
        .unwrap();
    assert_eq!(md["affects"], "every platform");
    assert!(
        md["message"]
            .as_str()
            .unwrap()
            .starts_with("`plugins/alpha/b.md` has `eol=crlf`: every checkout, on every platform, gets CRLF line ends where the blob has LF"),
        "{md:#}"
    );
    let blob = of_kind(&doc, "eol_conversion")
        .into_iter()
        .find(|f| f["path"] == "plugins/alpha/sub/g.txt")
        .unwrap();
    assert!(
        blob["message"]
            .as_str()
            .unwrap()
            .contains("`git add --renormalize plugins/alpha/sub/g.txt`, then `plugin-lock update`"),
        "{blob:#}"
    );
}

#[test]
fn the_one_line_fix_ends_it_and_the_cache_sees_the_change_above_the_plugin() {
    let repo = repo_with(&[("main.py", TEXT), ("notes.md", TEXT)]);
    let cached = |repo: &Repo| {
        let (exit, doc) = verify_json(repo.path(), &["--cache"], &[]);
        assert_eq!(exit, 0, "{doc:#}");
        of_kind(&doc, "eol_conversion").len()
    };
    assert_eq!(cached(&repo), 3);
    assert_eq!(cached(&repo), 3, "from the cache");
    // The plugin's own tree is unchanged; only the top-level file is new.
    repo.write(".gitattributes", "plugins/** -text\n");
    repo.commit("pin plugin bytes");
    assert_eq!(cached(&repo), 0);
    repo.write(".gitattributes", "plugins/** text=auto eol=lf\n");
    repo.git(&["add", "--renormalize", "."]);
    repo.commit("normalize instead");
    assert_eq!(cached(&repo), 0);
    repo.write(".gitattributes", "plugins/** text=auto\n");
    repo.commit("native line ends");
    assert_eq!(cached(&repo), 3);
}

#[test]
fn each_source_reads_its_own_attributes_and_checkout_predicts_nothing() {
    let repo = repo_with(&[("main.py", TEXT)]);
    // Staged, not committed: the index has it, HEAD does not.
    repo.write(".gitattributes", "plugins/** -text\n");
    repo.git(&["add", ".gitattributes"]);
    assert_eq!(causes(&repo).len(), 2, "HEAD has no attributes");
    assert!(causes_at(&repo, &["--index"]).1.is_empty());
    // The work tree's file, unstaged, counts for --worktree only.
    repo.write(".gitattributes", "plugins/** text\n");
    assert!(causes_at(&repo, &["--index"]).1.is_empty());
    assert_eq!(
        causes_at(&repo, &["--worktree"]).1,
        pairs(&[("main.py", "text"), ("plugin.yaml", "text")])
    );
    // A checkout's bytes are already converted: nothing to predict there.
    let (exit, found) = causes_at(&repo, &["--checkout"]);
    assert_eq!(exit, 0);
    assert!(found.is_empty());
}

#[test]
fn a_symlinked_gitattributes_is_ignored_as_git_ignores_it() {
    let repo = repo_with(&[("main.py", TEXT)]);
    repo.write("pinned.attributes", "* -text\n");
    std::os::unix::fs::symlink("pinned.attributes", repo.path().join(".gitattributes")).unwrap();
    repo.commit("a linked .gitattributes");
    assert_eq!(causes(&repo).len(), 2);
    // git agrees: the file is not read through the link.
    assert_eq!(
        repo.git(&["check-attr", "text", "--", "plugins/alpha/main.py"]),
        "plugins/alpha/main.py: text: unspecified"
    );
}

#[test]
fn severity_raises_or_silences_it_and_people_see_ten_then_a_count() {
    let many: Vec<(String, Vec<u8>)> = (0..12)
        .map(|i| (format!("f{i:02}.txt"), TEXT.to_vec()))
        .collect();
    let files: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let repo = repo_with(&files);
    let out = repo.run(&["verify"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert_eq!(
        text.matches("warning[eol_conversion]: ").count(),
        10,
        "{text}"
    );
    assert!(
        text.contains("note: 3 more warning[eol_conversion] not shown (-v shows every finding, `--format json` lists them)"),
        "{text}"
    );
    assert!(
        text.contains("(plugins/PLUGINS.lock, 13 warnings)"),
        "{text}"
    );
    let verbose = stdout(&repo.run(&["verify", "-v"]));
    assert_eq!(verbose.matches("warning[eol_conversion]: ").count(), 13);

    repo.write(".plugin-lock.yml", "severity:\n  eol_conversion: error\n");
    repo.commit("line ends must be pinned");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 4, "{doc:#}");
    assert!(
        of_kind(&doc, "eol_conversion")
            .iter()
            .all(|f| f["severity"] == "error")
    );
    repo.write(".plugin-lock.yml", "severity:\n  eol_conversion: off\n");
    repo.commit("not our concern");
    let (exit, doc) = verify_json(repo.path(), &[], &[]);
    assert_eq!(exit, 0);
    assert!(of_kind(&doc, "eol_conversion").is_empty());
}

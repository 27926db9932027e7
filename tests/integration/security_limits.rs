//! Resource bounds on hostile inputs (issue #16): CODEOWNERS owners and patterns, glob
//! sizes, and blob memory. Each hostile repository is built with git; each run must end
//! within util's time and memory bounds with a clear finding or error.

use crate::util::{Repo, code, git_in, json, run_bounded, stderr};

/// One plugin `p` with a manifest, its lock, and `codeowners` as `.github/CODEOWNERS`.
fn plugin_repo_with_codeowners(codeowners: &[u8]) -> Repo {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.write("plugins/p/a.py", "print('a')\n");
    repo.write("plugins/p/b.py", "print('b')\n");
    repo.update_lock();
    repo.write(".github/CODEOWNERS", codeowners);
    repo.commit("hostile CODEOWNERS");
    repo
}

fn findings_of(doc: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    doc["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["kind"] == kind).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn codeowners_line_with_thousands_of_owners_is_bounded_and_reported() {
    let mut text = String::from("*");
    for i in 0..20_000 {
        text.push_str(&format!(" @org/team-{i}"));
    }
    text.push('\n');
    let repo = plugin_repo_with_codeowners(text.as_bytes());
    for args in [
        &["verify", "--format", "json"][..],
        &["owners", "plugins/p/a.py"],
    ] {
        let run = run_bounded(repo.path(), args, &[]);
        run.assert_within_bounds("a CODEOWNERS line with 20,000 owners");
        if args[0] == "verify" {
            let doc = json(&run.output);
            let syntax = findings_of(&doc, "codeowners_syntax");
            assert_eq!(syntax.len(), 1, "{doc:#}");
            assert_eq!(syntax[0]["path"], ".github/CODEOWNERS", "{doc:#}");
            assert_eq!(syntax[0]["line"], 1, "{doc:#}");
            let message = syntax[0]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("20000 owners") && message.contains("limit of 256"),
                "{message}"
            );
            assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
        }
    }
}

#[test]
fn codeowners_megabytes_of_wildcard_patterns_are_bounded_and_reported() {
    // 1,490 lines of `*a`×1000: 3 MB of wildcards, once 1.7 GB and 11 s.
    let line = format!("{} @o\n", "*a".repeat(1000));
    let mut text = String::from("* @fixture/owners\n");
    for _ in 0..1490 {
        text.push_str(&line);
    }
    let repo = plugin_repo_with_codeowners(text.as_bytes());
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    run.assert_within_bounds("1,490 CODEOWNERS lines of `*a`x1000");
    let doc = json(&run.output);
    let syntax = findings_of(&doc, "codeowners_syntax");
    assert_eq!(syntax.len(), 1490, "one finding per line");
    assert_eq!(syntax[0]["line"], 2);
    let message = syntax[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1000 wildcards") && message.contains("skipped by plugin-lock"),
        "{message}"
    );
}

#[test]
fn codeowners_many_small_wildcard_patterns_hit_the_file_budget() {
    // Each line is within the per-pattern limits; together they are megabytes of regex.
    let mut text = String::from("* @fixture/owners\n");
    for i in 0..12_000 {
        text.push_str(&format!("/d{i}/*x*y*z*w/*.q{i} @o\n"));
    }
    assert!(text.len() < 3_000_000);
    let repo = plugin_repo_with_codeowners(text.as_bytes());
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    run.assert_within_bounds("12,000 small wildcard CODEOWNERS lines");
    let doc = json(&run.output);
    let over: Vec<_> = findings_of(&doc, "codeowners_syntax")
        .into_iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("compiled wildcard patterns per file"))
        })
        .collect();
    assert!(!over.is_empty(), "no file-wide budget finding");
    // The lines before the budget ran out still work: line 2 is not reported.
    assert!(over.iter().all(|f| f["line"].as_u64() > Some(2)));
}

/// A 100 KB glob of `*`: globset panicked compiling it (exit 101).
fn huge_glob() -> String {
    "*".repeat(100_000)
}

#[test]
fn huge_glob_in_plugins_config_is_a_configuration_error_at_its_line() {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.update_lock();
    repo.write(
        ".plugin-lock.yml",
        format!(
            "lock: plugins/PLUGINS.lock\nplugins:\n  - \"{}\"\n",
            huge_glob()
        ),
    );
    repo.commit("huge glob");
    for args in [&["verify"][..], &["list"]] {
        let run = run_bounded(repo.path(), args, &[]);
        run.assert_within_bounds("a 100 KB plugins glob");
        let err = stderr(&run.output);
        assert_eq!(code(&run.output), 2, "{err}");
        assert!(err.contains(".plugin-lock.yml:3:"), "{err}");
        assert!(err.contains("limit of 1024 bytes"), "{err}");
        assert!(
            err.len() < 1000,
            "the glob is not echoed whole: {} bytes",
            err.len()
        );
    }
}

#[test]
fn huge_glob_in_reload_hot_config_is_a_configuration_error_at_its_line() {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.update_lock();
    repo.write(
        ".plugin-lock.yml",
        format!("reload:\n  hot:\n    - \"{}\"\n", huge_glob()),
    );
    repo.commit("huge hot glob");
    let run = run_bounded(repo.path(), &["verify"], &[]);
    run.assert_within_bounds("a 100 KB reload.hot glob");
    let err = stderr(&run.output);
    assert_eq!(code(&run.output), 2, "{err}");
    assert!(err.contains(".plugin-lock.yml:3:"), "{err}");
}

#[test]
fn huge_glob_in_plugins_flag_is_a_usage_error_naming_the_flag() {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.commit("one plugin");
    let glob = format!("plugins/{}", "*?".repeat(40));
    for glob in [huge_glob(), glob] {
        let run = run_bounded(repo.path(), &["verify", "--plugins", &glob], &[]);
        run.assert_within_bounds("a huge --plugins glob");
        let err = stderr(&run.output);
        assert_eq!(code(&run.output), 2, "{err}");
        assert!(err.contains("--plugins"), "{err}");
        assert!(err.contains("over the limit"), "{err}");
    }
}

/// Writes `size` zero bytes to a file outside the repository and stores them as a blob
/// at `path` in the index (compressible, so the fixture stays small on disk).
fn stage_zeros(repo: &Repo, path: &str, size: usize) {
    let scratch = tempfile::NamedTempFile::new().expect("temp file");
    scratch.as_file().set_len(size as u64).expect("set_len");
    let file = scratch.path().to_str().expect("utf-8 temp path");
    let id = git_in(repo.path(), &["hash-object", "-w", file]);
    let line = format!("100644 {id}\t{path}\0");
    crate::util::git_stdin(
        repo.path(),
        &["update-index", "--add", "-z", "--index-info"],
        Some(line.as_bytes()),
    );
}

#[test]
fn blob_over_the_size_limit_rejects_its_plugin_within_bounds() {
    let repo = Repo::new();
    repo.write("plugins/big/plugin.yaml", "name: big\nversion: 1.0.0\n");
    repo.write("plugins/PLUGINS.lock", "{}\n");
    repo.git(&["add", "-A"]);
    stage_zeros(&repo, "plugins/big/model.bin", 100 * 1024 * 1024);
    repo.commit_index("a 100 MiB blob");
    for args in [
        &["verify", "--format", "json"][..],
        &["update", "--rev", "HEAD", "--check"],
    ] {
        let run = run_bounded(repo.path(), args, &[]);
        run.assert_within_bounds("a 100 MiB blob");
        assert_ne!(code(&run.output), 0, "{}", stderr(&run.output));
    }
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &[]);
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let rejected = findings_of(&doc, "unsupported_entry");
    assert_eq!(rejected.len(), 1, "{doc:#}");
    assert_eq!(rejected[0]["path"], "plugins/big/model.bin", "{doc:#}");
    let message = rejected[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("104857600 bytes") && message.contains("--max-blob-size"),
        "{message}"
    );
}

#[test]
fn blob_size_limit_is_set_by_the_operator_not_the_repository() {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.write("plugins/p/data.bin", vec![7u8; 4096]);
    // Over the blob limit below, but CODEOWNERS has its own limit (3 MB): it still loads.
    let padding = "# padding\n".repeat(200);
    repo.write(
        ".github/CODEOWNERS",
        format!("{padding}* @fixture/owners\n"),
    );
    repo.update_lock();
    repo.commit("plugin");
    let limited = [("PLUGIN_LOCK_MAX_BLOB_SIZE", "1K")];
    let run = run_bounded(repo.path(), &["verify", "--format", "json"], &limited);
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let rejected = findings_of(&doc, "unsupported_entry");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["path"], "plugins/p/data.bin");
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(1), "{doc:#}");
    // The flag wins over the environment, and the rejection was not cached.
    let run = run_bounded(repo.path(), &["verify", "--max-blob-size", "8K"], &limited);
    assert_eq!(code(&run.output), 0, "{}", stderr(&run.output));
    let run = run_bounded(repo.path(), &["verify", "--max-blob-size", "lots"], &[]);
    assert_eq!(code(&run.output), 2, "{}", stderr(&run.output));
}

#[test]
fn work_tree_file_over_the_size_limit_rejects_its_plugin_within_bounds() {
    let repo = Repo::new();
    repo.write("plugins/big/plugin.yaml", "name: big\nversion: 1.0.0\n");
    repo.write("plugins/PLUGINS.lock", "{}\n");
    repo.commit("plugin");
    let file = std::fs::File::create(repo.path().join("plugins/big/model.bin")).expect("create");
    file.set_len(100 * 1024 * 1024).expect("set_len");
    let run = run_bounded(
        repo.path(),
        &["verify", "--worktree", "--format", "json"],
        &[],
    );
    run.assert_within_bounds("a 100 MiB work-tree file");
    assert_eq!(code(&run.output), 4, "{}", stderr(&run.output));
    let doc = json(&run.output);
    let rejected = findings_of(&doc, "unsupported_entry");
    assert_eq!(rejected.len(), 1, "{doc:#}");
    assert_eq!(rejected[0]["path"], "plugins/big/model.bin", "{doc:#}");
}

/// Peak memory for reading `plugins` plugins of one `size` blob each on eight workers.
fn peak_reading_big_blobs(plugins: usize, size: usize) -> u64 {
    let repo = Repo::new();
    for i in 0..plugins {
        repo.write(
            &format!("plugins/p{i}/plugin.yaml"),
            format!("name: p{i}\nversion: 1.0.0\n"),
        );
    }
    repo.git(&["add", "-A"]);
    for i in 0..plugins {
        stage_zeros(&repo, &format!("plugins/p{i}/data.bin"), size);
    }
    repo.commit_index("big blobs");
    // Reading without hashing: the debug build hashes at ~20 MB/s, and the bound is
    // about the buffers.
    let run = run_bounded(
        repo.path(),
        &["verify", "--bench-read-only", "--no-cache"],
        &[("PLUGIN_LOCK_THREADS", "8")],
    );
    run.assert_within_bounds("reading big blobs on eight workers");
    run.max_rss_kib.unwrap_or(0)
}

#[test]
fn big_blobs_in_parallel_plugins_share_one_memory_bound() {
    // Six 20 MiB blobs on eight workers: 120 MiB of buffers if each worker held its own,
    // at most the 64 MiB budget (three at a time) when they share it.
    let peak = peak_reading_big_blobs(6, 20 * 1024 * 1024);
    eprintln!("peak RSS reading six 20 MiB blobs on eight workers: {peak} KiB");
    assert!(peak <= 100 * 1024, "peak RSS {peak} KiB");
}

/// A FIFO in a plugin's work tree: reading it would block forever. The work-tree walk
/// skips it (git cannot store one), and every read of a work-tree file opens it
/// non-blocking and checks it is a regular file. A guard: this passed before issue #16's
/// fixes too, because the walk already skipped such entries.
#[cfg(unix)]
#[test]
fn fifo_in_the_work_tree_is_never_read() {
    let repo = Repo::new();
    repo.write("plugins/p/plugin.yaml", "name: p\nversion: 1.0.0\n");
    repo.write("plugins/p/a.py", "print('a')\n");
    repo.update_lock();
    repo.commit("plugin");
    // Replace a tracked file by a FIFO: the index still lists it.
    repo.remove("plugins/p/a.py");
    let made = std::process::Command::new("mkfifo")
        .arg(repo.path().join("plugins/p/a.py"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    for args in [&["verify", "--worktree"][..], &["update", "--check"]] {
        let run = run_bounded(repo.path(), args, &[]);
        run.assert_within_bounds("a FIFO in the work tree");
    }
}

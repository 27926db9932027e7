//! Fixture repositories built with real git in temp dirs, and a runner for the binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_plugin-lock");

/// A git repository in a temp dir, with deterministic identities and dates.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

/// Environment for every git and plugin-lock process: no user config, fixed dates.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("GIT_")
            || key.starts_with("GITHUB_")
            || key == "NO_COLOR"
            || key == "PLUGIN_LOCK_THREADS"
            || key == "PLUGIN_LOCK_CACHE"
            // CI runners set it; tests that need it set it themselves.
            || key == "CI"
            || key == "RUNNER_TEMP"
        {
            cmd.env_remove(&key);
        }
    }
    // The cache key lives in the user's cache directory: one of this test run's own.
    cmd.env("XDG_CACHE_HOME", test_cache_home())
        .env("LOCALAPPDATA", test_cache_home());
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000");
}

/// The per-user cache directory of every process this test run starts (created once).
pub fn test_cache_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("plugin-lock-test-cache-")
            .tempdir()
            .expect("temp dir")
            .keep()
    })
}

pub fn git_in(dir: &Path, args: &[&str]) -> String {
    git_stdin(dir, args, None)
}

pub fn git_stdin(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("git runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("git finishes");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

impl Repo {
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        git_in(dir.path(), &["init", "-q", "-b", "main"]);
        git_in(dir.path(), &["config", "core.autocrlf", "false"]);
        // Git for Windows refuses index paths with `:` or control characters otherwise;
        // such names go in with plumbing, never through the file system.
        git_in(dir.path(), &["config", "core.protectNTFS", "false"]);
        // Every fixture is owned (one rule for all), so ownership findings appear only
        // where a test sets them up; `Repo::bare_of_owners` starts without one.
        let repo = Repo { dir };
        repo.write(".github/CODEOWNERS", "* @fixture/owners\n");
        // Line ends are pinned, as in a repository that followed the README, so
        // `eol_conversion` appears only where a test removes or changes this file.
        repo.write(".gitattributes", "* -text\n");
        repo
    }

    /// A repository without a CODEOWNERS file.
    pub fn bare_of_owners() -> Repo {
        let repo = Repo::new();
        repo.remove(".github");
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }

    /// Writes a file in the work tree, creating its directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Repo {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    pub fn remove(&self, rel: &str) {
        let path = self.path().join(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(path).expect("rm -r");
        } else {
            std::fs::remove_file(path).expect("rm");
        }
    }

    /// `git add -A` and commit; returns the commit id.
    pub fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Stages an entry with git plumbing (any name, any mode), without the file system.
    pub fn stage(&self, path: &str, mode: &str, content: &[u8]) {
        let id = if mode == "160000" {
            // A gitlink records a commit id; any id will do for the tree.
            "1111111111111111111111111111111111111111".to_owned()
        } else {
            git_stdin(
                self.path(),
                &["hash-object", "-w", "--stdin"],
                Some(content),
            )
        };
        let mut line = format!("{mode} {id}\t").into_bytes();
        line.extend_from_slice(path.as_bytes());
        line.push(0);
        git_stdin(
            self.path(),
            &["update-index", "--add", "-z", "--index-info"],
            Some(&line),
        );
    }

    /// Commits what is staged (no `add`), for trees built with [`Repo::stage`].
    pub fn commit_index(&self, msg: &str) -> String {
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs plugin-lock in the repository.
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.path(), args)
    }

    /// Writes the lock from the work tree with `plugin-lock update` and asserts success.
    pub fn update_lock(&self) {
        let out = self.run(&["update"]);
        assert_eq!(code(&out), 0, "update failed: {}", stderr(&out));
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path().join(rel)).expect("read")
    }
}

/// A clone of `origin` made with `config` (`-c key=value`) and keeping it, in a temp
/// dir returned with it: a checkout as another platform's git makes it.
pub fn clone_with(origin: &Path, config: &str) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().expect("temp dir");
    let origin = origin.to_str().expect("a UTF-8 temp path");
    git_in(
        parent.path(),
        &["-c", config, "clone", "-q", origin, "clone"],
    );
    let dir = parent.path().join("clone");
    let (key, value) = config.split_once('=').expect("key=value");
    git_in(&dir, &["config", key, value]);
    (parent, dir)
}

pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    cmd.stdin(Stdio::null()).output().expect("plugin-lock runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

/// `verify --format json` in `dir` with extra `args` and `env`: the exit code and the
/// document.
pub fn verify_json(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut all = vec!["verify", "--format", "json"];
    all.extend_from_slice(args);
    let out = run_env(dir, &all, env);
    let doc = json(&out);
    (code(&out), doc)
}

/// The findings of a JSON report.
pub fn findings(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["findings"].as_array().expect("findings is a list")
}

/// The findings of `kind` in a JSON report.
pub fn of_kind<'a>(doc: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    findings(doc).iter().filter(|f| f["kind"] == kind).collect()
}

/// A repository with two valid plugins and a correct, committed lock.
pub fn two_plugins() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "fixture\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n")
        .write("plugins/alpha/src/main.py", "print('alpha')\n")
        .write("plugins/beta/plugin.yaml", "name: beta\nversion: 2.1.0\n")
        .write("plugins/beta/notes.txt", "beta notes\n");
    repo.update_lock();
    repo.commit("two plugins");
    repo
}

/// The project's root (for vectors and the shared folder beside it).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Repo {
    /// [`Repo::stage`] for a path given as raw bytes (names that are not UTF-8).
    pub fn stage_bytes(&self, path: &[u8], mode: &str, content: &[u8]) {
        let id = git_stdin(
            self.path(),
            &["hash-object", "-w", "--stdin"],
            Some(content),
        );
        let mut line = format!("{mode} {id}\t").into_bytes();
        line.extend_from_slice(path);
        line.push(0);
        git_stdin(
            self.path(),
            &["update-index", "--add", "-z", "--index-info"],
            Some(&line),
        );
    }
}

/// Runs plugin-lock in `dir` with extra environment variables (after the clean env).
pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::null()).output().expect("plugin-lock runs")
}

/// Runs plugin-lock in `dir` with stdout on a pseudo-terminal (util-linux `script`),
/// with extra environment variables; `None` when no pseudo-terminal can be had.
/// The output is what the terminal saw (line ends may be `\r\n`).
pub fn run_on_tty(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let quoted: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.current_dir(dir)
        .args(["-qec", &quoted.join(" "), "/dev/null"]);
    clean_env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    // `script` itself failing (no pty available) exits with its own error and no output.
    if out.stdout.is_empty() && !out.status.success() {
        return None;
    }
    Some(out)
}

/// PATH with the built binary's directory first, so that git hooks find `plugin-lock`.
pub fn path_with_bin() -> String {
    let dir = Path::new(BIN).parent().expect("binary directory");
    let mut paths = vec![dir.to_path_buf()];
    if let Some(current) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&current));
    }
    std::env::join_paths(paths)
        .expect("PATH")
        .to_string_lossy()
        .into_owned()
}

/// Runs git in `dir` with extra environment variables (after the clean env) and returns
/// its output whatever the exit status (a push that a hook refuses, a missing ref).
pub fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::null()).output().expect("git runs")
}

/// Runs plugin-lock in `dir` with `input` on stdin and extra environment variables.
pub fn run_stdin(dir: &Path, args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin-lock runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("plugin-lock finishes")
}

/// The ids of the `plugins` array of a JSON report, in its order.
pub fn plugin_ids(doc: &serde_json::Value) -> Vec<&str> {
    doc["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect()
}

/// The `owners` of plugin `id` in a JSON report with a `plugins` array (`list`,
/// `owners`); panics when the plugin is not listed.
pub fn plugin_owners(doc: &serde_json::Value, id: &str) -> serde_json::Value {
    doc["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["id"] == id))
        .map(|p| p["owners"].clone())
        .unwrap_or_else(|| panic!("plugin {id} not listed: {doc}"))
}

/// The bounds every hostile resource input must stay within (issue: "under 5 s and
/// 256 MiB"): a process still running at [`TIME_BOUND`] is killed.
pub const TIME_BOUND: std::time::Duration = std::time::Duration::from_secs(5);
pub const MEMORY_BOUND_KIB: u64 = 256 * 1024;

/// What [`run_bounded`] saw: the output, whether the process had to be killed, and its
/// peak resident set (unix; `None` elsewhere).
pub struct Bounded {
    pub output: Output,
    pub timed_out: bool,
    pub max_rss_kib: Option<u64>,
}

impl Bounded {
    /// Asserts the run finished within [`TIME_BOUND`] and [`MEMORY_BOUND_KIB`].
    pub fn assert_within_bounds(&self, what: &str) {
        assert!(
            !self.timed_out,
            "{what}: still running after {TIME_BOUND:?}; stderr: {}",
            stderr(&self.output)
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(signal) = self.output.status.signal() {
                panic!(
                    "{what}: killed by signal {signal}; stderr: {}",
                    stderr(&self.output)
                );
            }
        }
        if let Some(rss) = self.max_rss_kib {
            assert!(
                rss <= MEMORY_BOUND_KIB,
                "{what}: peak RSS {rss} KiB > {MEMORY_BOUND_KIB} KiB"
            );
        }
    }
}

/// Runs plugin-lock in `dir` (clean env plus `env`), killing it after [`TIME_BOUND`],
/// and measures its peak memory.
pub fn run_bounded(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Bounded {
    run_bounded_with(dir, args, env, None)
}

/// [`run_bounded`] with `input` on stdin (the pre-push hook reads its refs there).
pub fn run_bounded_stdin(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Bounded {
    run_bounded_with(dir, args, env, Some(input))
}

fn run_bounded_with(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    input: Option<&[u8]>,
) -> Bounded {
    use std::io::Read;
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    clean_env(&mut cmd);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin-lock runs");
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A process that exits without reading its input closes the pipe: not an error.
        let _ = stdin.write_all(input);
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = std::time::Instant::now();
    let (status, timed_out, max_rss_kib) = wait_bounded(&mut child, started);
    Bounded {
        output: Output {
            status,
            stdout: out.join().expect("stdout reader"),
            stderr: err.join().expect("stderr reader"),
        },
        timed_out,
        max_rss_kib,
    }
}

/// The child's own peak resident set so far (`VmHWM`). Not `ru_maxrss`: Linux counts
/// the parent's resident set at fork into a child's, so a test process that once held
/// a large buffer would inflate every measurement after it.
#[cfg(target_os = "linux")]
fn sampled_peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `child`, killing it past [`TIME_BOUND`]. Its peak memory is sampled while
/// it runs on Linux (see [`sampled_peak_kib`]); elsewhere it is not measured (reading
/// `ru_maxrss` takes `wait4`, and the crate forbids unsafe code, tests included).
fn wait_bounded(
    child: &mut std::process::Child,
    started: std::time::Instant,
) -> (std::process::ExitStatus, bool, Option<u64>) {
    let mut timed_out = false;
    let mut sampled: Option<u64> = None;
    loop {
        #[cfg(target_os = "linux")]
        if let Some(kib) = sampled_peak_kib(child.id()) {
            sampled = Some(sampled.map_or(kib, |s| s.max(kib)));
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, timed_out, sampled);
        }
        if !timed_out && started.elapsed() > TIME_BOUND {
            timed_out = true;
            let _ = child.kill();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A GitHub Actions workflow command as the runner reads it: name, properties (unescaped), message (unescaped).
#[derive(Debug)]
pub struct WorkflowCommand {
    pub name: String,
    pub props: Vec<(String, String)>,
    pub message: String,
}

impl WorkflowCommand {
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// The runner's unescaping: each mapping in its table's order, `%25` last.
pub fn unescape(s: &str, property: bool) -> String {
    let mut s = s.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        s = s.replace("%3A", ":").replace("%2C", ",");
    }
    s.replace("%25", "%")
}

/// One line as `TryParseV2` reads it: leading whitespace trimmed, `::name props::message`,
/// properties split on `,` and then on the first `=`.
pub fn parse_command(line: &str) -> Option<WorkflowCommand> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (head, message) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), unescape(v, true)))
        .collect();
    Some(WorkflowCommand {
        name: name.to_owned(),
        props,
        message: unescape(message, false),
    })
}

/// A tree of ten levels, each naming the level below ten times: 10^10 files.
pub fn tree_bomb(repo: &Repo) -> String {
    let blob = git_stdin(
        repo.path(),
        &["hash-object", "-w", "--stdin"],
        Some(b"leaf\n"),
    );
    let mut entry = format!("100644 blob {blob}");
    for _ in 0..10 {
        let listing: String = (0..10).map(|i| format!("{entry}\ta{i}\n")).collect();
        let id = git_stdin(repo.path(), &["mktree"], Some(listing.as_bytes()));
        entry = format!("040000 tree {id}");
    }
    entry
}

/// HEAD's tree at `dir` with `entry` added as `name`; the new tree's id.
pub fn with_entry(repo: &Repo, dir: &str, name: &str, entry: &str) -> String {
    let listing = repo.git(&["ls-tree", &format!("HEAD:{dir}")]);
    let mut lines: Vec<String> = listing
        .lines()
        .filter(|l| !l.ends_with(&format!("\t{name}")))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{entry}\t{name}"));
    git_stdin(
        repo.path(),
        &["mktree"],
        Some((lines.join("\n") + "\n").as_bytes()),
    )
}

//! Git hooks: `hook pre-push` (git's stdin lines: verify the tree of every pushed tip),
//! `hook pre-commit-framework` (the same check for the pre-commit framework, which hands
//! its hooks environment variables instead of git's stdin), and `hook install` /
//! `hook uninstall` (the pre-push hook file).
//!
//! A push is verified tip by tip: each ref's `<local-id>` is opened as `--rev` would open
//! it (annotated tags peeled), checked like `verify`, and — when the remote's old id is
//! in the repository — its mismatches are explained against that old id.

use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::findings::{Finding, Severity, count};
use crate::checks::integrity::{self, InventoryOptions, Overrides};
use crate::checks::pipeline;
use crate::cli::{Format, HookAction};
use crate::commands::ctx::{Ctx, io_out};
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::github::actions_env;
use crate::lock;
use crate::report::{github, human, json};
use crate::tree::git::{self, Selector, Snapshot};

/// The hook that `hook install` writes: the vendored `hooks/pre-push`, byte for byte.
const SCRIPT: &str = include_str!("../../hooks/pre-push");

/// The comment line that marks a hook as plugin-lock's own (install may replace it,
/// uninstall may remove it). Looked for in the first lines of an existing hook.
const MARKER: &str = "# plugin-lock pre-push hook:";

/// One pushed ref, from a stdin line of git's pre-push hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// As git passes it: a full ref name, or the expression given to `git push`
    /// (`HEAD~1`, an id). Informational only: `local_id` is what is verified.
    pub local_ref: String,
    pub local_id: String,
    pub remote_ref: String,
    /// The remote's current id; `None` when the remote has no such ref yet (all zeros).
    pub remote_id: Option<String>,
}

/// A stdin line: a ref to verify, or a deletion (nothing to verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Push(Update),
    Delete { remote_ref: String },
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number on stdin.
    pub line: usize,
    pub message: String,
}

/// A full object id: 40 (SHA-1) or 64 (SHA-256) hexadecimal digits.
fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// git's null id, in either length.
fn is_null(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == b'0')
}

/// Parses git's pre-push stdin: `<local-ref> SP <local-id> SP <remote-ref> SP <remote-id>`
/// per line. The three last fields never hold a space; the local ref is split from the
/// right, so an expression given to `git push` stays whole. Blank lines are skipped.
pub fn parse(input: &str) -> Result<Vec<Line>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in input.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let error = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let expected = || {
            error(format!(
                "expected `<local-ref> <local-id> <remote-ref> <remote-id>`, got `{}`",
                escape::shown(raw)
            ))
        };
        let mut fields = raw.rsplitn(4, ' ');
        let (Some(remote_id), Some(remote_ref), Some(local_id), Some(local_ref)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(expected());
        };
        if local_ref.is_empty() || remote_ref.is_empty() {
            return Err(expected());
        }
        for (what, id) in [("local", local_id), ("remote", remote_id)] {
            if !is_object_id(id) {
                return Err(error(format!(
                    "the {what} object id `{}` is not 40 or 64 hexadecimal digits",
                    escape::shown(id)
                )));
            }
        }
        if local_ref == "(delete)" || is_null(local_id) {
            out.push(Line::Delete {
                remote_ref: remote_ref.to_owned(),
            });
            continue;
        }
        out.push(Line::Push(Update {
            local_ref: local_ref.to_owned(),
            local_id: local_id.to_ascii_lowercase(),
            remote_ref: remote_ref.to_owned(),
            remote_id: (!is_null(remote_id)).then(|| remote_id.to_ascii_lowercase()),
        }));
    }
    Ok(out)
}

pub fn run(ctx: &mut Ctx<'_>, action: &HookAction) -> Result<u8> {
    let s = &ctx.cli.source;
    if s.rev.is_some() || s.index || s.worktree {
        return Err(Error::Usage(
            "hook commands read the pushed commits (or the hooks directory); --rev, --index and --worktree do not apply".into(),
        ));
    }
    match action {
        HookAction::PrePush { remote, url } => pre_push(ctx, remote.as_deref(), url.as_deref()),
        HookAction::PreCommitFramework => pre_commit_framework(ctx),
        HookAction::Install { force } => install(ctx, *force),
        HookAction::Uninstall { force } => uninstall(ctx, *force),
    }
}

/// How a verification reports: people on stderr, a JSON document on stdout, or
/// workflow-command annotations (the default inside GitHub Actions, as for `verify`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Human,
    Json,
    Github,
}

fn output(ctx: &Ctx<'_>) -> Result<Output> {
    Ok(match ctx.cli.format {
        Some(Format::Human) => Output::Human,
        Some(Format::Json) => Output::Json,
        Some(Format::Github) => Output::Github,
        Some(Format::Sarif) => {
            return Err(Error::Usage(
                "--format sarif is for `verify`; hooks print human, json or github".into(),
            ));
        }
        None if actions_env::in_actions() => Output::Github,
        None => Output::Human,
    })
}

/// Colour for what goes to stderr: only on a terminal, never with NO_COLOR.
fn stderr_style(ctx: &Ctx<'_>) -> human::Style {
    ctx.style_for(std::io::stderr().is_terminal())
}

fn pre_push(ctx: &mut Ctx<'_>, remote: Option<&str>, url: Option<&str>) -> Result<u8> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Usage(
            "`hook pre-push` is run by git, which writes the pushed refs to its stdin; to check a commit by hand, run `plugin-lock verify --rev REV`".into(),
        ));
    }
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).map_err(|source| Error::Io {
        path: "<stdin>".into(),
        source,
    })?;
    let input = String::from_utf8_lossy(&bytes);
    let lines = parse(&input)
        .map_err(|e| Error::Usage(format!("pre-push: stdin line {}: {}", e.line, e.message)))?;
    let updates: Vec<Update> = lines
        .into_iter()
        .filter_map(|l| match l {
            Line::Push(u) => Some(u),
            Line::Delete { .. } => None,
        })
        .collect();
    verify_updates(ctx, remote, url, &updates)
}

/// The pre-commit framework consumes git's stdin and evaluates only the first pushed ref:
/// `PRE_COMMIT_TO_REF` is its tip and `PRE_COMMIT_FROM_REF` the remote's old id (or the
/// parent of the first new commit). When it pushes a root commit it sets neither, only
/// `PRE_COMMIT_LOCAL_BRANCH`; a manual `pre-commit run` sets none of them (HEAD).
fn pre_commit_framework(ctx: &mut Ctx<'_>) -> Result<u8> {
    let var = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let local_branch = var("PRE_COMMIT_LOCAL_BRANCH");
    let target = var("PRE_COMMIT_TO_REF")
        .or_else(|| local_branch.clone())
        .unwrap_or_else(|| "HEAD".to_owned());
    let update = Update {
        local_ref: local_branch.unwrap_or_else(|| target.clone()),
        local_id: target,
        remote_ref: var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_default(),
        remote_id: var("PRE_COMMIT_FROM_REF"),
    };
    let remote = var("PRE_COMMIT_REMOTE_NAME");
    let url = var("PRE_COMMIT_REMOTE_URL");
    verify_updates(ctx, remote.as_deref(), url.as_deref(), &[update])
}

/// One verified tree (shared by every ref whose tip resolves to it).
struct Checked {
    commit: String,
    lock_path: String,
    plugins: usize,
    findings: Vec<Finding>,
}

impl Checked {
    fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// A pushed ref and its verification (`None`: its tip has no tree, e.g. a tag of a blob).
struct Verdict<'a> {
    update: &'a Update,
    checked: Option<usize>,
}

fn verify_updates(
    ctx: &mut Ctx<'_>,
    remote: Option<&str>,
    url: Option<&str>,
    updates: &[Update],
) -> Result<u8> {
    let format = output(ctx)?;
    if updates.is_empty() {
        // Nothing pushed but deletions, or nothing at all (up-to-date refs are omitted).
        if format == Output::Json {
            write_json(ctx, remote, url, &[], &[])?;
        }
        return Ok(exit::OK);
    }
    let repo = git::open_repo()?;
    let overrides = ctx.overrides()?;
    let mut checks: Vec<Checked> = Vec::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut by_commit: HashMap<String, usize> = HashMap::new();
    let mut verdicts = Vec::with_capacity(updates.len());
    for u in updates {
        let known = by_id.get(u.local_id.as_str()).copied();
        let index = match known {
            Some(i) => Some(i),
            None if !has_tree(&repo, &u.local_id) => None,
            None => {
                let index = verify_one(ctx, &repo, &overrides, u, &mut checks, &by_commit)
                    .inspect_err(|_| {
                        let _ = writeln!(
                            ctx.err,
                            "pre-push: cannot verify {} ({})",
                            escape::shown(&u.local_ref),
                            u.local_id
                        );
                    })?;
                by_commit.insert(checks[index].commit.clone(), index);
                by_id.insert(&u.local_id, index);
                Some(index)
            }
        };
        verdicts.push(Verdict {
            update: u,
            checked: index,
        });
    }
    match format {
        Output::Json => write_json(ctx, remote, url, &verdicts, &checks)?,
        Output::Human => {
            let style = stderr_style(ctx);
            let quiet = ctx.cli.quiet;
            write_human(ctx.err, &verdicts, &checks, style, quiet).map_err(io_out)?;
        }
        Output::Github => {
            let mut all: Vec<&Finding> = Vec::new();
            let mut seen = BTreeSet::new();
            for c in &checks {
                for f in &c.findings {
                    if seen.insert((
                        f.path.clone(),
                        f.line,
                        f.kind.as_str(),
                        f.plugin.clone(),
                        f.message(),
                    )) {
                        all.push(f);
                    }
                }
            }
            let owned: Vec<Finding> = all.into_iter().cloned().collect();
            github::annotations(ctx.out, &owned).map_err(io_out)?;
            github::without_commands(ctx.out, |out| {
                write_human(
                    out,
                    &verdicts,
                    &checks,
                    human::Style { color: false },
                    ctx.cli.quiet,
                )
            })
            .map_err(io_out)?;
        }
    }
    let failed = verdicts
        .iter()
        .any(|v| v.checked.is_some_and(|i| checks[i].failed()));
    Ok(if failed { exit::CHECK_FAILED } else { exit::OK })
}

/// Whether `id` peels to a commit or tree; `true` when unsure (opening it will say why).
fn has_tree(repo: &gix::ThreadSafeRepository, id: &str) -> bool {
    let Ok(oid) = gix::ObjectId::from_hex(id.as_bytes()) else {
        return true;
    };
    let repo = repo.to_thread_local();
    match repo
        .find_object(oid)
        .map(|o| o.peel_tags_to_end().map(|o| o.kind))
    {
        Ok(Ok(kind)) => kind != gix::object::Kind::Blob,
        _ => true,
    }
}

/// Verifies one ref's tip (reusing an earlier result for the same commit); returns the
/// index of its result in `checks`.
fn verify_one(
    ctx: &Ctx<'_>,
    repo: &gix::ThreadSafeRepository,
    overrides: &Overrides,
    u: &Update,
    checks: &mut Vec<Checked>,
    by_commit: &HashMap<String, usize>,
) -> Result<usize> {
    let snap = Snapshot::open(repo.clone(), &Selector::Rev(u.local_id.clone()))?;
    if let Some(&i) = by_commit.get(&snap.source) {
        return Ok(i);
    }
    let settings = {
        let local = snap.local_repo();
        let mut reader = snap.reader(&local);
        integrity::settings(&mut reader, overrides)?
    };
    // `--base` wins; else the remote's old id, when this repository has it. It only
    // explains: ownership comes from the pushed tree (a CODEOWNERS change must be pushable).
    let base = match ctx.cli.base.as_ref().or(u.remote_id.as_ref()) {
        Some(rev) => match pipeline::open_base(Some(rev), overrides, &settings)? {
            pipeline::Base::Unavailable(_) => pipeline::Base::None,
            base => base,
        },
        None => pipeline::Base::None,
    };
    let (inv, findings) = pipeline::evaluate(
        &snap,
        &settings,
        InventoryOptions::default(),
        &base,
        pipeline::OwnershipFrom::Verified,
        actions_env::change_base_sha().is_some(),
    )?;
    checks.push(Checked {
        commit: inv.source.clone(),
        lock_path: inv.lock_path.clone(),
        plugins: inv
            .plugins
            .iter()
            .filter(|p| p.status != integrity::Status::MissingDirectory)
            .count(),
        findings,
    });
    Ok(checks.len() - 1)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The pushed ref as given; an object id given as the source, shortened.
fn ref_name(u: &Update) -> String {
    let r = &u.local_ref;
    if r.len() >= 7 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        short(r).to_owned()
    } else {
        escape::shown(r).into_owned()
    }
}

/// `refs/heads/x (0123456789ab)`: the ref and the commit verified for it.
fn label(u: &Update, commit: &str) -> String {
    let name = ref_name(u);
    if commit.starts_with(&name) {
        name
    } else {
        format!("{name} ({})", short(commit))
    }
}

/// `in plugin alpha`, `in plugins alpha, beta and plugins/PLUGINS.lock`.
fn where_failed(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.severity == Severity::Error);
    let plugins: BTreeSet<&str> = errors.clone().filter_map(|f| f.plugin.as_deref()).collect();
    let files: BTreeSet<&str> = errors
        .filter(|f| f.plugin.is_none())
        .map(|f| f.path.as_str())
        .collect();
    let mut parts = Vec::new();
    if !plugins.is_empty() {
        let names: Vec<String> = plugins
            .iter()
            .map(|p| escape::shown(p).into_owned())
            .collect();
        let word = if names.len() == 1 {
            "plugin"
        } else {
            "plugins"
        };
        parts.push(format!("{word} {}", names.join(", ")));
    }
    parts.extend(files.iter().map(|f| escape::shown(f).into_owned()));
    parts.join(" and ")
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The findings of each failing tree, one line per ref, and what to do. Success is one
/// line (none with `quiet`).
fn write_human(
    out: &mut dyn Write,
    verdicts: &[Verdict<'_>],
    checks: &[Checked],
    style: human::Style,
    quiet: bool,
) -> std::io::Result<()> {
    let failed: Vec<&Verdict<'_>> = verdicts
        .iter()
        .filter(|v| v.checked.is_some_and(|i| checks[i].failed()))
        .collect();
    let skipped = verdicts.iter().filter(|v| v.checked.is_none());
    for v in skipped.filter(|_| !quiet) {
        writeln!(
            out,
            "pre-push: {} points at no commit or tree; nothing to verify",
            label(v.update, &v.update.local_id)
        )?;
    }
    if failed.is_empty() {
        if quiet {
            return Ok(());
        }
        let verified: Vec<&Checked> = verdicts
            .iter()
            .filter_map(|v| v.checked.map(|i| &checks[i]))
            .collect();
        let Some(first) = verified.first() else {
            return Ok(());
        };
        let mut warnings = 0;
        let mut shown = BTreeSet::new();
        for c in &verified {
            if shown.insert(&c.commit) {
                warnings += count(&c.findings, Severity::Warning);
            }
        }
        let mut line = format!(
            "pre-push: {} {} verified against {}",
            style_ok(style),
            plural(verified.len(), "ref"),
            escape::shown(&first.lock_path)
        );
        if warnings > 0 {
            line.push_str(&format!(
                " ({}; `plugin-lock verify` shows them)",
                plural(warnings, "warning")
            ));
        }
        return writeln!(out, "{line}");
    }
    // Each failing tree's findings once, headed by the refs that push it.
    let mut printed = BTreeSet::new();
    for v in &failed {
        let i = v.checked.expect("failed refs were checked");
        if !printed.insert(i) {
            continue;
        }
        let c = &checks[i];
        let refs: Vec<String> = verdicts
            .iter()
            .filter(|w| w.checked == Some(i))
            .map(|w| ref_name(w.update))
            .collect();
        writeln!(
            out,
            "pre-push: {} (commit {}) does not pass plugin-lock:\n",
            refs.join(", "),
            short(&c.commit)
        )?;
        for f in &c.findings {
            if quiet && f.severity != Severity::Error {
                continue;
            }
            human::finding(out, f, style)?;
        }
    }
    for v in verdicts {
        let Some(i) = v.checked else { continue };
        let c = &checks[i];
        let target = if v.update.remote_ref.is_empty() {
            String::new()
        } else {
            format!(" -> {}", escape::shown(&v.update.remote_ref))
        };
        if c.failed() {
            writeln!(
                out,
                "pre-push: {} {}{target}: {} in {}",
                style_failed(style),
                label(v.update, &c.commit),
                plural(count(&c.findings, Severity::Error), "error"),
                where_failed(&c.findings)
            )?;
        } else if !quiet {
            writeln!(
                out,
                "pre-push: ok {}{target}: {} match {}",
                label(v.update, &c.commit),
                plural(c.plugins, "plugin"),
                escape::shown(&c.lock_path)
            )?;
        }
    }
    let lock_path = &checks[failed[0].checked.expect("checked")].lock_path;
    writeln!(
        out,
        "pre-push: push stopped, nothing was pushed: {} of {} failed.",
        failed.len(),
        plural(verdicts.len(), "ref")
    )?;
    writeln!(
        out,
        "  fix: on the failing branch run `plugin-lock update`, review and commit {} (or restore the plugins' files), then push again; the help lines above say what `update` cannot fix.",
        escape::shown(lock_path)
    )?;
    if failed
        .iter()
        .any(|v| v.update.local_ref.starts_with("refs/tags/"))
    {
        writeln!(
            out,
            "  a tag: fix the commit on its branch, then move the tag to the fixed commit (`git tag -f`) and push it again."
        )?;
    }
    Ok(())
}

fn style_ok(style: human::Style) -> String {
    if style.color {
        "\x1b[1;32mok\x1b[0m".to_owned()
    } else {
        "ok".to_owned()
    }
}

fn style_failed(style: human::Style) -> String {
    if style.color {
        "\x1b[1;31mFAILED\x1b[0m".to_owned()
    } else {
        "FAILED".to_owned()
    }
}

fn write_json(
    ctx: &mut Ctx<'_>,
    remote: Option<&str>,
    url: Option<&str>,
    verdicts: &[Verdict<'_>],
    checks: &[Checked],
) -> Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        remote: Option<&'a str>,
        url: Option<&'a str>,
        verdict: &'static str,
        refs: Vec<RefJson<'a>>,
    }
    #[derive(Serialize)]
    struct RefJson<'a> {
        local_ref: &'a str,
        local_id: &'a str,
        remote_ref: &'a str,
        remote_id: Option<&'a str>,
        /// The commit (or tree) verified: `local_id` peeled.
        commit: Option<&'a str>,
        verdict: &'static str,
        findings: Vec<json::FindingJson<'a>>,
    }
    let refs: Vec<RefJson<'_>> = verdicts
        .iter()
        .map(|v| {
            let c = v.checked.map(|i| &checks[i]);
            RefJson {
                local_ref: &v.update.local_ref,
                local_id: &v.update.local_id,
                remote_ref: &v.update.remote_ref,
                remote_id: v.update.remote_id.as_deref(),
                commit: c.map(|c| c.commit.as_str()),
                verdict: match c {
                    None => "skipped",
                    Some(c) if c.failed() => "fail",
                    Some(_) => "pass",
                },
                findings: c
                    .map(|c| c.findings.iter().map(json::FindingJson::new).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let failed = refs.iter().any(|r| r.verdict == "fail");
    json::write(
        ctx.out,
        &Doc {
            remote,
            url,
            verdict: if failed { "fail" } else { "pass" },
            refs,
        },
    )
    .map_err(io_out)
}

// ---------------------------------------------------------------------------------------
// install / uninstall

/// The hooks directory as git finds it: `core.hooksPath` (a relative path is relative to
/// the work tree's root, where git runs hooks; in a bare repository to the git directory),
/// else `hooks/` in the common git directory (linked worktrees share it).
fn hooks_dir() -> Result<PathBuf> {
    let repo = git::open_repo()?.to_thread_local();
    let configured = repo
        .config_snapshot()
        .string("core.hooksPath")
        .filter(|p| !p.is_empty());
    if let Some(value) = configured {
        let text = String::from_utf8_lossy(&value).into_owned();
        let path = match text.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(rest))
                .unwrap_or_else(|| PathBuf::from(&text)),
            None => PathBuf::from(&text),
        };
        if path.is_absolute() {
            return Ok(path);
        }
        let base = repo.workdir().unwrap_or_else(|| repo.git_dir());
        return Ok(base.join(path));
    }
    Ok(repo.common_dir().join("hooks"))
}

/// The script with LF line ends (a CRLF checkout of the source must not break `sh`).
fn script() -> String {
    SCRIPT.replace("\r\n", "\n")
}

fn is_ours(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .take(8)
        .any(|line| line.starts_with(MARKER.as_bytes()))
}

/// The most of an existing hook read to recognise it: ours is well under this, and its
/// marker is in the first lines. A bigger file is never equal to the script.
const MAX_HOOK_BYTES: u64 = 64 * 1024;

/// The current hook's bytes: `None` when there is none. Anything that is not a regular
/// file (a FIFO, a device, a dangling link), through a link or not, reads as empty: a
/// hook plugin-lock did not write.
fn existing_hook(path: &Path) -> Result<Option<Vec<u8>>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!(
            "{} is a directory, not a hook; remove it first",
            path.display()
        ))),
        Ok(_) => match read_regular(path) {
            Ok(bytes) => Ok(Some(bytes.unwrap_or_default())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(Vec::new())),
            Err(e) => Err(io(e)),
        },
    }
}

/// Up to [`MAX_HOOK_BYTES`] of `path` when it is (or links to) a regular file, else
/// `None`. A FIFO would block `open` and `read` forever and `/dev/zero` never ends:
/// `stat` first (no device is opened), then `O_NONBLOCK` and `fstat` of what was opened
/// (the path may have changed in between), and a read that stops at the bound whatever
/// the metadata says.
fn read_regular(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_HOOK_BYTES).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 == 0o111)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Whether `plugin-lock` can be found on PATH, as the hook's `command -v` looks for it.
fn on_path() -> bool {
    let names: &[&str] = if cfg!(windows) {
        &["plugin-lock.exe", "plugin-lock"]
    } else {
        &["plugin-lock"]
    };
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| names.iter().any(|n| dir.join(n).is_file()))
    })
}

/// The hook's path as a message shows it: `core.hooksPath` is the repository's to set,
/// and a line break in it would start a line of its choosing (a forged verdict on a
/// terminal), so it is escaped like every repository string.
fn shown_path(path: &Path) -> String {
    crate::escape::shown(&path.to_string_lossy()).into_owned()
}

/// `hook install` / `hook uninstall` print human or json; never github or sarif.
fn plain_json(ctx: &Ctx<'_>) -> Result<bool> {
    match ctx.cli.format {
        None | Some(Format::Human) => Ok(false),
        Some(Format::Json) => Ok(true),
        Some(_) => Err(Error::Usage(
            "hook install and uninstall print human or json".into(),
        )),
    }
}

fn report_file(
    ctx: &mut Ctx<'_>,
    json_out: bool,
    path: &Path,
    action: &str,
    text: &str,
) -> Result<()> {
    if json_out {
        #[derive(Serialize)]
        struct Doc<'a> {
            hook: String,
            action: &'a str,
        }
        json::write(
            ctx.out,
            &Doc {
                hook: path.display().to_string(),
                action,
            },
        )
        .map_err(io_out)
    } else if ctx.cli.quiet {
        Ok(())
    } else {
        writeln!(ctx.out, "{text}").map_err(io_out)
    }
}

fn install(ctx: &mut Ctx<'_>, force: bool) -> Result<u8> {
    let json_out = plain_json(ctx)?;
    let dir = hooks_dir()?;
    let path = dir.join("pre-push");
    let script = script();
    let action = match existing_hook(&path)? {
        None => "installed",
        Some(bytes) if bytes == script.as_bytes() && is_executable(&path) => {
            let text = format!("hook install: {} is installed already", shown_path(&path));
            report_file(ctx, json_out, &path, "unchanged", &text)?;
            return Ok(exit::OK);
        }
        Some(bytes) if is_ours(&bytes) => "updated",
        Some(_) if force => "replaced",
        Some(_) => {
            return Err(Error::Usage(format!(
                "{} is a pre-push hook that plugin-lock did not write; it is kept. Call `plugin-lock hook pre-push \"$1\" \"$2\"` from it with git's stdin, or replace it with `plugin-lock hook install --force`",
                path.display()
            )));
        }
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    lock::write_atomic(&path, script.as_bytes())
        .and_then(|()| make_executable(&path))
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    let text = format!(
        "hook install: {action} {}\n  `git push` now verifies every pushed branch and tag; `plugin-lock hook uninstall` removes the hook",
        shown_path(&path)
    );
    report_file(ctx, json_out, &path, action, &text)?;
    if !on_path() {
        writeln!(
            ctx.err,
            "hook install: note: plugin-lock is not on PATH, so the hook stops every push until it is (`cargo install --locked --path .` in plugin-lock's repository)"
        )
        .map_err(io_out)?;
    }
    Ok(exit::OK)
}

fn uninstall(ctx: &mut Ctx<'_>, force: bool) -> Result<u8> {
    let json_out = plain_json(ctx)?;
    let path = hooks_dir()?.join("pre-push");
    match existing_hook(&path)? {
        None => {
            let text = format!(
                "hook uninstall: there is no pre-push hook at {}; nothing to remove",
                shown_path(&path)
            );
            report_file(ctx, json_out, &path, "absent", &text)?;
        }
        Some(bytes) if is_ours(&bytes) || force => {
            std::fs::remove_file(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let text = format!("hook uninstall: removed {}", shown_path(&path));
            report_file(ctx, json_out, &path, "removed", &text)?;
        }
        Some(_) => {
            return Err(Error::Usage(format!(
                "{} is a pre-push hook that plugin-lock did not write; it is kept (remove it yourself, or with `plugin-lock hook uninstall --force`)",
                path.display()
            )));
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z40: &str = "0000000000000000000000000000000000000000";
    const Z64: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const C64: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

    fn push(local_ref: &str, local_id: &str, remote_ref: &str, remote_id: Option<&str>) -> Line {
        Line::Push(Update {
            local_ref: local_ref.into(),
            local_id: local_id.into(),
            remote_ref: remote_ref.into(),
            remote_id: remote_id.map(Into::into),
        })
    }

    #[test]
    fn empty_input_is_nothing_to_verify() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("\n\n"), Ok(vec![]));
    }

    #[test]
    fn every_line_is_read_not_only_the_first() {
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\nrefs/tags/v1 {B} refs/tags/v1 {Z40}\n"
        );
        assert_eq!(
            parse(&input).unwrap(),
            vec![
                push("refs/heads/main", A, "refs/heads/main", Some(B)),
                push("refs/tags/v1", B, "refs/tags/v1", None),
            ]
        );
    }

    #[test]
    fn zeros_of_both_lengths_are_null() {
        let new64 = format!("refs/heads/x {C64} refs/heads/x {Z64}\n");
        assert_eq!(
            parse(&new64).unwrap(),
            vec![push("refs/heads/x", C64, "refs/heads/x", None)]
        );
        let del40 = format!("(delete) {Z40} refs/heads/gone {A}\n");
        let del64 = format!("(delete) {Z64} refs/heads/gone {C64}\n");
        for input in [del40, del64] {
            assert_eq!(
                parse(&input).unwrap(),
                vec![Line::Delete {
                    remote_ref: "refs/heads/gone".into()
                }]
            );
        }
    }

    #[test]
    fn expressions_stay_whole_and_the_id_is_what_counts() {
        let input = format!("HEAD~1 {A} refs/heads/x {Z40}\n{B} {B} refs/heads/y {A}\r\n");
        assert_eq!(
            parse(&input).unwrap(),
            vec![
                push("HEAD~1", A, "refs/heads/x", None),
                push(B, B, "refs/heads/y", Some(A)),
            ]
        );
        // An expression with a space (`HEAD@{1 day ago}`) is split from the right.
        let spaced = format!("HEAD@{{1 day ago}} {A} refs/heads/x {B}\n");
        assert_eq!(
            parse(&spaced).unwrap(),
            vec![push("HEAD@{1 day ago}", A, "refs/heads/x", Some(B))]
        );
    }

    #[test]
    fn malformed_lines_name_their_number() {
        let ok = format!("refs/heads/a {A} refs/heads/a {B}\n");
        for bad in [
            "garbage".to_owned(),
            format!("refs/heads/a {A} refs/heads/a"),
            format!("refs/heads/a {A} refs/heads/a 1234"),
            format!("refs/heads/a xyz{} refs/heads/a {B}", &A[3..]),
            format!(" {A} refs/heads/a {B}"),
            format!("refs/heads/a {A}  {B}"),
        ] {
            let input = format!("{ok}{bad}\n");
            let err = parse(&input).unwrap_err();
            assert_eq!(err.line, 2, "{bad:?}: {err:?}");
            assert!(!err.message.is_empty());
        }
        let hostile = parse("a\x1b[31m b c d\n").unwrap_err();
        assert!(!hostile.message.contains('\x1b'), "{hostile:?}");
    }

    #[test]
    fn the_installed_hook_is_the_vendored_one_and_recognised() {
        let s = script();
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("exec plugin-lock hook pre-push \"$@\""));
        assert!(is_ours(s.as_bytes()));
        assert!(!is_ours(b"#!/bin/sh\nexec other-tool\n"));
        assert!(!s.contains('\r'));
    }
}

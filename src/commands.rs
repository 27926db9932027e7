//! One function per command: open the tree, ask the check, hand the result to a renderer,
//! return the exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use gix::bstr::BStr;

use crate::actions_env;
use crate::approvals;
use crate::cache::Cache;
use crate::changes;
use crate::check::{self, Inventory, InventoryOptions, LockState, Overrides, Settings};
use crate::checkrun;
use crate::cli::{Cli, ColorChoice, Command, Format};
use crate::codeowners;
use crate::config;
use crate::digest;
use crate::error::{Error, Result, exit};
use crate::findings::{Finding, Severity};
use crate::lock;
use crate::ownership;
use crate::pipeline::{self, OwnershipFrom};
use crate::render::{self, escape, github, human, json, sarif};
use crate::source::{self, Kind, Selector, Snapshot};
use crate::write_path;

/// The formats of commands other than `verify`.
#[derive(Clone, Copy)]
enum Plain {
    Human,
    Json,
}

/// What every command gets: the parsed flags and where to write.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// `verify`'s format: `github` by default inside GitHub Actions.
    fn verify_format(&self) -> Format {
        match self.cli.format {
            Some(format) => format,
            None if actions_env::in_actions() => Format::Github,
            None => Format::Human,
        }
    }

    /// Every other command speaks `human` or `json`.
    fn format(&self) -> Result<Plain> {
        match self.cli.format {
            None | Some(Format::Human) => Ok(Plain::Human),
            Some(Format::Json) => Ok(Plain::Json),
            Some(Format::Github | Format::Sarif) => Err(Error::Usage(
                "--format github and sarif are for `verify`; this command prints human or json"
                    .into(),
            )),
        }
    }

    fn style(&self) -> human::Style {
        self.style_for(std::io::stdout().is_terminal())
    }

    /// Colour on `--color always`, or on `auto` when the stream is a terminal and
    /// NO_COLOR is unset.
    pub(crate) fn style_for(&self, terminal: bool) -> human::Style {
        let color = match self.cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal
            }
        };
        human::Style { color }
    }

    fn selector(&self, default: Selector) -> Result<Selector> {
        let s = &self.cli.source;
        // clap does not enforce the group for global flags given after the subcommand.
        if usize::from(s.rev.is_some()) + usize::from(s.index) + usize::from(s.worktree) > 1 {
            return Err(Error::Usage(
                "--rev, --index and --worktree each name the tree to read; give only one".into(),
            ));
        }
        Ok(if let Some(rev) = &s.rev {
            Selector::Rev(rev.clone())
        } else if s.index {
            Selector::Index
        } else if s.worktree {
            Selector::Worktree
        } else {
            default
        })
    }

    pub(crate) fn overrides(&self) -> Result<Overrides> {
        let c = &self.cli.config;
        let symlinks = match &c.symlinks {
            None => None,
            Some(s) => Some(config::parse_symlink_policy(s).ok_or_else(|| {
                Error::Usage(format!("--symlinks takes `follow` or `as-link`, not `{s}`"))
            })?),
        };
        for glob in &c.plugins {
            config::compile_glob(glob).map_err(|problem| {
                Error::Usage(format!(
                    "--plugins: glob `{}` {problem}",
                    config::shown_glob(glob)
                ))
            })?;
        }
        Ok(Overrides {
            plugins: c.plugins.clone(),
            lock: c.lock.clone(),
            manifest: c.manifest.as_ref().map(|m| match m.as_str() {
                "none" => None,
                name => Some(name.to_owned()),
            }),
            symlinks,
            required_owners: c.required_owners.clone(),
        })
    }
}

pub(crate) fn io_out(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

pub fn run(ctx: &mut Ctx<'_>) -> Result<u8> {
    match &ctx.cli.command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "plugin-lock", ctx.out);
            Ok(exit::OK)
        }
        Command::Verify {
            report,
            bench_read_only,
            check_run,
            check_approvals,
        } => verify(
            ctx,
            report.as_deref(),
            *bench_read_only,
            *check_run,
            *check_approvals,
        ),
        Command::List => list(ctx),
        Command::Owners { paths } => owners(ctx, paths),
        Command::Diff { revs } => diff(ctx, revs),
        Command::Update { check, stdout } => update(ctx, *check, *stdout),
        Command::Digest { dirs, explain } => digest_dirs(ctx, dirs, *explain),
        Command::Hook { action } => crate::hook::run(ctx, action),
    }
}

/// Opens the repository and the tree, and reads the settings from it.
fn open(ctx: &Ctx<'_>, default: Selector) -> Result<(Snapshot, Settings)> {
    let selector = ctx.selector(default)?;
    let snap = Snapshot::open(source::open_repo()?, &selector)?;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let settings = check::settings(&mut reader, &ctx.overrides()?)?;
    Ok((snap, settings))
}

pub(crate) fn checked(
    snap: &Snapshot,
    settings: &Settings,
    options: InventoryOptions,
) -> Result<(Inventory, Vec<Finding>)> {
    let cache = Cache::open(snap, &settings.config);
    let inv = check::inventory(snap, settings, options, cache.as_ref())?;
    if let Some(cache) = cache {
        cache.save();
    }
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let fallback = check::fallback_location(&mut reader, &inv, settings)?;
    let findings = settings
        .levels
        .apply(check::findings(&inv, settings, &fallback));
    Ok((inv, findings))
}

fn verdict_code(findings: &[Finding]) -> u8 {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        exit::CHECK_FAILED
    } else {
        exit::OK
    }
}

fn verify(
    ctx: &mut Ctx<'_>,
    report: Option<&Path>,
    read_only: bool,
    check_run: bool,
    check_approvals: bool,
) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let options = InventoryOptions { read_only };
    // Approvals compare with the pull request's base even outside Actions.
    let base_rev =
        base_rev(ctx).or_else(|| check_approvals.then(actions_env::change_base_sha).flatten());
    let base = pipeline::open_base(base_rev.as_deref(), &ctx.overrides()?, &settings)?;
    let (inv, mut findings) =
        pipeline::evaluate(&snap, &settings, options, &base, OwnershipFrom::Base)?;
    if check_approvals {
        let outcome = approvals::check(&snap, &settings, &base, &approvals::PrEnv::from_env())?;
        // The base's severities, as for ownership: a change cannot switch the check off.
        let levels = match &base {
            pipeline::Base::Present(b) => &b.1.levels,
            _ => &settings.levels,
        };
        findings.extend(levels.apply(outcome.findings));
        crate::findings::sort(&mut findings);
        if let Some(note) = outcome.note.filter(|_| !ctx.cli.quiet) {
            let _ = writeln!(ctx.err, "{note}");
        }
    }
    let style = ctx.style();
    let format = ctx.verify_format();
    let verdict = human::Verdict {
        command: "verify",
        source: &inv.source,
        lock_path: &inv.lock_path,
        plugins: inv
            .plugins
            .iter()
            .filter(|p| p.status != check::Status::MissingDirectory)
            .count(),
    };
    // The JSON report: where asked (replacing the path, never writing through it), and
    // always with `github`, as a fresh file whose path is the `report` output.
    let report_path = match (report, format) {
        (None, Format::Human | Format::Json | Format::Sarif) => None,
        (Some(path), _) => {
            let repo = snap.local_repo();
            write_path::report_file(
                snap.workdir.as_deref(),
                &[repo.git_dir(), repo.common_dir()],
                path,
            )?;
            let mut bytes = Vec::new();
            json::verify(&mut bytes, &inv, &findings).map_err(io_out)?;
            lock::write_atomic(path, &bytes).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Some(path.to_path_buf())
        }
        (None, Format::Github) => {
            let mut bytes = Vec::new();
            json::verify(&mut bytes, &inv, &findings).map_err(io_out)?;
            Some(write_path::fresh_report(&report_dir(), &bytes)?)
        }
    };
    match format {
        Format::Json => json::verify(ctx.out, &inv, &findings),
        Format::Sarif => sarif::write(ctx.out, &findings),
        Format::Human => human::report(ctx.out, &findings, &verdict, style, ctx.cli.quiet),
        Format::Github => {
            github::annotations(ctx.out, &findings).map_err(io_out)?;
            github::without_commands(ctx.out, |out| {
                human::report(
                    out,
                    &findings,
                    &verdict,
                    human::Style { color: false },
                    ctx.cli.quiet,
                )
            })
            .map_err(io_out)?;
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            let summary = github::summary(&inv, &findings, "verify");
            match &report_path {
                Some(path) => github::publish(&summary, errors > 0, errors, path),
                None => Ok(()),
            }
        }
    }
    .map_err(io_out)?;
    if check_run {
        // The report first (the API may take a while); the exit code never depends on it.
        let _ = ctx.out.flush();
        let summary = github::summary(&inv, &findings, "verify");
        let outcome = checkrun::publish(&findings, &summary, &checkrun::GithubEnv::from_env());
        let quiet = ctx.cli.quiet && matches!(outcome, checkrun::Outcome::Created { .. });
        if let Some(note) = outcome.note(format == Format::Github).filter(|_| !quiet) {
            let _ = writeln!(ctx.err, "{note}");
        }
    }
    Ok(verdict_code(&findings))
}

/// The base of explanations: `--base`, else a pull request's base inside Actions.
fn base_rev(ctx: &Ctx<'_>) -> Option<String> {
    ctx.cli.base.clone().or_else(|| {
        actions_env::in_actions()
            .then(actions_env::change_base_sha)
            .flatten()
    })
}

/// `owners [PATH...]`: GitHub's answer per path, or the ownership report. With
/// `--base`, CODEOWNERS comes from the base tree, as GitHub reads it for a pull request.
fn owners(ctx: &mut Ctx<'_>, paths: &[String]) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let base = pipeline::open_base(ctx.cli.base.as_deref(), &ctx.overrides()?, &settings)?;
    let file = {
        let (from, _) = match &base {
            pipeline::Base::Present(b) => (&b.0, &b.1),
            _ => (&snap, &settings),
        };
        let repo = from.local_repo();
        let mut reader = from.reader(&repo);
        ownership::load(&mut reader)?
    };
    let code = if file.as_ref().is_some_and(|f| !f.errors.is_empty()) {
        exit::CHECK_FAILED
    } else {
        exit::OK
    };
    if let Some(f) = file.as_ref().filter(|f| !f.errors.is_empty()) {
        for e in &f.errors {
            writeln!(
                ctx.err,
                "plugin-lock: {}:{}:{}: {}",
                escape::shown(&f.path),
                e.line,
                e.column,
                escape::shown(&e.message)
            )
            .map_err(io_out)?;
        }
    }
    let codeowners = file.as_ref().map(|f| f.path.clone());
    #[derive(serde::Serialize)]
    struct Entry {
        path: String,
        owners: Vec<String>,
        line: Option<u32>,
    }
    let entry = |path: &str| {
        let a = ownership::answer(file.as_ref(), path);
        Entry {
            path: a.path,
            owners: a.owners,
            line: a.line,
        }
    };
    if !paths.is_empty() {
        let mut entries = Vec::with_capacity(paths.len());
        for p in paths {
            entries.push(entry(&tree_path(&snap.prefix, p)?));
        }
        match ctx.format()? {
            Plain::Json => {
                #[derive(serde::Serialize)]
                struct Doc {
                    codeowners: Option<String>,
                    paths: Vec<Entry>,
                }
                json::write(
                    ctx.out,
                    &Doc {
                        codeowners,
                        paths: entries,
                    },
                )
            }
            Plain::Human => entries.iter().try_for_each(|e| {
                let who = if e.owners.is_empty() {
                    "-".to_owned()
                } else {
                    human::owners(&e.owners)
                };
                writeln!(ctx.out, "{}  {who}", escape::shown(&e.path))
            }),
        }
        .map_err(io_out)?;
        return Ok(code);
    }
    // The report: the lock, the configuration, and each plugin's unowned files.
    let cache = Cache::open(&snap, &settings.config);
    let inv = check::inventory(
        &snap,
        &settings,
        InventoryOptions::default(),
        cache.as_ref(),
    )?;
    #[derive(serde::Serialize)]
    struct PluginOwners {
        id: String,
        owners: Vec<String>,
        unowned: Vec<String>,
    }
    // Without CODEOWNERS no rule matches: every plugin file is unowned.
    let nobody = codeowners::parse(b"").0;
    let (rules, fingerprint) = match &file {
        Some(f) => (&f.owners, f.fingerprint.clone()),
        None => (&nobody, digest::sha256_hex(&[])),
    };
    let surveyed = ownership::survey_inventory(&snap, rules, &fingerprint, &inv, cache.as_ref())?;
    if let Some(cache) = cache {
        cache.save();
    }
    let plugins: Vec<PluginOwners> = surveyed
        .plugins
        .into_iter()
        .filter_map(|(i, found)| {
            inv.plugins.get(i).map(|p| PluginOwners {
                id: p.id.clone(),
                owners: found.owners,
                unowned: found.unowned,
            })
        })
        .collect();
    let lock = entry(&settings.config.lock);
    let config = settings.config_exists.then(|| entry(check::CONFIG_FILE));
    match ctx.format()? {
        Plain::Json => {
            #[derive(serde::Serialize)]
            struct Doc {
                codeowners: Option<String>,
                lock: Entry,
                config: Option<Entry>,
                plugins: Vec<PluginOwners>,
            }
            json::write(
                ctx.out,
                &Doc {
                    codeowners,
                    lock,
                    config,
                    plugins,
                },
            )
        }
        Plain::Human => (|| {
            let who = |o: &[String]| {
                if o.is_empty() {
                    "-".to_owned()
                } else {
                    human::owners(o)
                }
            };
            let at = |l: Option<u32>| l.map(|l| format!(" (line {l})")).unwrap_or_default();
            match &codeowners {
                Some(c) => writeln!(ctx.out, "CODEOWNERS: {}", escape::shown(c))?,
                None => writeln!(ctx.out, "CODEOWNERS: none")?,
            }
            writeln!(
                ctx.out,
                "{}  {}{}",
                escape::shown(&lock.path),
                who(&lock.owners),
                at(lock.line)
            )?;
            if let Some(c) = &config {
                writeln!(
                    ctx.out,
                    "{}  {}{}",
                    escape::shown(&c.path),
                    who(&c.owners),
                    at(c.line)
                )?;
            }
            for p in &plugins {
                let tail = if p.unowned.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  ({} unowned file(s): {})",
                        p.unowned.len(),
                        p.unowned
                            .iter()
                            .take(3)
                            .map(|f| escape::shown(f).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                writeln!(
                    ctx.out,
                    "{}  {}{tail}",
                    escape::shown(&p.id),
                    who(&p.owners)
                )?;
            }
            Ok(())
        })(),
    }
    .map_err(io_out)?;
    Ok(code)
}

/// `diff A B` (or `A..B`): every plugin's class of change.
fn diff(ctx: &mut Ctx<'_>, revs: &[String]) -> Result<u8> {
    let (a, b) = match revs {
        [one] => one
            .split_once("..")
            .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.starts_with('.'))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .ok_or_else(|| Error::Usage(format!("`{one}`: give two revisions, `A B` or `A..B`")))?,
        [a, b] => (a.clone(), b.clone()),
        _ => return Err(Error::Usage("diff takes two revisions".into())),
    };
    if ctx.cli.source.index || ctx.cli.source.worktree || ctx.cli.source.rev.is_some() {
        return Err(Error::Usage(
            "diff reads its two revisions; --rev, --index and --worktree do not apply".into(),
        ));
    }
    let open_side = |rev: &str| -> Result<(Snapshot, Settings)> {
        let snap = Snapshot::open(source::open_repo()?, &Selector::Rev(rev.to_owned()))?;
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        let settings = check::settings(&mut reader, &ctx.overrides()?)?;
        drop(reader);
        Ok((snap, settings))
    };
    let (sa, seta) = open_side(&a)?;
    let (sb, setb) = open_side(&b)?;
    let d = changes::diff((&sa, &seta), (&sb, &setb))?;
    match ctx.format()? {
        Plain::Json => json::write(ctx.out, &d),
        Plain::Human => human::diff(ctx.out, &d, ctx.cli.verbose),
    }
    .map_err(io_out)?;
    Ok(exit::OK)
}

/// Where the default report goes: `$RUNNER_TEMP`, or the system temp dir outside Actions.
fn report_dir() -> PathBuf {
    std::env::var_os("RUNNER_TEMP")
        .filter(|v| !v.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

fn list(ctx: &mut Ctx<'_>) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let (inv, _) = pipeline::evaluate(
        &snap,
        &settings,
        InventoryOptions::default(),
        &pipeline::Base::None,
        OwnershipFrom::Verified,
    )?;
    match ctx.format()? {
        Plain::Json => json::list(ctx.out, &inv),
        Plain::Human => human::inventory(ctx.out, &inv, ctx.cli.verbose),
    }
    .map_err(io_out)?;
    Ok(exit::OK)
}

#[derive(serde::Serialize)]
struct Change<'a> {
    id: &'a str,
    change: &'static str,
    from: Option<&'a str>,
    to: Option<&'a str>,
}

fn changes<'a>(
    old: &'a BTreeMap<String, String>,
    new: &'a BTreeMap<String, String>,
) -> Vec<Change<'a>> {
    let mut out = Vec::new();
    for (id, digest) in new {
        match old.get(id) {
            None => out.push(Change {
                id,
                change: "added",
                from: None,
                to: Some(digest),
            }),
            Some(before) if before != digest => out.push(Change {
                id,
                change: "changed",
                from: Some(before),
                to: Some(digest),
            }),
            Some(_) => {}
        }
    }
    for (id, digest) in old {
        if !new.contains_key(id) {
            out.push(Change {
                id,
                change: "removed",
                from: Some(digest),
                to: None,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(b.id));
    out
}

fn update(ctx: &mut Ctx<'_>, check_only: bool, to_stdout: bool) -> Result<u8> {
    let no_source_flag =
        ctx.cli.source.rev.is_none() && !ctx.cli.source.index && !ctx.cli.source.worktree;
    if no_source_flag && source::open_repo()?.to_thread_local().workdir().is_none() {
        return Err(Error::Usage(
            "this repository is bare: there is no work tree to read or write; use `update --rev REV --stdout` (or `--check`)".into(),
        ));
    }
    let (snap, settings) = open(ctx, Selector::Worktree)?;
    // Checked before any work (the cache lives in `.git`): a refused path changes nothing.
    let target = if check_only || to_stdout {
        None
    } else {
        Some(lock_target(ctx, &snap, &settings)?)
    };
    let (inv, findings) = checked(&snap, &settings, InventoryOptions::default())?;
    let lock_path = inv.lock_path.clone();
    let style = ctx.style();

    // A rejected plugin has no digest to record: refuse, lock untouched. The reasons
    // are the rejections themselves (one per plugin), not the plugin's other findings.
    let rejected: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.plugin.as_ref().is_some_and(|id| {
                inv.plugins.iter().any(|p| {
                    &p.id == id
                        && p.rejection
                            .as_ref()
                            .is_some_and(|r| r.path == f.path && r.kind.as_str() == f.kind.as_str())
                })
            })
        })
        .collect();
    if !rejected.is_empty() {
        match ctx.format()? {
            Plain::Json => {
                #[derive(serde::Serialize)]
                struct Doc<'a> {
                    lock: &'a str,
                    source: &'a str,
                    written: bool,
                    refused: bool,
                    findings: Vec<json::FindingJson<'a>>,
                }
                json::write(
                    ctx.out,
                    &Doc {
                        lock: &lock_path,
                        source: &inv.source,
                        written: false,
                        refused: true,
                        findings: rejected.iter().map(|f| json::FindingJson::new(f)).collect(),
                    },
                )
                .map_err(io_out)?;
            }
            Plain::Human => {
                for f in &rejected {
                    human::finding(ctx.err, f, style).map_err(io_out)?;
                }
                writeln!(
                    ctx.err,
                    "update: refused: {} plugin(s) rejected; {} is unchanged",
                    rejected.len(),
                    escape::shown(&lock_path)
                )
                .map_err(io_out)?;
            }
        }
        return Ok(exit::CHECK_FAILED);
    }

    let new: BTreeMap<String, String> = inv
        .plugins
        .iter()
        .filter_map(|p| p.digest.as_ref().map(|d| (p.id.clone(), d.clone())))
        .collect();
    let old = match &inv.lock {
        LockState::Parsed { lock, .. } => lock.to_map(),
        _ => BTreeMap::new(),
    };
    let malformed = match &inv.lock {
        LockState::Malformed {
            line,
            column,
            message,
        } => Some(format!("{lock_path}:{line}:{column}: {message}")),
        _ => None,
    };
    let diff = changes(&old, &new);
    let rendered = lock::render(&new);
    let stale = !diff.is_empty() || malformed.is_some() || matches!(inv.lock, LockState::Missing);

    let mut written = false;
    if let Some(path) = target {
        let current = std::fs::read(&path).ok();
        // Read from the work tree, the lock was compared as git would store it: an
        // up-to-date lock checked out with CRLF (core.autocrlf, eol attributes) stays.
        let stored_is_current = snap.source == "worktree"
            && diff.is_empty()
            && matches!(
                inv.lock,
                LockState::Parsed {
                    canonical: true,
                    ..
                }
            );
        if !stored_is_current && current.as_deref() != Some(rendered.as_bytes()) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            lock::write_atomic(&path, rendered.as_bytes()).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            written = true;
        }
    }

    if to_stdout {
        ctx.out.write_all(rendered.as_bytes()).map_err(io_out)?;
    } else {
        match ctx.format()? {
            Plain::Json => {
                #[derive(serde::Serialize)]
                struct Doc<'a> {
                    lock: &'a str,
                    source: &'a str,
                    written: bool,
                    refused: bool,
                    replaced_malformed: Option<&'a str>,
                    changes: &'a [Change<'a>],
                }
                json::write(
                    ctx.out,
                    &Doc {
                        lock: &lock_path,
                        source: &inv.source,
                        written,
                        refused: false,
                        replaced_malformed: malformed.as_deref(),
                        changes: &diff,
                    },
                )
                .map_err(io_out)?;
            }
            Plain::Human => {
                if let Some(why) = &malformed {
                    let verb = if check_only {
                        "would replace"
                    } else {
                        "replaced"
                    };
                    writeln!(
                        ctx.out,
                        "update: {verb} a malformed lock ({})",
                        render::escape::shown_text(why)
                    )
                    .map_err(io_out)?;
                }
                let shown_lock = escape::shown(&lock_path);
                for c in diff.iter().filter(|_| !ctx.cli.quiet) {
                    let id = escape::shown(c.id);
                    let line = match c.change {
                        "added" => format!("  + {id}  {}", c.to.unwrap_or_default()),
                        "removed" => format!("  - {id}  {}", c.from.unwrap_or_default()),
                        _ => format!(
                            "  ~ {id}  {} -> {}",
                            c.from.unwrap_or_default(),
                            c.to.unwrap_or_default()
                        ),
                    };
                    writeln!(ctx.out, "{line}").map_err(io_out)?;
                }
                let summary = if check_only {
                    if stale {
                        format!(
                            "update --check: {shown_lock} is out of date ({} entr{} would change); run `plugin-lock update`",
                            diff.len(),
                            if diff.len() == 1 { "y" } else { "ies" }
                        )
                    } else {
                        format!("update --check: {shown_lock} is up to date")
                    }
                } else if written {
                    format!(
                        "update: wrote {shown_lock} ({})",
                        match diff.len() {
                            0 => "same entries, rewritten in canonical form".to_owned(),
                            1 => "1 entry changed".to_owned(),
                            n => format!("{n} entries changed"),
                        }
                    )
                } else {
                    format!("update: {shown_lock} is up to date")
                };
                if !ctx.cli.quiet {
                    writeln!(ctx.out, "{summary} [source {}]", escape::shown(&inv.source))
                        .map_err(io_out)?;
                }
            }
        }
    }
    Ok(if check_only && stale {
        exit::CHECK_FAILED
    } else {
        exit::OK
    })
}

/// The lock file `update` may write: see `write_path::lock_file`.
fn lock_target(ctx: &Ctx<'_>, snap: &Snapshot, settings: &Settings) -> Result<PathBuf> {
    let workdir = snap.workdir.clone().ok_or_else(|| {
        Error::Usage("this repository has no work tree to write the lock into; use --stdout".into())
    })?;
    let config = if settings.config_exists {
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        match reader.read_file(check::CONFIG_FILE, config::MAX_CONFIG_BYTES)? {
            Some(source::FileRead::Bytes(bytes)) => Some(bytes),
            _ => None,
        }
    } else {
        None
    };
    let origin = write_path::Origin::of_lock(ctx.cli.config.lock.is_some(), config.as_deref());
    let repo = snap.local_repo();
    write_path::lock_file(
        &workdir,
        &[repo.git_dir(), repo.common_dir()],
        &settings.config.lock,
        &origin,
    )
}

/// `digest DIR...`: DIRs are tree paths relative to the current directory, like pathspecs.
fn digest_dirs(ctx: &mut Ctx<'_>, dirs: &[String], explain: bool) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let mut targets = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let path = tree_path(&snap.prefix, dir)?;
        match reader.lookup(BStr::new(&path))? {
            Some(node)
                if node.kind == Kind::Dir
                    || node.kind == Kind::Link
                    || node.kind == Kind::Submodule =>
            {
                targets.push((path, node));
            }
            _ => {
                return Err(Error::Usage(format!(
                    "`{dir}` is not a directory in the tree ({})",
                    snap.source
                )));
            }
        }
    }
    let options = digest::Options {
        policy: settings.config.symlinks,
        records: explain,
        read_only: false,
    };
    let outcomes = snap.par_map(&targets, |reader, (path, node), buf| {
        digest::plugin(reader, BStr::new(path), node, &options, buf)
    })?;
    let mut rejected = false;
    match ctx.format()? {
        Plain::Json => {
            #[derive(serde::Serialize)]
            struct Entry<'a> {
                dir: &'a str,
                digest: Option<&'a str>,
                rejection: Option<render::RejectionJson<'a>>,
                #[serde(skip_serializing_if = "Option::is_none")]
                records: Option<Vec<RecordJson<'a>>>,
            }
            #[derive(serde::Serialize)]
            struct RecordJson<'a> {
                path: &'a str,
                size: u64,
                sha256: &'a str,
            }
            let entries: Vec<Entry<'_>> = dirs
                .iter()
                .zip(&outcomes)
                .map(|(dir, o)| Entry {
                    dir,
                    digest: o.result.as_ref().ok().map(String::as_str),
                    rejection: o.result.as_ref().err().map(render::RejectionJson::new),
                    records: explain.then(|| {
                        o.records
                            .iter()
                            .map(|r| RecordJson {
                                path: &r.path,
                                size: r.size,
                                sha256: &r.sha256,
                            })
                            .collect()
                    }),
                })
                .collect();
            rejected = outcomes.iter().any(|o| o.result.is_err());
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                digests: Vec<Entry<'a>>,
            }
            json::write(ctx.out, &Doc { digests: entries }).map_err(io_out)?;
        }
        Plain::Human => {
            for (dir, o) in dirs.iter().zip(&outcomes) {
                match &o.result {
                    Ok(d) => {
                        for r in &o.records {
                            writeln!(
                                ctx.out,
                                "{}  {}  {}",
                                r.sha256,
                                r.size,
                                escape::shown(&r.path)
                            )
                            .map_err(io_out)?;
                        }
                        writeln!(ctx.out, "{d}  {}", escape::shown(dir)).map_err(io_out)?;
                    }
                    Err(r) => {
                        rejected = true;
                        writeln!(
                            ctx.err,
                            "plugin-lock: {}: rejected [{}]: {}",
                            escape::shown(dir),
                            r.kind.as_str(),
                            escape::shown(&r.message)
                        )
                        .map_err(io_out)?;
                    }
                }
            }
        }
    }
    Ok(if rejected {
        exit::CHECK_FAILED
    } else {
        exit::OK
    })
}

/// Joins the current directory's prefix and a user path, resolving `.` and `..`.
fn tree_path(prefix: &str, dir: &str) -> Result<String> {
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    let normalized = dir.replace('\\', "/");
    if normalized.starts_with('/') {
        return Err(Error::Usage(format!(
            "`{dir}`: give a path inside the repository, not an absolute one"
        )));
    }
    for c in normalized.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::Usage(format!("`{dir}` is outside the repository")));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_paths_are_relative_to_the_prefix() {
        assert_eq!(tree_path("", "plugins/a/").unwrap(), "plugins/a");
        assert_eq!(tree_path("plugins", "a").unwrap(), "plugins/a");
        assert_eq!(tree_path("plugins/a", "..").unwrap(), "plugins");
        assert_eq!(tree_path("plugins", "./b/../a").unwrap(), "plugins/a");
        assert!(tree_path("", "..").is_err());
        assert!(tree_path("", "/etc").is_err());
    }
}

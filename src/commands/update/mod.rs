//! `update`: recompute every digest and write the lock (or check it, or print it).
//!
//! Whatever tree it hashes, it compares with and replaces the lock in the work tree
//! (a bare repository has none: then the tree's own lock is the one compared).

mod entries;
mod worktree;

use std::collections::BTreeMap;
use std::path::PathBuf;

use entries::{Change, Resolution, changes, counts, resolutions};

use crate::checks::findings::Finding;
use crate::checks::integrity::{self, InventoryOptions, LockState, Settings};
use crate::commands::ctx::*;
use crate::config;
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::lock;
use crate::report::{human, json};
use crate::tree::git::{self, Selector, Snapshot};
use crate::write_path;

pub fn run(ctx: &mut Ctx<'_>, check_only: bool, to_stdout: bool, tracked: bool) -> Result<u8> {
    let source_flags = &ctx.cli.source;
    let no_source_flag =
        source_flags.rev.is_none() && !source_flags.index && !source_flags.worktree;
    if source_flags.checkout {
        return Err(Error::Usage(
            "update records what git stores (a revision, the index or the work tree as `git add` would store it); --checkout is the loader's view, for `verify --checkout` and `digest --checkout`".into(),
        ));
    }
    if tracked && (source_flags.rev.is_some() || source_flags.index) {
        return Err(Error::Usage(
            "--tracked hashes the work tree's tracked files; it does not combine with --rev or --index".into(),
        ));
    }
    let bare = git::open_repo()?.to_thread_local().workdir().is_none();
    if bare && !to_stdout && !check_only {
        return Err(Error::Usage(
            "this repository is bare: there is no work tree to write the lock into; use `update --rev REV --stdout` (or `--check`)".into(),
        ));
    }
    if no_source_flag && bare {
        return Err(Error::Usage(
            "this repository is bare: there is no work tree to read or write; use `update --rev REV --stdout` (or `--check`)".into(),
        ));
    }
    let default = if tracked {
        Selector::Tracked
    } else {
        Selector::Worktree
    };
    let (snap, settings) = open(ctx, default)?;
    // Checked before any work (the cache lives in `.git`): a refused path changes nothing.
    // The lock compared with is the work tree's, whatever the source: the one written.
    let target = if to_stdout || bare {
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
                        && p.rejection.iter().chain(&p.more_rejections).any(|r| {
                            r.path == f.path
                                && crate::checks::contract::rejection_kind(r.kind) == f.kind
                        })
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
                    {
                        let mut ids: Vec<&String> =
                            rejected.iter().filter_map(|f| f.plugin.as_ref()).collect();
                        ids.sort();
                        ids.dedup();
                        ids.len()
                    },
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
    // The lock compared with: read from the work tree as git would store it when that is
    // the source (a lock checked out with CRLF is still current), else the file on disk.
    let from_worktree = snap.source == "worktree";
    let on_disk = match &target {
        Some(path) => read_disk_lock(path)?,
        None => None,
    };
    let compared = match (&target, from_worktree) {
        (Some(_), false) => on_disk
            .as_deref()
            .map_or(LockState::Missing, integrity::lock_state),
        _ => inv.lock.clone(),
    };
    // A conflicted lock: its line, and our side and theirs as the markers restore them.
    let to_map =
        |side: &Option<lock::Lock>| side.as_ref().map(lock::Lock::to_map).unwrap_or_default();
    let sides = match &compared {
        LockState::Conflicted(c) => Some((c.line, to_map(&c.ours), to_map(&c.theirs))),
        _ => None,
    };
    let old = match (&compared, &sides) {
        (LockState::Parsed { lock, .. }, _) => lock.to_map(),
        // Against our side: what this branch had before the merge.
        (_, Some((_, ours, _))) => ours.clone(),
        _ => BTreeMap::new(),
    };
    let conflict_line = sides.as_ref().map(|(line, ..)| *line);
    let resolved = sides
        .as_ref()
        .map(|(_, ours, theirs)| resolutions(ours, theirs, &new))
        .unwrap_or_default();
    let malformed = match &compared {
        LockState::Malformed {
            line,
            column,
            message,
        } => Some(format!("{lock_path}:{line}:{column}: {message}")),
        _ => None,
    };
    let diff = changes(&old, &new);
    let rendered = lock::render(&new);
    let canonical = matches!(
        compared,
        LockState::Parsed {
            not_canonical: None,
            ..
        }
    );
    // `--check` compares entries; writing also puts a lock in canonical form.
    let stale = !diff.is_empty()
        || malformed.is_some()
        || conflict_line.is_some()
        || matches!(compared, LockState::Missing);
    let current = if from_worktree {
        diff.is_empty() && canonical
    } else {
        on_disk.as_deref() == Some(rendered.as_bytes())
    };
    let warnings = worktree::warnings(&snap, &inv)?;

    let mut written = false;
    if let Some(path) = target.as_ref().filter(|_| !check_only && !current) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        crate::atomic::write_atomic(path, rendered.as_bytes()).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        written = true;
    }

    let code = if check_only && stale {
        exit::CHECK_FAILED
    } else {
        exit::OK
    };
    if to_stdout {
        print_warnings(ctx, &warnings)?;
        ctx.out.write_all(rendered.as_bytes()).map_err(io_out)?;
        return Ok(code);
    }
    if let Plain::Json = ctx.format()? {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            lock: &'a str,
            source: &'a str,
            /// Whether the lock compared with is the work tree's file.
            compared_with_worktree: bool,
            written: bool,
            up_to_date: bool,
            refused: bool,
            replaced_malformed: Option<&'a str>,
            changes: &'a [Change<'a>],
            warnings: &'a [worktree::Warning],
            #[serde(skip_serializing_if = "Option::is_none")]
            resolved_conflict: Option<Conflict<'a>>,
        }
        #[derive(serde::Serialize)]
        struct Conflict<'a> {
            line: u32,
            entries: &'a [Resolution<'a>],
        }
        json::write(
            ctx.out,
            &Doc {
                lock: &lock_path,
                source: &inv.source,
                compared_with_worktree: target.is_some(),
                written,
                up_to_date: !stale,
                refused: false,
                replaced_malformed: malformed.as_deref(),
                changes: &diff,
                warnings: &warnings,
                resolved_conflict: conflict_line.map(|line| Conflict {
                    line,
                    entries: &resolved,
                }),
            },
        )
        .map_err(io_out)?;
        return Ok(code);
    }

    print_warnings(ctx, &warnings)?;
    let verbose = ctx.cli.verbose;
    let digest = |d: Option<&str>| -> String {
        match d {
            None => "-".to_owned(),
            Some(d) if verbose => d.to_owned(),
            Some(d) => escape::short_id(d).to_owned(),
        }
    };
    if let Some(why) = &malformed {
        let verb = if check_only {
            "would replace"
        } else {
            "replaced"
        };
        writeln!(
            ctx.out,
            "update: {verb} a malformed lock ({})",
            escape::shown_text(why)
        )
        .map_err(io_out)?;
    }
    let shown_lock = escape::shown(&lock_path);
    if let Some(line) = conflict_line {
        let verb = if check_only {
            "would resolve"
        } else {
            "resolved"
        };
        writeln!(
            ctx.out,
            "update: {verb} the merge conflict in {shown_lock} (markers from line {line}), each entry against both sides:"
        )
        .map_err(io_out)?;
        let width = resolved
            .iter()
            .map(|r| escape::shown(r.id).chars().count())
            .max()
            .unwrap_or(0);
        for r in resolved.iter().filter(|_| !ctx.cli.quiet) {
            writeln!(
                ctx.out,
                "  {:<17}  {:<width$}  ours {}  theirs {}  now {}",
                r.resolution,
                escape::shown(r.id),
                digest(r.ours),
                digest(r.theirs),
                digest(r.digest)
            )
            .map_err(io_out)?;
        }
        if resolved.is_empty() {
            writeln!(ctx.out, "  (both sides agree on every entry)").map_err(io_out)?;
        }
        writeln!(
            ctx.out,
            "update: against our side ({shown_lock} before the merge):"
        )
        .map_err(io_out)?;
    }
    let width = diff
        .iter()
        .map(|c| escape::shown(c.id).chars().count())
        .max()
        .unwrap_or(0);
    for c in diff.iter().filter(|_| !ctx.cli.quiet) {
        let id = escape::shown(c.id);
        let line = match c.change {
            "added" => format!("  + {id:<width$}  {}", digest(c.to)),
            "removed" => format!("  - {id:<width$}  {}", digest(c.from)),
            _ => format!("  ~ {id:<width$}  {} -> {}", digest(c.from), digest(c.to)),
        };
        writeln!(ctx.out, "{}", line.trim_end()).map_err(io_out)?;
    }
    let what = match (&compared, diff.is_empty()) {
        (LockState::Missing, true) => {
            "a new, empty lock: no plugins yet (nothing matches the plugins globs)".to_owned()
        }
        (LockState::Missing, false) => format!("a new lock, {}", counts(&diff, "")),
        (_, true) => "same entries, rewritten in canonical form".to_owned(),
        (_, false) => counts(&diff, ""),
    };
    let summary = match (check_only, stale, written) {
        (true, true, _) => format!(
            "update --check: {shown_lock} is out of date ({}); run `plugin-lock update`",
            if diff.is_empty() {
                "the entries agree, the file would be rewritten".to_owned()
            } else {
                counts(&diff, " would change")
            }
        ),
        (true, false, _) => format!("update --check: {shown_lock} is up to date"),
        (false, _, true) => format!("update: wrote {shown_lock} ({what})"),
        (false, _, false) => format!("update: {shown_lock} is up to date"),
    };
    if !ctx.cli.quiet {
        writeln!(
            ctx.out,
            "{summary} [source {}]",
            escape::shown(escape::short_id(&inv.source))
        )
        .map_err(io_out)?;
    }
    Ok(code)
}

/// How many work-tree warnings are printed whole (`--format json` has them all).
const SHOWN_WARNINGS: usize = 20;

fn print_warnings(ctx: &mut Ctx<'_>, warnings: &[worktree::Warning]) -> Result<()> {
    for w in warnings.iter().take(SHOWN_WARNINGS) {
        writeln!(
            ctx.err,
            "warning: {}\n  = help: {}",
            escape::shown_text(&w.message),
            escape::shown_text(&w.help)
        )
        .map_err(io_out)?;
    }
    if let Some(rest) = warnings
        .len()
        .checked_sub(SHOWN_WARNINGS)
        .filter(|n| *n > 0)
    {
        writeln!(
            ctx.err,
            "warning: {rest} more warning(s) about untracked or unstaged files in plugins (`git status` lists them; `--format json` names each)"
        )
        .map_err(io_out)?;
    }
    Ok(())
}

/// The work tree's lock file as it is on disk, if it is a regular file within the
/// lock's size limit (anything else is compared as missing and replaced).
fn read_disk_lock(path: &std::path::Path) -> Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if !meta.is_file() || meta.len() > lock::MAX_LOCK_BYTES as u64 {
        return Ok(None);
    }
    std::fs::read(path).map(Some).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
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
        match reader.read_file(integrity::CONFIG_FILE, config::MAX_CONFIG_BYTES)? {
            Some(crate::tree::FileRead::Bytes(bytes)) => Some(bytes),
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

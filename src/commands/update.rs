//! `update`: recompute every digest and write the lock (or check it, or print it).

use std::collections::BTreeMap;
use std::path::PathBuf;

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

#[derive(serde::Serialize)]
struct Change<'a> {
    id: &'a str,
    change: &'static str,
    from: Option<&'a str>,
    to: Option<&'a str>,
}

/// How `update` resolved one entry of a conflicted lock, against both sides.
#[derive(serde::Serialize)]
struct Resolution<'a> {
    id: &'a str,
    /// `kept from ours`, `taken from theirs`, `recomputed`, `added`, `removed`.
    resolution: &'static str,
    ours: Option<&'a str>,
    theirs: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Every entry that either side or the new lock holds, unless all three agree.
fn resolutions<'a>(
    ours: &'a BTreeMap<String, String>,
    theirs: &'a BTreeMap<String, String>,
    new: &'a BTreeMap<String, String>,
) -> Vec<Resolution<'a>> {
    let mut ids: Vec<&String> = ours.keys().chain(theirs.keys()).chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (o, t, n) = (ours.get(id), theirs.get(id), new.get(id));
        let resolution = match n {
            _ if o == n && t == n => continue,
            None => "removed",
            Some(_) if o == n => "kept from ours",
            Some(_) if t == n => "taken from theirs",
            Some(_) if o.is_none() && t.is_none() => "added",
            Some(_) => "recomputed",
        };
        out.push(Resolution {
            id,
            resolution,
            ours: o.map(String::as_str),
            theirs: t.map(String::as_str),
            digest: n.map(String::as_str),
        });
    }
    out
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

pub fn run(ctx: &mut Ctx<'_>, check_only: bool, to_stdout: bool) -> Result<u8> {
    let no_source_flag =
        ctx.cli.source.rev.is_none() && !ctx.cli.source.index && !ctx.cli.source.worktree;
    if no_source_flag && git::open_repo()?.to_thread_local().workdir().is_none() {
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
    // A conflicted lock: its line, and our side and theirs as the markers restore them.
    let to_map =
        |side: &Option<lock::Lock>| side.as_ref().map(lock::Lock::to_map).unwrap_or_default();
    let sides = match &inv.lock {
        LockState::Conflicted(c) => Some((c.line, to_map(&c.ours), to_map(&c.theirs))),
        _ => None,
    };
    let old = match (&inv.lock, &sides) {
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
    let stale = !diff.is_empty()
        || malformed.is_some()
        || conflict_line.is_some()
        || matches!(inv.lock, LockState::Missing);

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
            crate::atomic::write_atomic(&path, rendered.as_bytes()).map_err(|source| {
                Error::Io {
                    path: path.clone(),
                    source,
                }
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
                        written,
                        refused: false,
                        replaced_malformed: malformed.as_deref(),
                        changes: &diff,
                        resolved_conflict: conflict_line.map(|line| Conflict {
                            line,
                            entries: &resolved,
                        }),
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
                    let short = |d: Option<&str>| {
                        d.map_or("-".to_owned(), |d| d.chars().take(12).collect())
                    };
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
                            short(r.ours),
                            short(r.theirs),
                            short(r.digest)
                        )
                        .map_err(io_out)?;
                    }
                    if resolved.is_empty() {
                        writeln!(ctx.out, "  (both sides agree on every entry)").map_err(io_out)?;
                    }
                    writeln!(
                        ctx.out,
                        "update: against our side ({} before the merge):",
                        shown_lock
                    )
                    .map_err(io_out)?;
                }
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

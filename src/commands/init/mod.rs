//! `init`: looks at the work tree, recognises its plugin layout and the manifest its
//! plugins carry, checks that proposal as `verify` would, adjusts what would fail on day
//! one (plugins that cannot be hashed are excluded, a manifest not every plugin passes is
//! not required, unowned plugins do not fail), and writes a commented
//! `.plugin-lock.yml` and the first lock. It says what it found and decided, and what to
//! do next; `--dry-run` writes nothing, and nothing is overwritten without `--force`.

mod layout;
mod pin;
mod render;

use std::collections::BTreeMap;

use crate::checks::findings::{Finding, Kind, Levels, Severity};
use crate::checks::integrity::{self, Inventory, InventoryOptions, Settings};
use crate::checks::pipeline::{self, OwnershipFrom};
use crate::commands::ctx::*;
use crate::commands::gitattributes;
use crate::config::Config;
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::lock;
use crate::tree::git::{self, Selector, Snapshot};
use crate::write_path;

/// The manifests `init` knows, in the order they are tried after the layout's own.
const MANIFESTS: &[&str] = &["plugin.yaml", "SKILL.md", ".claude-plugin/plugin.json"];

/// What `init` decided, for the configuration file and the report.
pub struct Proposal {
    pub layout: String,
    pub config: Config,
    /// `(glob, why)` for every `exclude` entry.
    pub exclude: Vec<(String, String)>,
    /// Why the manifest is what it is.
    pub manifest_note: String,
    /// Why `owners.plugins_must_be_owned` is off, when it is.
    pub owners_note: Option<String>,
}

pub fn run(ctx: &mut Ctx<'_>, dry_run: bool, force: bool, gitattributes: bool) -> Result<u8> {
    let s = &ctx.cli.source;
    if s.rev.is_some() || s.index {
        return Err(Error::Usage(
            "init looks at the work tree (what you are about to commit); --rev and --index do not apply".into(),
        ));
    }
    let snap = Snapshot::open(git::open_repo()?, &Selector::Worktree)?;
    let workdir = snap
        .workdir
        .clone()
        .ok_or_else(|| Error::Usage("init needs a work tree".into()))?;
    let config_path = workdir.join(integrity::CONFIG_FILE);
    if config_path.exists() && !force && !dry_run {
        return Err(Error::Usage(format!(
            "{} exists already; init never overwrites it (`init --force` replaces it, `init --dry-run` shows what it would write)",
            integrity::CONFIG_FILE
        )));
    }
    let layout = {
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        layout::detect(&mut reader)?
    };
    let Some(layout) = layout else {
        return Err(Error::Usage(
            "init recognises no plugin layout here: it looks for .claude-plugin/marketplace.json, skills/*, .claude/skills/*, .agents/skills/* and plugins/* (or plugins/*/*); write .plugin-lock.yml with your `plugins:` globs by hand".into(),
        ));
    };
    let (proposal, inv, findings) = propose(&snap, layout)?;
    let lock_rel = proposal.config.lock.clone();

    let config_text = render::config(&proposal);
    // What init writes must read back as what it checked.
    let reread = crate::config::parse(config_text.as_bytes()).map_err(|e| {
        Error::Internal(format!(
            "init wrote a configuration it cannot read back: {e}"
        ))
    })?;
    if (
        &reread.plugins,
        &reread.exclude,
        &reread.lock,
        &reread.manifest,
        reread.plugins_must_be_owned,
    ) != (
        &proposal.config.plugins,
        &proposal.config.exclude,
        &proposal.config.lock,
        &proposal.config.manifest,
        proposal.config.plugins_must_be_owned,
    ) {
        return Err(Error::Internal(
            "init's configuration does not read back as the one it checked".into(),
        ));
    }
    let pin = pin::LineEndPin::of(&inv, &lock_rel, gitattributes::read(&workdir)?);
    let pinning = gitattributes && !pin.lines.is_empty();
    let mut outputs = vec![integrity::CONFIG_FILE.to_owned(), lock_rel.clone()];
    if pinning {
        outputs.push(gitattributes::FILE.to_owned());
    }
    let remaining: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && !fixed_by_the_first_lock(f.kind))
        .collect();

    let mut written = Vec::new();
    // What is still converted after the pin is written (an inner `.gitattributes` can
    // override it).
    let mut still_converted = pin.files;
    let digests: BTreeMap<String, String>;
    if dry_run {
        digests = digests_of(&inv);
    } else {
        let repo = snap.local_repo();
        let lock_target = write_path::lock_file(
            &workdir,
            &[repo.git_dir(), repo.common_dir()],
            &lock_rel,
            &write_path::Origin::Default,
        )?;
        if lock_target.exists() && !force {
            return Err(Error::Usage(format!(
                "{lock_rel} exists already; init never overwrites it (`init --force` replaces it; `plugin-lock update` rewrites a lock)"
            )));
        }
        if pinning {
            gitattributes::append(&workdir, &pin.current, Some(pin::COMMENT), &pin.lines).map_err(
                |e| match e {
                    Error::Usage(m) => {
                        Error::Usage(format!("{m} (or run `init --no-gitattributes`)"))
                    }
                    e => e,
                },
            )?;
        }
        let wrote = (|| {
            let digests = if pinning {
                // The pin changes what `git add` stores (no conversion): the lock is
                // computed with it in force, from the work tree as git now reads it.
                let pinned = Snapshot::open(git::open_repo()?, &Selector::Worktree)?;
                let (pinned_inv, _) = check(&pinned, &proposal.config)?;
                still_converted = pin::converted(&pinned_inv);
                digests_of(&pinned_inv)
            } else {
                digests_of(&inv)
            };
            if let Some(parent) = lock_target.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            let lock_text = lock::render(&digests);
            for (path, text) in [(&config_path, &config_text), (&lock_target, &lock_text)] {
                crate::atomic::write_atomic(path, text.as_bytes()).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(digests)
        })();
        digests = match wrote {
            Ok(digests) => digests,
            Err(e) => {
                // All or nothing: the attributes go back as they were.
                if pinning {
                    gitattributes::restore(&workdir, &pin.current)?;
                }
                return Err(e);
            }
        };
        written = outputs.clone();
    }
    let line_ends = render::LineEndReport {
        pin: &pin,
        offered: gitattributes,
        written: pinning && !dry_run,
        still_converted,
    };

    match ctx.format()? {
        Plain::Json => {
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                layout: &'a str,
                plugins: &'a [String],
                exclude: Vec<Exclusion<'a>>,
                lock: &'a str,
                manifest: Option<&'a str>,
                plugins_must_be_owned: bool,
                found: usize,
                written: &'a [String],
                dry_run: bool,
                remaining_errors: Vec<crate::report::json::FindingJson<'a>>,
                configuration: &'a str,
                gitattributes: Pin<'a>,
            }
            /// The line-end pin: the files git would convert, the lines for them.
            #[derive(serde::Serialize)]
            struct Pin<'a> {
                converted_files: usize,
                lines: &'a [String],
                written: bool,
                still_converted: usize,
            }
            #[derive(serde::Serialize)]
            struct Exclusion<'a> {
                glob: &'a str,
                why: &'a str,
            }
            crate::report::json::write(
                ctx.out,
                &Doc {
                    layout: &proposal.layout,
                    plugins: &proposal.config.plugins,
                    exclude: proposal
                        .exclude
                        .iter()
                        .map(|(glob, why)| Exclusion { glob, why })
                        .collect(),
                    lock: &lock_rel,
                    manifest: proposal.config.manifest.as_ref().map(|m| m.file.as_str()),
                    plugins_must_be_owned: proposal.config.plugins_must_be_owned,
                    found: digests.len(),
                    written: &written,
                    dry_run,
                    remaining_errors: remaining
                        .iter()
                        .map(|f| crate::report::json::FindingJson::new(f))
                        .collect(),
                    configuration: &config_text,
                    gitattributes: Pin {
                        converted_files: pin.files,
                        lines: &pin.lines,
                        written: line_ends.written,
                        still_converted,
                    },
                },
            )
            .map_err(io_out)?;
        }
        Plain::Human => {
            let out = &mut *ctx.out;
            let w = |out: &mut dyn std::io::Write, line: String| {
                writeln!(out, "{line}").map_err(io_out)
            };
            w(
                out,
                format!("init: found {}", escape::shown(&proposal.layout)),
            )?;
            w(
                out,
                format!(
                    "  {} plugin(s) matched by {}; the lock will be {lock_rel}",
                    digests.len(),
                    proposal
                        .config
                        .plugins
                        .iter()
                        .map(|g| format!("`{}`", escape::shown(g)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )?;
            for (glob, why) in &proposal.exclude {
                w(
                    out,
                    format!(
                        "  excluded {}: {}",
                        escape::shown(glob),
                        escape::shown_text(why)
                    ),
                )?;
            }
            w(
                out,
                format!(
                    "  manifest: {}",
                    escape::shown_text(&proposal.manifest_note)
                ),
            )?;
            if let Some(note) = &proposal.owners_note {
                w(out, format!("  owners: {}", escape::shown_text(note)))?;
            }
            if let Some(line) = line_ends.human(dry_run) {
                w(out, format!("  line ends: {line}"))?;
            }
            let files = render::and_list(&outputs);
            if dry_run {
                w(
                    out,
                    format!("init --dry-run: would write {files} (nothing written):\n"),
                )?;
                out.write_all(config_text.as_bytes()).map_err(io_out)?;
            } else {
                w(out, format!("init: wrote {files}"))?;
            }
            if remaining.is_empty() {
                w(out, "\nnext:".to_owned())?;
            } else {
                w(
                    out,
                    format!(
                        "\n`plugin-lock verify` will still report {} error(s); the first:",
                        remaining.len()
                    ),
                )?;
                crate::report::human::finding(out, remaining[0], ctx_style(ctx.cli))
                    .map_err(io_out)?;
                w(out, "then:".to_owned())?;
            }
            let renormalize = if line_ends.written {
                &pin.roots[..]
            } else {
                &[]
            };
            for step in render::next_steps(&lock_rel, renormalize) {
                w(out, format!("  {step}"))?;
            }
        }
    }
    Ok(exit::OK)
}

fn ctx_style(cli: &crate::cli::Cli) -> crate::report::human::Style {
    crate::report::human::Style {
        color: false,
        verbose: cli.verbose,
    }
}

fn digests_of(inv: &Inventory) -> BTreeMap<String, String> {
    inv.plugins
        .iter()
        .filter_map(|p| p.digest.as_ref().map(|d| (p.id.clone(), d.clone())))
        .collect()
}

/// Findings that writing the first lock itself resolves.
fn fixed_by_the_first_lock(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::LockMissing | Kind::UnlockedPlugin | Kind::LockNotCanonical
    )
}

/// The layout's configuration, checked as `verify` would check it and adjusted until
/// the first run can pass: rounds bounded, each one taking a reason away.
fn propose(snap: &Snapshot, layout: layout::Layout) -> Result<(Proposal, Inventory, Vec<Finding>)> {
    let mut config = Config {
        plugins: layout.globs.clone(),
        exclude: layout.exclude.iter().map(|(g, _)| g.clone()).collect(),
        lock: layout::lock_path(&layout.globs),
        ..Config::default()
    };
    let mut exclude = layout.exclude.clone();
    // The manifest every plugin has, the layout's own first.
    let dirs = discovered_dirs(snap, &config)?;
    let mut order: Vec<&str> = layout.manifest_hint.into_iter().collect();
    order.extend(
        MANIFESTS
            .iter()
            .filter(|m| Some(**m) != layout.manifest_hint),
    );
    let (manifest, mut manifest_note) = {
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        let mut counts = Vec::new();
        for name in &order {
            let mut n = 0;
            for dir in &dirs {
                if layout::has_file(&mut reader, dir, name)? {
                    n += 1;
                }
            }
            counts.push((*name, n));
        }
        match counts.iter().find(|(_, n)| *n == dirs.len() && *n > 0) {
            Some((name, _)) => (
                Some((*name).to_owned()),
                format!("every plugin has `{name}`: it is required and checked"),
            ),
            None => {
                let best = counts
                    .iter()
                    .max_by_key(|(_, n)| *n)
                    .filter(|(_, n)| *n > 0);
                (
                    None,
                    match best {
                        Some((name, n)) => format!(
                            "none required: `{name}` is in {n} of {} plugins (set `manifest: {name}` once every plugin has one)",
                            dirs.len()
                        ),
                        None => "none required: the plugins carry no manifest init knows (plugin.yaml, SKILL.md, .claude-plugin/plugin.json)".to_owned(),
                    },
                )
            }
        }
    };
    config.manifest = match manifest {
        Some(name) => Some(
            crate::manifest::spec::Spec::new(&name)
                .map_err(|e| Error::Internal(format!("init's manifest `{name}`: {e}")))?,
        ),
        None => None,
    };
    let mut owners_note = None;
    // Each round takes a reason away; the last check is of what is written.
    for _round in 0..4 {
        let (inv, findings) = check(snap, &config)?;
        let mut changed = false;
        // A plugin that cannot be hashed blocks the whole lock: exclude it, visibly.
        for p in inv.plugins.iter().filter(|p| p.rejection.is_some()) {
            if let Some(r) = &p.rejection {
                exclude.push((
                    p.dir.clone(),
                    format!(
                        "rejected ({}): {}",
                        contract_kind(r),
                        first_line(&r.message)
                    ),
                ));
                config.exclude.push(p.dir.clone());
                changed = true;
            }
        }
        let manifest_fails = findings.iter().any(|f| {
            f.severity == Severity::Error
                && matches!(f.kind, Kind::MissingManifest | Kind::SchemaViolation)
        });
        if manifest_fails && let Some(spec) = config.manifest.take() {
            let name = spec.file;
            let failing = findings
                .iter()
                .filter(|f| matches!(f.kind, Kind::MissingManifest | Kind::SchemaViolation))
                .count();
            let first = findings
                .iter()
                .find(|f| matches!(f.kind, Kind::MissingManifest | Kind::SchemaViolation))
                .map(|f| format!(" (first: {}:{}: {})", f.path, f.line, f.title()))
                .unwrap_or_default();
            manifest_note = format!(
                "none required: every plugin has `{name}`, but {failing} finding(s) say they do not pass its rules{first}; fix them and set `manifest: {name}`"
            );
            changed = true;
        }
        let unowned = findings
            .iter()
            .filter(|f| f.kind == Kind::PluginNotOwned && f.severity == Severity::Error)
            .count();
        if unowned > 0 && config.plugins_must_be_owned {
            config.plugins_must_be_owned = false;
            owners_note = Some(format!(
                "`owners.plugins_must_be_owned: false`: CODEOWNERS leaves {unowned} plugin(s) with unowned files; assign them, then set it to true"
            ));
            changed = true;
        }
        if !changed {
            break;
        }
    }
    let (inv, findings) = check(snap, &config)?;
    Ok((
        Proposal {
            layout: layout.description,
            config,
            exclude,
            manifest_note,
            owners_note,
        },
        inv,
        findings,
    ))
}

fn contract_kind(r: &crate::digest::rejection::Rejection) -> &'static str {
    crate::checks::contract::rejection_kind(r.kind).as_str()
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// The directories the globs select (after exclusion), for the manifest census.
fn discovered_dirs(snap: &Snapshot, config: &Config) -> Result<Vec<String>> {
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    Ok(crate::tree::discover::discover(
        &mut reader,
        &config.plugins,
        &config.exclude,
        &config.lock,
    )?
    .plugins
    .into_iter()
    .map(|p| p.dir)
    .collect())
}

/// Everything `verify` would say about the work tree under `config`.
fn check(snap: &Snapshot, config: &Config) -> Result<(Inventory, Vec<Finding>)> {
    let settings = Settings {
        config: config.clone(),
        config_exists: true,
        levels: Levels::from_config(&[], integrity::CONFIG_FILE)?,
        ignores: Default::default(),
    };
    pipeline::evaluate(
        snap,
        &settings,
        InventoryOptions::default(),
        &pipeline::Base::None,
        OwnershipFrom::Verified,
        false,
    )
}

//! Verifying what is pushed: the refs git hands `hook pre-push`, or the one the
//! pre-commit framework names, each tip checked like `verify`.

use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Read};

use crate::checks::findings::Finding;
use crate::checks::integrity::{self, InventoryOptions, Overrides};
use crate::checks::pipeline;
use crate::cli::Format;
use crate::commands::ctx::{Ctx, io_out};
use crate::commands::hook::protocol::{Line, Update, parse};
use crate::commands::hook::render::{Checked, Verdict, write_human, write_json};
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::github::actions_env;
use crate::report::{github, human};
use crate::tree::git::{self, Selector, Snapshot};

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
        Some(Format::Sarif | Format::Concise) => {
            return Err(Error::Usage(
                "--format sarif and concise are for `verify`; hooks print human, json or github"
                    .into(),
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

pub fn pre_push(ctx: &mut Ctx<'_>, remote: Option<&str>, url: Option<&str>) -> Result<u8> {
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
pub fn pre_commit_framework(ctx: &mut Ctx<'_>) -> Result<u8> {
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
                let index = verify_one(ctx, &repo, remote, &overrides, u, &mut checks, &by_commit)
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
                    human::Style {
                        color: false,
                        verbose: ctx.cli.verbose,
                    },
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
    remote: Option<&str>,
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
    // `--base` wins; else the remote's old id, when this repository has it; else, for a
    // new branch, the merge base with the remote's default branch. It only explains:
    // ownership comes from the pushed tree (a CODEOWNERS change must be pushable).
    let given = match (&ctx.cli.base, &u.remote_id) {
        (Some(rev), _) => Some((rev, pipeline::Named::ByUser)),
        (None, Some(rev)) => Some((rev, pipeline::Named::ByEnvironment)),
        (None, None) => None,
    };
    let base = match given {
        Some((rev, named)) => match pipeline::open_base(Some(rev), named, overrides, &settings)? {
            pipeline::Base::Unavailable(_) => pipeline::Base::None,
            base => base,
        },
        None => pipeline::inferred_base(&snap, None, remote, overrides, &settings)?,
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

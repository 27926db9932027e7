//! Everything `verify` decides about one tree, in order: the inventory and its integrity
//! findings, ownership (from the base tree when there is one), and explanations of
//! mismatches against the base. The pre-push hook runs the same pipeline per ref.

use crate::cache::Cache;
use crate::checks::changes;
use crate::checks::findings::{Finding, Kind, Severity};
use crate::checks::integrity::{self, Inventory, InventoryOptions, Overrides, Settings};
use crate::checks::ownership::{self, Authority};
use crate::error::{Error, Result};
use crate::tree::git::{self, Selector, Snapshot, base};

/// The tree changes are explained against (and, in `verify`, ownership is read from).
pub enum Base {
    None,
    /// Asked for, but not in the repository (a shallow clone): `base_unavailable`.
    Unavailable(String),
    Present(Box<(Snapshot, Settings)>),
    /// Chosen by plugin-lock, not asked for (the merge base with the upstream): it
    /// explains changes and decides nothing else.
    Inferred(Box<(Snapshot, Settings)>, base::Inferred),
}

impl Base {
    /// The base tree changes are explained against, whoever chose it.
    pub fn explaining(&self) -> Option<&(Snapshot, Settings)> {
        match self {
            Base::Present(b) | Base::Inferred(b, _) => Some(b),
            Base::None | Base::Unavailable(_) => None,
        }
    }
}

/// How a base revision was named: by the user (`--base`: a name that does not resolve
/// is a mistake), or by the environment (a pull request's base id, which a shallow
/// clone may lack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    ByUser,
    ByEnvironment,
}

/// Opens the base revision `rev`, with its own configuration (a broken one falls back
/// to `head`'s: the base only has to be readable to explain). A revision that is not
/// in the repository is `Unavailable` when it can be a commit a shallow clone lacks (an
/// id, or ancestry past a shallow boundary); a name given by the user that resolves to
/// nothing at all (`--base mian`) is an error.
pub fn open_base(
    rev: Option<&str>,
    named: Named,
    overrides: &Overrides,
    head: &Settings,
) -> Result<Base> {
    let Some(rev) = rev else {
        return Ok(Base::None);
    };
    let repo = git::open_repo()?;
    match open_with_settings(&repo, rev, overrides, head) {
        Ok(b) => Ok(Base::Present(b)),
        Err(e @ Error::UnknownRevision { .. }) => {
            if named == Named::ByEnvironment || may_be_absent(&repo.to_thread_local(), rev) {
                Ok(Base::Unavailable(rev.to_owned()))
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

fn open_with_settings(
    repo: &gix::ThreadSafeRepository,
    rev: &str,
    overrides: &Overrides,
    head: &Settings,
) -> Result<Box<(Snapshot, Settings)>> {
    let snap = Snapshot::open(repo.clone(), &Selector::Rev(rev.to_owned()))?;
    let settings = {
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        integrity::settings(&mut reader, overrides).unwrap_or_else(|_| head.clone())
    };
    Ok(Box::new((snap, settings)))
}

/// Whether `rev`, which did not resolve, can still name a real commit: an object id
/// (the clone may not have it), or, in a shallow clone, ancestry (`main~3`) of a name
/// that does resolve.
fn may_be_absent(repo: &gix::Repository, rev: &str) -> bool {
    let hex = rev.len() >= 7 && rev.len() <= 64 && rev.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        return true;
    }
    let Some(cut) = rev.find(['~', '^']) else {
        return false;
    };
    repo.is_shallow().unwrap_or(false) && cut > 0 && repo.rev_parse_single(&rev[..cut]).is_ok()
}

/// For `--checkout`: the commit the checkout came from (HEAD), which explains what this
/// disk changed; `None` in a repository without commits.
pub fn committed_base(overrides: &Overrides, head: &Settings) -> Result<Base> {
    let repo = git::open_repo()?;
    Ok(match open_with_settings(&repo, "HEAD", overrides, head) {
        Ok(b) => {
            let commit = b.0.source.clone();
            Base::Inferred(
                b,
                base::Inferred {
                    commit,
                    with: "HEAD".to_owned(),
                    why: "the commit this checkout comes from".to_owned(),
                },
            )
        }
        Err(_) => Base::None,
    })
}

/// The base plugin-lock explains against when none is given: see [`base::infer`].
pub fn inferred_base(
    snap: &Snapshot,
    branch: Option<&str>,
    remote: Option<&str>,
    overrides: &Overrides,
    head: &Settings,
) -> Result<Base> {
    if !snap.has_tree_ids() {
        return Ok(Base::None);
    }
    let repo = git::open_repo()?;
    let Some(found) = base::infer(&repo.to_thread_local(), &snap.source, branch, remote) else {
        return Ok(Base::None);
    };
    Ok(
        match open_with_settings(&repo, &found.commit, overrides, head) {
            Ok(b) => Base::Inferred(b, found),
            Err(_) => Base::None,
        },
    )
}

/// Whether ownership rules come from the base tree (GitHub's rule for pull requests) or
/// from the verified tree itself (the pre-push hook: a legitimate CODEOWNERS change must
/// be pushable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnershipFrom {
    Base,
    Verified,
}

/// Runs every check on `snap`; findings come back with severities applied and sorted.
/// `in_pull_request`: the event names a pull request's (or merge group's) base, so an
/// absent base fails closed.
pub fn evaluate(
    snap: &Snapshot,
    settings: &Settings,
    options: InventoryOptions,
    base: &Base,
    ownership_from: OwnershipFrom,
    in_pull_request: bool,
) -> Result<(Inventory, Vec<Finding>)> {
    // The benchmark floor (read-only) neither reads nor writes the cache.
    let cache = Cache::open(snap, &settings.config).filter(|_| !options.read_only);
    let mut inv = integrity::inventory(snap, settings, options, cache.as_ref())?;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let fallback = integrity::fallback_location(&mut reader, &inv, settings)?;
    let mut findings = integrity::rules::findings(&inv, settings, &fallback);

    let head_file = ownership::load(&mut reader)?;
    drop(reader);
    // With a base, its rules decide: a change cannot rewrite who must approve it.
    let (authority, head_file, levels) = match (base, ownership_from) {
        (Base::Present(b), OwnershipFrom::Base) => {
            let (base_snap, base_settings) = (&b.0, &b.1);
            let repo = base_snap.local_repo();
            let mut reader = base_snap.reader(&repo);
            let authority = Authority {
                file: ownership::load(&mut reader)?,
                required: base_settings.config.required_owners.clone(),
                plugins_must_be_owned: base_settings.config.plugins_must_be_owned,
            };
            (authority, head_file, &base_settings.levels)
        }
        _ => (
            Authority {
                file: head_file,
                required: settings.config.required_owners.clone(),
                plugins_must_be_owned: settings.config.plugins_must_be_owned,
            },
            None,
            &settings.levels,
        ),
    };
    findings.extend(ownership::check(
        snap,
        settings,
        &authority,
        head_file.as_ref(),
        &mut inv,
        cache.as_ref(),
    )?);
    if let Some(cache) = cache {
        cache.save();
    }

    match base {
        Base::None => {}
        // In a pull request, after the levels: see `base_unavailable_in_pull_request`.
        Base::Unavailable(_) if ownership_from == OwnershipFrom::Base && in_pull_request => {}
        Base::Unavailable(rev) => findings.push(
            Finding::new(
                Kind::BaseUnavailable,
                settings.config.lock.clone(),
                1,
                format!("base `{rev}` is not in this repository (a shallow clone?); changes are not explained"),
            )
            .help(fetch_help(rev)),
        ),
        Base::Present(b) | Base::Inferred(b, _) => {
            let ids: Vec<String> = findings
                .iter()
                .filter(|f| f.kind == Kind::IntegrityMismatch)
                .filter_map(|f| f.plugin.clone())
                .collect();
            if !ids.is_empty() {
                match changes::explain((&b.0, &b.1), (snap, settings), &ids) {
                    Ok(explanations) => {
                        changes::annotate(&mut findings, &explanations, &b.0.source);
                        if snap.source == "checkout" {
                            let dirs = inv
                                .plugins
                                .iter()
                                .map(|p| (p.id.clone(), p.dir.clone()))
                                .collect();
                            changes::checkout_causes(&b.0, snap, &dirs, &mut findings)?;
                        }
                    }
                    // The base only explains: a blob it lacks (a partial clone that could
                    // not fetch it) costs the explanation, not the verdict.
                    Err(missing @ Error::MissingObject { .. }) => findings.push(
                        Finding::new(
                            Kind::BaseUnavailable,
                            settings.config.lock.clone(),
                            1,
                            format!("the base is incomplete, so changes are not explained: {missing}"),
                        )
                        .help("The verdict does not depend on the base. To have changes explained, let plugin-lock fetch the base's blobs from the promisor remote (unset GIT_NO_LAZY_FETCH, check the remote is reachable), or check out without `filter: blob:none`."),
                    ),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    // The ignores of the tree whose severities apply: a change cannot suppress its own.
    let ignores = match (base, ownership_from) {
        (Base::Present(b), OwnershipFrom::Base) => &b.1.ignores,
        _ => &settings.ignores,
    };
    let (kept, suppressed) = ignores.apply(levels.apply(findings));
    // Again, for `unused_ignore` itself (applying the levels twice changes nothing else).
    let mut findings = levels.apply(kept);
    inv.suppressed = suppressed;
    if let Base::Unavailable(rev) = base
        && ownership_from == OwnershipFrom::Base
        && in_pull_request
    {
        findings.push(base_unavailable_in_pull_request(rev, &settings.config.lock));
        crate::checks::findings::sort(&mut findings);
    }
    Ok((inv, findings))
}

/// A pull request whose base is missing fails closed: without the base, ownership came
/// from the pull request's own tree, which cannot be trusted to say whether ownership is
/// required (it may reassign the lock and switch the ownership checks off). So this is an
/// error that `severity:` (the same untrusted tree) cannot lower.
fn base_unavailable_in_pull_request(rev: &str, lock: &str) -> Finding {
    let mut f = Finding::new(
        Kind::BaseUnavailable,
        lock.to_owned(),
        1,
        format!(
            "the pull request's base `{rev}` is not in this repository (a shallow clone?): ownership cannot be checked against the base, so the pull request fails"
        ),
    )
    .help(fetch_help(rev));
    f.severity = Severity::Error;
    f
}

fn fetch_help(rev: &str) -> String {
    format!(
        "Fetch the base before verifying: `fetch-depth: 0` in actions/checkout, or `git fetch --no-tags --depth=1 origin {rev}` (the plugin-lock action fetches it itself)."
    )
}

//! Everything `verify` decides about one tree, in order: the inventory and its integrity
//! findings, ownership (from the base tree when there is one), and explanations of
//! mismatches against the base. The pre-push hook runs the same pipeline per ref.

use crate::cache::Cache;
use crate::checks::changes;
use crate::checks::findings::{Finding, Kind, Severity};
use crate::checks::integrity::{self, Inventory, InventoryOptions, Overrides, Settings};
use crate::checks::ownership::{self, Authority};
use crate::error::{Error, Result};
use crate::tree::git::{self, Selector, Snapshot};

/// The tree changes are explained against (and, in `verify`, ownership is read from).
pub enum Base {
    None,
    /// Asked for, but not in the repository (a shallow clone): `base_unavailable`.
    Unavailable(String),
    Present(Box<(Snapshot, Settings)>),
}

/// Opens the base revision `rev`, with its own configuration (a broken one falls back
/// to `head`'s: the base only has to be readable to explain).
pub fn open_base(rev: Option<&str>, overrides: &Overrides, head: &Settings) -> Result<Base> {
    let Some(rev) = rev else {
        return Ok(Base::None);
    };
    match Snapshot::open(git::open_repo()?, &Selector::Rev(rev.to_owned())) {
        Ok(snap) => {
            let settings = {
                let repo = snap.local_repo();
                let mut reader = snap.reader(&repo);
                integrity::settings(&mut reader, overrides).unwrap_or_else(|_| head.clone())
            };
            Ok(Base::Present(Box::new((snap, settings))))
        }
        Err(Error::UnknownRevision { .. }) => Ok(Base::Unavailable(rev.to_owned())),
        Err(e) => Err(e),
    }
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
        Base::Present(b) => {
            let ids: Vec<String> = findings
                .iter()
                .filter(|f| f.kind == Kind::IntegrityMismatch)
                .filter_map(|f| f.plugin.clone())
                .collect();
            if !ids.is_empty() {
                match changes::explain((&b.0, &b.1), (snap, settings), &ids) {
                    Ok(explanations) => {
                        changes::annotate(&mut findings, &explanations, &b.0.source)
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
    let mut findings = levels.apply(findings);
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

//! The base that changes are explained against when none is given: the merge base of
//! the verified commit with its branch's upstream, else with the remote's default
//! branch (`refs/remotes/origin/HEAD`). Best effort: anything missing means no base.

use gix::ObjectId;

/// A base chosen for the user, and how to say which.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The merge base's commit id.
    pub commit: String,
    /// The ref it was merged with, shortened: `origin/main`.
    pub with: String,
    /// Why that ref: `the upstream of feature`, `the default branch of origin`.
    pub why: String,
}

/// The base for `commit` (a commit id): first the upstream of `branch` (a full ref name,
/// `refs/heads/x`), then `remote`'s default branch (`origin` when not given). A merge
/// base that is `commit` itself explains nothing and is passed over.
pub fn infer(
    repo: &gix::Repository,
    commit: &str,
    branch: Option<&str>,
    remote: Option<&str>,
) -> Option<Inferred> {
    let commit = ObjectId::from_hex(commit.as_bytes()).ok()?;
    let mut candidates: Vec<(String, String)> = Vec::new();
    if let Some(branch) = branch.and_then(|b| gix::refs::FullName::try_from(b).ok())
        && let Some(Ok(upstream)) =
            repo.branch_remote_tracking_ref_name(branch.as_ref(), gix::remote::Direction::Fetch)
    {
        candidates.push((
            upstream.as_bstr().to_string(),
            format!("the upstream of {}", branch.as_ref().shorten()),
        ));
    }
    let remote = remote.unwrap_or("origin");
    candidates.push((
        format!("refs/remotes/{remote}/HEAD"),
        format!("the default branch of {remote}"),
    ));
    for (name, why) in candidates {
        let Ok(Some(mut reference)) = repo.try_find_reference(name.as_str()) else {
            continue;
        };
        // `origin/HEAD` is symbolic: name the branch it points at.
        let with = match reference.target().try_name() {
            Some(target) => target.shorten().to_string(),
            None => reference.name().shorten().to_string(),
        };
        let Ok(tip) = reference.peel_to_commit() else {
            continue;
        };
        let Ok(Some(base)) = repo.merge_base(commit, tip.id) else {
            continue;
        };
        if base.detach() != commit {
            return Some(Inferred {
                commit: base.to_string(),
                with,
                why,
            });
        }
    }
    None
}

/// The branch being verified, as a full ref name: the current branch for `HEAD` (no
/// `rev`), else `rev` when it names a local branch.
pub fn branch_of(repo: &gix::Repository, rev: Option<&str>) -> Option<String> {
    match rev {
        None | Some("HEAD") => repo
            .head_name()
            .ok()
            .flatten()
            .map(|name| name.as_bstr().to_string()),
        Some(rev) => {
            let full = if rev.starts_with("refs/heads/") {
                rev.to_owned()
            } else {
                format!("refs/heads/{rev}")
            };
            repo.try_find_reference(full.as_str())
                .ok()
                .flatten()
                .map(|_| full)
        }
    }
}

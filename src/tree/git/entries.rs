//! The flat trees: the index, and the work tree as `git add -A` would store it, as
//! maps of non-directory entries (directories are implied by their paths).

use std::collections::BTreeMap;

use gix::bstr::{BStr, BString};

use crate::error::{Error, Result};
use crate::tree::{Kind, Node};

pub fn index_entries(repo: &gix::Repository) -> Result<BTreeMap<BString, Node>> {
    let index = repo.index_or_empty().map_err(|e| Error::git(&e))?;
    let mut out = BTreeMap::new();
    for entry in index.entries() {
        if entry
            .flags
            .contains(gix::index::entry::Flags::INTENT_TO_ADD)
        {
            continue; // `git add -N` records intent, not content
        }
        let path = entry.path(&index);
        if entry.stage_raw() != 0 {
            return Err(Error::Usage(format!(
                "the index has an unresolved merge conflict at `{path}`; resolve it or use --rev"
            )));
        }
        let kind = if entry.mode.is_submodule() {
            Kind::Submodule
        } else if entry.mode == gix::index::entry::Mode::SYMLINK {
            Kind::Link
        } else if entry.mode == gix::index::entry::Mode::DIR {
            return Err(Error::Usage(
                "sparse indexes are not supported; run `git sparse-checkout disable` or use --rev"
                    .into(),
            ));
        } else {
            Kind::File
        };
        out.insert(
            path.to_owned(),
            Node {
                kind,
                id: Some(entry.id.into()),
            },
        );
    }
    Ok(out)
}

/// The work tree's files and, apart, the untracked ones among them (sorted).
pub struct WorktreeEntries {
    pub entries: BTreeMap<BString, Node>,
    pub untracked: Vec<BString>,
}

/// Every file `git add -A` would stage: tracked and untracked, not ignored, present on
/// disk; with `tracked_only`, what `git commit -a` would commit (tracked files only).
/// Sparse-checkout entries that are not on disk keep their staged blob.
pub fn worktree_entries(repo: &gix::Repository, tracked_only: bool) -> Result<WorktreeEntries> {
    use gix::dir::entry::{Kind as DiskKind, Status};
    let index = repo.index_or_empty().map_err(|e| Error::git(&e))?;
    let options = repo
        .dirwalk_options()
        .map_err(|e| Error::git(&e))?
        .emit_tracked(true)
        .emit_untracked(gix::dir::walk::EmissionMode::Matching)
        .emit_ignored(None)
        .emit_pruned(false)
        .recurse_repositories(false)
        .emit_empty_directories(false);
    let mut collect = gix::dir::walk::delegate::Collect::default();
    let interrupt = std::sync::atomic::AtomicBool::new(false);
    repo.dirwalk(&index, None::<&BStr>, &interrupt, options, &mut collect)
        .map_err(|e| Error::git(&e))?;
    let mut out = BTreeMap::new();
    let mut untracked = Vec::new();
    for (entry, _) in collect.unorded_entries {
        match entry.status {
            Status::Tracked => {}
            Status::Untracked if !tracked_only => untracked.push(entry.rela_path.clone()),
            _ => continue,
        }
        let kind = match entry.disk_kind {
            // With `core.symlinks=false` (Windows) git checks a link out as a plain file
            // holding its target, and `git add` keeps it a link: so do we.
            Some(DiskKind::File)
                if index
                    .entry_by_path(entry.rela_path.as_ref())
                    .is_some_and(|e| e.mode == gix::index::entry::Mode::SYMLINK) =>
            {
                Kind::Link
            }
            Some(DiskKind::File) => Kind::File,
            Some(DiskKind::Symlink) => Kind::Link,
            Some(DiskKind::Repository) => Kind::Submodule,
            _ => continue,
        };
        out.insert(entry.rela_path, Node { kind, id: None });
    }
    for entry in index.entries() {
        if entry
            .flags
            .contains(gix::index::entry::Flags::SKIP_WORKTREE)
        {
            let path = entry.path(&index).to_owned();
            out.entry(path).or_insert(Node {
                kind: if entry.mode == gix::index::entry::Mode::SYMLINK {
                    Kind::Link
                } else {
                    Kind::File
                },
                id: Some(entry.id.into()),
            });
        }
    }
    untracked.sort();
    // An untracked directory entry (a nested repository) is not a file it hashes.
    untracked.retain(|p| out.contains_key(p));
    Ok(WorktreeEntries {
        entries: out,
        untracked,
    })
}

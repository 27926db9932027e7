//! Tree sources: one git tree `T` to read everything from — a revision's tree, the
//! index, or the work tree as `git add -A` would store it — opened with gix.
//!
//! A [`Snapshot`] is shared by all threads; each thread reads through its own
//! [`Reader`](reader::Reader) (a thread-local gix handle and, for the work tree, its filter pipeline).

pub mod entries;
pub mod parallel;
pub mod reader;

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use std::collections::BTreeMap;

use crate::error::{Error, Result, chain};
use crate::tree::Node;
use crate::tree::git::entries::{index_entries, worktree_entries};

/// Which tree to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Rev(String),
    Index,
    Worktree,
}

pub struct Snapshot {
    repo: gix::ThreadSafeRepository,
    /// The commit id for a revision, else `index` or `worktree`.
    pub source: String,
    /// The current directory relative to the work tree, `/`-separated, empty at the top.
    pub prefix: String,
    /// The work tree, when the repository has one.
    pub workdir: Option<PathBuf>,
    tree: TreeData,
}

enum TreeData {
    /// A git tree, walked lazily from its root.
    Git(ObjectId),
    /// A flat map of non-directory entries (directories are implied by their paths).
    Flat(BTreeMap<BString, Node>),
}

/// Opens the repository that contains the current directory (bare ones too).
pub fn open_repo() -> Result<gix::ThreadSafeRepository> {
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    gix::ThreadSafeRepository::discover_with_environment_overrides(&cwd).map_err(|e| {
        Error::NotARepository {
            path: cwd.clone(),
            cause: chain(&e),
        }
    })
}

impl Snapshot {
    pub fn open(repo: gix::ThreadSafeRepository, selector: &Selector) -> Result<Snapshot> {
        let local = repo.to_thread_local();
        let workdir = local.workdir().map(Path::to_path_buf);
        let prefix = match local.prefix() {
            Ok(Some(p)) => gix::path::to_unix_separators_on_windows(
                gix::path::into_bstr(p).map_err(|e| Error::Usage(e.to_string()))?,
            )
            .to_str_lossy()
            .trim_end_matches('/')
            .to_owned(),
            _ => String::new(),
        };
        let (source, tree) = match selector {
            Selector::Rev(rev) => {
                let (label, tree) = resolve_rev(&local, rev)?;
                (label, TreeData::Git(tree))
            }
            Selector::Index => ("index".to_owned(), TreeData::Flat(index_entries(&local)?)),
            Selector::Worktree => {
                if workdir.is_none() {
                    return Err(Error::Usage(
                        "--worktree needs a work tree, and this repository is bare; use --rev"
                            .into(),
                    ));
                }
                (
                    "worktree".to_owned(),
                    TreeData::Flat(worktree_entries(&local)?),
                )
            }
        };
        Ok(Snapshot {
            repo,
            source,
            prefix,
            workdir,
            tree,
        })
    }

    /// Whether `T` is a git tree, so directories have tree ids (a revision; not the
    /// index or the work tree). Only then can per-plugin results be cached.
    pub fn has_tree_ids(&self) -> bool {
        matches!(self.tree, TreeData::Git(_))
    }

    /// The common git directory (shared by all worktrees), where caches live.
    pub fn common_dir(&self) -> PathBuf {
        self.repo.to_thread_local().common_dir().to_path_buf()
    }

    /// A gix handle for the calling thread, to build a [`Reader`](reader::Reader) with.
    pub fn local_repo(&self) -> gix::Repository {
        self.repo.to_thread_local()
    }
}

fn resolve_rev(repo: &gix::Repository, rev: &str) -> Result<(String, ObjectId)> {
    let unknown = |e: &gix::Error| Error::UnknownRevision {
        rev: rev.to_owned(),
        cause: chain(e),
    };
    if rev == "HEAD" && repo.head().is_ok_and(|head| head.is_unborn()) {
        return Err(Error::UnknownRevision {
            rev: rev.to_owned(),
            cause: "the current branch has no commit yet; commit, or check --index or --worktree"
                .into(),
        });
    }
    let unknown = |e: &gix::Error| {
        let mut err = unknown(e);
        if let Error::UnknownRevision { cause, .. } = &mut err
            && repo.is_shallow().unwrap_or(false)
        {
            cause.push_str(" (this is a shallow clone: history beyond its depth is absent; fetch more with `git fetch --deepen` or `--unshallow`)");
        }
        err
    };
    let id = repo.rev_parse_single(rev).map_err(|e| unknown(&e))?;
    let object = id.object().map_err(|e| unknown(&e))?;
    // Annotated tags peel to their commit; a tree spec (`HEAD^{tree}`) stays a tree.
    match object.clone().peel_to_commit() {
        Ok(commit) => {
            let tree = commit.tree_id().map_err(|e| unknown(&e))?;
            Ok((commit.id.to_string(), tree.detach()))
        }
        Err(_) => {
            let tree = object.peel_to_tree().map_err(|e| unknown(&e))?;
            Ok((tree.id.to_string(), tree.id))
        }
    }
}

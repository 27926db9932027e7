//! Tree sources: one git tree `T` to read everything from — a revision's tree, the
//! index, or the work tree as `git add -A` would store it — opened with gix.
//!
//! A [`Snapshot`] is shared by all threads; each thread reads through its own
//! [`Reader`](reader::Reader) (a thread-local gix handle and, for the work tree, its filter pipeline).

pub mod attributes;
pub mod base;
pub mod entries;
pub mod parallel;
pub mod promisor;
pub mod reader;
pub mod status;

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
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
    /// The work tree's tracked files only: what `git commit -a` would commit.
    Tracked,
    /// The files as they are on this disk, byte for byte, no git filters, ignored files
    /// included, `.git` never: what a runtime loader hashes.
    Checkout,
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
    /// Untracked files the work tree source includes (sorted; empty for other sources).
    pub untracked: Vec<BString>,
    /// The promisor remote of a partial clone, when there is one.
    promisor: Option<String>,
    /// Objects already asked from the promisor remote: each is asked once.
    fetched: std::sync::Mutex<std::collections::HashSet<ObjectId>>,
}

enum TreeData {
    /// A git tree, walked lazily from its root.
    Git(ObjectId),
    /// A flat map of non-directory entries (directories are implied by their paths).
    Flat(BTreeMap<BString, Node>),
    /// The work tree as the file system holds it (read through `tree::fs::Dir`).
    Disk(PathBuf),
}

/// Opens the repository that contains the current directory (bare ones too).
pub fn open_repo() -> Result<gix::ThreadSafeRepository> {
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    gix::ThreadSafeRepository::discover_with_environment_overrides(&cwd).map_err(|e| {
        // "Could not find a git repository …" says what the message says already.
        let cause = chain(&e);
        Error::NotARepository {
            path: cwd.clone(),
            cause: if cause.contains("Could not find a git repository") {
                String::new()
            } else {
                format!(": {cause}")
            },
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
        let mut untracked = Vec::new();
        let (source, tree) = match selector {
            Selector::Rev(rev) => {
                let (label, tree) = resolve_rev(&local, rev)?;
                (label, TreeData::Git(tree))
            }
            Selector::Index => ("index".to_owned(), TreeData::Flat(index_entries(&local)?)),
            Selector::Checkout => {
                let Some(root) = workdir.clone() else {
                    return Err(Error::Usage(
                        "--checkout reads the files on disk, and this repository is bare; use --rev"
                            .into(),
                    ));
                };
                ("checkout".to_owned(), TreeData::Disk(root))
            }
            Selector::Worktree | Selector::Tracked => {
                if workdir.is_none() {
                    return Err(Error::Usage(
                        "--worktree needs a work tree, and this repository is bare; use --rev"
                            .into(),
                    ));
                }
                let tracked_only = *selector == Selector::Tracked;
                let found = worktree_entries(&local, tracked_only)?;
                untracked = found.untracked;
                let label = if tracked_only { "tracked" } else { "worktree" };
                (label.to_owned(), TreeData::Flat(found.entries))
            }
        };
        let promisor = promisor::remote(&local);
        Ok(Snapshot {
            repo,
            source,
            prefix,
            workdir,
            tree,
            untracked,
            promisor,
            fetched: Default::default(),
        })
    }

    /// The tree as people name it: `commit 3f2a1c9e0b7d`, `the index`, `the work tree`.
    pub fn label(&self) -> String {
        match self.source.as_str() {
            "index" => "the index".to_owned(),
            "worktree" => "the work tree".to_owned(),
            "tracked" => "the work tree's tracked files".to_owned(),
            "checkout" => "the checkout on disk".to_owned(),
            id => format!(
                "{} {}",
                if self.has_tree_ids() {
                    "commit"
                } else {
                    "tree"
                },
                crate::escape::short_id(id)
            ),
        }
    }

    /// Fetches from the promisor remote every blob below the directories `dirs` that is
    /// not in the repository yet, in one request per [`promisor::FETCH_BATCH`] ids, so
    /// that hashing a partial clone's plugins does not ask for them one by one. Nothing
    /// happens unless this is a partial clone and `T` is a git tree; a failed fetch is
    /// left to the reads, which name the path that is missing.
    pub fn prefetch<'p>(&self, dirs: impl IntoIterator<Item = (&'p BStr, &'p Node)>) -> Result<()> {
        use crate::tree::Tree;
        let Some(remote) = self.promisor.as_deref() else {
            return Ok(());
        };
        if !self.has_tree_ids() || promisor::lazy_fetch_disabled() {
            return Ok(());
        }
        let repo = self.local_repo();
        let mut reader = self.reader(&repo);
        let mut missing: Vec<ObjectId> = Vec::new();
        let mut entries = Vec::new();
        for (dir, node) in dirs {
            // A plugin that is a link or a submodule has no tree to list; a walk that
            // fails (a tree bomb, a missing tree) is for the digest to report.
            if node.kind != crate::tree::Kind::Dir {
                continue;
            }
            entries.clear();
            if reader.walk(dir, node, &mut entries).is_err() {
                continue;
            }
            for (_, entry) in &entries {
                if let Some(id) = &entry.id
                    && matches!(
                        entry.kind,
                        crate::tree::Kind::File | crate::tree::Kind::Link
                    )
                {
                    let id = gix::hash::oid::try_from_bytes(id.as_bytes())
                        .map_err(|e| Error::Internal(format!("object id {id}: {e}")))?
                        .to_owned();
                    if !repo.has_object(id) {
                        missing.push(id);
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.extend(missing.iter().copied());
        let _ = promisor::fetch(repo.git_dir(), remote, &missing);
        Ok(())
    }

    /// Asks the promisor remote for one missing object (once per object): `Ok` when it
    /// is in the repository now, else why not, as the hint of [`Error::MissingObject`].
    pub(crate) fn fetch_one(
        &self,
        repo: &gix::Repository,
        id: ObjectId,
    ) -> std::result::Result<(), String> {
        let Some(remote) = self.promisor.as_deref() else {
            return Err("the repository is incomplete (not a partial clone, so nothing can fetch it); check it with `git fsck`".into());
        };
        let refetch = "fetch every blob with `git fetch --refetch --no-filter` (or drop `filter: blob:none` from actions/checkout for this job)";
        if promisor::lazy_fetch_disabled() {
            return Err(format!(
                "this is a partial clone of `{remote}` and GIT_NO_LAZY_FETCH is set, so it was not fetched; unset it, or {refetch}"
            ));
        }
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        let first = fetched.insert(id);
        let tried = if first {
            promisor::fetch(repo.git_dir(), remote, &[id]).err()
        } else {
            None
        };
        drop(fetched);
        if repo.has_object(id) {
            return Ok(());
        }
        Err(match tried {
            Some(why) => format!(
                "this is a partial clone and asking `{remote}` for it failed ({why}); {refetch}"
            ),
            None => format!("this is a partial clone and `{remote}` did not send it; {refetch}"),
        })
    }

    /// Whether `T` is a git tree, so directories have tree ids (a revision; not the
    /// index or the work tree). Only then can per-plugin results be cached.
    /// Whether this is `--checkout`: the bytes on disk, after any conversion.
    pub fn is_checkout(&self) -> bool {
        matches!(self.tree, TreeData::Disk(_))
    }

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
    // gix's parse chain ("couldn't parse revision, input=…: Reference … could not be
    // found: The ref partially named …") is said in a user's words.
    let unknown = |e: &gix::Error| Error::UnknownRevision {
        rev: rev.to_owned(),
        cause: {
            let cause = chain(e);
            if cause.contains("could not be found") || cause.contains("couldn't parse revision") {
                "no branch, tag or commit has that name (`git branch -a`, `git tag` list them)"
                    .to_owned()
            } else {
                cause
            }
        },
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

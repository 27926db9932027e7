//! Tree sources: one git tree `T` to read everything from — a revision's tree, the
//! index, or the work tree as `git add -A` would store it — opened with gix.
//!
//! A [`Snapshot`] is shared by all threads; each thread reads through its own
//! [`Reader`] (a thread-local gix handle and, for the work tree, its filter pipeline).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::Find;
use gix::objs::tree::EntryKind;

use crate::error::{Error, Result, chain};

/// What a tree entry is, as far as the digest cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Link,
    Submodule,
}

impl Kind {
    /// The word people use for it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Dir => "directory",
            Kind::File => "file",
            Kind::Link => "symlink",
            Kind::Submodule => "submodule",
        }
    }
}

/// One entry of `T`. `id` is the object id where `T` has one (not in the work tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    pub id: Option<ObjectId>,
}

/// Which tree to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Rev(String),
    Index,
    Worktree,
}

/// A regular file read whole, with a size cap checked before reading.
pub enum FileRead {
    Bytes(Vec<u8>),
    TooLarge(u64),
    /// The path exists but is not a regular file (a directory, link or submodule).
    NotAFile(Kind),
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

    /// A gix handle for the calling thread, to build a [`Reader`] with.
    pub fn local_repo(&self) -> gix::Repository {
        self.repo.to_thread_local()
    }

    pub fn reader<'a>(&'a self, repo: &'a gix::Repository) -> Reader<'a> {
        Reader {
            snap: self,
            repo,
            pipeline: None,
        }
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

fn kind_of(mode: gix::objs::tree::EntryMode) -> Kind {
    match mode.kind() {
        EntryKind::Tree => Kind::Dir,
        EntryKind::Blob | EntryKind::BlobExecutable => Kind::File,
        EntryKind::Link => Kind::Link,
        EntryKind::Commit => Kind::Submodule,
    }
}

fn index_entries(repo: &gix::Repository) -> Result<BTreeMap<BString, Node>> {
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
                id: Some(entry.id),
            },
        );
    }
    Ok(out)
}

/// Every file `git add -A` would stage: tracked and untracked, not ignored, present on
/// disk. Sparse-checkout entries that are not on disk keep their staged blob.
fn worktree_entries(repo: &gix::Repository) -> Result<BTreeMap<BString, Node>> {
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
    for (entry, _) in collect.unorded_entries {
        if !matches!(entry.status, Status::Tracked | Status::Untracked) {
            continue;
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
                id: Some(entry.id),
            });
        }
    }
    Ok(out)
}

/// The largest blob read by default: a digest needs each file whole, so one file over
/// this rejects its plugin instead of growing memory without bound. The operator (not
/// the repository, which may be hostile) raises it with `--max-blob-size`.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 64 * 1024 * 1024;

/// Blobs above this share one memory budget across all threads (the cap, see
/// [`BigBlobs`]), and the buffer that held one is shrunk back after use: peak blob
/// memory is workers × this plus one cap, not workers × the largest blob.
pub const BIG_BLOB_SIZE: u64 = 8 * 1024 * 1024;

static MAX_BLOB_SIZE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_BLOB_SIZE);

/// Bytes of big blobs (over [`BIG_BLOB_SIZE`]) in all threads' buffers together.
static BIG_BLOBS: BigBlobs = BigBlobs {
    in_flight: Mutex::new(0),
    released: Condvar::new(),
};

/// A byte budget for big blobs: one waits while the others would take the total over the
/// cap. A single blob is never over the cap (it is rejected first), so one always fits
/// once the others are done: no wait lasts longer than another thread's read and hash.
struct BigBlobs {
    in_flight: Mutex<u64>,
    released: Condvar,
}

/// A share of [`BIG_BLOBS`], given back on drop.
struct Turn(u64);

impl Drop for Turn {
    fn drop(&mut self) {
        // A poisoned lock only means a thread panicked holding it; the count is still whole.
        let mut in_flight = BIG_BLOBS
            .in_flight
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *in_flight = in_flight.saturating_sub(self.0);
        BIG_BLOBS.released.notify_all();
    }
}

/// Sets the blob cap for the whole process (`--max-blob-size`, read once in main).
pub fn set_max_blob_size(bytes: u64) {
    MAX_BLOB_SIZE.store(bytes, Ordering::Relaxed);
}

pub fn max_blob_size() -> u64 {
    MAX_BLOB_SIZE.load(Ordering::Relaxed)
}

/// `--max-blob-size`: bytes, or a number with `K`, `M` or `G` (powers of 1024).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{text}` is not a size: use bytes, or K, M or G")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a positive size: use bytes, or K, M or G"))
}

/// A blob's bytes in the caller's buffer. A big one holds its share of the big-blob
/// budget until dropped, and then gives the buffer's memory back, so keep it no longer
/// than needed (never across a wait on another thread).
pub struct Blob<'b> {
    buf: &'b mut Vec<u8>,
    len: usize,
    turn: Option<Turn>,
}

impl std::ops::Deref for Blob<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Blob<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Blob<'_>> for BString {
    fn from(blob: Blob<'_>) -> BString {
        BString::from(&*blob)
    }
}

impl Drop for Blob<'_> {
    fn drop(&mut self) {
        if self.turn.is_some() {
            // Free the memory before the share, so the next big blob never overlaps it.
            self.buf.clear();
            self.buf.shrink_to(BIG_BLOB_SIZE as usize);
        }
        self.turn = None;
    }
}

/// Waits until `size` more bytes of big blobs fit the budget, when `size` is big.
fn turn_for(size: u64) -> Option<Turn> {
    if size <= BIG_BLOB_SIZE {
        return None;
    }
    let budget = max_blob_size();
    let mut in_flight = BIG_BLOBS
        .in_flight
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    while *in_flight > 0 && in_flight.saturating_add(size) > budget {
        in_flight = BIG_BLOBS
            .released
            .wait(in_flight)
            .unwrap_or_else(|poison| poison.into_inner());
    }
    *in_flight = in_flight.saturating_add(size);
    Some(Turn(size))
}

/// Reads `reader` into `buf` up to `cap` bytes; more is [`Error::BlobTooLarge`]. The
/// size is whatever the bytes turn out to be, whatever metadata claimed.
fn read_capped(
    reader: impl Read,
    buf: &mut Vec<u8>,
    path: &BStr,
    cap: u64,
    io: impl Fn(std::io::Error) -> Error,
) -> Result<()> {
    let start = buf.len();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(buf)
        .map_err(io)?;
    let read = (buf.len() - start) as u64;
    if read > cap {
        buf.truncate(start);
        return Err(too_large(path, read, cap, true));
    }
    Ok(())
}

fn too_large(path: &BStr, size: u64, cap: u64, at_least: bool) -> Error {
    Error::BlobTooLarge {
        path: path.to_str_lossy().into_owned(),
        size,
        at_least,
        cap,
    }
}

/// A reader that fails, rather than ends, after `left` bytes: input past the cap must
/// never look like the end of the file.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "the file grew past the blob size limit",
                )),
            };
        }
        let want = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(out.get_mut(..want).unwrap_or_default())?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens a work-tree file for reading only if it is a regular file: never a FIFO (which
/// would block), a device (endless) or a link swapped in after the walk. `O_NONBLOCK`
/// keeps even the open from waiting on a FIFO writer; the type is checked on the handle.
fn open_regular(full: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(full)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device); git cannot store it",
        ));
    }
    Ok(file)
}

/// One git tree's entries for [`Reader::walk`]: name ranges into `names`, kind, id.
struct TreeEntries {
    names: Vec<u8>,
    entries: Vec<(usize, usize, Kind, ObjectId)>,
}

/// Reads `T` for one thread.
pub struct Reader<'a> {
    snap: &'a Snapshot,
    repo: &'a gix::Repository,
    pipeline: Option<(
        gix::filter::Pipeline<'a>,
        gix::worktree::IndexPersistedOrInMemory,
    )>,
}

/// The longest path (in bytes, relative to the directory walked) that [`Reader::walk`]
/// follows: PATH_MAX on Linux, so no loader could open a longer one; it also bounds how
/// deep a walk goes (a crafted tree can nest 100,000 directories in a few kilobytes).
pub const MAX_PATH_BYTES: usize = 4096;

/// The most entries (files and directories) one [`Reader::walk`] lists. Git trees share
/// subtrees by id, so ten small trees can describe 10^10 paths; no real plugin comes
/// near this (the listing costs ~100 bytes an entry).
pub const MAX_WALK_ENTRIES: usize = 250_000;

/// The most entries (files and directories, a shared subtree counted each time it is
/// named) that one whole-tree walk (plugin discovery, the ownership survey) takes on.
/// Far above real repositories (a 400,000-file monorepo has about half a million); a
/// tree that repeats subtrees by id can describe billions in a few kilobytes.
pub const MAX_TREE_ENTRIES: u64 = 5_000_000;

/// The error for a whole-tree walk past [`MAX_TREE_ENTRIES`]: the run cannot judge the
/// tree, so it stops (exit 2) rather than hang or pass.
pub fn too_many_entries(walk: &str) -> Error {
    Error::Usage(format!(
        "{walk}: the tree has more than {MAX_TREE_ENTRIES} entries (files and directories); a tree that repeats subtrees can describe billions of paths in a few kilobytes, and plugin-lock does not walk past this bound"
    ))
}

/// Why a [`Reader::walk`] stopped before listing everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// A path (relative to the walked directory) longer than [`MAX_PATH_BYTES`].
    TooLong(BString),
    /// More than [`MAX_WALK_ENTRIES`] entries.
    TooMany,
}

/// `a/b` + `c` → `a/b/c`; `` + `c` → `c`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// [`join`] on bytes.
pub fn join_bytes(dir: &[u8], name: &[u8]) -> BString {
    let mut out = BString::from(Vec::with_capacity(dir.len() + 1 + name.len()));
    if !dir.is_empty() {
        out.extend_from_slice(dir);
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// A tree path as text that names it unambiguously: UTF-8 as it is; a path that is not
/// UTF-8 with each invalid byte as `\xNN` and each backslash doubled, so two distinct
/// such paths never show alike (and never as U+FFFD, which a real name can hold).
pub fn shown(path: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(path) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for chunk in path.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether a path component can be part of a lock key or a digest record: UTF-8 without
/// control characters (spec/DIGEST.md step 3).
pub fn portable_name(name: &[u8]) -> bool {
    std::str::from_utf8(name).is_ok_and(|s| !s.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}'))
}

impl<'a> Reader<'a> {
    /// The entry at `path` (`/`-separated, relative to the top of `T`; empty is the root).
    pub fn lookup(&mut self, path: &BStr) -> Result<Option<Node>> {
        match &self.snap.tree {
            TreeData::Git(root) => {
                if path.is_empty() {
                    return Ok(Some(Node {
                        kind: Kind::Dir,
                        id: Some(*root),
                    }));
                }
                let tree = self.repo.find_tree(*root).map_err(|e| Error::git(&e))?;
                let entry = tree
                    .lookup_entry(path.split_str("/"))
                    .map_err(|e| Error::git(&e))?;
                Ok(entry.map(|e| Node {
                    kind: kind_of(e.mode()),
                    id: Some(e.object_id()),
                }))
            }
            TreeData::Flat(entries) => {
                if path.is_empty() {
                    return Ok(Some(Node {
                        kind: Kind::Dir,
                        id: None,
                    }));
                }
                if let Some(node) = entries.get(path) {
                    return Ok(Some(node.clone()));
                }
                let mut dir = path.to_owned();
                dir.push(b'/');
                let is_dir = entries
                    .range::<BString, _>(dir.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&dir));
                Ok(is_dir.then_some(Node {
                    kind: Kind::Dir,
                    id: None,
                }))
            }
        }
    }

    /// The immediate children of the directory `dir` (whose node is `node`), in byte order.
    pub fn children(&mut self, dir: &BStr, node: &Node) -> Result<Vec<(BString, Node)>> {
        match &self.snap.tree {
            TreeData::Git(_) => {
                let Some(id) = node.id else {
                    return Ok(Vec::new());
                };
                let tree = self.repo.find_tree(id).map_err(|e| Error::git(&e))?;
                let decoded = tree.decode().map_err(|e| Error::Git(e.to_string()))?;
                let mut out: Vec<(BString, Node)> = decoded
                    .entries
                    .iter()
                    .map(|e| {
                        (
                            e.filename.to_owned(),
                            Node {
                                kind: kind_of(e.mode),
                                id: Some(e.oid.to_owned()),
                            },
                        )
                    })
                    .collect();
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(out)
            }
            TreeData::Flat(entries) => {
                let prefix = dir_prefix(dir);
                let mut out: Vec<(BString, Node)> = Vec::new();
                for (path, node) in range_prefix(entries, &prefix) {
                    let rest = &path[prefix.len()..];
                    match rest.find_byte(b'/') {
                        Some(slash) => {
                            let name = &rest[..slash];
                            if out.last().is_none_or(|(n, _)| n.as_slice() != name) {
                                out.push((
                                    name.into(),
                                    Node {
                                        kind: Kind::Dir,
                                        id: None,
                                    },
                                ));
                            }
                        }
                        None => out.push((rest.into(), node.clone())),
                    }
                }
                // Files and directories interleave in byte order of full paths; sort by name.
                out.sort_by(|a, b| a.0.cmp(&b.0));
                out.dedup_by(|a, b| a.0 == b.0);
                Ok(out)
            }
        }
    }

    /// Every non-directory entry below `dir`, as paths relative to `dir`, in no set order.
    /// Stops at the first path (relative to `dir`) longer than [`MAX_PATH_BYTES`], or
    /// past [`MAX_WALK_ENTRIES`] entries, and says which ([`Cut`]); the caller decides
    /// what a truncated walk means. The work is linear in the bytes of the paths returned (one
    /// shared path buffer, not a copy per level), and the cap bounds the depth.
    pub fn walk(
        &mut self,
        dir: &BStr,
        node: &Node,
        out: &mut Vec<(BString, Node)>,
    ) -> Result<Option<Cut>> {
        match &self.snap.tree {
            TreeData::Git(_) => {
                let Some(root) = node.id else {
                    return Ok(None);
                };
                // One frame per directory being listed: its entries, the next one to
                // visit, and the length of `path` before its name was appended.
                struct Frame {
                    tree: std::rc::Rc<TreeEntries>,
                    next: usize,
                    path_len: usize,
                }
                let mut path = BString::default();
                let mut seen = 0usize;
                // Trees by id: a tree that repeats a subtree reads it once.
                let mut trees: HashMap<ObjectId, std::rc::Rc<TreeEntries>> = HashMap::new();
                let mut stack = vec![Frame {
                    tree: self.tree_entries_memo(root, &mut trees)?,
                    next: 0,
                    path_len: 0,
                }];
                while let Some(frame) = stack.last_mut() {
                    // `path` is the top frame's directory (empty at the top).
                    let Some(&(start, end, kind, id)) = frame.tree.entries.get(frame.next) else {
                        path.truncate(frame.path_len);
                        stack.pop();
                        continue;
                    };
                    frame.next += 1;
                    let dir_len = path.len();
                    if dir_len > 0 {
                        path.push(b'/');
                    }
                    path.extend_from_slice(&frame.tree.names[start..end]);
                    if path.len() > MAX_PATH_BYTES {
                        return Ok(Some(Cut::TooLong(path)));
                    }
                    seen += 1;
                    if seen > MAX_WALK_ENTRIES {
                        return Ok(Some(Cut::TooMany));
                    }
                    if kind == Kind::Dir {
                        let tree = self.tree_entries_memo(id, &mut trees)?;
                        stack.push(Frame {
                            tree,
                            next: 0,
                            path_len: dir_len,
                        });
                    } else {
                        out.push((path.clone(), Node { kind, id: Some(id) }));
                        path.truncate(dir_len);
                    }
                }
                Ok(None)
            }
            TreeData::Flat(entries) => {
                let prefix = dir_prefix(dir);
                for (path, node) in range_prefix(entries, &prefix) {
                    let rel = &path[prefix.len()..];
                    if rel.len() > MAX_PATH_BYTES {
                        return Ok(Some(Cut::TooLong(rel.into())));
                    }
                    out.push((rel.into(), node.clone()));
                }
                Ok(None)
            }
        }
    }

    /// How many entries the git tree `node` expands to within `levels` levels (every
    /// file and directory below it, a shared subtree counted each time it is named;
    /// `usize::MAX` for all), counting stops past `limit`. Each distinct tree is read once
    /// per level (`memo`, by id and levels, shared across calls), so the cost is the
    /// repository's distinct trees, not the expansion. Without tree ids (the index and the
    /// work tree list real entries) it is 0.
    pub fn expanded_entries(
        &mut self,
        node: &Node,
        levels: usize,
        limit: u64,
        memo: &mut HashMap<(ObjectId, usize), u64>,
    ) -> Result<u64> {
        let (TreeData::Git(_), Some(root), Kind::Dir) = (&self.snap.tree, node.id, node.kind)
        else {
            return Ok(0);
        };
        if levels == 0 {
            return Ok(0);
        }
        if let Some(&n) = memo.get(&(root, levels)) {
            return Ok(n);
        }
        // Post-order without recursion (a tree can nest 100,000 deep): a frame per tree
        // being counted, with its levels left and the entries counted so far.
        struct Frame {
            key: (ObjectId, usize),
            tree: TreeEntries,
            next: usize,
            count: u64,
        }
        let mut stack = vec![Frame {
            key: (root, levels),
            tree: self.tree_entries(root)?,
            next: 0,
            count: 0,
        }];
        while let Some(top) = stack.last_mut() {
            if let Some(&(_, _, kind, child)) = top.tree.entries.get(top.next) {
                top.next += 1;
                top.count += 1;
                let below = top.key.1.saturating_sub(1);
                if kind == Kind::Dir && below > 0 {
                    let key = (
                        child,
                        if top.key.1 == usize::MAX {
                            usize::MAX
                        } else {
                            below
                        },
                    );
                    match memo.get(&key) {
                        Some(&n) => top.count = top.count.saturating_add(n),
                        None => {
                            let tree = self.tree_entries(child)?;
                            stack.push(Frame {
                                key,
                                tree,
                                next: 0,
                                count: 0,
                            });
                            continue;
                        }
                    }
                }
                if top.count > limit {
                    return Ok(limit + 1);
                }
                continue;
            }
            let (key, count) = (top.key, top.count);
            memo.insert(key, count);
            stack.pop();
            match stack.last_mut() {
                Some(parent) => {
                    parent.count = parent.count.saturating_add(count);
                    if parent.count > limit {
                        return Ok(limit + 1);
                    }
                }
                None => return Ok(count),
            }
        }
        Ok(0)
    }

    fn tree_entries_memo(
        &mut self,
        id: ObjectId,
        trees: &mut HashMap<ObjectId, std::rc::Rc<TreeEntries>>,
    ) -> Result<std::rc::Rc<TreeEntries>> {
        if let Some(tree) = trees.get(&id) {
            return Ok(tree.clone());
        }
        let tree = std::rc::Rc::new(self.tree_entries(id)?);
        trees.insert(id, tree.clone());
        Ok(tree)
    }

    /// The entries of the git tree `id`, their names in one buffer (one allocation per
    /// tree, not per entry).
    fn tree_entries(&mut self, id: ObjectId) -> Result<TreeEntries> {
        let tree = self.repo.find_tree(id).map_err(|e| Error::git(&e))?;
        let decoded = tree.decode().map_err(|e| Error::Git(e.to_string()))?;
        let mut out = TreeEntries {
            names: Vec::with_capacity(decoded.entries.iter().map(|e| e.filename.len()).sum()),
            entries: Vec::with_capacity(decoded.entries.len()),
        };
        for e in &decoded.entries {
            let start = out.names.len();
            out.names.extend_from_slice(e.filename);
            out.entries
                .push((start, out.names.len(), kind_of(e.mode), e.oid.to_owned()));
        }
        Ok(out)
    }

    /// The size of a file's content as `T` stores it, without reading it where possible.
    pub fn size(&mut self, path: &BStr, node: &Node) -> Result<u64> {
        if let Some(id) = node.id {
            let header = self.repo.find_header(id).map_err(|e| Error::git(&e))?;
            return Ok(header.size());
        }
        let full = self.disk_path(path)?;
        std::fs::symlink_metadata(&full)
            .map(|m| m.len())
            .map_err(|source| Error::Io { path: full, source })
    }

    /// The bytes `T` stores for a file or link entry (a link's target string), read into
    /// `buf` (reused across calls: one buffer per thread). Over [`max_blob_size`] is
    /// [`Error::BlobTooLarge`], known from the object header before anything is read.
    pub fn read<'b>(&mut self, path: &BStr, node: &Node, buf: &'b mut Vec<u8>) -> Result<Blob<'b>> {
        self.read_within(path, node, buf, max_blob_size())
    }

    /// [`Reader::read`] with the caller's own limit `cap` (the lock, CODEOWNERS and the
    /// configuration have theirs, whatever the blob limit says).
    fn read_within<'b>(
        &mut self,
        path: &BStr,
        node: &Node,
        buf: &'b mut Vec<u8>,
        cap: u64,
    ) -> Result<Blob<'b>> {
        buf.clear();
        if let Some(id) = node.id {
            let size = self.size(path, node)?;
            if size > cap {
                return Err(too_large(path, size, cap, false));
            }
            let turn = turn_for(size);
            let found = self
                .repo
                .objects
                .try_find(&id, buf)
                .map_err(|e| Error::Git(format!("reading {path}: {e}")))?
                .ok_or_else(|| Error::Git(format!("object {id} of `{path}` is missing")))?;
            let (at, len) = (found.data.as_ptr(), found.data.len());
            // gix decodes into `buf`; anything else would break the memory bound.
            if at != buf.as_ptr() || len > buf.len() {
                return Err(Error::Internal(format!(
                    "`{path}` was not read into the blob buffer"
                )));
            }
            return Ok(Blob { buf, len, turn });
        }
        let full = self.disk_path(path)?;
        let io = |source| Error::Io {
            path: full.clone(),
            source,
        };
        let on_disk = std::fs::symlink_metadata(&full).map_err(io)?;
        if node.kind == Kind::Link && on_disk.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map_err(io)?;
            let target = gix::path::into_bstr(target).map_err(|e| Error::Usage(e.to_string()))?;
            buf.extend_from_slice(&gix::path::to_unix_separators_on_windows(target));
            let len = buf.len();
            return Ok(Blob {
                buf,
                len,
                turn: None,
            });
        }
        if on_disk.len() > cap {
            return Err(too_large(path, on_disk.len(), cap, false));
        }
        // The size on disk only picks the turn; the read itself is capped, since a file
        // can grow (or lie) after it was measured.
        let turn = turn_for(on_disk.len());
        let file = open_regular(&full).map_err(io)?;
        if node.kind == Kind::Link {
            // A link checked out as a file (`core.symlinks=false`): the file is the target.
            read_capped(file, buf, path, cap, io)?;
        } else {
            self.convert_to_git(path, file, buf, cap)?;
        }
        let len = buf.len();
        Ok(Blob { buf, len, turn })
    }

    /// Reads a regular file at `path` whole, unless it is over `cap` bytes.
    pub fn read_file(&mut self, path: &str, cap: usize) -> Result<Option<FileRead>> {
        let node = self.lookup(BStr::new(path))?;
        self.read_found(path, node, cap)
    }

    /// `read_file` for `name` inside the directory `dir` whose entry is `dir_node`: one
    /// tree read instead of a walk from the root (a manifest per plugin stays O(1)).
    pub fn read_file_in(
        &mut self,
        dir: &str,
        dir_node: &Node,
        name: &str,
        cap: usize,
    ) -> Result<Option<FileRead>> {
        let path = join(dir, name);
        let node = match (&self.snap.tree, dir_node.id) {
            (TreeData::Git(_), Some(id)) => {
                let tree = self.repo.find_tree(id).map_err(|e| Error::git(&e))?;
                tree.lookup_entry(BStr::new(name).split_str("/"))
                    .map_err(|e| Error::git(&e))?
                    .map(|e| Node {
                        kind: kind_of(e.mode()),
                        id: Some(e.object_id()),
                    })
            }
            _ => self.lookup(BStr::new(&path))?,
        };
        self.read_found(&path, node, cap)
    }

    fn read_found(
        &mut self,
        path: &str,
        node: Option<Node>,
        cap: usize,
    ) -> Result<Option<FileRead>> {
        let path = BStr::new(path);
        let Some(node) = node else {
            return Ok(None);
        };
        if node.kind != Kind::File {
            return Ok(Some(FileRead::NotAFile(node.kind)));
        }
        let size = self.size(path, &node)?;
        if size > cap as u64 {
            return Ok(Some(FileRead::TooLarge(size)));
        }
        let mut buf = Vec::new();
        let bytes = match self.read_within(path, &node, &mut buf, cap as u64) {
            Ok(blob) => blob.to_vec(),
            Err(Error::BlobTooLarge { size, .. }) => return Ok(Some(FileRead::TooLarge(size))),
            Err(e) => return Err(e),
        };
        if bytes.len() > cap {
            return Ok(Some(FileRead::TooLarge(bytes.len() as u64)));
        }
        Ok(Some(FileRead::Bytes(bytes)))
    }

    fn disk_path(&self, path: &BStr) -> Result<PathBuf> {
        let workdir = self
            .snap
            .workdir
            .as_deref()
            .ok_or_else(|| Error::Internal("a work-tree read without a work tree".into()))?;
        let rel = gix::path::from_bstr(path).map_err(|e| Error::Usage(e.to_string()))?;
        Ok(workdir.join(rel))
    }

    /// Runs git's clean conversion (autocrlf, eol and text attributes, clean filters).
    fn convert_to_git(
        &mut self,
        path: &BStr,
        file: std::fs::File,
        buf: &mut Vec<u8>,
        cap: u64,
    ) -> Result<()> {
        if self.pipeline.is_none() {
            let pipeline = self
                .repo
                .filter_pipeline(None)
                .map_err(|e| Error::git(&e))?;
            self.pipeline = Some(pipeline);
        }
        let Some((pipeline, index)) = self.pipeline.as_mut() else {
            return Err(Error::Internal("filter pipeline missing".into()));
        };
        let rel = gix::path::from_bstr(path).map_err(|e| Error::Usage(e.to_string()))?;
        let io = |source| Error::Io {
            path: rel.to_path_buf(),
            source,
        };
        use gix::filter::plumbing::pipeline::convert::ToGitOutcome;
        // The input is capped too (a conversion may shrink it, so capping only the output
        // could pass a truncated file), and a clean filter may buffer all of it.
        let input = Capped {
            inner: file,
            left: cap,
        };
        match pipeline
            .convert_to_git(input, &rel, index)
            .map_err(|e| Error::Git(format!("converting {path}: {}", chain(&e))))?
        {
            ToGitOutcome::Unchanged(r) => read_capped(r, buf, path, cap, io)?,
            ToGitOutcome::Buffer(b) => {
                if b.len() as u64 > cap {
                    return Err(too_large(path, b.len() as u64, cap, true));
                }
                buf.extend_from_slice(b);
            }
            ToGitOutcome::Process(r) => read_capped(r, buf, path, cap, io)?,
        }
        Ok(())
    }
}

fn dir_prefix(dir: &BStr) -> BString {
    let mut prefix = dir.to_owned();
    if !prefix.is_empty() {
        prefix.push(b'/');
    }
    prefix
}

fn range_prefix<'m>(
    entries: &'m BTreeMap<BString, Node>,
    prefix: &BString,
) -> impl Iterator<Item = (&'m BString, &'m Node)> {
    let owned = prefix.clone();
    entries
        .range::<BString, _>(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&owned))
}

/// What all workers' delta-base caches may hold together, unless git's configuration
/// sizes them: memory stays bounded whatever the number of cores.
const DELTA_CACHE_BUDGET: usize = 16 * 1024 * 1024;
const DELTA_CACHE_MIN: usize = 2 * 1024 * 1024;

/// gix gives each handle a 64-slot delta-base cache capped at 96 MB; with a worker per
/// core that grows with the machine (~14 MiB a worker on the `big` benchmark). Here
/// the budget is split between the workers instead, at no cost in speed on the
/// benchmark corpora. `core.deltaBaseCacheLimit` or `gitoxide.core.deltaBaseCacheLimit`,
/// when set, is the user's choice and is left alone.
fn bound_delta_cache(repo: &mut gix::Repository, workers: usize) {
    let configured = {
        let config = repo.config_snapshot();
        [
            "core.deltaBaseCacheLimit",
            "gitoxide.core.deltaBaseCacheLimit",
        ]
        .iter()
        .any(|key| config.string(*key).is_some())
    };
    if configured {
        return;
    }
    let limit = (DELTA_CACHE_BUDGET / workers.max(1)).max(DELTA_CACHE_MIN);
    repo.objects.set_pack_cache(move || {
        Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
            limit,
        ))
    });
}

impl Snapshot {
    /// Runs `job` over `items` on every core, each thread with its own gix handle, reader
    /// and reused blob buffer. Results keep the items' order; the first error wins.
    pub fn par_map<T, R, F>(&self, items: &[T], job: F) -> Result<Vec<R>>
    where
        T: Sync,
        R: Send,
        F: Fn(&mut Reader<'_>, &T, &mut Vec<u8>) -> Result<R> + Sync,
    {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        // PLUGIN_LOCK_THREADS pins the worker count (benchmarks compare 1 and 2).
        let threads = std::env::var("PLUGIN_LOCK_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(items.len())
            .max(1);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let work = || -> Result<Vec<(usize, R)>> {
            let mut repo = self.local_repo();
            bound_delta_cache(&mut repo, threads);
            let mut reader = self.reader(&repo);
            let mut buf = Vec::new();
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || failed.load(Ordering::Relaxed) {
                    return Ok(done);
                }
                match job(&mut reader, &items[i], &mut buf) {
                    Ok(r) => done.push((i, r)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        };
        let parts: Vec<Result<Vec<(usize, R)>>> = if threads == 1 {
            vec![work()]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Internal("a worker thread panicked".into()))
                        })
                    })
                    .collect()
            })
        };
        let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
        for part in parts {
            for (i, r) in part? {
                slots[i] = Some(r);
            }
        }
        slots
            .into_iter()
            .map(|r| r.ok_or_else(|| Error::Internal("a work item was not done".into())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_bytes_or_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size(" 2G "), Ok(2 << 30));
        for bad in ["", "0", "-1", "1T", "M", "1.5M", "99999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn capped_reads_fail_past_the_cap_instead_of_ending() {
        let mut out = Vec::new();
        let mut r = Capped {
            inner: &b"abcdef"[..],
            left: 6,
        };
        assert_eq!(r.read_to_end(&mut out).map(|_| out.len()).ok(), Some(6));
        let mut r = Capped {
            inner: &b"abcdefg"[..],
            left: 6,
        };
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        let mut buf = b"keep".to_vec();
        let e = read_capped(&b"0123456789"[..], &mut buf, BStr::new("f"), 4, |e| {
            Error::Io {
                path: "f".into(),
                source: e,
            }
        });
        assert!(matches!(
            e,
            Err(Error::BlobTooLarge {
                size: 5,
                at_least: true,
                ..
            })
        ));
        assert_eq!(buf, b"keep");
    }

    #[test]
    fn big_blobs_share_the_budget_and_a_lone_one_always_fits() {
        // Smaller than the default cap: two fit together, a third waits for a release.
        let size = DEFAULT_MAX_BLOB_SIZE / 2;
        let (a, b) = (turn_for(size), turn_for(size));
        assert!(a.is_some() && b.is_some());
        assert!(turn_for(BIG_BLOB_SIZE).is_none());
        let waiter = std::thread::spawn(move || turn_for(size).map(|t| t.0));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished());
        drop(a);
        assert_eq!(waiter.join().ok().flatten(), Some(size));
        drop(b);
        assert_eq!(*BIG_BLOBS.in_flight.lock().unwrap(), 0);
    }
}

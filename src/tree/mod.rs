//! Where bytes come from. A [`Tree`] is one tree to read a plugin from: a git tree, the
//! index or the work tree as git would store it ([`git`], with gix), or — for a runtime
//! loader — a directory on disk. The digest, discovery and the checks read through
//! this trait only, so they do not know (or build with) gix.

pub mod blob;
pub mod discover;
pub mod fs;
#[cfg(feature = "cli")]
pub mod git;
pub mod text;

use bstr::{BStr, BString};

use crate::error::{Error, Result};
pub use blob::Blob;

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
    pub id: Option<Id>,
}

/// An object id, as the tree stores it (a git object id); a file system has none.
/// Kept as bytes so that this layer does not depend on gix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id {
    len: u8,
    bytes: [u8; 32],
}

impl Id {
    /// The id made of `bytes` (20 for SHA-1, 32 for SHA-256); `None` for other lengths.
    pub fn from_bytes(bytes: &[u8]) -> Option<Id> {
        let mut out = [0u8; 32];
        out.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Id {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: out,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A regular file read whole, with a size cap checked before reading.
pub enum FileRead {
    Bytes(Vec<u8>),
    TooLarge(u64),
    /// The path exists but is not a regular file (a directory, link or submodule).
    NotAFile(Kind),
}

/// One tree, read by one thread. Paths are `/`-separated bytes relative to the top of
/// the tree (empty is the root); `node` is the entry at `path`, as a listing returned it.
pub trait Tree {
    /// The entry at `path`.
    fn lookup(&mut self, path: &BStr) -> Result<Option<Node>>;

    /// The immediate children of the directory `dir` (whose node is `node`), in byte order.
    fn children(&mut self, dir: &BStr, node: &Node) -> Result<Vec<(BString, Node)>>;

    /// Every non-directory entry below `dir`, as paths relative to `dir`, in no set order.
    /// Stops at the first path (relative to `dir`) longer than [`MAX_PATH_BYTES`], or
    /// past [`MAX_WALK_ENTRIES`] entries, and says which ([`Cut`]); the caller decides
    /// what a truncated walk means.
    fn walk(
        &mut self,
        dir: &BStr,
        node: &Node,
        out: &mut Vec<(BString, Node)>,
    ) -> Result<Option<Cut>>;

    /// The size of a file's content as the tree stores it, without reading it where possible.
    fn size(&mut self, path: &BStr, node: &Node) -> Result<u64>;

    /// The bytes the tree stores for a file or link entry (a link's target string), read
    /// into `buf` (reused across calls: one buffer per thread). Over
    /// [`blob::max_blob_size`] is [`Error::BlobTooLarge`].
    fn read<'b>(&mut self, path: &BStr, node: &Node, buf: &'b mut Vec<u8>) -> Result<Blob<'b>>;

    /// How many entries the directory `node` expands to within `levels` levels (every
    /// file and directory below it, a shared subtree counted each time it is named;
    /// `usize::MAX` for all), counting stops past `limit`. Only a tree whose directories
    /// have ids can repeat a subtree: one that lists real entries (the index, the work
    /// tree, a directory on disk) costs what it holds, and says 0.
    fn expanded_entries(
        &mut self,
        _node: &Node,
        _levels: usize,
        _limit: u64,
        _memo: &mut ExpansionMemo,
    ) -> Result<u64> {
        Ok(0)
    }
}

/// Counts already made by [`Tree::expanded_entries`], by directory id and levels.
// Only a tree with directory ids (the git reader, a cli source) fills it.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
#[derive(Default)]
pub struct ExpansionMemo(pub(crate) std::collections::HashMap<(Id, usize), u64>);

/// The longest path (in bytes, relative to the directory walked) that [`Tree::walk`]
/// follows: PATH_MAX on Linux, so no loader could open a longer one; it also bounds how
/// deep a walk goes (a crafted tree can nest 100,000 directories in a few kilobytes).
pub const MAX_PATH_BYTES: usize = 4096;

/// The most entries (files and directories) one [`Tree::walk`] lists. Git trees share
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

/// Why a [`Tree::walk`] stopped before listing everything.
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

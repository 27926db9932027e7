//! [`Reader`]: one thread's view of a [`Snapshot`]'s tree, the [`Tree`] that the digest,
//! discovery and the checks read through.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::Find;
use gix::objs::tree::EntryKind;

use crate::error::{Error, Result, chain};
use crate::tree::blob::{
    Blob, Capped, max_blob_size, open_regular, read_capped, too_large, turn_for,
};
use crate::tree::git::{Snapshot, TreeData};
use crate::tree::{
    Cut, ExpansionMemo, FileRead, Id, Kind, MAX_PATH_BYTES, MAX_WALK_ENTRIES, Node, Tree, join,
};

impl Snapshot {
    pub fn reader<'a>(&'a self, repo: &'a gix::Repository) -> Reader<'a> {
        Reader {
            snap: self,
            repo,
            pipeline: None,
            disk: match &self.tree {
                TreeData::Disk(root) => Some(crate::tree::fs::Dir::new(root.clone())),
                _ => None,
            },
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

impl From<&gix::oid> for Id {
    fn from(oid: &gix::oid) -> Id {
        let bytes = oid.as_bytes();
        let mut out = [0u8; 32];
        let len = bytes.len().min(out.len());
        out[..len].copy_from_slice(&bytes[..len]);
        Id {
            len: len as u8,
            bytes: out,
        }
    }
}

impl From<ObjectId> for Id {
    fn from(oid: ObjectId) -> Id {
        Id::from(oid.as_ref())
    }
}

/// The git object id an [`Id`] holds (every id here came from gix).
fn oid(id: &Id) -> Result<&gix::oid> {
    gix::hash::oid::try_from_bytes(id.as_bytes())
        .map_err(|e| Error::Internal(format!("object id {id}: {e}")))
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
    /// The checkout on disk, for `--checkout`.
    disk: Option<crate::tree::fs::Dir>,
}

/// `.git` is the repository, never part of what a loader sees.
fn is_git_dir(path: &[u8]) -> bool {
    path.split(|b| *b == b'/').any(|c| c == b".git")
}

impl Tree for Reader<'_> {
    /// The entry at `path` (`/`-separated, relative to the top of `T`; empty is the root).
    fn lookup(&mut self, path: &BStr) -> Result<Option<Node>> {
        if let Some(disk) = self.disk.as_mut() {
            if is_git_dir(path) {
                return Ok(None);
            }
            return disk.lookup(path);
        }
        match &self.snap.tree {
            TreeData::Disk(_) => Err(Error::Internal(
                "the checkout is read through tree::fs".into(),
            )),
            TreeData::Git(root) => {
                if path.is_empty() {
                    return Ok(Some(Node {
                        kind: Kind::Dir,
                        id: Some((*root).into()),
                    }));
                }
                let tree = self.repo.find_tree(*root).map_err(|e| Error::git(&e))?;
                let entry = tree
                    .lookup_entry(path.split_str("/"))
                    .map_err(|e| Error::git(&e))?;
                Ok(entry.map(|e| Node {
                    kind: kind_of(e.mode()),
                    id: Some(e.object_id().into()),
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
    fn children(&mut self, dir: &BStr, node: &Node) -> Result<Vec<(BString, Node)>> {
        if let Some(disk) = self.disk.as_mut() {
            let mut out = disk.children(dir, node)?;
            out.retain(|(name, _)| name.as_slice() != b".git");
            return Ok(out);
        }
        match &self.snap.tree {
            TreeData::Disk(_) => Err(Error::Internal(
                "the checkout is read through tree::fs".into(),
            )),
            TreeData::Git(_) => {
                let Some(id) = node.id else {
                    return Ok(Vec::new());
                };
                let tree = self.repo.find_tree(oid(&id)?).map_err(|e| Error::git(&e))?;
                let decoded = tree.decode().map_err(|e| Error::Git(e.to_string()))?;
                let mut out: Vec<(BString, Node)> = decoded
                    .entries
                    .iter()
                    .map(|e| {
                        (
                            e.filename.to_owned(),
                            Node {
                                kind: kind_of(e.mode),
                                id: Some(e.oid.into()),
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
    fn walk(
        &mut self,
        dir: &BStr,
        node: &Node,
        out: &mut Vec<(BString, Node)>,
    ) -> Result<Option<Cut>> {
        if let Some(disk) = self.disk.as_mut() {
            let start = out.len();
            let cut = disk.walk(dir, node, out)?;
            let mut i = start;
            while i < out.len() {
                if is_git_dir(&out[i].0) {
                    out.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            return Ok(cut);
        }
        match &self.snap.tree {
            TreeData::Disk(_) => Err(Error::Internal(
                "the checkout is read through tree::fs".into(),
            )),
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
                    tree: self.tree_entries_memo(oid(&root)?.to_owned(), &mut trees)?,
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
                        out.push((
                            path.clone(),
                            Node {
                                kind,
                                id: Some(id.into()),
                            },
                        ));
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

    /// The size of a file's content as `T` stores it, without reading it where possible.
    fn size(&mut self, path: &BStr, node: &Node) -> Result<u64> {
        if let Some(disk) = self.disk.as_mut() {
            return disk.size(path, node);
        }
        if let Some(id) = node.id {
            let id = oid(&id)?;
            return match self.repo.find_header(id) {
                Ok(header) => Ok(header.size()),
                Err(e) if self.repo.has_object(id) => Err(Error::git(&e)),
                Err(_) => {
                    self.fetch_missing(path, id)?;
                    let header = self.repo.find_header(id).map_err(|e| Error::git(&e))?;
                    Ok(header.size())
                }
            };
        }
        let full = self.disk_path(path)?;
        std::fs::symlink_metadata(&full)
            .map(|m| m.len())
            .map_err(|source| Error::Io { path: full, source })
    }

    /// The bytes `T` stores for a file or link entry (a link's target string), read into
    /// `buf` (reused across calls: one buffer per thread). Over [`max_blob_size`] is
    /// [`Error::BlobTooLarge`], known from the object header before anything is read.
    fn read<'b>(&mut self, path: &BStr, node: &Node, buf: &'b mut Vec<u8>) -> Result<Blob<'b>> {
        self.read_within(path, node, buf, max_blob_size())
    }

    /// Each distinct git tree is read once per level (`memo`, shared across calls), so
    /// the cost is the repository's distinct trees, not the expansion.
    fn expanded_entries(
        &mut self,
        node: &Node,
        levels: usize,
        limit: u64,
        memo: &mut ExpansionMemo,
    ) -> Result<u64> {
        self.count_expanded(node, levels, limit, memo)
    }
}

impl<'a> Reader<'a> {
    /// How many entries the git tree `node` expands to within `levels` levels (every
    /// file and directory below it, a shared subtree counted each time it is named;
    /// `usize::MAX` for all), counting stops past `limit`. Each distinct tree is read once
    /// per level (`memo`, by id and levels, shared across calls), so the cost is the
    /// repository's distinct trees, not the expansion. Without tree ids (the index and the
    /// work tree list real entries) it is 0.
    fn count_expanded(
        &mut self,
        node: &Node,
        levels: usize,
        limit: u64,
        memo: &mut ExpansionMemo,
    ) -> Result<u64> {
        let (TreeData::Git(_), Some(root), Kind::Dir) = (&self.snap.tree, node.id, node.kind)
        else {
            return Ok(0);
        };
        let memo = &mut memo.0;
        let root = oid(&root)?.to_owned();
        if levels == 0 {
            return Ok(0);
        }
        if let Some(&n) = memo.get(&(Id::from(root), levels)) {
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
                    match memo.get(&(Id::from(key.0), key.1)) {
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
            memo.insert((Id::from(key.0), key.1), count);
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
        if let Some(disk) = self.disk.as_mut() {
            // Byte for byte, no git filter: the loader's view.
            let blob = disk.read(path, node, buf)?;
            if blob.len() as u64 > cap {
                return Err(too_large(path, blob.len() as u64, cap, true));
            }
            return Ok(blob);
        }
        if let Some(id) = node.id {
            let size = self.size(path, node)?;
            if size > cap {
                return Err(too_large(path, size, cap, false));
            }
            let turn = turn_for(size);
            let found = self
                .repo
                .objects
                .try_find(oid(&id)?, buf)
                .map_err(|e| Error::Git(format!("reading {path}: {e}")))?
                .ok_or_else(|| Error::Internal(format!("object {id} of `{path}` went away")))?;
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

    /// A missing object asked from the promisor remote of a partial clone; when it cannot
    /// come, the error names the path, the tree, and what to do.
    fn fetch_missing(&mut self, path: &BStr, id: &gix::oid) -> Result<()> {
        self.snap
            .fetch_one(self.repo, id.to_owned())
            .map_err(|hint| Error::MissingObject {
                path: path.to_string(),
                id: crate::escape::short_id(&id.to_string()).to_owned(),
                source_label: self.snap.label(),
                hint,
            })
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
                let tree = self.repo.find_tree(oid(&id)?).map_err(|e| Error::git(&e))?;
                tree.lookup_entry(BStr::new(name).split_str("/"))
                    .map_err(|e| Error::git(&e))?
                    .map(|e| Node {
                        kind: kind_of(e.mode()),
                        id: Some(e.object_id().into()),
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

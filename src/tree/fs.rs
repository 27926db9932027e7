//! A directory on disk as a [`Tree`]: the deployed files a runtime loader verifies, with
//! no `.git` needed. Entries are what the file system holds under the root, links are
//! listed as links and never followed here (the digest resolves them, as it does for a
//! git tree), and no path leaves the root: every component is looked up one at a time,
//! without following links, and `.`, `..` and empty components are refused.
//!
//! A file system has no object ids and no submodules (a nested repository is a
//! directory), and a directory entry that is neither a file, a directory nor a link (a
//! FIFO, socket or device) is listed as a file whose read fails: git cannot store it,
//! and a loader must not hang on it.

use std::fs::FileType;
use std::path::{Path, PathBuf};

use bstr::{BStr, BString, ByteSlice};

use crate::error::{Error, Result};
use crate::tree::blob::{Blob, max_blob_size, open_regular, read_capped, too_large, turn_for};
use crate::tree::{Cut, Kind, MAX_PATH_BYTES, MAX_WALK_ENTRIES, Node, Tree, shown};

/// The tree rooted at a directory on disk.
#[derive(Debug, Clone)]
pub struct Dir {
    root: PathBuf,
}

impl Dir {
    /// The tree whose top is `root` (a plugin's path in it is relative to `root`).
    pub fn new(root: impl Into<PathBuf>) -> Dir {
        Dir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file-system path of the tree path `path`, refusing any component that could
    /// name something outside the root.
    fn native(&self, path: &BStr) -> Result<PathBuf> {
        let mut out = self.root.clone();
        if path.is_empty() {
            return Ok(out);
        }
        for part in path.split_str("/") {
            if part.is_empty() || part == b"." || part == b".." {
                return Err(Error::Usage(format!(
                    "`{}`: a tree path has no empty, `.` or `..` component",
                    shown(path)
                )));
            }
            out.push(os_name(part, path)?);
        }
        Ok(out)
    }

    fn io(&self, path: &BStr) -> impl Fn(std::io::Error) -> Error + '_ {
        let full = self.native(path).unwrap_or_else(|_| self.root.clone());
        move |source| Error::Io {
            path: full.clone(),
            source,
        }
    }
}

#[cfg(unix)]
fn os_name<'a>(part: &'a [u8], _path: &BStr) -> Result<&'a std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::OsStr::from_bytes(part))
}

#[cfg(not(unix))]
fn os_name<'a>(part: &'a [u8], path: &BStr) -> Result<&'a std::ffi::OsStr> {
    std::str::from_utf8(part)
        .map(std::ffi::OsStr::new)
        .map_err(|_| Error::Usage(format!("`{}` is not a Unicode path", shown(path))))
}

/// A directory entry's name as tree bytes: the bytes on Unix; elsewhere the OS's own
/// encoding (UTF-8 for every valid name; an unpaired surrogate stays non-UTF-8, which
/// the digest rejects as `unsupported_path`).
fn tree_name(name: &std::ffi::OsStr) -> BString {
    BString::from(name.as_encoded_bytes())
}

fn kind_of(ft: FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Link
    } else if ft.is_dir() {
        Kind::Dir
    } else {
        Kind::File
    }
}

fn node(kind: Kind) -> Node {
    Node { kind, id: None }
}

/// A link's target as tree bytes, `/`-separated as git stores it.
fn link_target(full: &Path) -> std::io::Result<Vec<u8>> {
    let target = std::fs::read_link(full)?;
    let mut bytes = target.as_os_str().as_encoded_bytes().to_vec();
    if cfg!(windows) {
        for b in &mut bytes {
            if *b == b'\\' {
                *b = b'/';
            }
        }
    }
    Ok(bytes)
}

impl Tree for Dir {
    fn lookup(&mut self, path: &BStr) -> Result<Option<Node>> {
        if path.is_empty() {
            return Ok(Some(node(Kind::Dir)));
        }
        // One component at a time, none followed: a link on the way is not a directory,
        // as in a git tree.
        let mut full = self.root.clone();
        let mut kind = Kind::Dir;
        for part in path.split_str("/") {
            if kind != Kind::Dir {
                return Ok(None);
            }
            if part.is_empty() || part == b"." || part == b".." {
                return Ok(None);
            }
            full.push(os_name(part, path)?);
            match std::fs::symlink_metadata(&full) {
                Ok(meta) => kind = kind_of(meta.file_type()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => return Err(Error::Io { path: full, source }),
            }
        }
        Ok(Some(node(kind)))
    }

    fn children(&mut self, dir: &BStr, node_: &Node) -> Result<Vec<(BString, Node)>> {
        if node_.kind != Kind::Dir {
            return Ok(Vec::new());
        }
        let full = self.native(dir)?;
        let io = |source| Error::Io {
            path: full.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&full).map_err(io)? {
            let entry = entry.map_err(io)?;
            let kind = kind_of(entry.file_type().map_err(io)?);
            out.push((tree_name(&entry.file_name()), node(kind)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn walk(
        &mut self,
        dir: &BStr,
        node_: &Node,
        out: &mut Vec<(BString, Node)>,
    ) -> Result<Option<Cut>> {
        if node_.kind != Kind::Dir {
            return Ok(None);
        }
        let top = self.native(dir)?;
        // Directories still to list: their path relative to `dir`, and on disk.
        let mut pending: Vec<(BString, PathBuf)> = vec![(BString::default(), top)];
        let mut seen = 0usize;
        while let Some((rel_dir, full)) = pending.pop() {
            let io = |source| Error::Io {
                path: full.clone(),
                source,
            };
            for entry in std::fs::read_dir(&full).map_err(io)? {
                let entry = entry.map_err(io)?;
                let name = tree_name(&entry.file_name());
                let mut rel = rel_dir.clone();
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(&name);
                if rel.len() > MAX_PATH_BYTES {
                    return Ok(Some(Cut::TooLong(rel)));
                }
                seen += 1;
                if seen > MAX_WALK_ENTRIES {
                    return Ok(Some(Cut::TooMany));
                }
                match kind_of(entry.file_type().map_err(io)?) {
                    Kind::Dir => pending.push((rel, entry.path())),
                    kind => out.push((rel, node(kind))),
                }
            }
        }
        Ok(None)
    }

    fn size(&mut self, path: &BStr, node_: &Node) -> Result<u64> {
        let full = self.native(path)?;
        let io = self.io(path);
        if node_.kind == Kind::Link {
            return Ok(link_target(&full).map_err(io)?.len() as u64);
        }
        Ok(std::fs::symlink_metadata(&full).map_err(io)?.len())
    }

    fn read<'b>(&mut self, path: &BStr, node_: &Node, buf: &'b mut Vec<u8>) -> Result<Blob<'b>> {
        buf.clear();
        let full = self.native(path)?;
        let io = self.io(path);
        if node_.kind == Kind::Link {
            buf.extend_from_slice(&link_target(&full).map_err(io)?);
            let len = buf.len();
            return Ok(Blob {
                buf,
                len,
                turn: None,
            });
        }
        let cap = max_blob_size();
        let size = std::fs::symlink_metadata(&full).map_err(&io)?.len();
        if size > cap {
            return Err(too_large(path, size, cap, false));
        }
        // The size only picks the turn; the read is capped, as a file can grow.
        let turn = turn_for(size);
        let file = open_regular(&full).map_err(&io)?;
        read_capped(file, buf, path, cap, io)?;
        let len = buf.len();
        Ok(Blob { buf, len, turn })
    }
}

#[cfg(test)]
mod tests;

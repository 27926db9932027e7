//! The plugin tree digest, version 1 (spec/DIGEST.md): enumerate, exclude, check names,
//! resolve links, order, hash. The only module that touches SHA-256.

use std::cmp::Ordering;

use gix::bstr::{BStr, BString, ByteSlice};
use sha2::{Digest as _, Sha256};

use crate::config::SymlinkPolicy;
use crate::error::{Error, Result};
use crate::source::{Kind, Node, Reader, join};

/// Following more than this many links while resolving one entry is a loop.
const MAX_LINKS: u32 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RejectionKind {
    SymlinkEscape,
    SymlinkLoop,
    DanglingSymlink,
    UnsupportedEntry,
    UnsupportedPath,
}

impl RejectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::SymlinkEscape => "symlink_escape",
            RejectionKind::SymlinkLoop => "symlink_loop",
            RejectionKind::DanglingSymlink => "dangling_symlink",
            RejectionKind::UnsupportedEntry => "unsupported_entry",
            RejectionKind::UnsupportedPath => "unsupported_path",
        }
    }
}

/// Why a plugin has no digest. `path` is the offending entry, relative to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub path: String,
    pub message: String,
}

/// One record of the digest input, for `digest --explain` and `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub path: String,
    pub size: u64,
    /// SHA-256 of the record's content, hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub policy: SymlinkPolicy,
    /// Also return every record with its content hash.
    pub records: bool,
    /// Read every blob but hash nothing (the benchmark's floor).
    pub read_only: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: std::result::Result<String, Rejection>,
    pub records: Vec<Record>,
    /// The first entry in record order (relative to the plugin), to locate findings at.
    pub first: Option<String>,
    /// Whether resolving links looked up any path outside the plugin directory: the
    /// result then depends on more than the plugin's own tree (src/cache.rs skips it).
    pub looked_outside: bool,
}

/// Computes the digest of the plugin directory `dir` (a path in `T`) whose entry is `node`.
/// `buf` is the calling thread's reused blob buffer.
pub fn plugin(
    reader: &mut Reader<'_>,
    dir: &str,
    node: &Node,
    options: &Options,
    buf: &mut Vec<u8>,
) -> Result<Outcome> {
    let reject = |kind, path: &str, message: String| Outcome {
        result: Err(Rejection {
            kind,
            path: path.to_owned(),
            message,
        }),
        records: Vec::new(),
        first: None,
        looked_outside: false,
    };
    match node.kind {
        Kind::Dir => {}
        Kind::Link => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                dir,
                format!(
                    "plugin directory `{dir}` is a symlink; a loader would follow it outside the lock's control"
                ),
            ));
        }
        Kind::Submodule => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                dir,
                format!(
                    "plugin directory `{dir}` is a submodule; its content is not in this repository's tree"
                ),
            ));
        }
        Kind::File => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                dir,
                format!("`{dir}` is a file, not a plugin directory"),
            ));
        }
    }

    let mut entries = Vec::new();
    reader.walk(BStr::new(dir), node, &mut entries)?;
    entries.retain(|(rel, _)| !excluded(rel.as_bstr()));
    entries.sort_by(|a, b| record_order(a.0.as_bstr(), b.0.as_bstr()));
    let first = entries
        .first()
        .map(|(rel, _)| rel.to_str_lossy().into_owned());

    // First pass, no blob reads but link targets: the first offending entry in record
    // order rejects the plugin.
    let mut sources: Vec<(String, BString, Node)> = Vec::with_capacity(entries.len());
    let mut resolver = Resolver {
        reader,
        plugin: dir,
        followed: 0,
        buf: Vec::new(),
        looked_outside: false,
    };
    for (rel, entry) in entries {
        let repo_path = join(dir, &rel.to_str_lossy());
        let rel = match check_name(rel.as_bstr()) {
            Ok(rel) => rel.to_owned(),
            Err(why) => {
                return Ok(Outcome {
                    first,
                    looked_outside: resolver.looked_outside,
                    ..reject(
                        RejectionKind::UnsupportedPath,
                        &repo_path,
                        format!(
                            "`{}` {why}; such a name cannot be locked portably",
                            rel.as_bstr()
                        ),
                    )
                });
            }
        };
        match entry.kind {
            Kind::File => sources.push((rel, BString::from(repo_path), entry)),
            Kind::Submodule => {
                return Ok(Outcome {
                    first,
                    looked_outside: resolver.looked_outside,
                    ..reject(
                        RejectionKind::UnsupportedEntry,
                        &repo_path,
                        format!("`{repo_path}` is a submodule; a plugin cannot contain one"),
                    )
                });
            }
            Kind::Dir => {}
            Kind::Link => match options.policy {
                SymlinkPolicy::AsLink => {
                    let target = resolver.target(repo_path.as_bytes().as_bstr(), &entry)?;
                    if let Some(rejection) = check_as_link(dir, &repo_path, target.as_bstr()) {
                        return Ok(Outcome {
                            result: Err(rejection),
                            records: Vec::new(),
                            first,
                            looked_outside: resolver.looked_outside,
                        });
                    }
                    sources.push((rel, BString::from(repo_path), entry));
                }
                SymlinkPolicy::Follow => {
                    resolver.followed = 0;
                    match resolver.follow_entry(&repo_path, &entry)? {
                        Ok((target, node)) => sources.push((rel, target, node)),
                        Err(rejection) => {
                            return Ok(Outcome {
                                result: Err(rejection),
                                records: Vec::new(),
                                first,
                                looked_outside: resolver.looked_outside,
                            });
                        }
                    }
                }
            },
        }
    }

    let looked_outside = resolver.looked_outside;
    // Second pass: read and hash, one buffer for the whole plugin.
    let mut hasher = Sha256::new();
    let mut records = Vec::new();
    for (i, (rel, path, node)) in sources.iter().enumerate() {
        let content = match reader.read(path.as_bstr(), node, buf) {
            // Over the operator's blob limit: no digest can be computed, so the plugin is
            // rejected. Not cached: the answer depends on the limit, not only the tree.
            Err(too_large @ Error::BlobTooLarge { .. }) => {
                return Ok(Outcome {
                    first,
                    looked_outside: true,
                    ..reject(
                        RejectionKind::UnsupportedEntry,
                        &path.to_str_lossy(),
                        too_large.to_string(),
                    )
                });
            }
            other => other?,
        };
        if options.read_only {
            continue;
        }
        if i > 0 {
            hasher.update([0x1e]);
        }
        hasher.update(rel.as_bytes());
        hasher.update([0x1f]);
        hasher.update(content.len().to_string().as_bytes());
        hasher.update([0x1f]);
        hasher.update(&content);
        if options.records {
            records.push(Record {
                path: rel.clone(),
                size: content.len() as u64,
                sha256: hex(&Sha256::digest(&content)),
            });
        }
    }
    Ok(Outcome {
        result: Ok(hex(&hasher.finalize())),
        records,
        first,
        looked_outside,
    })
}

/// One entry of a plugin as stored, for explaining changes: its path relative to the
/// plugin, and the SHA-256 of its stored bytes (a link's target text, not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub path: String,
    pub sha256: String,
}

/// The digest's inputs before any check: every non-excluded entry below `dir` with the
/// hash of what `T` stores, sorted in record order. Never rejects; names are shown lossily.
pub fn stored_entries(
    reader: &mut Reader<'_>,
    dir: &str,
    node: &Node,
    buf: &mut Vec<u8>,
) -> Result<Vec<StoredEntry>> {
    let mut entries = Vec::new();
    if node.kind == Kind::Dir {
        reader.walk(BStr::new(dir), node, &mut entries)?;
    }
    entries.retain(|(rel, n)| !excluded(rel.as_bstr()) && n.kind != Kind::Dir);
    entries.sort_by(|a, b| record_order(a.0.as_bstr(), b.0.as_bstr()));
    let mut out = Vec::with_capacity(entries.len());
    for (rel, entry) in entries {
        let rel = rel.to_str_lossy().into_owned();
        let sha256 = if entry.kind == Kind::Submodule {
            // A gitlink stores a commit id, not content: its id stands for it.
            entry.id.map(|id| id.to_string()).unwrap_or_default()
        } else {
            let path = join(dir, &rel);
            hex(&Sha256::digest(reader.read(
                BStr::new(&path),
                &entry,
                buf,
            )?))
        };
        out.push(StoredEntry { path: rel, sha256 });
    }
    Ok(out)
}

/// SHA-256 of the concatenated `parts`, hex: for fingerprints elsewhere (the cache), so
/// that this module stays the only one that touches SHA-256.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    hex(&sha256(parts))
}

/// SHA-256 of the concatenated `parts`, raw: for cache keys (src/cache.rs).
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` to `out` as lowercase hex.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
}

/// Step 2: `__pycache__` anywhere in the entry's own path, or a name ending in `.pyc`.
fn excluded(rel: &BStr) -> bool {
    rel.ends_with(b".pyc") || rel.split_str("/").any(|c| c == b"__pycache__")
}

/// Step 5: component by component, i.e. bytes with `/` read as 0x00.
pub fn record_order(a: &BStr, b: &BStr) -> Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { *c };
    a.iter().map(key).cmp(b.iter().map(key))
}

/// Step 3: valid UTF-8 with no control character.
fn check_name(rel: &BStr) -> std::result::Result<&str, &'static str> {
    let s = rel.to_str().map_err(|_| "is not valid UTF-8")?;
    if s.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}') {
        return Err("contains a control character");
    }
    Ok(s)
}

fn is_inside(plugin: &str, path: &str) -> bool {
    path.len() > plugin.len() && path.starts_with(plugin) && path.as_bytes()[plugin.len()] == b'/'
}

/// `as-link`: only an absolute target or one that climbs out of the plugin is rejected.
fn check_as_link(plugin: &str, link: &str, target: &BStr) -> Option<Rejection> {
    let escape = |why: &str| {
        Some(Rejection {
            kind: RejectionKind::SymlinkEscape,
            path: link.to_owned(),
            message: format!("symlink `{link}` {why} (target `{target}`)"),
        })
    };
    if target.starts_with(b"/") {
        return escape("has an absolute target");
    }
    let plugin_depth = plugin.split('/').count();
    let mut parts: Vec<&[u8]> = link.as_bytes().split_str("/").collect();
    parts.pop();
    for c in target.split_str("/") {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
                if parts.len() < plugin_depth {
                    return escape("points outside the plugin");
                }
            }
            other => parts.push(other),
        }
    }
    None
}

struct Resolver<'r, 'a> {
    reader: &'r mut Reader<'a>,
    plugin: &'r str,
    followed: u32,
    buf: Vec<u8>,
    /// Set once a lookup leaves the plugin directory (see [`Outcome::looked_outside`]).
    looked_outside: bool,
}

type Resolved = std::result::Result<(BString, Node), Rejection>;

impl Resolver<'_, '_> {
    fn target(&mut self, path: &BStr, node: &Node) -> Result<BString> {
        Ok(self.reader.read(path, node, &mut self.buf)?.into())
    }

    fn lookup(&mut self, parts: &[BString]) -> Result<Option<Node>> {
        let path = BString::from(parts.join(&b"/"[..]));
        let path_str = path.to_str_lossy();
        if path_str != self.plugin && !is_inside(self.plugin, &path_str) {
            self.looked_outside = true;
        }
        self.reader.lookup(path.as_bstr())
    }

    /// Step 4 for one link entry under `follow`: the file whose bytes it records.
    fn follow_entry(&mut self, link: &str, node: &Node) -> Result<Resolved> {
        let mut parts: Vec<BString> = link.split('/').map(BString::from).collect();
        parts.pop();
        let target = self.target(BStr::new(link), node)?;
        let rejection = |kind, message: String| {
            Err(Rejection {
                kind,
                path: link.to_owned(),
                message,
            })
        };
        let (final_parts, final_node) = match self.resolve(parts, target.as_bstr())? {
            Ok(found) => found,
            Err(kind) => {
                let message = match kind {
                    RejectionKind::SymlinkEscape => format!(
                        "symlink `{link}` points outside the repository (target `{target}`)"
                    ),
                    RejectionKind::SymlinkLoop => format!(
                        "symlink `{link}` does not resolve: more than {MAX_LINKS} links followed (a loop)"
                    ),
                    _ => format!(
                        "symlink `{link}` points to `{target}`, which does not exist in the tree"
                    ),
                };
                return Ok(rejection(kind, message));
            }
        };
        let final_path = BString::from(final_parts.join(&b"/"[..]));
        let final_str = final_path.to_str_lossy();
        if !is_inside(self.plugin, &final_str) {
            return Ok(rejection(
                RejectionKind::SymlinkEscape,
                format!(
                    "symlink `{link}` points outside the plugin, to `{final_str}` (target `{target}`)"
                ),
            ));
        }
        match final_node.kind {
            Kind::File => Ok(Ok((final_path, final_node))),
            Kind::Dir => Ok(rejection(
                RejectionKind::UnsupportedEntry,
                format!(
                    "symlink `{link}` points to a directory (`{final_str}`); only links to files are supported"
                ),
            )),
            Kind::Submodule | Kind::Link => Ok(rejection(
                RejectionKind::UnsupportedEntry,
                format!("symlink `{link}` points to a submodule (`{final_str}`)"),
            )),
        }
    }

    /// Resolves `target` from the directory `base` (path components), following links
    /// lexically: `..` drops the last component built so far before any link in it is
    /// followed. Returns the final path and its (non-link) entry.
    fn resolve(
        &mut self,
        mut built: Vec<BString>,
        target: &BStr,
    ) -> Result<std::result::Result<(Vec<BString>, Node), RejectionKind>> {
        self.followed += 1;
        if self.followed > MAX_LINKS {
            return Ok(Err(RejectionKind::SymlinkLoop));
        }
        if target.starts_with(b"/") {
            return Ok(Err(RejectionKind::SymlinkEscape));
        }
        let trailing_slash = target.ends_with(b"/");
        let mut current = Node {
            kind: Kind::Dir,
            id: None,
        };
        let mut pending_link: Option<Node> = None;
        for c in target.split_str("/") {
            match c {
                b"" | b"." => continue,
                b".." => {
                    if built.pop().is_none() {
                        return Ok(Err(RejectionKind::SymlinkEscape));
                    }
                    pending_link = None;
                    current = Node {
                        kind: Kind::Dir,
                        id: None,
                    };
                    continue;
                }
                _ => {}
            }
            if let Some(link) = pending_link.take() {
                match self.follow_link(&built, &link)? {
                    Ok((parts, node)) => {
                        built = parts;
                        current = node;
                    }
                    Err(kind) => return Ok(Err(kind)),
                }
            }
            if current.kind != Kind::Dir {
                return Ok(Err(RejectionKind::DanglingSymlink));
            }
            built.push(BString::from(c));
            match self.lookup(&built)? {
                None => return Ok(Err(RejectionKind::DanglingSymlink)),
                Some(node) if node.kind == Kind::Link => pending_link = Some(node),
                Some(node) => current = node,
            }
        }
        if let Some(link) = pending_link.take() {
            match self.follow_link(&built, &link)? {
                Ok((parts, node)) => {
                    built = parts;
                    current = node;
                }
                Err(kind) => return Ok(Err(kind)),
            }
        }
        if trailing_slash && current.kind != Kind::Dir {
            return Ok(Err(RejectionKind::DanglingSymlink));
        }
        Ok(Ok((built, current)))
    }

    /// Follows the link at `parts` to its final entry.
    fn follow_link(
        &mut self,
        parts: &[BString],
        link: &Node,
    ) -> Result<std::result::Result<(Vec<BString>, Node), RejectionKind>> {
        let path = BString::from(parts.join(&b"/"[..]));
        let target = self.target(path.as_bstr(), link)?;
        let mut base = parts.to_vec();
        base.pop();
        self.resolve(base, target.as_bstr())
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`: the cache file's
/// authenticator (src/cache.rs), here so that this module stays the only one that
/// touches SHA-256.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_order_is_component_wise() {
        let mut v = vec!["a.txt", "a/b", "a-b", "ab", "a"];
        v.sort_by(|a, b| record_order(BStr::new(a), BStr::new(b)));
        assert_eq!(v, ["a", "a/b", "a-b", "a.txt", "ab"]);
    }

    #[test]
    fn exclusions_look_at_the_entry_path_only() {
        assert!(excluded(BStr::new("x.pyc")));
        assert!(excluded(BStr::new("a/__pycache__/notes.txt")));
        assert!(!excluded(BStr::new("__pycache__x/y")));
        assert!(!excluded(BStr::new("x.pyc.txt")));
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        assert!(check_name(BStr::new("tab\there")).is_err());
        assert!(check_name(BStr::new("del\u{7f}")).is_err());
        assert!(check_name(BStr::new(b"\xff")).is_err());
        assert!(check_name(BStr::new("été/中文")).is_ok());
    }

    #[test]
    fn as_link_checks_are_lexical() {
        assert!(check_as_link("plugins/p", "plugins/p/l", BStr::new("/etc")).is_some());
        assert!(check_as_link("plugins/p", "plugins/p/l", BStr::new("../q/x")).is_some());
        assert!(check_as_link("plugins/p", "plugins/p/a/b/l", BStr::new("../../x")).is_none());
        assert!(check_as_link("plugins/p", "plugins/p/l", BStr::new("missing/")).is_none());
    }

    #[test]
    fn empty_input_digest() {
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block is hashed first).
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            let (head, tail) = data.split_at(3);
            assert_eq!(hex(&hmac_sha256(key, &[head, tail])), expected);
        }
    }
}

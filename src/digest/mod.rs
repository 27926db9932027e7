//! The plugin tree digest, version 1 (spec/DIGEST.md): enumerate, exclude, check names,
//! resolve links, order, hash. The only module that touches SHA-256.
//!
//! Paths are exact bytes throughout: a link is inside its plugin when the components of
//! its resolved path start with the plugin's, byte for byte; names are shown escaped
//! ([`crate::tree::shown`]), never lossily. Hostile trees are bounded: a link target over
//! [`MAX_LINK_TARGET`](links::MAX_LINK_TARGET) bytes is refused from its object header,
//! the resolver visits at most [`MAX_RESOLVE_WORK`](links::MAX_RESOLVE_WORK) components
//! per plugin, and the walk stops at paths over PATH_MAX and past
//! [`crate::tree::MAX_WALK_ENTRIES`] entries. Committed bytecode is reported
//! ([`Bytecode`]), and the digest itself stays as the spec says.

pub mod links;
pub mod rejection;

use std::cmp::Ordering;

use bstr::{BStr, BString, ByteSlice};
use sha2::{Digest as _, Sha256};

use crate::config::SymlinkPolicy;
use crate::digest::links::{Resolver, check_as_link};
use crate::digest::rejection::{Rejection, RejectionKind};
use crate::error::{Error, Result};
use crate::tree::text::LineEnds;
use crate::tree::{
    Cut, Kind, MAX_PATH_BYTES, MAX_WALK_ENTRIES, Node, Tree, join, join_bytes, shown,
};

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
    /// Also return a copy of every record's content, the very bytes that were hashed (a
    /// runtime loader runs those, never a second read of the disk).
    pub contents: bool,
    /// Also return the line-end facts of every file with a line end (for
    /// `eol_conversion`: what a checkout's conversion would see).
    pub line_ends: bool,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: std::result::Result<String, Rejection>,
    pub records: Vec<Record>,
    /// The first entry in record order (relative to the plugin), to locate findings at.
    pub first: Option<String>,
    /// Whether resolving links looked up any path outside the plugin directory: the
    /// result then depends on more than the plugin's own tree (src/cache skips it).
    pub looked_outside: bool,
    /// Committed Python bytecode in the plugin (see [`Bytecode`]).
    pub bytecode: Bytecode,
    /// With [`Options::contents`]: each record's path and the bytes hashed for it, in
    /// record order (empty when the plugin is rejected).
    pub contents: Vec<(String, Vec<u8>)>,
    /// A rejected plugin's other offending entries, after the first (`result`'s), in
    /// record order: every problem is reported, not only the first.
    pub more_rejections: Vec<Rejection>,
    /// Every file and link of the plugin (relative, shown as text) with its kind, in
    /// record order: what platform checks read (names only, no content).
    pub names: Vec<(String, Kind)>,
    /// With [`Options::line_ends`]: each file (not a link) that has a line end, with
    /// its facts, in record order.
    pub line_ends: Vec<(String, LineEnds)>,
}

/// The plugin's entries that Python would run in place of its sources: anything under
/// `__pycache__/`, `*.pyc`, `*.pyo` (step 2 leaves most of them out of the digest, so
/// they must not ride along unseen). Paths relative to the plugin, in record order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytecode {
    /// The first [`Bytecode::LISTED`] of them.
    pub listed: Vec<String>,
    /// How many there are in all.
    pub count: usize,
}

impl Bytecode {
    pub const LISTED: usize = 5;

    fn of(entries: &[(BString, Node)]) -> Bytecode {
        let mut all: Vec<&BString> = entries
            .iter()
            .filter(|(rel, n)| n.kind != Kind::Dir && is_bytecode(rel.as_bstr()))
            .map(|(rel, _)| rel)
            .collect();
        all.sort_by(|a, b| record_order(a.as_bstr(), b.as_bstr()));
        Bytecode {
            listed: all
                .iter()
                .take(Bytecode::LISTED)
                .map(|rel| shown(rel).into_owned())
                .collect(),
            count: all.len(),
        }
    }
}

/// Computes the digest of the plugin directory `dir` (its exact path in `T`) whose entry
/// is `node`. `buf` is the calling thread's reused blob buffer.
/// The most offending entries reported for one plugin.
pub const MAX_REJECTIONS: usize = 100;

pub fn plugin(
    reader: &mut impl Tree,
    dir: &BStr,
    node: &Node,
    options: &Options,
    buf: &mut Vec<u8>,
) -> Result<Outcome> {
    let dir_shown = shown(dir).into_owned();
    let reject = |kind, path: &str, message: String| Outcome {
        result: Err(Rejection {
            kind,
            path: path.to_owned(),
            message,
        }),
        records: Vec::new(),
        contents: Vec::new(),
        first: None,
        looked_outside: false,
        bytecode: Bytecode::default(),
        more_rejections: Vec::new(),
        names: Vec::new(),
        line_ends: Vec::new(),
    };
    match node.kind {
        Kind::Dir => {}
        Kind::Link => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                &dir_shown,
                format!(
                    "plugin directory `{dir_shown}` is a symlink; a loader would follow it outside the lock's control"
                ),
            ));
        }
        Kind::Submodule => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                &dir_shown,
                format!(
                    "plugin directory `{dir_shown}` is a submodule; its content is not in this repository's tree"
                ),
            ));
        }
        Kind::File => {
            return Ok(reject(
                RejectionKind::UnsupportedEntry,
                &dir_shown,
                format!("`{dir_shown}` is a file, not a plugin directory"),
            ));
        }
    }

    let mut entries = Vec::new();
    let too_long = reader.walk(dir, node, &mut entries)?;
    let bytecode = Bytecode::of(&entries);
    match too_long {
        None => {}
        Some(Cut::TooLong(rel)) => {
            let shown_rel = shown(&rel[..rel.len().min(120)]).into_owned();
            return Ok(Outcome {
                bytecode,
                ..reject(
                    RejectionKind::UnsupportedPath,
                    &join(&dir_shown, &shown_rel),
                    format!(
                        "`{shown_rel}…` is a path of more than {MAX_PATH_BYTES} bytes inside the plugin (PATH_MAX); no loader could open it"
                    ),
                )
            });
        }
        Some(Cut::TooMany) => {
            return Ok(Outcome {
                bytecode,
                ..reject(
                    RejectionKind::UnsupportedEntry,
                    &dir_shown,
                    format!(
                        "plugin directory `{dir_shown}` has more than {MAX_WALK_ENTRIES} entries (git trees can repeat a subtree without bound); plugin-lock does not list that many"
                    ),
                )
            });
        }
    }
    entries.retain(|(rel, _)| !excluded(rel.as_bstr()));
    entries.sort_by(|a, b| record_order(a.0.as_bstr(), b.0.as_bstr()));
    let first = entries.first().map(|(rel, _)| shown(rel).into_owned());
    let names: Vec<(String, Kind)> = entries
        .iter()
        .filter(|(_, n)| n.kind != Kind::Dir)
        .map(|(rel, n)| (shown(rel).into_owned(), n.kind))
        .collect();

    // First pass, no blob reads but link targets: the first offending entry in record
    // order rejects the plugin.
    // (path in the plugin, path read, entry read, whether the entry is a link)
    let mut sources: Vec<(String, BString, Node, bool)> = Vec::with_capacity(entries.len());
    let mut resolver = Resolver::new(reader, dir);
    // Every offending entry, in record order (bounded: a plugin of a million bad links
    // is not a million findings).
    let mut rejections: Vec<Rejection> = Vec::new();
    for (rel, entry) in entries {
        if rejections.len() >= MAX_REJECTIONS {
            break;
        }
        let repo_path = join_bytes(dir, &rel);
        let rel = match check_name(rel.as_bstr()) {
            Ok(rel) => rel.to_owned(),
            Err(why) => {
                rejections.push(Rejection {
                    kind: RejectionKind::UnsupportedPath,
                    path: shown(&repo_path).into_owned(),
                    message: format!(
                        "`{}` {why}; such a name cannot be locked portably",
                        shown(&rel)
                    ),
                });
                continue;
            }
        };
        match entry.kind {
            Kind::File => sources.push((rel, repo_path, entry, false)),
            Kind::Submodule => {
                let shown_path = shown(&repo_path).into_owned();
                rejections.push(Rejection {
                    kind: RejectionKind::UnsupportedEntry,
                    message: format!("`{shown_path}` is a submodule; a plugin cannot contain one"),
                    path: shown_path,
                });
            }
            Kind::Dir => {}
            Kind::Link => {
                let checked = match options.policy {
                    SymlinkPolicy::AsLink => resolver
                        .target(repo_path.as_bstr(), &entry)?
                        .and_then(|target| {
                            match check_as_link(dir, &repo_path, target.as_bstr()) {
                                Some(rejection) => Err(rejection),
                                None => Ok((repo_path.clone(), entry.clone())),
                            }
                        }),
                    SymlinkPolicy::Follow => {
                        resolver.followed = 0;
                        resolver.follow_entry(repo_path.as_bstr(), &entry)?
                    }
                };
                match checked {
                    Ok((path, node)) => sources.push((rel, path, node, true)),
                    Err(rejection) => rejections.push(rejection),
                }
            }
        }
    }

    let looked_outside = resolver.looked_outside;
    if !rejections.is_empty() {
        let first_rejection = rejections.remove(0);
        return Ok(Outcome {
            result: Err(first_rejection),
            records: Vec::new(),
            contents: Vec::new(),
            first,
            // Not cached: the cache keeps one rejection per plugin, and this has its list.
            looked_outside: looked_outside || !rejections.is_empty(),
            bytecode,
            more_rejections: rejections,
            names,
            line_ends: Vec::new(),
        });
    }
    // Second pass: read and hash, one buffer for the whole plugin.
    let mut hasher = Sha256::new();
    let mut records = Vec::new();
    let mut contents = Vec::new();
    let mut line_ends = Vec::new();
    for (i, (rel, path, node, link)) in sources.iter().enumerate() {
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
        if options.contents {
            contents.push((rel.clone(), content.to_vec()));
        }
        if options.line_ends && !link {
            let ends = LineEnds::of(&content);
            if ends.has_line_ends() {
                line_ends.push((rel.clone(), ends));
            }
        }
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
        bytecode,
        contents,
        more_rejections: Vec::new(),
        names,
        line_ends,
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
/// hash of what `T` stores, sorted in record order. Never rejects; names that are not
/// UTF-8 are shown escaped. A walk cut short by a path over PATH_MAX lists what it saw
/// (the digest rejects such a plugin; this only explains changes).
pub fn stored_entries(
    reader: &mut impl Tree,
    dir: &BStr,
    node: &Node,
    buf: &mut Vec<u8>,
) -> Result<Vec<StoredEntry>> {
    let mut entries = Vec::new();
    if node.kind == Kind::Dir {
        let _ = reader.walk(dir, node, &mut entries)?;
    }
    entries.retain(|(rel, n)| !excluded(rel.as_bstr()) && n.kind != Kind::Dir);
    entries.sort_by(|a, b| record_order(a.0.as_bstr(), b.0.as_bstr()));
    let mut out = Vec::with_capacity(entries.len());
    for (rel, entry) in entries {
        let sha256 = if entry.kind == Kind::Submodule {
            // A gitlink stores a commit id, not content: its id stands for it.
            entry.id.map(|id| id.to_string()).unwrap_or_default()
        } else {
            let path = join_bytes(dir, &rel);
            hex(&Sha256::digest(reader.read(path.as_bstr(), &entry, buf)?))
        };
        out.push(StoredEntry {
            path: shown(&rel).into_owned(),
            sha256,
        });
    }
    Ok(out)
}

/// SHA-256 of the concatenated `parts`, hex: for fingerprints elsewhere (the cache), so
/// that this module stays the only one that touches SHA-256.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    hex(&sha256(parts))
}

/// SHA-256 of the concatenated `parts`, raw: for cache keys (src/cache).
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

/// What Python would run instead of sources: step 2's exclusions and `*.pyo`.
fn is_bytecode(rel: &BStr) -> bool {
    excluded(rel) || rel.ends_with(b".pyo")
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

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`: the cache file's
/// authenticator (src/cache), here so that this module stays the only one that
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
        assert!(check_as_link(b"plugins/p", b"plugins/p/l", BStr::new("/etc")).is_some());
        assert!(check_as_link(b"plugins/p", b"plugins/p/l", BStr::new("../q/x")).is_some());
        assert!(check_as_link(b"plugins/p", b"plugins/p/a/b/l", BStr::new("../../x")).is_none());
        assert!(check_as_link(b"plugins/p", b"plugins/p/l", BStr::new("missing/")).is_none());
    }

    #[test]
    fn bytecode_is_step_2_and_pyo() {
        assert!(is_bytecode(BStr::new("a/__pycache__/x.txt")));
        assert!(is_bytecode(BStr::new("old.pyo")));
        assert!(is_bytecode(BStr::new("x.pyc")));
        assert!(!is_bytecode(BStr::new("x.py")));
    }

    #[test]
    fn non_utf8_paths_are_shown_unambiguously() {
        assert_eq!(shown(b"p\xff"), "p\\xff");
        assert_eq!(shown(b"a\\b\xff"), "a\\\\b\\xff");
        assert_eq!(shown("p\u{fffd}".as_bytes()), "p\u{fffd}");
        assert_eq!(shown(b"a\\b"), "a\\b", "UTF-8 stays as it is");
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

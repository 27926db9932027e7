//! Resolving symlinks inside a plugin (spec/DIGEST.md, the symlink policy): the link
//! loop limit, the escape check, and a resolver bounded in work and memory.

use bstr::{BStr, BString, ByteSlice};

use crate::digest::rejection::{Rejection, RejectionKind};
use crate::error::Result;
use crate::tree::{Id, Kind, MAX_PATH_BYTES, Node, Tree, join_bytes, shown};

/// Following more than this many links while resolving one entry is a loop.
const MAX_LINKS: u32 = 40;

/// The longest link target a system resolves (PATH_MAX on Linux): a longer one is
/// refused from the object's header, before its blob is read.
pub const MAX_LINK_TARGET: u64 = 4096;

/// The most path components the link resolver visits for one plugin, across all its
/// links (each component of every target, each link followed, each directory on the
/// way to a link): a real plugin needs a few per link; crafted targets such as
/// `d/../d/../…` shared by thousands of links would otherwise cost minutes.
pub const MAX_RESOLVE_WORK: u64 = 1_000_000;

/// The components of a `/`-separated path, empty ones dropped.
fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .collect()
}

/// `as-link`: only an absolute target or one that climbs out of the plugin is rejected.
/// Decided on the exact bytes of the components (the plugin's depth and the link's).
pub fn check_as_link(plugin: &[u8], link: &[u8], target: &BStr) -> Option<Rejection> {
    let escape = |why: &str| {
        let link = shown(link);
        Some(Rejection {
            kind: RejectionKind::SymlinkEscape,
            path: link.clone().into_owned(),
            message: format!("symlink `{link}` {why} (target `{}`)", shown(target)),
        })
    };
    if target.starts_with(b"/") {
        return escape("has an absolute target");
    }
    let plugin_depth = components(plugin).len();
    let mut depth = components(link).len().saturating_sub(1);
    for c in target.split_str("/") {
        match c {
            b"" | b"." => {}
            b".." => {
                if depth <= plugin_depth {
                    return escape("points outside the plugin");
                }
                depth -= 1;
            }
            _ => depth += 1,
        }
    }
    None
}

/// One component of a path being resolved, with the entry it names.
#[derive(Clone)]
struct Seg {
    name: BString,
    node: Node,
}

/// Why a resolution stopped: the kind, and a message when the default one for the kind
/// would not say what happened.
type Stop = (RejectionKind, Option<String>);

/// Decoded trees the resolver keeps (entries, all trees together): lookups inside them
/// cost no object read.
const MEMO_ENTRIES: usize = 1 << 20;

pub struct Resolver<'r, T: Tree> {
    reader: &'r mut T,
    /// The plugin's exact components.
    plugin: Vec<BString>,
    /// The plugin directory and its ancestors, resolved once, from the root.
    plugin_segs: Option<(Node, Vec<Seg>)>,
    pub followed: u32,
    /// Components visited so far for this plugin (see [`MAX_RESOLVE_WORK`]).
    work: u64,
    buf: Vec<u8>,
    /// Set once a lookup leaves the plugin directory (see [`Outcome::looked_outside`]).
    pub looked_outside: bool,
    trees: std::collections::HashMap<Id, Vec<(BString, Node)>>,
    memo_entries: usize,
}

type Resolved = std::result::Result<(BString, Node), Rejection>;

impl<'r, T: Tree> Resolver<'r, T> {
    pub fn new(reader: &'r mut T, plugin: &BStr) -> Self {
        Resolver {
            reader,
            plugin: components(plugin).into_iter().map(BString::from).collect(),
            plugin_segs: None,
            followed: 0,
            work: 0,
            buf: Vec::new(),
            looked_outside: false,
            trees: Default::default(),
            memo_entries: 0,
        }
    }

    /// A link's target string, unless it is longer than any system resolves: that is
    /// known from the object's header, so a huge blob is never read.
    pub fn target(
        &mut self,
        path: &BStr,
        node: &Node,
    ) -> Result<std::result::Result<BString, Rejection>> {
        let size = self.reader.size(path, node)?;
        if size > MAX_LINK_TARGET {
            let link = shown(path).into_owned();
            return Ok(Err(Rejection {
                kind: RejectionKind::UnsupportedEntry,
                message: format!(
                    "symlink `{link}` has a target of {size} bytes, more than {MAX_LINK_TARGET} (PATH_MAX); no system resolves it"
                ),
                path: link,
            }));
        }
        Ok(Ok(self.reader.read(path, node, &mut self.buf)?.into()))
    }

    /// Counts `n` components of work; past the budget the plugin is rejected.
    fn spend(&mut self, n: u64) -> std::result::Result<(), Stop> {
        self.work += n;
        if self.work > MAX_RESOLVE_WORK {
            return Err((
                RejectionKind::SymlinkLoop,
                Some(format!(
                    "resolving the plugin's links visits more than {MAX_RESOLVE_WORK} path components (targets that climb back and forth, shared by many links)"
                )),
            ));
        }
        Ok(())
    }

    /// Whether `segs` (a path from the root) is the plugin, inside it, or one of its
    /// ancestors: exact bytes of each component.
    fn within_plugin(&self, segs: &[Seg]) -> bool {
        let n = segs.len().min(self.plugin.len());
        segs[..n]
            .iter()
            .zip(&self.plugin[..n])
            .all(|(s, p)| s.name == *p)
    }

    fn is_inside(&self, segs: &[Seg]) -> bool {
        segs.len() > self.plugin.len() && self.within_plugin(segs)
    }

    /// The entry `name` inside the directory at the end of `segs` (the root when empty).
    fn child(
        &mut self,
        segs: &[Seg],
        name: &[u8],
    ) -> Result<std::result::Result<Option<Node>, Stop>> {
        if let Err(stop) = self.spend(1) {
            return Ok(Err(stop));
        }
        let parent = match segs.last() {
            Some(seg) => seg.node.clone(),
            None => match &self.plugin_segs {
                Some((root, _)) => root.clone(),
                None => {
                    return Err(crate::error::Error::Internal(
                        "link resolver without a root".into(),
                    ));
                }
            },
        };
        if let Some(id) = parent.id {
            if !self.trees.contains_key(&id) {
                let children = self.reader.children(BStr::new(""), &parent)?;
                if self.memo_entries + children.len() > MEMO_ENTRIES {
                    // Enough kept: read this one without keeping it.
                    return Ok(Ok(find(&children, name)));
                }
                self.memo_entries += children.len();
                self.trees.insert(id, children);
            }
            return Ok(Ok(self.trees.get(&id).and_then(|c| find(c, name))));
        }
        // No tree ids (the index, the work tree): look the whole path up.
        let mut path = BString::default();
        for seg in segs {
            path = join_bytes(&path, &seg.name);
        }
        let path = join_bytes(&path, name);
        Ok(Ok(self.reader.lookup(path.as_bstr())?))
    }

    /// The path of the link's directory, resolved (no link in it: `T` stores none).
    fn base_of(&mut self, link: &BStr) -> Result<std::result::Result<Vec<Seg>, Stop>> {
        if self.plugin_segs.is_none() {
            let root = self
                .reader
                .lookup(BStr::new(""))?
                .ok_or_else(|| crate::error::Error::Internal("the tree has no root".into()))?;
            self.plugin_segs = Some((root, Vec::new()));
            let mut segs = Vec::new();
            for name in self.plugin.clone() {
                match self.child(&segs, &name)? {
                    Ok(Some(node)) => segs.push(Seg { name, node }),
                    Ok(None) => {
                        return Err(crate::error::Error::Internal(format!(
                            "plugin directory `{}` vanished from the tree",
                            shown(&join_all(&self.plugin))
                        )));
                    }
                    Err(stop) => return Ok(Err(stop)),
                }
            }
            if let Some((_, s)) = self.plugin_segs.as_mut() {
                *s = segs;
            }
        }
        let mut segs = match &self.plugin_segs {
            Some((_, s)) => s.clone(),
            None => Vec::new(),
        };
        let parts = components(link);
        let inner = parts.len().saturating_sub(1);
        for name in parts.iter().take(inner).skip(self.plugin.len()) {
            match self.child(&segs, name)? {
                Ok(Some(node)) => segs.push(Seg {
                    name: BString::from(*name),
                    node,
                }),
                Ok(None) => return Ok(Err((RejectionKind::DanglingSymlink, None))),
                Err(stop) => return Ok(Err(stop)),
            }
        }
        Ok(Ok(segs))
    }

    /// Step 4 for one link entry under `follow`: the file whose bytes it records.
    pub fn follow_entry(&mut self, link: &BStr, node: &Node) -> Result<Resolved> {
        let link_shown = shown(link).into_owned();
        let target = match self.target(link, node)? {
            Ok(t) => t,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let rejection = |kind, message: String| {
            Err(Rejection {
                kind,
                path: link_shown.clone(),
                message,
            })
        };
        let target_shown = shown(&target).into_owned();
        let resolved = match self.base_of(link)? {
            Ok(base) => self.resolve(base, target.as_bstr())?,
            Err(stop) => Err(stop),
        };
        let (final_segs, final_node) = match resolved {
            Ok(found) => found,
            Err((kind, message)) => {
                let message = message.map(|m| format!("symlink `{link_shown}` is rejected: {m}")).unwrap_or_else(|| match kind {
                    RejectionKind::SymlinkEscape => format!(
                        "symlink `{link_shown}` points outside the repository (target `{target_shown}`)"
                    ),
                    RejectionKind::SymlinkLoop => format!(
                        "symlink `{link_shown}` does not resolve: more than {MAX_LINKS} links followed (a loop)"
                    ),
                    _ => format!(
                        "symlink `{link_shown}` points to `{target_shown}`, which does not exist in the tree"
                    ),
                });
                return Ok(rejection(kind, message));
            }
        };
        let final_path = join_all(final_segs.iter().map(|s| &s.name));
        let final_shown = shown(&final_path).into_owned();
        if !self.is_inside(&final_segs) {
            return Ok(rejection(
                RejectionKind::SymlinkEscape,
                format!(
                    "symlink `{link_shown}` points outside the plugin, to `{final_shown}` (target `{target_shown}`)"
                ),
            ));
        }
        match final_node.kind {
            Kind::File => Ok(Ok((final_path, final_node))),
            Kind::Dir => Ok(rejection(
                RejectionKind::UnsupportedEntry,
                format!(
                    "symlink `{link_shown}` points to a directory (`{final_shown}`); only links to files are supported"
                ),
            )),
            Kind::Submodule | Kind::Link => Ok(rejection(
                RejectionKind::UnsupportedEntry,
                format!("symlink `{link_shown}` points to a submodule (`{final_shown}`)"),
            )),
        }
    }

    /// Resolves `target` from the directory `built` (resolved components), following
    /// links lexically: `..` drops the last component built so far before any link in
    /// it is followed. Returns the final path and its (non-link) entry.
    fn resolve(
        &mut self,
        mut built: Vec<Seg>,
        target: &BStr,
    ) -> Result<std::result::Result<(Vec<Seg>, Node), Stop>> {
        self.followed += 1;
        if self.followed > MAX_LINKS {
            return Ok(Err((RejectionKind::SymlinkLoop, None)));
        }
        if let Err(stop) = self.spend(1) {
            return Ok(Err(stop));
        }
        if target.starts_with(b"/") {
            return Ok(Err((RejectionKind::SymlinkEscape, None)));
        }
        let trailing_slash = target.ends_with(b"/");
        let dir = Node {
            kind: Kind::Dir,
            id: None,
        };
        let mut current = built.last().map_or(dir.clone(), |s| s.node.clone());
        let mut pending_link: Option<Node> = None;
        for c in target.split_str("/") {
            match c {
                b"" | b"." => continue,
                b".." => {
                    if let Err(stop) = self.spend(1) {
                        return Ok(Err(stop));
                    }
                    if built.pop().is_none() {
                        return Ok(Err((RejectionKind::SymlinkEscape, None)));
                    }
                    pending_link = None;
                    current = built.last().map_or(dir.clone(), |s| s.node.clone());
                    continue;
                }
                _ => {}
            }
            if let Some(link) = pending_link.take() {
                match self.follow_link(built, &link)? {
                    Ok((segs, node)) => {
                        built = segs;
                        current = node;
                    }
                    Err(stop) => return Ok(Err(stop)),
                }
            }
            if current.kind != Kind::Dir {
                return Ok(Err((RejectionKind::DanglingSymlink, None)));
            }
            let found = match self.child(&built, c)? {
                Ok(found) => found,
                Err(stop) => return Ok(Err(stop)),
            };
            built.push(Seg {
                name: BString::from(c),
                node: found.clone().unwrap_or(dir.clone()),
            });
            if !self.within_plugin(&built) {
                self.looked_outside = true;
            }
            if path_len(&built) > MAX_PATH_BYTES {
                return Ok(Err((
                    RejectionKind::SymlinkLoop,
                    Some(format!(
                        "resolving it builds a path of more than {} bytes (PATH_MAX)",
                        MAX_PATH_BYTES
                    )),
                )));
            }
            match found {
                None => return Ok(Err((RejectionKind::DanglingSymlink, None))),
                Some(node) if node.kind == Kind::Link => pending_link = Some(node),
                Some(node) => current = node,
            }
        }
        if let Some(link) = pending_link.take() {
            match self.follow_link(built, &link)? {
                Ok((segs, node)) => {
                    built = segs;
                    current = node;
                }
                Err(stop) => return Ok(Err(stop)),
            }
        }
        if trailing_slash && current.kind != Kind::Dir {
            return Ok(Err((RejectionKind::DanglingSymlink, None)));
        }
        Ok(Ok((built, current)))
    }

    /// Follows the link at the end of `segs` to its final entry.
    fn follow_link(
        &mut self,
        mut segs: Vec<Seg>,
        link: &Node,
    ) -> Result<std::result::Result<(Vec<Seg>, Node), Stop>> {
        let path = join_all(segs.iter().map(|s| &s.name));
        let target = match self.target(path.as_bstr(), link)? {
            Ok(t) => t,
            Err(rejection) => return Ok(Err((rejection.kind, Some(rejection.message)))),
        };
        segs.pop();
        self.resolve(segs, target.as_bstr())
    }
}

/// The entry `name` in a sorted list of children.
fn find(children: &[(BString, Node)], name: &[u8]) -> Option<Node> {
    children
        .binary_search_by(|(n, _)| n.as_slice().cmp(name))
        .ok()
        .map(|i| children[i].1.clone())
}

/// The bytes of a path built from components.
fn join_all<'s>(parts: impl IntoIterator<Item = &'s BString>) -> BString {
    let mut out = BString::default();
    for (i, p) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(p);
    }
    out
}

fn path_len(segs: &[Seg]) -> usize {
    segs.iter().map(|s| s.name.len() + 1).sum()
}

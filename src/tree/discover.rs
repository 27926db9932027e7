//! Plugin discovery: the tree entries that the `plugins` globs select, with their ids
//! (paths relative to the lock's directory).

use std::collections::BTreeMap;

use bstr::{BStr, BString, ByteSlice};
use globset::GlobSet;

use crate::error::{Error, Result};
use crate::tree::ExpansionMemo;
use crate::tree::Tree;
use crate::tree::{
    Kind, MAX_PATH_BYTES, MAX_TREE_ENTRIES, Node, join_bytes, portable_name, shown,
    too_many_entries,
};

/// A plugin directory found in `T`.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The lock key: the directory relative to the lock's directory, as text (shown
    /// escaped when the path is not UTF-8; see [`crate::tree::shown`]).
    pub id: String,
    /// The directory relative to the repository root, as text (escaped likewise).
    pub dir: String,
    /// The directory's exact path in `T`: what reads and the link resolver use.
    pub raw_dir: BString,
    pub node: Node,
    /// Set when some component of the directory's path cannot be part of a lock key
    /// (not UTF-8, control characters): the plugin is `unsupported_path`.
    pub bad_name: bool,
    /// Other directories whose id would be the same text (see [`plugins`]), each quoted
    /// and described: the plugin is rejected rather than one of them silently chosen.
    pub same_id: Vec<String>,
}

/// What the `plugins` and `exclude` globs select in `T`.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The plugins, sorted by id.
    pub plugins: Vec<Plugin>,
    /// Directories a `plugins` glob matched and an `exclude` glob took out, sorted.
    pub excluded: Vec<Excluded>,
    /// The indices of the `plugins` globs that matched no directory.
    pub unmatched: Vec<usize>,
    /// Plugin directories inside other plugin directories.
    pub nested: Vec<Nested>,
}

/// A directory that is not a plugin because an `exclude` glob says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub dir: String,
    /// The `exclude` glob that took it out.
    pub glob: String,
}

/// A plugin directory below another plugin's: its files would be in both digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nested {
    pub outer: String,
    pub inner: String,
    /// The indices of the `plugins` globs that matched each.
    pub outer_glob: usize,
    pub inner_glob: usize,
}

/// One compiled `plugins` glob.
struct Pattern {
    /// Leading components without glob syntax: where the walk starts.
    base: String,
    /// How many components below `base` a match has; `None` with `**`.
    depth: Option<usize>,
    matcher: GlobSet,
}

fn has_glob_syntax(component: &str) -> bool {
    component.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

fn compile(glob: &str) -> Result<Pattern> {
    let trimmed = glob.trim_end_matches('/');
    // Within the glob limits, and never a panic on a glob too large to compile.
    let matcher = crate::config::compile_glob(trimmed).map_err(|problem| {
        Error::Usage(format!(
            "plugins glob `{}` {problem}",
            crate::config::shown_glob(glob)
        ))
    })?;
    let components: Vec<&str> = trimmed.split('/').filter(|c| !c.is_empty()).collect();
    let literal = components
        .iter()
        .take_while(|c| !has_glob_syntax(c))
        .count();
    let rest = &components[literal..];
    Ok(Pattern {
        base: components[..literal].join("/"),
        depth: if rest.contains(&"**") {
            None
        } else {
            Some(rest.len())
        },
        matcher,
    })
}

/// The lock's directory, `/`-separated, empty at the top.
pub fn lock_dir(lock: &str) -> &str {
    lock.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether the glob matches the exact bytes of `path` (on Unix; elsewhere paths must be
/// UTF-8 to exist on disk, and a lossy match only decides discovery: such a plugin is
/// rejected for its name).
fn is_match(matcher: &GlobSet, path: &[u8]) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        matcher.is_match(std::path::Path::new(std::ffi::OsStr::from_bytes(path)))
    }
    #[cfg(not(unix))]
    {
        matcher.is_match(path.to_str_lossy().as_ref())
    }
}

/// Finds every plugin the globs select, sorted by id. Files beside plugins are ignored;
/// `__pycache__` is never a plugin; links and submodules are plugins (rejected later).
///
/// Paths stay bytes until the end: a plugin any of whose components is not UTF-8 (or
/// holds a control character) is kept with `bad_name`, under an escaped id, never
/// merged with its lossy twin. Distinct directories whose ids read alike (a real
/// backslash name beside an escaped one) are all kept, each naming the others.
pub fn plugins(reader: &mut impl Tree, globs: &[String], lock: &str) -> Result<Vec<Plugin>> {
    Ok(discover(reader, globs, &[], lock)?.plugins)
}

/// [`plugins`], with the `exclude` globs applied (a directory they match, or one below
/// it, is not a plugin) and what else discovery knows: globs that matched nothing and
/// plugins nested in plugins.
pub fn discover(
    reader: &mut impl Tree,
    globs: &[String],
    exclude: &[String],
    lock: &str,
) -> Result<Discovery> {
    let lock_dir = lock_dir(lock);
    let excludes: Vec<GlobSet> = exclude
        .iter()
        .map(|g| {
            crate::config::compile_glob(g.trim_end_matches('/')).map_err(|problem| {
                Error::Usage(format!(
                    "exclude glob `{}` {problem}",
                    crate::config::shown_glob(g)
                ))
            })
        })
        .collect::<Result<_>>()?;
    // The exclude glob that matches `path` or one of its ancestors.
    let excluded_by = |path: &[u8]| -> Option<usize> {
        let mut end = path.len();
        loop {
            if let Some(i) = excludes.iter().position(|m| is_match(m, &path[..end])) {
                return Some(i);
            }
            end = path[..end].rfind_byte(b'/')?;
        }
    };
    let mut excluded: BTreeMap<BString, usize> = BTreeMap::new();
    let mut matched = vec![false; globs.len()];
    // Keyed by exact path: one directory matched by two globs is one plugin (the first
    // glob's).
    let mut found: BTreeMap<BString, (Node, bool, usize)> = BTreeMap::new();
    let mut expansion = ExpansionMemo::default();
    for (index, glob) in globs.iter().enumerate() {
        let mut found_one =
            |path: BString,
             node: Node,
             bad: bool,
             found: &mut BTreeMap<BString, (Node, bool, usize)>| {
                matched[index] = true;
                match excluded_by(&path) {
                    Some(e) => {
                        excluded.entry(path).or_insert(e);
                    }
                    None => {
                        found.entry(path).or_insert((node, bad, index));
                    }
                }
            };
        let pattern = compile(glob)?;
        let Some(base) = reader.lookup(BStr::new(&pattern.base))? else {
            continue;
        };
        if pattern.depth == Some(0) {
            // A glob without wildcards names one directory.
            if !pattern.base.is_empty() && base.kind != Kind::File {
                let bad = !pattern.base.split('/').all(|c| portable_name(c.as_bytes()));
                found_one(BString::from(pattern.base.as_str()), base, bad, &mut found);
            }
            continue;
        }
        if base.kind != Kind::Dir {
            continue;
        }
        let base_bad = !pattern
            .base
            .split('/')
            .filter(|c| !c.is_empty())
            .all(|c| portable_name(c.as_bytes()));
        let mut stack = vec![(
            BString::from(pattern.base.as_str()),
            base.clone(),
            0usize,
            base_bad,
        )];
        // The walk below lists every directory down to the glob's depth: a tree that
        // repeats subtrees is refused before it is walked (one listing needs no check).
        let levels = pattern.depth.unwrap_or(usize::MAX);
        if levels > 1
            && reader.expanded_entries(&base, levels, MAX_TREE_ENTRIES, &mut expansion)?
                > MAX_TREE_ENTRIES
        {
            return Err(too_many_entries(&format!(
                "finding plugins with the glob `{}`",
                crate::config::shown_glob(glob)
            )));
        }
        while let Some((dir, node, depth, dir_bad)) = stack.pop() {
            for (name, child) in reader.children(dir.as_bstr(), &node)? {
                let path = join_bytes(&dir, &name);
                // The lock itself is never a plugin, whatever kind of entry it is.
                if child.kind == Kind::File || name == "__pycache__" || path == lock.as_bytes() {
                    continue;
                }
                if path.len() > MAX_PATH_BYTES {
                    return Err(Error::Usage(format!(
                        "`{}…` is more than {MAX_PATH_BYTES} bytes long, below the plugins glob `{glob}`; no loader could open it, and plugin-lock does not walk that deep",
                        shown(&path[..MAX_PATH_BYTES.min(200)])
                    )));
                }
                let bad = dir_bad || !portable_name(&name);
                let depth = depth + 1;
                let at_depth = pattern.depth.is_none_or(|d| d == depth);
                if at_depth && is_match(&pattern.matcher, &path) {
                    found_one(path.clone(), child.clone(), bad, &mut found);
                }
                if child.kind == Kind::Dir && pattern.depth.is_none_or(|d| depth < d) {
                    stack.push((path, child, depth, bad));
                }
            }
        }
    }
    // An excluded directory below an excluded one is said by the outer one.
    let below_excluded: Vec<BString> = excluded
        .keys()
        .filter(|path| {
            let mut end = path.len();
            while let Some(slash) = path[..end].rfind_byte(b'/') {
                if excluded.contains_key(&path[..slash]) {
                    return true;
                }
                end = slash;
            }
            false
        })
        .cloned()
        .collect();
    for path in below_excluded {
        excluded.remove(&path);
    }
    // A plugin below another: the nearest enclosing plugin directory, by its path.
    let mut nested = Vec::new();
    for (path, (_, _, inner_glob)) in &found {
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind_byte(b'/') {
            if let Some((_, _, outer_glob)) = found.get(&path[..slash]) {
                nested.push(Nested {
                    outer: shown(&path[..slash]).into_owned(),
                    inner: shown(path).into_owned(),
                    outer_glob: *outer_glob,
                    inner_glob: *inner_glob,
                });
                break;
            }
            end = slash;
        }
    }
    let mut by_id: BTreeMap<String, Vec<Plugin>> = BTreeMap::new();
    for (raw_dir, (node, bad_name, _)) in found {
        let dir = shown(&raw_dir).into_owned();
        let id = relative_id(&dir, lock_dir)?;
        by_id.entry(id.clone()).or_default().push(Plugin {
            id,
            dir,
            raw_dir,
            node,
            bad_name,
            same_id: Vec::new(),
        });
    }
    let mut out = Vec::with_capacity(by_id.len());
    for (_, mut group) in by_id {
        if group.len() > 1 {
            // Each named so that people can tell them apart although they read alike.
            let dirs: Vec<String> = group
                .iter()
                .map(|p| match p.raw_dir.to_str() {
                    Ok(_) => format!("`{}`", p.dir),
                    Err(_) => format!("`{}` (not UTF-8, shown escaped)", p.dir),
                })
                .collect();
            for (i, p) in group.iter_mut().enumerate() {
                p.same_id = dirs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, d)| d.clone())
                    .collect();
            }
        }
        out.extend(group);
    }
    Ok(Discovery {
        plugins: out,
        excluded: excluded
            .into_iter()
            .map(|(dir, e)| Excluded {
                dir: shown(&dir).into_owned(),
                glob: exclude[e].clone(),
            })
            .collect(),
        unmatched: matched
            .iter()
            .enumerate()
            .filter(|(_, m)| !**m)
            .map(|(i, _)| i)
            .collect(),
        nested,
    })
}

fn relative_id(dir: &str, lock_dir: &str) -> Result<String> {
    if lock_dir.is_empty() {
        return Ok(dir.to_owned());
    }
    dir.strip_prefix(lock_dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::Usage(format!(
                "plugin directory `{dir}` is not below the lock's directory `{lock_dir}`; plugin ids are paths relative to the lock"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_into_a_literal_base_and_a_depth() {
        let p = compile("plugins/*").unwrap();
        assert_eq!((p.base.as_str(), p.depth), ("plugins", Some(1)));
        let p = compile("plugins/*/*").unwrap();
        assert_eq!((p.base.as_str(), p.depth), ("plugins", Some(2)));
        let p = compile("a/b/**").unwrap();
        assert_eq!((p.base.as_str(), p.depth), ("a/b", None));
        assert!(p.matcher.is_match("a/b/c/d"));
        let p = compile("plugins/*").unwrap();
        assert!(!p.matcher.is_match("plugins/a/b"));
    }

    #[test]
    fn ids_are_relative_to_the_lock() {
        assert_eq!(relative_id("plugins/foo", "plugins").unwrap(), "foo");
        assert_eq!(relative_id("plugins/in/cpu", "plugins").unwrap(), "in/cpu");
        assert_eq!(relative_id("x/foo", "").unwrap(), "x/foo");
        assert!(relative_id("other/foo", "plugins").is_err());
        assert!(relative_id("plugins", "plugins").is_err());
    }
}

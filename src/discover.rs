//! Plugin discovery: the tree entries that the `plugins` globs select, with their ids
//! (paths relative to the lock's directory).

use std::collections::BTreeMap;

use gix::bstr::{BStr, ByteSlice};
use globset::GlobSet;

use crate::error::{Error, Result};
use crate::source::{Kind, Node, Reader, join};

/// A plugin directory found in `T`.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The lock key: the directory relative to the lock's directory.
    pub id: String,
    /// The directory relative to the repository root.
    pub dir: String,
    pub node: Node,
    /// Set when the directory's own path cannot be a lock key (not UTF-8, control chars).
    pub bad_name: bool,
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

/// Finds every plugin the globs select, sorted by id. Files beside plugins are ignored;
/// `__pycache__` is never a plugin; links and submodules are plugins (rejected later).
pub fn plugins(reader: &mut Reader<'_>, globs: &[String], lock: &str) -> Result<Vec<Plugin>> {
    let lock_dir = lock_dir(lock);
    let mut found: BTreeMap<String, Plugin> = BTreeMap::new();
    for glob in globs {
        let pattern = compile(glob)?;
        let Some(base) = reader.lookup(BStr::new(&pattern.base))? else {
            continue;
        };
        if pattern.depth == Some(0) {
            // A glob without wildcards names one directory.
            if !pattern.base.is_empty() && base.kind != Kind::File {
                add(&mut found, &pattern.base, base, lock_dir, false)?;
            }
            continue;
        }
        if base.kind != Kind::Dir {
            continue;
        }
        let mut stack = vec![(pattern.base.clone(), base, 0usize)];
        while let Some((dir, node, depth)) = stack.pop() {
            for (name, child) in reader.children(BStr::new(&dir), &node)? {
                let path = join(&dir, &name.to_str_lossy());
                // The lock itself is never a plugin, whatever kind of entry it is.
                if child.kind == Kind::File || name == "__pycache__" || path == lock {
                    continue;
                }
                let depth = depth + 1;
                let at_depth = pattern.depth.is_none_or(|d| d == depth);
                if at_depth && pattern.matcher.is_match(&path) {
                    add(
                        &mut found,
                        &path,
                        child.clone(),
                        lock_dir,
                        name.to_str().is_err(),
                    )?;
                }
                if child.kind == Kind::Dir && pattern.depth.is_none_or(|d| depth < d) {
                    stack.push((path, child, depth));
                }
            }
        }
    }
    Ok(found.into_values().collect())
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

fn add(
    found: &mut BTreeMap<String, Plugin>,
    dir: &str,
    node: Node,
    lock_dir: &str,
    not_utf8: bool,
) -> Result<()> {
    let id = relative_id(dir, lock_dir)?;
    let bad_name = not_utf8 || id.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}');
    found.entry(id.clone()).or_insert(Plugin {
        id,
        dir: dir.to_owned(),
        node,
        bad_name,
    });
    Ok(())
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

//! The plugin layouts `init` recognises in a tree, most specific first: a Claude Code
//! marketplace naming local plugin directories, skill directories (`skills/*`,
//! `.claude/skills/*`, `.agents/skills/*`), and `plugins/*` — nested (`plugins/*/*`)
//! when the first level holds only category directories.

use bstr::{BStr, ByteSlice};

use crate::error::Result;
use crate::tree::{Kind, Node, Tree};

/// What a layout proposes.
#[derive(Debug, Clone)]
pub struct Layout {
    /// For people: `skills (skills/*/SKILL.md)`.
    pub description: String,
    pub globs: Vec<String>,
    /// `(glob, why)`: directories the globs match that are not plugins.
    pub exclude: Vec<(String, String)>,
    /// The manifest this layout's plugins usually carry, tried first.
    pub manifest_hint: Option<&'static str>,
}

const SKILL_BASES: &[&str] = &["skills", ".claude/skills", ".agents/skills"];
const MARKETPLACE: &str = ".claude-plugin/marketplace.json";

/// The first layout found in `tree`, or `None`.
pub fn detect(tree: &mut impl Tree) -> Result<Option<Layout>> {
    if let Some(layout) = marketplace(tree)? {
        return Ok(Some(layout));
    }
    let mut skills = Vec::new();
    for base in SKILL_BASES {
        if !subdirs(tree, base)?.is_empty() {
            skills.push(format!("{base}/*"));
        }
    }
    if !skills.is_empty() {
        return Ok(Some(Layout {
            description: format!("skills ({})", skills.join(", ")),
            globs: skills,
            exclude: Vec::new(),
            manifest_hint: Some("SKILL.md"),
        }));
    }
    plugins_dir(tree)
}

/// The directories directly below `dir` (none when it is not a directory).
pub fn subdirs(tree: &mut impl Tree, dir: &str) -> Result<Vec<(String, Node)>> {
    let Some(node) = tree.lookup(BStr::new(dir))? else {
        return Ok(Vec::new());
    };
    if node.kind != Kind::Dir {
        return Ok(Vec::new());
    }
    Ok(tree
        .children(BStr::new(dir), &node)?
        .into_iter()
        .filter(|(name, n)| n.kind == Kind::Dir && name.as_bytes() != b"__pycache__")
        .map(|(name, n)| (format!("{dir}/{}", name.to_str_lossy()), n))
        .collect())
}

/// Files a category directory may hold besides its plugins: documentation.
fn is_doc(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(b"readme") || lower.starts_with(b"license") || lower.ends_with(b".md")
}

/// `plugins/*`, or `plugins/*/*` when the first level is categories (directories that
/// hold only directories and documentation); a first-level directory that holds files
/// of its own (shared code) is then excluded.
fn plugins_dir(tree: &mut impl Tree) -> Result<Option<Layout>> {
    let first = subdirs(tree, "plugins")?;
    if first.is_empty() {
        return Ok(None);
    }
    let mut categories = Vec::new();
    let mut shared = Vec::new();
    for (dir, node) in &first {
        let children = tree.children(BStr::new(dir), node)?;
        // A link in a category is a linked plugin directory (an aggregate like `all/`),
        // not a file of its own: it is a plugin candidate, judged (and excluded) later.
        let has_files = children
            .iter()
            .any(|(name, n)| n.kind == Kind::File && !is_doc(name));
        let has_dirs = children
            .iter()
            .any(|(_, n)| matches!(n.kind, Kind::Dir | Kind::Link));
        if has_dirs && !has_files {
            categories.push(dir.clone());
        } else {
            shared.push(dir.clone());
        }
    }
    // Nested when most of the first level is categories: the rest is shared code.
    if !categories.is_empty() && categories.len() * 2 > first.len() {
        return Ok(Some(Layout {
            description: format!(
                "nested plugins (plugins/<category>/<plugin>, {} categories)",
                categories.len()
            ),
            globs: vec!["plugins/*/*".to_owned()],
            exclude: shared
                .into_iter()
                .map(|d| {
                    (
                        d,
                        "holds files of its own: shared code, not a category".to_owned(),
                    )
                })
                .collect(),
            manifest_hint: Some("plugin.yaml"),
        }));
    }
    Ok(Some(Layout {
        description: "plugins (plugins/<plugin>)".to_owned(),
        globs: vec!["plugins/*".to_owned()],
        exclude: Vec::new(),
        manifest_hint: Some("plugin.yaml"),
    }))
}

/// `.claude-plugin/marketplace.json`: its `plugins[].source` strings that name
/// directories in this tree (`./plugins/x`); remote sources are not this tree's.
fn marketplace(tree: &mut impl Tree) -> Result<Option<Layout>> {
    let node = tree.lookup(BStr::new(MARKETPLACE))?;
    let Some(node) = node.filter(|n| n.kind == Kind::File) else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    let bytes = match tree.read(BStr::new(MARKETPLACE), &node, &mut buf) {
        Ok(blob) => blob.to_vec(),
        Err(_) => return Ok(None),
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(None);
    };
    let mut dirs = Vec::new();
    for plugin in doc
        .get("plugins")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let Some(source) = plugin.get("source").and_then(|s| s.as_str()) else {
            continue;
        };
        let dir = source.trim_start_matches("./").trim_end_matches('/');
        let safe = !dir.is_empty()
            && !dir.contains("://")
            && !dir.starts_with('/')
            && dir
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
        if safe
            && tree
                .lookup(BStr::new(dir))?
                .is_some_and(|n| n.kind == Kind::Dir)
        {
            dirs.push(dir.to_owned());
        }
    }
    if dirs.is_empty() {
        return Ok(None);
    }
    dirs.sort();
    dirs.dedup();
    Ok(Some(Layout {
        description: format!(
            "a Claude Code marketplace ({MARKETPLACE}, {} local plugin(s))",
            dirs.len()
        ),
        globs: dirs,
        exclude: Vec::new(),
        manifest_hint: Some(".claude-plugin/plugin.json"),
    }))
}

/// Whether the plugin directory `dir` has the file `name`.
pub fn has_file(tree: &mut impl Tree, dir: &str, name: &str) -> Result<bool> {
    Ok(tree
        .lookup(BStr::new(&format!("{dir}/{name}")))?
        .is_some_and(|n| n.kind == Kind::File))
}

/// The lock's place: `PLUGINS.lock` in the deepest directory that holds every glob's
/// literal part (ids are paths relative to it).
pub fn lock_path(globs: &[String]) -> String {
    let bases: Vec<Vec<&str>> = globs
        .iter()
        .map(|g| {
            g.split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '{']))
                .collect()
        })
        .collect();
    let mut common: Vec<&str> = bases.first().cloned().unwrap_or_default();
    for b in &bases[1.min(bases.len())..] {
        let n = common.iter().zip(b).take_while(|(a, b)| a == b).count();
        common.truncate(n);
    }
    // A literal glob names the plugin itself: the lock goes beside it, not inside.
    if globs.len() == 1 && !globs[0].contains('*') {
        common.pop();
    }
    if globs.iter().any(|g| g.split('/').count() == common.len()) {
        common.pop();
    }
    if common.is_empty() {
        "PLUGINS.lock".to_owned()
    } else {
        format!("{}/PLUGINS.lock", common.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_goes_where_every_glob_starts() {
        assert_eq!(lock_path(&["plugins/*".into()]), "plugins/PLUGINS.lock");
        assert_eq!(lock_path(&["plugins/*/*".into()]), "plugins/PLUGINS.lock");
        assert_eq!(lock_path(&["skills/*".into()]), "skills/PLUGINS.lock");
        assert_eq!(
            lock_path(&["skills/*".into(), ".claude/skills/*".into()]),
            "PLUGINS.lock"
        );
        assert_eq!(
            lock_path(&["plugins/a".into(), "plugins/b".into()]),
            "plugins/PLUGINS.lock"
        );
        assert_eq!(lock_path(&["plugins/a".into()]), "plugins/PLUGINS.lock");
    }
}

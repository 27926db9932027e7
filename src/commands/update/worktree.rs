//! What `update` warns about when it hashes the work tree: files in a plugin that the
//! next `git commit` would not contain as hashed (untracked files, unstaged changes), so
//! that the committed lock would not match the commit.

use std::collections::BTreeMap;

use gix::bstr::{BStr, ByteSlice};

use crate::checks::integrity::{Inventory, Status};
use crate::error::{Error, Result};
use crate::tree::git::{Snapshot, status};

#[derive(serde::Serialize)]
pub struct Warning {
    /// `untracked` or `unstaged`.
    pub kind: &'static str,
    pub path: String,
    /// The plugin, or none for a warning about all of them.
    pub plugin: Option<String>,
    pub message: String,
    pub help: String,
}

/// The warnings for `snap` (the work tree, or its tracked files) and its inventory.
pub fn warnings(snap: &Snapshot, inv: &Inventory) -> Result<Vec<Warning>> {
    let (Some(workdir), true) = (
        snap.workdir.as_deref(),
        matches!(snap.source.as_str(), "worktree" | "tracked"),
    ) else {
        return Ok(Vec::new());
    };
    let dirs: BTreeMap<&str, &str> = inv
        .plugins
        .iter()
        .filter(|p| p.status != Status::MissingDirectory)
        .map(|p| (p.dir.as_str(), p.id.as_str()))
        .collect();
    // The innermost plugin directory that holds `path`.
    let owner = |path: &str| -> Option<String> {
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            if let Some(id) = dirs.get(&path[..slash]) {
                return Some((*id).to_owned());
            }
            end = slash;
        }
        None
    };
    let repo = snap.local_repo();
    let index = repo.index_or_empty().map_err(|e| Error::git(&e))?;
    // A plugin none of whose files is tracked is one warning, not one per file.
    let new_plugin = |id: &str| -> Option<&str> {
        let dir = inv.plugins.iter().find(|p| p.id == id)?.dir.as_str();
        let prefix = format!("{dir}/");
        index
            .prefixed_entries(BStr::new(prefix.as_bytes()))
            .is_none_or(|e| e.is_empty())
            .then_some(dir)
    };
    // New plugins first: they are what a capped list must not hide.
    let mut new_plugins = Vec::new();
    let mut out = Vec::new();
    let mut announced: Vec<String> = Vec::new();
    for path in &snap.untracked {
        let path = path.to_str_lossy();
        if let Some(plugin) = owner(&path) {
            if let Some(dir) = new_plugin(&plugin) {
                if !announced.contains(&plugin) {
                    announced.push(plugin.clone());
                    new_plugins.push(Warning {
                        kind: "untracked",
                        message: format!(
                            "{dir}/ is untracked (a new plugin?), and its files are in the new entry for `{plugin}`"
                        ),
                        help: format!(
                            "commit it with the lock (`git add {}`); `plugin-lock update --tracked` hashes tracked files only",
                            sh(dir)
                        ),
                        path: dir.to_owned(),
                        plugin: Some(plugin),
                    });
                }
                continue;
            }
            out.push(Warning {
                kind: "untracked",
                message: format!(
                    "{path} is untracked, and its content is in the new entry for `{plugin}`: a commit without it will not match the lock"
                ),
                help: format!(
                    "commit it (`git add {}`), or delete it or add it to .gitignore; `plugin-lock update --tracked` hashes tracked files only",
                    sh(&path)
                ),
                path: path.into_owned(),
                plugin: Some(plugin),
            });
        }
    }
    let mut reader = snap.reader(&repo);
    let plugin_dirs: Vec<&BStr> = dirs.keys().map(|d| BStr::new(d.as_bytes())).collect();
    for path in status::unstaged(&repo, &index, workdir, &plugin_dirs, &mut reader)? {
        let path = path.to_str_lossy();
        if let Some(plugin) = owner(&path) {
            out.push(Warning {
                kind: "unstaged",
                message: format!(
                    "{path} differs between the index and the work tree; the entry for `{plugin}` hashes the work tree's version"
                ),
                help: format!(
                    "stage it (`git add {}`, or commit with `git commit -a`) so that the commit holds what the lock hashed",
                    sh(&path)
                ),
                path: path.into_owned(),
                plugin: Some(plugin),
            });
        }
    }
    // A first lock in a repository where no plugin is tracked yet: one warning.
    if new_plugins.len() > 1 && new_plugins.len() == dirs.len() {
        let lock_dir = crate::tree::discover::lock_dir(&inv.lock_path);
        let lock_dir = if lock_dir.is_empty() { "." } else { lock_dir };
        new_plugins = vec![Warning {
            kind: "untracked",
            message: format!(
                "none of the {} plugins is tracked yet (a first lock?), and their files are in the new lock",
                new_plugins.len()
            ),
            help: format!(
                "commit them with the lock (`git add {}`); `plugin-lock update --tracked` hashes tracked files only",
                sh(lock_dir)
            ),
            path: lock_dir.to_owned(),
            plugin: None,
        }];
    }
    new_plugins.append(&mut out);
    Ok(new_plugins)
}

/// `path` as one shell word: as is when it is plain, else in single quotes.
fn sh(path: &str) -> String {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+@%=,:".contains(&b));
    if plain && !path.is_empty() {
        path.to_owned()
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_only_what_needs_it() {
        assert_eq!(sh("plugins/a/notes.tmp"), "plugins/a/notes.tmp");
        assert_eq!(sh("plugins/a/my notes"), "'plugins/a/my notes'");
        assert_eq!(sh("plugins/a/it's"), r"'plugins/a/it'\''s'");
    }
}

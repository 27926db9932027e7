//! What changed in plugins between two trees: the files of one plugin (for `--base`
//! explanations of a mismatch) and every plugin's class of change (for `diff`).

use std::collections::BTreeMap;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::checks::findings::{Finding, Kind};
use crate::checks::integrity::{self, LockState, Settings};
use crate::digest::{self, StoredEntry};
use crate::error::{Error, Result};
use crate::tree::discover::{self, Plugin};
use crate::tree::git::Snapshot;
use crate::tree::join;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    Added,
    Removed,
    Modified,
}

/// One file of a plugin that differs between two trees; `path` is repository-relative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub change: FileChange,
}

/// Compares two sorted entry lists of one plugin (at `from_dir` and `to_dir`).
pub fn compare(
    from_dir: &str,
    from: &[StoredEntry],
    to_dir: &str,
    to: &[StoredEntry],
) -> Vec<Change> {
    let before: BTreeMap<&str, &str> = from
        .iter()
        .map(|e| (e.path.as_str(), e.sha256.as_str()))
        .collect();
    let after: BTreeMap<&str, &str> = to
        .iter()
        .map(|e| (e.path.as_str(), e.sha256.as_str()))
        .collect();
    let mut out = Vec::new();
    for (path, hash) in &after {
        match before.get(path) {
            None => out.push(Change {
                path: join(to_dir, path),
                change: FileChange::Added,
            }),
            Some(old) if old != hash => out.push(Change {
                path: join(to_dir, path),
                change: FileChange::Modified,
            }),
            Some(_) => {}
        }
    }
    for path in before.keys() {
        if !after.contains_key(path) {
            out.push(Change {
                path: join(from_dir, path),
                change: FileChange::Removed,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The stored entries of each plugin in `snap` (empty for a plugin that is not there).
fn entries_of(snap: &Snapshot, plugins: &[Plugin]) -> Result<Vec<Vec<StoredEntry>>> {
    snap.prefetch(plugins.iter().map(|p| (p.raw_dir.as_ref(), &p.node)))?;
    snap.par_map(plugins, |reader, plugin, buf| {
        digest::stored_entries(reader, plugin.raw_dir.as_ref(), &plugin.node, buf)
    })
}

/// What one tree says about its plugins, for comparing: discovery and lock entries.
struct Side {
    source: String,
    plugins: BTreeMap<String, Plugin>,
    locked: BTreeMap<String, String>,
}

fn side(snap: &Snapshot, settings: &Settings) -> Result<Side> {
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let config = &settings.config;
    let found =
        discover::discover(&mut reader, &config.plugins, &config.exclude, &config.lock)?.plugins;
    let locked = match integrity::read_lock(&mut reader, &config.lock)? {
        LockState::Parsed { lock, .. } => lock.to_map(),
        _ => BTreeMap::new(),
    };
    Ok(Side {
        source: snap.source.clone(),
        plugins: found.into_iter().map(|p| (p.id.clone(), p)).collect(),
        locked,
    })
}

/// Files changed in the plugin `id` from `base` to the verified tree, and whether its
/// lock entry changed in that range.
pub struct Explanation {
    pub changes: Vec<Change>,
    pub lock_changed: bool,
}

/// Explains each plugin of `ids` (mismatched in `head`) against `base`.
pub fn explain(
    base: (&Snapshot, &Settings),
    head: (&Snapshot, &Settings),
    ids: &[String],
) -> Result<BTreeMap<String, Explanation>> {
    let before = side(base.0, base.1)?;
    let after = side(head.0, head.1)?;
    let pick = |s: &Side| -> Vec<Plugin> {
        ids.iter()
            .filter_map(|id| s.plugins.get(id).cloned())
            .collect()
    };
    let (base_plugins, head_plugins) = (pick(&before), pick(&after));
    let base_entries = entries_of(base.0, &base_plugins)?;
    let head_entries = entries_of(head.0, &head_plugins)?;
    let lookup = |plugins: &[Plugin], entries: &[Vec<StoredEntry>], id: &str| {
        plugins
            .iter()
            .position(|p| p.id == id)
            .map(|i| (plugins[i].dir.clone(), entries[i].clone()))
    };
    let mut out = BTreeMap::new();
    for id in ids {
        let from = lookup(&base_plugins, &base_entries, id);
        let to = lookup(&head_plugins, &head_entries, id);
        let dir = to
            .as_ref()
            .or(from.as_ref())
            .map(|(d, _)| d.clone())
            .unwrap_or_default();
        let empty = Vec::new();
        let (from_dir, from_entries) = from
            .as_ref()
            .map_or((dir.as_str(), &empty), |(d, e)| (d.as_str(), e));
        let (to_dir, to_entries) = to
            .as_ref()
            .map_or((dir.as_str(), &empty), |(d, e)| (d.as_str(), e));
        out.insert(
            id.clone(),
            Explanation {
                changes: compare(from_dir, from_entries, to_dir, to_entries),
                lock_changed: before.locked.get(id) != after.locked.get(id),
            },
        );
    }
    Ok(out)
}

/// Adds the explanation to each `integrity_mismatch`: fields `changes` and
/// `lock_changed`, notes for people, and advice that depends on which side moved.
pub fn annotate(
    findings: &mut [Finding],
    explanations: &BTreeMap<String, Explanation>,
    base: &str,
) {
    let short = crate::escape::short_id(base);
    for f in findings
        .iter_mut()
        .filter(|f| f.kind == Kind::IntegrityMismatch)
    {
        let Some(x) = f.plugin.as_ref().and_then(|id| explanations.get(id)) else {
            continue;
        };
        let files: Vec<serde_json::Value> = x
            .changes
            .iter()
            .map(|c| serde_json::json!({ "path": c.path, "change": c.change }))
            .collect();
        f.fields.insert("changes", serde_json::Value::Array(files));
        f.fields
            .insert("lock_changed", serde_json::Value::Bool(x.lock_changed));
        f.fields
            .insert("base", serde_json::Value::String(base.to_owned()));
        let what = if x.lock_changed {
            format!("the lock was updated since {short} but does not match the files")
        } else {
            format!("files changed since {short} but the lock was not updated")
        };
        f.title = format!("{}: {what}", f.title()).into();
        const SHOWN: usize = 20;
        for c in x.changes.iter().take(SHOWN) {
            let label = match c.change {
                FileChange::Added => "added",
                FileChange::Removed => "removed",
                FileChange::Modified => "modified",
            };
            f.notes.push((label.into(), c.path.clone().into()));
        }
        if x.changes.len() > SHOWN {
            f.notes.push((
                "…".into(),
                format!("{} more file(s)", x.changes.len() - SHOWN).into(),
            ));
        }
        if x.changes.is_empty() {
            f.notes
                .push(("files".into(), format!("none changed since {short}").into()));
        }
    }
}

/// For `verify --checkout`: why each changed file of an explained mismatch differs on
/// this disk from the commit, where the cause is known — CRLF where the blob has LF, a
/// link checked out as a file, a file that is not committed, a committed file missing.
/// Only changed files are read, both sides, whole.
pub fn checkout_causes(
    head: &Snapshot,
    disk: &Snapshot,
    dirs: &BTreeMap<String, String>,
    findings: &mut [Finding],
) -> Result<()> {
    use crate::tree::{Kind as EntryKind, Tree};
    let head_repo = head.local_repo();
    let mut committed = head.reader(&head_repo);
    let disk_repo = disk.local_repo();
    let mut on_disk = disk.reader(&disk_repo);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for f in findings
        .iter_mut()
        .filter(|f| f.kind == Kind::IntegrityMismatch)
    {
        let Some(serde_json::Value::Array(mut changes)) = f.fields.get("changes").cloned() else {
            continue;
        };
        // A link checked out as a file holding its target stores the same bytes, so it is
        // no content change: find it by kind.
        if let Some(dir) = f.plugin.as_ref().and_then(|id| dirs.get(id)) {
            let dir_key = bstr::BStr::new(dir.as_str());
            if let Some(node) = committed.lookup(dir_key)? {
                let mut entries = Vec::new();
                committed.walk(dir_key, &node, &mut entries)?;
                for (rel, entry) in entries.iter().filter(|(_, e)| e.kind == EntryKind::Link) {
                    let path = join(dir, &rel.to_string());
                    let here = on_disk.lookup(bstr::BStr::new(path.as_str()))?;
                    let listed = changes
                        .iter()
                        .any(|c| c.get("path").and_then(|p| p.as_str()) == Some(path.as_str()));
                    if !listed
                        && here.is_some_and(|h| h.kind == EntryKind::File)
                        && entry.kind == EntryKind::Link
                    {
                        changes.push(serde_json::json!({ "path": path, "change": "modified" }));
                    }
                }
            }
        }
        let mut causes = Vec::new();
        for c in &changes {
            let (Some(path), Some(change)) = (
                c.get("path").and_then(|p| p.as_str()),
                c.get("change").and_then(|p| p.as_str()),
            ) else {
                continue;
            };
            let key = bstr::BStr::new(path);
            let cause = match change {
                "added" => "on this disk but not in the commit (an untracked or ignored file)".to_owned(),
                "removed" => "in the commit but not on this disk (deleted, lost to a case collision, or a name this file system refuses)".to_owned(),
                _ => match (committed.lookup(key)?, on_disk.lookup(key)?) {
                    (Some(c), Some(d)) if c.kind == EntryKind::Link && d.kind == EntryKind::File => {
                        "a symlink in the commit, a plain file here: checked out without symlink support (`core.symlinks=false`)".to_owned()
                    }
                    (Some(c), Some(d)) if c.kind == EntryKind::File && d.kind == EntryKind::File => {
                        let blob = committed.read(key, &c, &mut a)?.to_vec();
                        let here = on_disk.read(key, &d, &mut b)?.to_vec();
                        if !blob.contains(&b'\r') && here == crlf(&blob) {
                            "CRLF line ends here where the commit has LF (`core.autocrlf` or an eol attribute converted it on checkout)".to_owned()
                        } else {
                            "its bytes on this disk differ from the commit's".to_owned()
                        }
                    }
                    _ => "its kind on this disk differs from the commit's".to_owned(),
                },
            };
            causes.push(serde_json::json!({ "path": path, "cause": cause }));
            f.notes
                .push(("cause".into(), format!("{path}: {cause}").into()));
        }
        f.fields.insert("causes", serde_json::Value::Array(causes));
        let id = f.plugin.clone().unwrap_or_default();
        f.title = format!(
            "plugin `{id}` as checked out on this disk does not match its lock entry: its files differ from commit {}",
            crate::escape::short_id(&head.source)
        )
        .into();
        f.help = Some(
            "a loader on this machine hashes other bytes than the lock: fix the checkout by its causes (for line ends: `plugins/** -text` in .gitattributes, `git add --renormalize .`, commit, and check the files out again)".into(),
        );
    }
    Ok(())
}

/// `bytes` with every LF written as CRLF, as a checkout with `core.autocrlf=true` does.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &byte in bytes {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Added,
    Removed,
    Unchanged,
    /// Every change is a content edit of a `reload.hot` file: no restart needed.
    Hot,
    /// Anything else, including any added or removed file: the safe default.
    Cold,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Added => "added",
            Class::Removed => "removed",
            Class::Unchanged => "unchanged",
            Class::Hot => "hot",
            Class::Cold => "cold",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginDiff {
    pub id: String,
    pub change: Class,
    pub files: Vec<Change>,
    pub locked_from: Option<String>,
    pub locked_to: Option<String>,
    /// Whether the lock entry differs between the two sides.
    pub lock_changed: bool,
}

impl PluginDiff {
    /// The plugin's files changed (or it came or went) while its lock entry did not:
    /// the lock was not updated with it.
    pub fn lock_stale(&self) -> bool {
        self.change != Class::Unchanged && !self.lock_changed
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub from: String,
    pub to: String,
    pub plugins: Vec<PluginDiff>,
}

/// `reload.hot` globs, relative to each plugin directory (`*` does not cross `/`).
fn hot_set(globs: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| Error::Usage(format!("invalid reload.hot glob `{g}`: {e}")))?;
        set.add(glob);
    }
    set.build()
        .map_err(|e| Error::Usage(format!("invalid reload.hot globs: {e}")))
}

/// Every plugin of either tree with its class of change from `a` to `b`. Plugins are
/// found with each tree's own configuration; `reload.hot` comes from `b`.
pub fn diff(a: (&Snapshot, &Settings), b: (&Snapshot, &Settings)) -> Result<Diff> {
    let from = side(a.0, a.1)?;
    let to = side(b.0, b.1)?;
    let hot = hot_set(&b.1.config.hot)?;

    let mut ids: Vec<&String> = from.plugins.keys().chain(to.plugins.keys()).collect();
    ids.sort();
    ids.dedup();
    // Same git tree on both sides: unchanged without reading a blob.
    let needs_read: Vec<&String> = ids
        .iter()
        .copied()
        .filter(|id| match (from.plugins.get(*id), to.plugins.get(*id)) {
            (Some(x), Some(y)) => x.node.id.is_none() || x.node.id != y.node.id,
            _ => false,
        })
        .collect();
    let pick = |s: &Side| -> Vec<Plugin> {
        needs_read
            .iter()
            .filter_map(|id| s.plugins.get(*id).cloned())
            .collect()
    };
    let (from_plugins, to_plugins) = (pick(&from), pick(&to));
    let from_entries = entries_of(a.0, &from_plugins)?;
    let to_entries = entries_of(b.0, &to_plugins)?;

    let mut plugins = Vec::new();
    for id in ids {
        let (before, after) = (from.plugins.get(id), to.plugins.get(id));
        let (change, files) = match (before, after) {
            (None, Some(_)) => (Class::Added, Vec::new()),
            (Some(_), None) => (Class::Removed, Vec::new()),
            (None, None) => continue,
            (Some(x), Some(y)) => match needs_read.binary_search(&id) {
                Err(_) => (Class::Unchanged, Vec::new()),
                Ok(i) => {
                    let files = compare(&x.dir, &from_entries[i], &y.dir, &to_entries[i]);
                    let all_hot = files.iter().all(|c| {
                        c.change == FileChange::Modified
                            && c.path
                                .strip_prefix(&y.dir)
                                .and_then(|rel| rel.strip_prefix('/'))
                                .is_some_and(|rel| hot.is_match(rel))
                    });
                    let class = if files.is_empty() {
                        Class::Unchanged
                    } else if all_hot {
                        Class::Hot
                    } else {
                        Class::Cold
                    };
                    (class, files)
                }
            },
        };
        let locked_from = from.locked.get(id).cloned();
        let locked_to = to.locked.get(id).cloned();
        plugins.push(PluginDiff {
            id: id.clone(),
            change,
            files,
            lock_changed: locked_from != locked_to,
            locked_from,
            locked_to,
        });
    }
    Ok(Diff {
        from: from.source,
        to: to.source,
        plugins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, hash: &str) -> StoredEntry {
        StoredEntry {
            path: path.into(),
            sha256: hash.into(),
        }
    }

    #[test]
    fn compare_lists_added_removed_and_modified() {
        let from = [e("a", "1"), e("b", "2"), e("c", "3")];
        let to = [e("a", "1"), e("b", "9"), e("d", "4")];
        let changes = compare("p/x", &from, "p/x", &to);
        let got: Vec<(&str, FileChange)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.change))
            .collect();
        assert_eq!(
            got,
            [
                ("p/x/b", FileChange::Modified),
                ("p/x/c", FileChange::Removed),
                ("p/x/d", FileChange::Added)
            ]
        );
    }

    #[test]
    fn hot_globs_do_not_cross_directories_with_a_single_star() {
        let set = hot_set(&["*.md".into(), "**/SKILL.md".into()]).unwrap();
        assert!(set.is_match("README.md"));
        assert!(!set.is_match("docs/README.md"));
        assert!(set.is_match("skills/x/SKILL.md"));
        assert!(set.is_match("SKILL.md"));
    }
}

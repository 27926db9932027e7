//! What `git status` would call "changes not staged": work-tree files of the plugins
//! whose content differs from their staged blob.

use gix::bstr::{BStr, BString};

use crate::error::{Error, Result};
use crate::tree::git::reader::Reader;
use crate::tree::{Kind, Node};

/// The tracked files below the directories `dirs` whose work-tree content differs from
/// their staged blob (or that are deleted on disk, or only intended to add), sorted:
/// what `git add` would still change. Stat information decides first, as `git status`
/// does; only a file whose stat differs (or is racy) is read, converted as `git add`
/// would, and hashed.
pub fn unstaged(
    repo: &gix::Repository,
    index: &gix::index::File,
    workdir: &std::path::Path,
    dirs: &[&BStr],
    reader: &mut Reader<'_>,
) -> Result<Vec<BString>> {
    use crate::tree::Tree;
    let options = repo.stat_options().map_err(|e| Error::Git(e.to_string()))?;
    let timestamp = index.timestamp();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for dir in dirs {
        let mut prefix = BString::from(dir.to_vec());
        prefix.push(b'/');
        let Some(entries) = index.prefixed_entries(prefix.as_ref()) else {
            continue;
        };
        for entry in entries {
            use gix::index::entry::{Flags, Mode};
            if entry.flags.contains(Flags::SKIP_WORKTREE) || entry.mode.is_submodule() {
                continue;
            }
            let path = entry.path(index);
            if entry.flags.contains(Flags::INTENT_TO_ADD) {
                out.push(path.to_owned());
                continue;
            }
            let Ok(rel) = gix::path::from_bstr(path) else {
                continue;
            };
            let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&workdir.join(rel)) else {
                out.push(path.to_owned()); // deleted on disk, still staged
                continue;
            };
            let same_stat = gix::index::entry::Stat::from_fs(&meta).is_ok_and(|stat| {
                entry.stat.matches(&stat, options) && !entry.stat.is_racy(timestamp, options)
            });
            if same_stat {
                continue;
            }
            let kind = if entry.mode == Mode::SYMLINK {
                Kind::Link
            } else {
                Kind::File
            };
            let node = Node { kind, id: None };
            let blob = reader.read(path, &node, &mut buf)?;
            let id = gix::objs::compute_hash(index.object_hash(), gix::objs::Kind::Blob, &blob)
                .map_err(|e| Error::Git(e.to_string()))?;
            if id != entry.id {
                out.push(path.to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

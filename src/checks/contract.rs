//! The integrity contract's findings about one plugin — rejected, unlocked, not matching
//! its lock entry, its directory missing — worded once, for `verify` and for the runtime
//! library alike (the same kinds and the same messages wherever a plugin is checked).

use crate::checks::findings::{Finding, Kind};
use crate::digest::rejection::{Rejection, RejectionKind};
use crate::tree::discover::Plugin;

/// The fix every lock finding ends with.
pub fn update_hint(lock_path: &str) -> String {
    format!("run `plugin-lock update`, review the change and commit {lock_path}")
}

/// The finding kind of a digest rejection.
pub fn rejection_kind(kind: RejectionKind) -> Kind {
    match kind {
        RejectionKind::SymlinkEscape => Kind::SymlinkEscape,
        RejectionKind::SymlinkLoop => Kind::SymlinkLoop,
        RejectionKind::DanglingSymlink => Kind::DanglingSymlink,
        RejectionKind::UnsupportedEntry => Kind::UnsupportedEntry,
        RejectionKind::UnsupportedPath => Kind::UnsupportedPath,
    }
}

fn rejection_help(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::SymlinkEscape => {
            "point the link at a file inside the plugin, or commit the file itself"
        }
        RejectionKind::SymlinkLoop => "break the cycle of links",
        RejectionKind::DanglingSymlink => {
            "commit the file the link points to, or remove the link (or set `symlinks: as-link`)"
        }
        RejectionKind::UnsupportedEntry => {
            "commit the files themselves (a plugin is a directory of regular files and links to files, each within the blob size limit); hash a link to a directory as its target text with `symlinks: as-link`; or, if the directory is not a plugin, list it under `exclude:` in .plugin-lock.yml"
        }
        RejectionKind::UnsupportedPath => {
            "rename the entry: names must be UTF-8 without control characters"
        }
    }
}

/// Plugin `id` has no digest: located at the offending entry (DESIGN.md's `path`).
pub fn rejected(id: &str, r: &Rejection) -> Finding {
    Finding::new(
        rejection_kind(r.kind),
        r.path.clone(),
        1,
        format!("plugin `{id}` is rejected: {}", r.message),
    )
    .plugin(id)
    .help(rejection_help(r.kind))
}

/// Plugin `id` has no lock entry; `rejected`: it has no digest either (the rejection
/// is reported beside it), so the fix starts there.
pub fn unlocked(id: &str, at: &str, lock_path: &str, rejected: bool) -> Finding {
    let update = update_hint(lock_path);
    Finding::new(
        Kind::UnlockedPlugin,
        at,
        1,
        format!("plugin `{id}` has no entry in {lock_path}"),
    )
    .plugin(id)
    .help(if rejected {
        format!("fix the rejection above, then {update}")
    } else {
        format!("if the plugin is meant to be there, {update}")
    })
}

/// Plugin `id` (directory `dir`) does not match its lock entry at `lock_path:lock_line`.
pub fn mismatch(
    id: &str,
    dir: &str,
    lock_path: &str,
    lock_line: u32,
    expected: &str,
    actual: &str,
) -> Finding {
    Finding::new(
        Kind::IntegrityMismatch,
        lock_path,
        lock_line,
        format!("plugin `{id}` does not match its lock entry"),
    )
    .plugin(id)
    .note("expected", expected.to_owned())
    .note("actual", actual.to_owned())
    .field("expected", expected.to_owned())
    .field("actual", actual.to_owned())
    .help(format!(
        "if the change to {dir} is intended, {}; otherwise restore its files",
        update_hint(lock_path)
    ))
}

/// The lock entry `id` at `lock_path:lock_line` names no plugin directory `dir`.
pub fn missing_directory(id: &str, dir: &str, lock_path: &str, lock_line: u32) -> Finding {
    Finding::new(
        Kind::MissingPluginDirectory,
        lock_path,
        lock_line,
        format!("lock entry `{id}` has no plugin directory `{dir}`"),
    )
    .plugin(id)
    .help(format!(
        "restore `{dir}`, or drop the entry: {}",
        update_hint(lock_path)
    ))
}

/// Why a plugin's directory name rules it out before any read: another directory has
/// the same id, or a component cannot be part of a lock key.
pub fn name_rejection(plugin: &Plugin) -> Option<Rejection> {
    let refuse = |message: String| {
        Some(Rejection {
            kind: RejectionKind::UnsupportedPath,
            path: plugin.dir.clone(),
            message,
        })
    };
    if !plugin.same_id.is_empty() {
        // Which of them a lock entry means cannot be told: neither is checked against it.
        let this = match std::str::from_utf8(&plugin.raw_dir) {
            Ok(_) => format!("`{}`", plugin.dir),
            Err(_) => format!("`{}` (not UTF-8, shown escaped)", plugin.dir),
        };
        return refuse(format!(
            "plugin directories {this} and {} both have the id `{}`; rename one of them",
            plugin.same_id.join(", "),
            plugin.id
        ));
    }
    if plugin.bad_name {
        return refuse(format!(
            "plugin directory `{}` has a path component that is not UTF-8 or contains a control character; such a name cannot be a lock key",
            plugin.dir
        ));
    }
    None
}

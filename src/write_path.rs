//! Where plugin-lock may write: the lock path a repository (or `--lock`) names, and a
//! `--report` path below the work tree or in `.git`, are checked
//! against the work tree before anything is written, and the default JSON report gets a
//! name nobody can plant in a shared temp directory.
//!
//! The lock path comes from a tree that a pull request or a cloned repository controls.
//! Written naively, `lock: up/victim/authorized_keys` with a committed link `up -> ../..`
//! or `lock: .git/config` overwrites files outside the repository or its configuration.
//! So a lock is written only at a path inside the work tree, reached through no symlink,
//! outside every git directory, and is itself a regular file or absent (a symlink is
//! refused, not replaced: the committed link is the repository's to fix). The write
//! itself replaces the file (`atomic::write_atomic`), never writes through it.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::yaml::{self, Node};

/// Where the lock path came from, for the message that refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `.plugin-lock.yml`, with the line of its `lock` key.
    Config(u32),
    Flag,
    Default,
}

impl Origin {
    /// The origin of the lock path: `--lock`, else the configuration's `lock` key (found in
    /// `config`, the bytes of `.plugin-lock.yml`), else the default.
    pub fn of_lock(flag: bool, config: Option<&[u8]>) -> Origin {
        if flag {
            return Origin::Flag;
        }
        match config {
            Some(bytes) => match key_line(bytes, "lock") {
                Some(line) => Origin::Config(line),
                None => Origin::Default,
            },
            None => Origin::Default,
        }
    }

    fn describe(&self) -> String {
        match self {
            Origin::Config(line) => format!("from `.plugin-lock.yml` line {line}"),
            Origin::Flag => "from `--lock`".to_owned(),
            Origin::Default => "the default lock path".to_owned(),
        }
    }
}

/// The line of the top-level `key` in a YAML mapping, if the document has one.
fn key_line(bytes: &[u8], key: &str) -> Option<u32> {
    let root = yaml::parse(std::str::from_utf8(bytes).ok()?).ok()?;
    let Node::Map(entries) = &root.value else {
        return None;
    };
    entries.iter().find_map(|(k, _)| match &k.value {
        Node::Str(s) if s == key => Some(yaml::position(&k.referenced).0),
        _ => None,
    })
}

/// Checks the lock path `rel` (repository-relative, `/`-separated) and returns the file
/// to write: inside `workdir`, through no symlinked directory, not a symlink itself, and
/// in none of `git_dirs` (the repository's git dir and common dir).
pub fn lock_file(
    workdir: &Path,
    git_dirs: &[&Path],
    rel: &str,
    origin: &Origin,
) -> Result<PathBuf> {
    let refuse = |why: String| {
        Error::Usage(format!(
            "refusing to write the lock `{rel}` ({}): {why}",
            origin.describe()
        ))
    };
    let parts = components(rel).map_err(refuse)?;
    let Some((file_name, dirs)) = parts.split_last() else {
        return Err(refuse("it names no file".into()));
    };
    // Each existing directory on the way, from the work tree's root: `symlink_metadata`
    // sees a link where a plain walk would follow it.
    let mut dir = workdir.to_path_buf();
    let mut existing = workdir.to_path_buf();
    let mut missing = false;
    for (i, part) in dirs.iter().enumerate() {
        dir.push(part);
        if missing {
            continue;
        }
        let shown = dirs[..=i].join("/");
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refuse(format!(
                    "`{shown}` is a symlink; the lock is written only inside the work tree, through no symlinked directory"
                )));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(refuse(format!("`{shown}` is not a directory")));
            }
            Ok(_) => existing.clone_from(&dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing = true,
            Err(source) => return Err(Error::Io { path: dir, source }),
        }
    }
    let path = dir.join(file_name);
    if !missing {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refuse(
                    "it is a symlink; replace it with the lock file itself (or remove it) and run `plugin-lock update` again".into(),
                ));
            }
            Ok(meta) if !meta.is_file() => {
                return Err(refuse("it is not a regular file".into()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    // A git dir the work tree holds under another name (`--separate-git-dir`, a `.git`
    // file): compare real paths. `existing` has no links below the work tree's root.
    if let Some(git_dir) = git_dir_holding(&existing, git_dirs)? {
        return Err(refuse(git_dir));
    }
    Ok(path)
}

/// Which of `git_dirs` really holds the directory `dir` (real paths compared), as the
/// refusal's reason.
fn git_dir_holding(dir: &Path, git_dirs: &[&Path]) -> Result<Option<String>> {
    let real = std::fs::canonicalize(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(git_dirs.iter().find_map(|git_dir| {
        std::fs::canonicalize(git_dir)
            .ok()
            .filter(|git_dir| real.starts_with(git_dir))
            .map(|git_dir| {
                format!(
                    "it is inside the git directory {}",
                    crate::escape::shown(&git_dir.to_string_lossy())
                )
            })
    }))
}

/// Checks a `--report` path. The user names it, so it may be anywhere (an absolute path
/// in `RUNNER_TEMP` is the usual one), but a repository must not be able to steer it:
/// below the work tree it is reached through no symlinked directory (a committed
/// `reports -> ~/.ssh` would carry it out), and wherever it is, its directory is in
/// none of `git_dirs` (`--report .git/config` would destroy the configuration). The
/// file itself is replaced, never written through (`atomic::write_atomic`).
pub fn report_file(workdir: Option<&Path>, git_dirs: &[&Path], path: &Path) -> Result<()> {
    let refuse = |why: String| {
        Error::Usage(format!(
            "refusing to write the report {}: {why}",
            crate::escape::shown(&path.to_string_lossy())
        ))
    };
    let cwd = std::env::current_dir().map_err(|source| Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let full = cwd.join(path);
    let Some(parent) = full.parent() else {
        return Err(refuse("it names no file".into()));
    };
    if let Some(workdir) = workdir {
        let root = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        // Component by component, as the kernel resolves it: a link outside the work
        // tree is the user's (followed), one below its root is the repository's.
        let mut dir = PathBuf::new();
        for part in parent.components() {
            match part {
                Component::ParentDir => {
                    dir.pop();
                    continue;
                }
                Component::CurDir => continue,
                other => dir.push(other),
            }
            let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                break;
            };
            if !meta.file_type().is_symlink() {
                continue;
            }
            if dir.starts_with(&root) && dir != root {
                return Err(refuse(format!(
                    "`{}` is a symlink in the work tree; a report inside the repository is written through no symlinked directory",
                    crate::escape::shown(
                        &dir.strip_prefix(&root).unwrap_or(&dir).to_string_lossy()
                    )
                )));
            }
            match std::fs::canonicalize(&dir) {
                Ok(real) => dir = real,
                Err(_) => break,
            }
        }
    }
    if let Some(git_dir) = git_dir_holding(parent, git_dirs)? {
        return Err(refuse(git_dir));
    }
    Ok(())
}

/// The normal components of `rel`, or why it cannot be a lock path inside the work tree.
fn components(rel: &str) -> std::result::Result<Vec<&str>, String> {
    if Path::new(rel).has_root()
        || Path::new(rel)
            .components()
            .any(|c| matches!(c, Component::Prefix(_)))
    {
        return Err("it is absolute; give a path inside the repository".into());
    }
    let separators: &[char] = if cfg!(windows) { &['/', '\\'] } else { &['/'] };
    let mut parts = Vec::new();
    for part in rel.split(separators) {
        match part {
            "" | "." => {}
            ".." => return Err("it leaves the work tree (`..`)".into()),
            // Case-insensitively, and as NTFS and HFS+ would see it (trailing dots and
            // spaces dropped): `.GIT` is the git dir on those file systems.
            p if p.trim_end_matches(['.', ' ']).eq_ignore_ascii_case(".git") => {
                return Err("it is inside `.git`, the repository's own files".into());
            }
            p => parts.push(p),
        }
    }
    Ok(parts)
}

/// Writes `contents` to a new file `plugin-lock-report-<random>.json` in `dir`, created
/// with O_EXCL: a name another local user planted (a link, a file of theirs) is never
/// used. Returns its path, the one the `report` output names.
pub fn fresh_report(dir: &Path, contents: &[u8]) -> Result<PathBuf> {
    let (path, mut file) = crate::atomic::create_new_random(dir, "plugin-lock-report-", ".json")
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    if let Err(source) = file.write_all(contents).and_then(|()| file.sync_all()) {
        drop(file);
        // Best effort: the write error is the one worth reporting.
        let _ = std::fs::remove_file(&path);
        return Err(Error::Io { path, source });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_refuse_what_leaves_the_work_tree_or_enters_git() {
        assert_eq!(
            components("plugins/PLUGINS.lock").unwrap(),
            ["plugins", "PLUGINS.lock"]
        );
        assert_eq!(components("./a//b").unwrap(), ["a", "b"]);
        for bad in [
            "../x",
            "a/../../x",
            "/etc/x",
            ".git/config",
            "a/.GiT/x",
            ".git./x",
            ".git /x",
        ] {
            assert!(components(bad).is_err(), "{bad}");
        }
        assert!(components(".github/x").is_ok());
        assert!(components(".gitignore").is_ok());
    }

    #[test]
    fn the_lock_key_line_is_found() {
        assert_eq!(
            key_line(b"plugins: [a/*]\n\nlock: a/x.lock\n", "lock"),
            Some(3)
        );
        assert_eq!(key_line(b"plugins: [a/*]\n", "lock"), None);
        assert_eq!(key_line(b"- lock\n", "lock"), None);
        assert_eq!(key_line(b"\xff", "lock"), None);
    }

    #[test]
    fn a_fresh_report_never_reuses_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = fresh_report(dir.path(), b"{}").unwrap();
        let b = fresh_report(dir.path(), b"[]").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"{}");
        assert_eq!(std::fs::read(&b).unwrap(), b"[]");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("plugin-lock-report-") && name.ends_with(".json"),
            "{name}"
        );
    }
}

//! Replacing a file so that readers, and a crash, see either the old file or the new
//! one, never a mix; and creating a file nobody could have planted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `contents` so that readers (and a crash) see either
/// the old file or the new one, never a mix: write a temporary file in the
/// same directory, fsync it, rename it over the target, fsync the directory.
///
/// An existing target's permissions are kept (Unix). A symlink at `path` is
/// replaced by a regular file, not followed. On error the temporary file is
/// removed and the target is untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_file(path, contents, true)
}

/// [`write_atomic`] without the fsyncs, for files that are checked on reading and can
/// be rebuilt (the result cache): readers still see the old file or the new one, but a
/// crash may leave either, or an empty file.
pub fn write_atomic_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_file(path, contents, false)
}

fn replace_file(path: &Path, contents: &[u8], durable: bool) -> io::Result<()> {
    let Some(file_name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        ));
    };
    // `Path::parent` of a bare file name is `Some("")`, meaning the cwd.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp_path, file) = create_temp(dir, &file_name.to_string_lossy())?;
    if let Err(e) = fill_and_rename(file, &tmp_path, path, contents, durable) {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    if durable {
        sync_dir(dir);
    }
    Ok(())
}

/// Creates a fresh temp file next to the target, a hidden name of its own.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    create_new_random(dir, &format!(".{file_name}.tmp-"), "")
}

/// Creates `dir/<prefix><random><suffix>`, a file that did not exist before. `create_new`
/// (O_EXCL: no existing file, no symlink followed) guarantees we never write into someone
/// else's file; the name mixes pid, a process-wide counter and per-call randomness so
/// concurrent writers do not collide and nobody can plant the name in advance.
pub(crate) fn create_new_random(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> io::Result<(PathBuf, File)> {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let mut attempts = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // `RandomState` is std's randomly seeded hasher: a dependency-free
        // source of a few unpredictable bits.
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!("{prefix}{}-{n}-{random:016x}{suffix}", std::process::id());
        let tmp_path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
        {
            Ok(file) => return Ok((tmp_path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

fn fill_and_rename(
    mut file: File,
    tmp_path: &Path,
    target: &Path,
    contents: &[u8],
    durable: bool,
) -> io::Result<()> {
    file.write_all(contents)?;
    // A fresh file gets the default mode; keep whatever the old file had. `lstat`: a
    // symlink at the target is replaced, and its target's mode is none of our business.
    #[cfg(unix)]
    if let Ok(meta) = fs::symlink_metadata(target)
        && meta.is_file()
    {
        file.set_permissions(meta.permissions())?;
    }
    if durable {
        file.sync_all()?;
    }
    // Close before renaming: Windows cannot rename a file that is still open.
    drop(file);
    fs::rename(tmp_path, target)
}

/// Makes the rename itself durable. Some filesystems refuse to fsync a
/// directory; the rename has already happened, so that is not an error.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PLUGINS.lock");
        write_atomic(&path, b"{}\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        let new = format!("{{\n  \"a\": \"{:064x}\"\n}}\n", 1);
        write_atomic(&path, new.as_bytes()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), new);
        write_atomic(&path, b"").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(dir_names(dir.path()), ["PLUGINS.lock"]);
    }

    #[test]
    fn write_atomic_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("PLUGINS.lock");
        let e = write_atomic(&path, b"{}\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(dir_names(dir.path()).is_empty());
    }

    #[test]
    fn write_atomic_cleans_up_when_rename_fails() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory at the target path cannot be renamed over.
        let path = dir.path().join("PLUGINS.lock");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        assert!(write_atomic(&path, b"{}\n").is_err());
        assert_eq!(dir_names(dir.path()), ["PLUGINS.lock"]);
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
    }

    #[test]
    fn write_atomic_rejects_a_path_without_file_name() {
        let e = write_atomic(Path::new(".."), b"{}\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_replaces_a_symlink_and_never_takes_its_targets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o751)).unwrap();
        let path = dir.path().join("PLUGINS.lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        let meta = fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_ne!(meta.permissions().mode() & 0o777, 0o751);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PLUGINS.lock");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }
}

//! `hook install` / `hook uninstall`: the pre-push hook file in git's hooks directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::integrity;
use crate::cli::Format;
use crate::commands::ctx::{Ctx, io_out};
use crate::commands::hook::merge_setup;
use crate::error::{Error, Result, exit};
use crate::report::json;
use crate::tree::git::{self, Selector, Snapshot};

/// The hook that `hook install` writes: the vendored `hooks/pre-push`, byte for byte.
const SCRIPT: &str = include_str!("../../../hooks/pre-push");

/// The comment line that marks a hook as plugin-lock's own (install may replace it,
/// uninstall may remove it). Looked for in the first lines of an existing hook.
const MARKER: &str = "# plugin-lock pre-push hook:";

/// The hooks directory as git finds it: `core.hooksPath` (a relative path is relative to
/// the work tree's root, where git runs hooks; in a bare repository to the git directory),
/// else `hooks/` in the common git directory (linked worktrees share it).
fn hooks_dir() -> Result<PathBuf> {
    let repo = git::open_repo()?.to_thread_local();
    let configured = repo
        .config_snapshot()
        .string("core.hooksPath")
        .filter(|p| !p.is_empty());
    if let Some(value) = configured {
        let text = String::from_utf8_lossy(&value).into_owned();
        let path = match text.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(rest))
                .unwrap_or_else(|| PathBuf::from(&text)),
            None => PathBuf::from(&text),
        };
        if path.is_absolute() {
            return Ok(path);
        }
        let base = repo.workdir().unwrap_or_else(|| repo.git_dir());
        return Ok(base.join(path));
    }
    Ok(repo.common_dir().join("hooks"))
}

/// The script with LF line ends (a CRLF checkout of the source must not break `sh`).
fn script() -> String {
    SCRIPT.replace("\r\n", "\n")
}

fn is_ours(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .take(8)
        .any(|line| line.starts_with(MARKER.as_bytes()))
}

/// The most of an existing hook read to recognise it: ours is well under this, and its
/// marker is in the first lines. A bigger file is never equal to the script.
const MAX_HOOK_BYTES: u64 = 64 * 1024;

/// The current hook's bytes: `None` when there is none. Anything that is not a regular
/// file (a FIFO, a device, a dangling link), through a link or not, reads as empty: a
/// hook plugin-lock did not write.
fn existing_hook(path: &Path) -> Result<Option<Vec<u8>>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
        Ok(meta) if meta.is_dir() => Err(Error::Usage(format!(
            "{} is a directory, not a hook; remove it first",
            path.display()
        ))),
        Ok(_) => match read_regular(path) {
            Ok(bytes) => Ok(Some(bytes.unwrap_or_default())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(Vec::new())),
            Err(e) => Err(io(e)),
        },
    }
}

/// Up to [`MAX_HOOK_BYTES`] of `path` when it is (or links to) a regular file, else
/// `None`. A FIFO would block `open` and `read` forever and `/dev/zero` never ends:
/// `stat` first (no device is opened), then `O_NONBLOCK` and `fstat` of what was opened
/// (the path may have changed in between), and a read that stops at the bound whatever
/// the metadata says.
fn read_regular(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(None);
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_HOOK_BYTES).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 == 0o111)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Whether `plugin-lock` can be found on PATH, as the hook's `command -v` looks for it.
fn on_path() -> bool {
    let names: &[&str] = if cfg!(windows) {
        &["plugin-lock.exe", "plugin-lock"]
    } else {
        &["plugin-lock"]
    };
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| names.iter().any(|n| dir.join(n).is_file()))
    })
}

/// The hook's path as a message shows it: `core.hooksPath` is the repository's to set,
/// and a line break in it would start a line of its choosing (a forged verdict on a
/// terminal), so it is escaped like every repository string.
fn shown_path(path: &Path) -> String {
    crate::escape::shown(&path.to_string_lossy()).into_owned()
}

/// `hook install` / `hook uninstall` print human or json; never github or sarif.
fn plain_json(ctx: &Ctx<'_>) -> Result<bool> {
    match ctx.cli.format {
        None | Some(Format::Human) => Ok(false),
        Some(Format::Json) => Ok(true),
        Some(_) => Err(Error::Usage(
            "hook install and uninstall print human or json".into(),
        )),
    }
}

fn report_file(
    ctx: &mut Ctx<'_>,
    json_out: bool,
    path: &Path,
    action: &str,
    text: &str,
) -> Result<()> {
    report_with(ctx, json_out, path, action, text, None)
}

fn report_with(
    ctx: &mut Ctx<'_>,
    json_out: bool,
    path: &Path,
    action: &str,
    text: &str,
    merge_driver: Option<&merge_setup::Setup>,
) -> Result<()> {
    if json_out {
        #[derive(Serialize)]
        struct Doc<'a> {
            hook: String,
            action: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            merge_driver: Option<&'a merge_setup::Setup>,
        }
        json::write(
            ctx.out,
            &Doc {
                hook: path.display().to_string(),
                action,
                merge_driver,
            },
        )
        .map_err(io_out)
    } else if ctx.cli.quiet {
        Ok(())
    } else {
        writeln!(ctx.out, "{text}").map_err(io_out)
    }
}

/// The merge driver's setup, for `hook install --merge-driver`: the lock's path comes
/// from the work tree's configuration (the one the next commit will hold).
fn merge_driver_setup(ctx: &Ctx<'_>) -> Result<merge_setup::Setup> {
    let snap = Snapshot::open(git::open_repo()?, &Selector::Worktree)?;
    let workdir = snap.workdir.clone().ok_or_else(|| {
        Error::Usage("--merge-driver needs a work tree for .gitattributes".into())
    })?;
    let settings = {
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        integrity::settings(&mut reader, &ctx.overrides()?)?
    };
    merge_setup::set_up(&workdir, &settings.config.lock)
}

fn merge_driver_text(setup: &merge_setup::Setup) -> String {
    let attributes = match setup.attributes {
        "added" => format!(
            "added `{}` to .gitattributes (commit it)",
            crate::escape::shown(&setup.line)
        ),
        _ => ".gitattributes names the driver already".to_owned(),
    };
    let config = match setup.config {
        "set" => "set merge.plugin-lock.driver in .git/config (each clone sets it once)",
        _ => "merge.plugin-lock.driver is set already",
    };
    format!("hook install: merge driver: {attributes}; {config}")
}

pub fn install(ctx: &mut Ctx<'_>, force: bool, merge_driver: bool) -> Result<u8> {
    let json_out = plain_json(ctx)?;
    let dir = hooks_dir()?;
    let path = dir.join("pre-push");
    let script = script();
    // A hook that is kept stops everything before the merge driver is touched.
    let action = match existing_hook(&path)? {
        None => "installed",
        Some(bytes) if bytes == script.as_bytes() && is_executable(&path) => "unchanged",
        Some(bytes) if is_ours(&bytes) => "updated",
        Some(_) if force => "replaced",
        Some(_) => {
            return Err(Error::Usage(format!(
                "{} is a pre-push hook that plugin-lock did not write; it is kept. Call `plugin-lock hook pre-push \"$1\" \"$2\"` from it with git's stdin, or replace it with `plugin-lock hook install --force`",
                path.display()
            )));
        }
    };
    if action != "unchanged" {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        crate::atomic::write_atomic(&path, script.as_bytes())
            .and_then(|()| make_executable(&path))
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
    }
    let setup = if merge_driver {
        Some(merge_driver_setup(ctx)?)
    } else {
        None
    };
    let mut text = if action == "unchanged" {
        format!("hook install: {} is installed already", shown_path(&path))
    } else {
        format!(
            "hook install: {action} {}\n  `git push` now verifies every pushed branch and tag; `plugin-lock hook uninstall` removes the hook",
            shown_path(&path)
        )
    };
    if let Some(setup) = &setup {
        text = format!("{text}\n{}", merge_driver_text(setup));
    }
    report_with(ctx, json_out, &path, action, &text, setup.as_ref())?;
    if action != "unchanged" && !on_path() {
        writeln!(
            ctx.err,
            "hook install: note: plugin-lock is not on PATH, so the hook stops every push until it is (`cargo install --locked --path .` in plugin-lock's repository)"
        )
        .map_err(io_out)?;
    }
    Ok(exit::OK)
}

pub fn uninstall(ctx: &mut Ctx<'_>, force: bool) -> Result<u8> {
    let json_out = plain_json(ctx)?;
    let path = hooks_dir()?.join("pre-push");
    match existing_hook(&path)? {
        None => {
            let text = format!(
                "hook uninstall: there is no pre-push hook at {}; nothing to remove",
                shown_path(&path)
            );
            report_file(ctx, json_out, &path, "absent", &text)?;
        }
        Some(bytes) if is_ours(&bytes) || force => {
            std::fs::remove_file(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let text = format!("hook uninstall: removed {}", shown_path(&path));
            report_file(ctx, json_out, &path, "removed", &text)?;
        }
        Some(_) => {
            return Err(Error::Usage(format!(
                "{} is a pre-push hook that plugin-lock did not write; it is kept (remove it yourself, or with `plugin-lock hook uninstall --force`)",
                path.display()
            )));
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_hook_is_the_vendored_one_and_recognised() {
        let s = script();
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("exec plugin-lock hook pre-push \"$@\""));
        assert!(is_ours(s.as_bytes()));
        assert!(!is_ours(b"#!/bin/sh\nexec other-tool\n"));
        assert!(!s.contains('\r'));
    }
}

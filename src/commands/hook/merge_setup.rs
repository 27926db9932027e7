//! `hook install --merge-driver`: sets up `plugin-lock merge-driver` for the lock, the
//! two steps the README shows: the `.gitattributes` line (committed, so the team shares
//! it) and the driver in this clone's `.git/config` (git never shares it, by design:
//! a cloned repository must not run commands of its choosing).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::commands::gitattributes;
use crate::error::{Error, Result};

/// The driver's name in `merge=<name>` and `merge.<name>.driver`.
pub const DRIVER: &str = "plugin-lock";
const COMMAND: &str = "plugin-lock merge-driver %O %A %B %P";

/// What was done: each step `added`/`set` or `unchanged`.
#[derive(Debug, serde::Serialize)]
pub struct Setup {
    pub attributes: &'static str,
    pub config: &'static str,
    /// The line in `.gitattributes`.
    pub line: String,
}

/// Adds `<lock> merge=plugin-lock` to `<workdir>/.gitattributes` unless a line gives
/// the lock that attribute already, and sets `merge.plugin-lock.driver` (and `.name`).
pub fn set_up(workdir: &Path, lock: &str) -> Result<Setup> {
    let wanted = gitattributes::pattern(lock, "");
    let line = format!("{wanted} merge={DRIVER}");
    let current = gitattributes::read(workdir)?;
    let attributes = if current.has_line(&wanted, &format!("merge={DRIVER}")) {
        "unchanged"
    } else {
        gitattributes::append(workdir, &current, None, std::slice::from_ref(&line))?;
        "added"
    };
    let key = format!("merge.{DRIVER}.driver");
    let config = if git_config(workdir, &["--get", &key])?.as_deref() == Some(COMMAND) {
        "unchanged"
    } else {
        git_config(workdir, &[&key, COMMAND])?;
        git_config(
            workdir,
            &[
                &format!("merge.{DRIVER}.name"),
                "plugin-lock: merge the lock by entry",
            ],
        )?;
        "set"
    };
    Ok(Setup {
        attributes,
        config,
        line,
    })
}

/// `git config --local ARGS`: its output for `--get` (`None` when unset).
fn git_config(workdir: &Path, args: &[&str]) -> Result<Option<String>> {
    let out = Command::new("git")
        .current_dir(workdir)
        .args(["config", "--local"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Usage(format!("could not run `git config` ({e}); is git on PATH?")))?;
    match out.status.code() {
        Some(0) => Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
        )),
        // `--get` of an unset key.
        Some(1) if args.first() == Some(&"--get") => Ok(None),
        _ => Err(Error::Usage(format!(
            "`git config --local {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_only_the_lock() {
        let pattern = |lock| gitattributes::pattern(lock, "");
        assert_eq!(pattern("plugins/PLUGINS.lock"), "/plugins/PLUGINS.lock");
        assert_eq!(pattern("a b/lock[1]"), "\"/a b/lock\\\\[1]\"");
    }
}

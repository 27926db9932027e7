//! What every command gets (the parsed flags, where to write) and the steps most
//! commands share: opening the tree, running the checks, the verdict's exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::cache::Cache;
use crate::checks::findings::{Finding, Severity};
use crate::checks::integrity::{self, Inventory, InventoryOptions, Overrides, Settings};
use crate::cli::{Cli, ColorChoice, Format};
use crate::config;
use crate::error::{Error, Result, exit};
use crate::github::actions_env;
use crate::report::human;
use crate::tree::git::{self, Selector, Snapshot};

/// The formats of commands other than `verify`.
#[derive(Clone, Copy)]
pub enum Plain {
    Human,
    Json,
}

/// What every command gets: the parsed flags and where to write.
pub struct Ctx<'a> {
    pub cli: &'a Cli,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// `verify`'s format: `github` by default inside GitHub Actions.
    pub fn verify_format(&self) -> Format {
        match self.cli.format {
            Some(format) => format,
            None if actions_env::in_actions() => Format::Github,
            None => Format::Human,
        }
    }

    /// Every other command speaks `human` or `json`.
    pub fn format(&self) -> Result<Plain> {
        match self.cli.format {
            None | Some(Format::Human) => Ok(Plain::Human),
            Some(Format::Json) => Ok(Plain::Json),
            Some(Format::Github | Format::Sarif | Format::Concise) => Err(Error::Usage(
                "--format github, sarif and concise are for `verify`; this command prints human or json"
                    .into(),
            )),
        }
    }

    pub fn style(&self) -> human::Style {
        self.style_for(std::io::stdout().is_terminal())
    }

    /// Colour on `--color always`, or on `auto` when the stream is a terminal and
    /// NO_COLOR is unset.
    pub fn style_for(&self, terminal: bool) -> human::Style {
        let color = match self.cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal
            }
        };
        human::Style {
            color,
            verbose: self.cli.verbose,
        }
    }

    pub fn selector(&self, default: Selector) -> Result<Selector> {
        let s = &self.cli.source;
        // clap does not enforce the group for global flags given after the subcommand.
        if usize::from(s.rev.is_some())
            + usize::from(s.index)
            + usize::from(s.worktree)
            + usize::from(s.checkout)
            > 1
        {
            return Err(Error::Usage(
                "--rev, --index, --worktree and --checkout each name the tree to read; give only one".into(),
            ));
        }
        Ok(if let Some(rev) = &s.rev {
            Selector::Rev(rev.clone())
        } else if s.index {
            Selector::Index
        } else if s.worktree {
            Selector::Worktree
        } else if s.checkout {
            Selector::Checkout
        } else {
            default
        })
    }

    pub fn overrides(&self) -> Result<Overrides> {
        let c = &self.cli.config;
        let symlinks = match &c.symlinks {
            None => None,
            Some(s) => Some(config::parse_symlink_policy(s).ok_or_else(|| {
                Error::Usage(format!("--symlinks takes `follow` or `as-link`, not `{s}`"))
            })?),
        };
        for glob in &c.plugins {
            config::compile_glob(glob).map_err(|problem| {
                Error::Usage(format!(
                    "--plugins: glob `{}` {problem}",
                    config::shown_glob(glob)
                ))
            })?;
        }
        // The flag names a file with its format's default rules; the mapping form (other
        // `require`, `name: any`) is the configuration's.
        let manifest = match c.manifest.as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(path) => Some(Some(
                crate::manifest::Spec::new(path)
                    .map_err(|problem| Error::Usage(format!("--manifest {problem}")))?,
            )),
        };
        Ok(Overrides {
            plugins: c.plugins.clone(),
            lock: c.lock.clone(),
            manifest,
            symlinks,
            required_owners: c.required_owners.clone(),
        })
    }
}

pub fn io_out(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

/// Opens the repository and the tree, and reads the settings from it.
pub fn open(ctx: &Ctx<'_>, default: Selector) -> Result<(Snapshot, Settings)> {
    let selector = ctx.selector(default)?;
    let snap = Snapshot::open(git::open_repo()?, &selector)?;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let settings = integrity::settings(&mut reader, &ctx.overrides()?)?;
    Ok((snap, settings))
}

pub fn checked(
    snap: &Snapshot,
    settings: &Settings,
    options: InventoryOptions,
) -> Result<(Inventory, Vec<Finding>)> {
    let cache = Cache::open(snap, &settings.config);
    let inv = integrity::inventory(snap, settings, options, cache.as_ref())?;
    if let Some(cache) = cache {
        cache.save();
    }
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let fallback = integrity::fallback_location(&mut reader, &inv, settings)?;
    let findings = settings
        .levels
        .apply(integrity::rules::findings(&inv, settings, &fallback));
    Ok((inv, findings))
}

/// When `snap` is a revision and the work tree's `.plugin-lock.yml` or lock differs from
/// it, the note that says the work tree's copy is not what was used.
pub fn uncommitted_note(
    ctx: &Ctx<'_>,
    snap: &Snapshot,
    settings: &Settings,
) -> Result<Option<String>> {
    let (Some(workdir), true) = (snap.workdir.as_deref(), snap.has_tree_ids()) else {
        return Ok(None);
    };
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    // Line ends aside: a checkout with CRLF (core.autocrlf) is not a change.
    let normalized =
        |bytes: Vec<u8>| -> Vec<u8> { bytes.into_iter().filter(|b| *b != b'\r').collect() };
    let mut differs = Vec::new();
    for (path, cap) in [
        (integrity::CONFIG_FILE, config::MAX_CONFIG_BYTES),
        (settings.config.lock.as_str(), crate::lock::MAX_LOCK_BYTES),
    ] {
        let in_tree = match reader.read_file(path, cap)? {
            Some(crate::tree::FileRead::Bytes(bytes)) => Some(normalized(bytes)),
            _ => None,
        };
        let on_disk = std::fs::read(workdir.join(path)).ok().map(normalized);
        if on_disk.is_some() && on_disk != in_tree {
            let what = if in_tree.is_some() {
                "uncommitted changes to"
            } else {
                "uncommitted"
            };
            differs.push(format!("{what} {}", crate::escape::shown(path)));
        }
    }
    if differs.is_empty() {
        return Ok(None);
    }
    let rev = ctx.cli.source.rev.as_deref().unwrap_or("HEAD");
    Ok(Some(format!(
        "note: verifying {} ({}); your {} {} not used (commit, or check the work tree with `--worktree`)",
        crate::escape::shown(rev),
        crate::escape::short_id(&snap.source),
        differs.join(" and "),
        if differs.len() == 1 { "is" } else { "are" }
    )))
}

pub fn verdict_code(findings: &[Finding]) -> u8 {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        exit::CHECK_FAILED
    } else {
        exit::OK
    }
}

/// Where the default report goes: `$RUNNER_TEMP`, or the system temp dir outside Actions.
pub fn report_dir() -> PathBuf {
    std::env::var_os("RUNNER_TEMP")
        .filter(|v| !v.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Joins the current directory's prefix and a user path, resolving `.` and `..`.
pub fn tree_path(prefix: &str, dir: &str) -> Result<String> {
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    let normalized = dir.replace('\\', "/");
    if normalized.starts_with('/') {
        return Err(Error::Usage(format!(
            "`{dir}`: give a path inside the repository, not an absolute one"
        )));
    }
    for c in normalized.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::Usage(format!("`{dir}` is outside the repository")));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_paths_are_relative_to_the_prefix() {
        assert_eq!(tree_path("", "plugins/a/").unwrap(), "plugins/a");
        assert_eq!(tree_path("plugins", "a").unwrap(), "plugins/a");
        assert_eq!(tree_path("plugins/a", "..").unwrap(), "plugins");
        assert_eq!(tree_path("plugins", "./b/../a").unwrap(), "plugins/a");
        assert!(tree_path("", "..").is_err());
        assert!(tree_path("", "/etc").is_err());
    }
}

//! Verifying at runtime: the deployed files of an application's plugins, read from disk
//! (no `.git` needed), checked against the lock just before they are loaded.
//!
//! The plugins are found and hashed by the code `verify` uses — [`crate::tree::discover`]
//! over [`crate::tree::fs::Dir`], [`crate::digest::plugin`] — and judged with the same
//! kinds and messages ([`crate::checks::contract`]). What differs is the source: a git
//! tree in CI, the disk here, which is what a platform's checkout really holds (line
//! ends, links; see `verify --checkout`).
//!
//! [`load_verified`] is the call a loader should make: it reads every file of one plugin
//! once, hashes exactly those bytes, and hands them back only when the digest matches
//! the lock, so what runs is what was hashed; a file swapped on disk after the check
//! cannot run, because nothing reads the disk again.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use crate::checks::contract;
use crate::checks::findings::{Finding, Kind, Severity};
use crate::config::{self, Config, SymlinkPolicy};
use crate::digest::{self, rejection::Rejection};
use crate::error::{Error, Result};
use crate::lock::{self, Lock};
use crate::parallel;
use crate::tree::discover::{self, Plugin};
use crate::tree::fs::Dir;

/// The configuration file at the root of the deployed tree (optional).
pub const CONFIG_FILE: &str = ".plugin-lock.yml";

/// What [`verify`] and [`load_verified`] may be told instead of what the tree says.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The lock file to compare with; default: the configuration's `lock` under the root.
    pub lock_path: Option<PathBuf>,
    /// The symlink policy; default: the configuration's `symlinks`.
    pub symlinks: Option<SymlinkPolicy>,
}

/// One plugin's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok {
        digest: String,
    },
    Mismatch {
        expected: String,
        actual: String,
    },
    /// A plugin directory with no lock entry (`actual`: its digest, when it has one).
    Unlocked {
        actual: Option<String>,
    },
    /// A lock entry with no plugin directory.
    Missing {
        expected: String,
    },
    /// No digest: a link out of the plugin, a loop, an entry or name no loader can hold.
    Rejected {
        kind: Kind,
        path: String,
        message: String,
    },
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok { .. } => "ok",
            Status::Mismatch { .. } => "mismatch",
            Status::Unlocked { .. } => "unlocked",
            Status::Missing { .. } => "missing",
            Status::Rejected { .. } => "rejected",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PluginReport {
    /// The lock key: the directory relative to the lock's directory.
    pub id: String,
    /// The directory relative to the root.
    pub dir: String,
    pub status: Status,
}

/// Every plugin of the tree and every lock entry, in id order, and the findings.
#[derive(Debug, Clone)]
pub struct Report {
    /// The lock compared with, as given or relative to the root.
    pub lock_path: String,
    pub plugins: Vec<PluginReport>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether every plugin matches its lock entry and every entry has its plugin.
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// One plugin's files as they were hashed, in record order (spec/DIGEST.md step 5):
/// paths relative to the plugin, `/`-separated; a followed link under its own path.
#[derive(Debug, Clone)]
pub struct VerifiedPlugin {
    pub id: String,
    pub dir: String,
    pub digest: String,
    pub files: Files,
}

impl VerifiedPlugin {
    /// The bytes of the file at `path` (relative to the plugin), as verified.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files
            .binary_search_by(|(p, _)| {
                digest::record_order(p.as_bytes().as_bstr(), path.as_bytes().as_bstr())
            })
            .ok()
            .map(|i| self.files[i].1.as_slice())
    }
}

/// Why [`load_verified`] handed nothing back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The plugin failed the check; the finding says how, as `verify` would.
    #[error("{}", .0.title())]
    Integrity(Box<Finding>),
    /// The id names neither a plugin directory nor a lock entry.
    #[error("`{0}` is neither a plugin directory nor an entry of the lock")]
    UnknownPlugin(String),
    /// The configuration or the lock could not be read, or the tree could not be walked.
    #[error(transparent)]
    Run(#[from] Error),
}

/// The tree's configuration, the lock and its path, and the plugins found.
struct Setup {
    config: Config,
    lock: Lock,
    lock_path: String,
    plugins: Vec<Plugin>,
}

fn setup(root: &Path, options: &Options) -> Result<Setup> {
    let mut config = match read_capped(&root.join(CONFIG_FILE), config::MAX_CONFIG_BYTES)? {
        None => Config::default(),
        Some(bytes) => config::parse(&bytes).map_err(|e| Error::Config {
            file: CONFIG_FILE.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?,
    };
    if let Some(policy) = options.symlinks {
        config.symlinks = policy;
    }
    let (lock_file, lock_path) = match &options.lock_path {
        Some(path) => (path.clone(), path.to_string_lossy().into_owned()),
        None => (root.join(&config.lock), config.lock.clone()),
    };
    let bytes = read_capped(&lock_file, lock::MAX_LOCK_BYTES)?.ok_or_else(|| Error::Io {
        path: lock_file.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the lock does not exist; nothing can be verified without it",
        ),
    })?;
    let lock = lock::parser::parse(&bytes).map_err(|e| Error::Config {
        file: lock_path.clone(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let mut dir = Dir::new(root);
    // The same plugins `verify` sees: excluded directories are not plugins here either.
    let plugins =
        discover::discover(&mut dir, &config.plugins, &config.exclude, &config.lock)?.plugins;
    Ok(Setup {
        config,
        lock,
        lock_path,
        plugins,
    })
}

/// A file's bytes, `None` when it does not exist; over `max` bytes is an error.
fn read_capped(path: &Path, max: usize) -> Result<Option<Vec<u8>>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        return Err(Error::Usage(format!(
            "`{}` is over the {max}-byte limit",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// A plugin's files as hashed: path relative to the plugin, bytes.
type Files = Vec<(String, Vec<u8>)>;

/// The plugin's digest, or why it has none (and, with `contents`, the bytes hashed).
fn compute(
    dir: &mut Dir,
    plugin: &Plugin,
    config: &Config,
    contents: bool,
    buf: &mut Vec<u8>,
) -> Result<std::result::Result<(String, Files), Rejection>> {
    if let Some(rejection) = contract::name_rejection(plugin) {
        return Ok(Err(rejection));
    }
    let options = digest::Options {
        policy: config.symlinks,
        records: false,
        read_only: false,
        contents,
        line_ends: false,
    };
    let outcome = digest::plugin(dir, plugin.raw_dir.as_ref(), &plugin.node, &options, buf)?;
    Ok(outcome.result.map(|digest| (digest, outcome.contents)))
}

/// The verdict on one plugin, with the findings `verify` gives for it.
fn judge(
    plugin: &Plugin,
    computed: std::result::Result<String, Rejection>,
    lock: &Lock,
    lock_path: &str,
) -> (Status, Vec<Finding>) {
    let entry = lock.get(&plugin.id);
    let line = entry.map_or(1, |e| e.line);
    match (computed, entry) {
        (Ok(actual), Some(e)) if e.digest == actual => (Status::Ok { digest: actual }, vec![]),
        (Ok(actual), Some(e)) => (
            Status::Mismatch {
                expected: e.digest.clone(),
                actual: actual.clone(),
            },
            vec![contract::mismatch(
                &plugin.id,
                &plugin.dir,
                lock_path,
                line,
                &e.digest,
                &actual,
            )],
        ),
        (Ok(actual), None) => (
            Status::Unlocked {
                actual: Some(actual),
            },
            vec![contract::unlocked(
                &plugin.id,
                &plugin.dir,
                lock_path,
                false,
            )],
        ),
        (Err(r), entry) => {
            let mut findings = vec![contract::rejected(&plugin.id, &r)];
            if entry.is_none() {
                findings.push(contract::unlocked(&plugin.id, &plugin.dir, lock_path, true));
            }
            (
                Status::Rejected {
                    kind: contract::rejection_kind(r.kind),
                    path: r.path,
                    message: r.message,
                },
                findings,
            )
        }
    }
}

/// The directory a lock entry names, relative to the root.
fn entry_dir(config: &Config, id: &str) -> String {
    match discover::lock_dir(&config.lock) {
        "" => id.to_owned(),
        dir => format!("{dir}/{id}"),
    }
}

/// Checks every plugin under `root` against the lock (the configuration's, or
/// `options.lock_path`). Plugins are hashed in parallel, one reused buffer per thread.
/// An `Err` means nothing could be checked (no lock, a configuration or lock that does
/// not parse, a glob that cannot be walked); every plugin problem is in the report.
pub fn verify(root: &Path, options: &Options) -> Result<Report> {
    let Setup {
        config,
        lock,
        lock_path,
        plugins,
    } = setup(root, options)?;
    let computed = par_map(
        &plugins,
        |dir, plugin, buf| Ok(compute(dir, plugin, &config, false, buf)?.map(|(digest, _)| digest)),
        root,
    )?;
    let mut reports = Vec::with_capacity(plugins.len());
    let mut findings = Vec::new();
    for (plugin, result) in plugins.iter().zip(computed) {
        let (status, mut found) = judge(plugin, result, &lock, &lock_path);
        findings.append(&mut found);
        reports.push(PluginReport {
            id: plugin.id.clone(),
            dir: plugin.dir.clone(),
            status,
        });
    }
    let found: std::collections::HashSet<&str> = plugins.iter().map(|p| p.id.as_str()).collect();
    for entry in lock.entries() {
        if found.contains(entry.id.as_str()) {
            continue;
        }
        let dir = entry_dir(&config, &entry.id);
        findings.push(contract::missing_directory(
            &entry.id, &dir, &lock_path, entry.line,
        ));
        reports.push(PluginReport {
            id: entry.id.clone(),
            dir,
            status: Status::Missing {
                expected: entry.digest.clone(),
            },
        });
    }
    reports.sort_by(|a, b| a.id.cmp(&b.id));
    findings.sort_by(|a, b| (&a.plugin, a.kind.as_str()).cmp(&(&b.plugin, b.kind.as_str())));
    Ok(Report {
        lock_path,
        plugins: reports,
        findings,
    })
}

/// Reads plugin `id` once, hashes exactly the bytes read, and returns them when the
/// digest matches its lock entry. Nothing of a plugin that fails is returned.
pub fn load_verified(
    root: &Path,
    id: &str,
    options: &Options,
) -> std::result::Result<VerifiedPlugin, LoadError> {
    let Setup {
        config,
        lock,
        lock_path,
        plugins,
    } = setup(root, options)?;
    let Some(plugin) = plugins.iter().find(|p| p.id == id) else {
        return Err(match lock.get(id) {
            Some(entry) => LoadError::Integrity(Box::new(contract::missing_directory(
                id,
                &entry_dir(&config, id),
                &lock_path,
                entry.line,
            ))),
            None => LoadError::UnknownPlugin(id.to_owned()),
        });
    };
    let mut dir = Dir::new(root);
    let mut buf = Vec::new();
    let (digest, files) = match compute(&mut dir, plugin, &config, true, &mut buf)? {
        Ok(found) => found,
        Err(r) => {
            let (_, mut findings) = judge(plugin, Err(r), &lock, &lock_path);
            return Err(LoadError::Integrity(Box::new(findings.remove(0))));
        }
    };
    let (status, mut findings) = judge(plugin, Ok(digest.clone()), &lock, &lock_path);
    if !matches!(status, Status::Ok { .. }) {
        return Err(LoadError::Integrity(Box::new(findings.remove(0))));
    }
    Ok(VerifiedPlugin {
        id: plugin.id.clone(),
        dir: plugin.dir.clone(),
        digest,
        files,
    })
}

/// Runs `job` over `items` on every core, each thread with its own tree handle and
/// reused blob buffer; results keep the items' order, the first error wins.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    job: impl Fn(&mut Dir, &T, &mut Vec<u8>) -> Result<R> + Sync,
    root: &Path,
) -> Result<Vec<R>> {
    parallel::map(items.len(), parallel::threads(items.len()), |queue| {
        let mut dir = Dir::new(root);
        let mut buf = Vec::new();
        let mut done = Vec::new();
        while let Some(i) = queue.next() {
            done.push((i, job(&mut dir, &items[i], &mut buf)?));
        }
        Ok(done)
    })
}

#[cfg(test)]
mod tests;

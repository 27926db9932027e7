//! The check: what one tree says about its plugins (the inventory) and what is wrong
//! with it (the findings). `verify`, `list` and `update` are views of this.

use gix::bstr::{BStr, ByteSlice};

use crate::cache::Cache;
use crate::checks::computed::{Computed, ManifestState};
use crate::checks::findings::{Finding, Kind, Levels};
use crate::config::{self, Config};
use crate::digest;
use crate::digest::rejection::{Rejection, RejectionKind};
use crate::error::{Error, Result};
use crate::lock::{self, Lock};
use crate::manifest::{self, ManifestProblem};
use crate::tree::Tree;
use crate::tree::discover::{self, Plugin};
use crate::tree::git::Snapshot;
use crate::tree::git::reader::Reader;
use crate::tree::{FileRead, Node, join};

pub const CONFIG_FILE: &str = ".plugin-lock.yml";

/// Flags that override `.plugin-lock.yml`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub plugins: Vec<String>,
    pub lock: Option<String>,
    /// `Some(None)` is `--manifest none`.
    pub manifest: Option<Option<String>>,
    pub symlinks: Option<config::SymlinkPolicy>,
    pub required_owners: Vec<String>,
}

/// The configuration in force: the file from `T`, then the flags.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// Whether `.plugin-lock.yml` exists in `T`.
    pub config_exists: bool,
    pub levels: Levels,
}

pub fn settings(reader: &mut Reader<'_>, flags: &Overrides) -> Result<Settings> {
    let config_error = |line: u32, column: u32, message: String| Error::Config {
        file: CONFIG_FILE.to_owned(),
        line,
        column,
        message,
    };
    let (mut config, config_exists) =
        match reader.read_file(CONFIG_FILE, config::MAX_CONFIG_BYTES)? {
            None => (Config::default(), false),
            Some(FileRead::Bytes(bytes)) => (
                config::parse(&bytes).map_err(|e| config_error(e.line, e.column, e.message))?,
                true,
            ),
            Some(FileRead::TooLarge(size)) => {
                return Err(config_error(
                    1,
                    1,
                    format!(
                        "{size} bytes is over the {} byte limit",
                        config::MAX_CONFIG_BYTES
                    ),
                ));
            }
            Some(FileRead::NotAFile(kind)) => {
                return Err(config_error(
                    1,
                    1,
                    format!("is a {}, not a regular file", kind.describe()),
                ));
            }
        };
    let levels = Levels::from_config(&config.severity, CONFIG_FILE)?;
    if !flags.plugins.is_empty() {
        config.plugins = flags.plugins.clone();
    }
    if let Some(lock) = &flags.lock {
        config.lock = lock.trim_start_matches("./").to_owned();
    }
    if let Some(manifest) = &flags.manifest {
        config.manifest = manifest.clone();
    }
    if let Some(policy) = flags.symlinks {
        config.symlinks = policy;
    }
    if !flags.required_owners.is_empty() {
        config.required_owners = flags.required_owners.clone();
    }
    Ok(Settings {
        config,
        config_exists,
        levels,
    })
}

#[derive(Debug, Clone)]
pub enum LockState {
    Missing,
    Malformed {
        line: u32,
        column: u32,
        message: String,
    },
    Parsed {
        lock: Lock,
        canonical: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Mismatch,
    Unlocked,
    MissingDirectory,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Mismatch => "mismatch",
            Status::Unlocked => "unlocked",
            Status::MissingDirectory => "missing_directory",
            Status::Rejected => "rejected",
        }
    }
}

/// Everything known about one plugin (or one lock entry without a directory).
#[derive(Debug, Clone)]
pub struct PluginState {
    pub id: String,
    pub dir: String,
    pub digest: Option<String>,
    pub rejection: Option<Rejection>,
    pub locked: Option<String>,
    pub lock_line: Option<u32>,
    pub status: Status,
    pub manifest: ManifestState,
    /// The manifest's path when it exists, else the plugin's first file.
    pub anchor: Option<String>,
    pub manifest_path: Option<String>,
    pub owners: Vec<String>,
    /// Committed bytecode inside the plugin (`bytecode_committed`).
    pub bytecode: digest::Bytecode,
}

impl PluginState {
    pub fn version(&self) -> Option<&str> {
        match &self.manifest {
            ManifestState::Valid { version } => Some(version),
            _ => None,
        }
    }
}

pub struct Inventory {
    pub source: String,
    pub lock_path: String,
    pub lock: LockState,
    pub plugins: Vec<PluginState>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct InventoryOptions {
    /// Read but do not hash (benchmark floor).
    pub read_only: bool,
}

pub fn read_lock(reader: &mut Reader<'_>, path: &str) -> Result<LockState> {
    Ok(match reader.read_file(path, lock::MAX_LOCK_BYTES)? {
        None => match non_directory_ancestor(reader, path)? {
            // A committed `plugins -> elsewhere` takes the lock and every plugin out of
            // the tree's view while a checkout still loads them through the link: that
            // must not read as "no lock, no plugins, ok".
            Some((dir, kind)) => LockState::Malformed {
                line: 1,
                column: 1,
                message: format!(
                    "the lock's directory `{dir}` is a {}, not a directory",
                    kind.describe()
                ),
            },
            None => LockState::Missing,
        },
        Some(FileRead::TooLarge(size)) => LockState::Malformed {
            line: 1,
            column: 1,
            message: format!(
                "the lock is {size} bytes, over the {} MiB limit",
                lock::MAX_LOCK_BYTES / (1024 * 1024)
            ),
        },
        Some(FileRead::NotAFile(kind)) => LockState::Malformed {
            line: 1,
            column: 1,
            message: format!("the lock is a {}, not a regular file", kind.describe()),
        },
        Some(FileRead::Bytes(bytes)) => match lock::parse(&bytes) {
            Ok(lock) => LockState::Parsed {
                canonical: lock::is_canonical(&bytes, &lock),
                lock,
            },
            Err(e) => LockState::Malformed {
                line: e.line,
                column: e.column,
                message: e.message,
            },
        },
    })
}

/// The first proper ancestor of `path` that the tree holds as something other than a
/// directory (a symlink, a file, a submodule).
fn non_directory_ancestor(
    reader: &mut Reader<'_>,
    path: &str,
) -> Result<Option<(String, crate::tree::Kind)>> {
    let mut end = 0;
    while let Some(i) = path[end..].find('/') {
        end += i;
        match reader.lookup(BStr::new(&path[..end]))? {
            None => return Ok(None),
            Some(node) if node.kind != crate::tree::Kind::Dir => {
                return Ok(Some((path[..end].to_owned(), node.kind)));
            }
            Some(_) => end += 1,
        }
    }
    Ok(None)
}

fn compute(
    reader: &mut Reader<'_>,
    plugin: &Plugin,
    config: &Config,
    options: InventoryOptions,
    buf: &mut Vec<u8>,
) -> Result<Computed> {
    let digest_options = digest::Options {
        policy: config.symlinks,
        records: false,
        read_only: options.read_only,
    };
    let refuse = |message: String| Computed {
        digest: Err(Rejection {
            kind: RejectionKind::UnsupportedPath,
            path: plugin.dir.clone(),
            message,
        }),
        manifest: ManifestState::NotRequired,
        manifest_path: None,
        first_file: None,
        cacheable: false,
        bytecode: digest::Bytecode::default(),
    };
    if !plugin.same_id.is_empty() {
        // Which of them a lock entry means cannot be told: neither is checked against it.
        let this = match plugin.raw_dir.to_str() {
            Ok(_) => format!("`{}`", plugin.dir),
            Err(_) => format!("`{}` (not UTF-8, shown escaped)", plugin.dir),
        };
        return Ok(refuse(format!(
            "plugin directories {this} and {} both have the id `{}`; rename one of them",
            plugin.same_id.join(", "),
            plugin.id
        )));
    }
    if plugin.bad_name {
        return Ok(refuse(format!(
            "plugin directory `{}` has a path component that is not UTF-8 or contains a control character; such a name cannot be a lock key",
            plugin.dir
        )));
    }
    let outcome = digest::plugin(
        reader,
        plugin.raw_dir.as_ref(),
        &plugin.node,
        &digest_options,
        buf,
    )?;
    finish(reader, plugin, config, outcome)
}

fn finish(
    reader: &mut Reader<'_>,
    plugin: &Plugin,
    config: &Config,
    outcome: digest::Outcome,
) -> Result<Computed> {
    let (manifest, manifest_path) = match &config.manifest {
        None => (ManifestState::NotRequired, None),
        // A plugin that is a link or a submodule is rejected; it has no manifest to read.
        Some(_) if plugin.node.kind != crate::tree::Kind::Dir => (ManifestState::NotRequired, None),
        Some(name) => {
            let path = join(&plugin.dir, name);
            let dir_name = plugin.dir.rsplit('/').next().unwrap_or(&plugin.dir);
            let state = match reader.read_file_in(
                &plugin.dir,
                &plugin.node,
                name,
                manifest::MAX_MANIFEST_BYTES,
            )? {
                None => ManifestState::Missing,
                Some(FileRead::Bytes(bytes)) => match manifest::check(&bytes, dir_name) {
                    Ok(m) => ManifestState::Valid { version: m.version },
                    Err(problems) => ManifestState::Invalid(problems),
                },
                Some(FileRead::TooLarge(size)) => ManifestState::Invalid(vec![ManifestProblem {
                    line: 1,
                    column: 1,
                    message: format!(
                        "the manifest is {size} bytes, over the {} byte limit",
                        manifest::MAX_MANIFEST_BYTES
                    ),
                }]),
                Some(FileRead::NotAFile(kind)) => ManifestState::Invalid(vec![ManifestProblem {
                    line: 1,
                    column: 1,
                    message: format!("`{name}` is a {}, not a regular file", kind.describe()),
                }]),
            };
            let exists = !matches!(state, ManifestState::Missing);
            (state, exists.then_some(path))
        }
    };
    Ok(Computed {
        digest: outcome.result,
        manifest,
        manifest_path,
        first_file: outcome.first.map(|rel| join(&plugin.dir, &rel)),
        cacheable: !outcome.looked_outside,
        bytecode: outcome.bytecode,
    })
}

/// Reads the lock, finds the plugins and computes each one's digest and manifest check,
/// in parallel, through `cache` when there is one (the caller opens and saves it, and
/// passes none for the benchmark floor, which must read everything).
pub fn inventory(
    snap: &Snapshot,
    settings: &Settings,
    options: InventoryOptions,
    cache: Option<&Cache>,
) -> Result<Inventory> {
    let config = &settings.config;
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let lock_state = read_lock(&mut reader, &config.lock)?;
    let found = discover::plugins(&mut reader, &config.plugins, &config.lock)?;
    let computed = snap.par_map(&found, |reader, plugin, buf| {
        // A plugin refused for its name never reaches the cache (its path is shown, not
        // exact: two directories could share the key).
        let key = cache
            .filter(|_| !plugin.bad_name && plugin.same_id.is_empty())
            .and_then(|c| c.key(plugin));
        if let (Some(c), Some(k)) = (cache, &key)
            && let Some(hit) = c.get(k)
        {
            return Ok(hit);
        }
        let computed = compute(reader, plugin, config, options, buf)?;
        if let (Some(c), Some(k)) = (cache, key)
            && computed.cacheable
        {
            c.put(k, &computed);
        }
        Ok(computed)
    })?;

    let lock = match &lock_state {
        LockState::Parsed { lock, .. } => Some(lock),
        _ => None,
    };
    let mut plugins: Vec<PluginState> = Vec::with_capacity(found.len());
    for (plugin, c) in found.iter().zip(computed) {
        let entry = lock.and_then(|l| l.get(&plugin.id));
        let (digest, rejection) = match c.digest {
            Ok(d) => (Some(d), None),
            Err(r) => (None, Some(r)),
        };
        let status = match (&digest, entry) {
            (None, _) => Status::Rejected,
            (Some(_), None) => Status::Unlocked,
            (Some(d), Some(e)) if *d == e.digest => Status::Ok,
            (Some(_), Some(_)) => Status::Mismatch,
        };
        let anchor = c.manifest_path.clone().or(c.first_file);
        plugins.push(PluginState {
            id: plugin.id.clone(),
            dir: plugin.dir.clone(),
            digest,
            rejection,
            locked: entry.map(|e| e.digest.clone()),
            lock_line: entry.map(|e| e.line),
            status,
            manifest: c.manifest,
            anchor,
            manifest_path: c.manifest_path,
            owners: Vec::new(),
            bytecode: c.bytecode,
        });
    }
    if let Some(lock) = lock {
        let lock_dir = discover::lock_dir(&config.lock);
        for entry in lock.entries() {
            if found
                .binary_search_by(|p| p.id.as_str().cmp(&entry.id))
                .is_err()
            {
                plugins.push(PluginState {
                    id: entry.id.clone(),
                    dir: join(lock_dir, &entry.id),
                    digest: None,
                    rejection: None,
                    locked: Some(entry.digest.clone()),
                    lock_line: Some(entry.line),
                    status: Status::MissingDirectory,
                    manifest: ManifestState::NotRequired,
                    anchor: None,
                    manifest_path: None,
                    owners: Vec::new(),
                    bytecode: digest::Bytecode::default(),
                });
            }
        }
    }
    plugins.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Inventory {
        source: snap.source.clone(),
        lock_path: config.lock.clone(),
        lock: lock_state,
        plugins,
    })
}

fn rejection_kind(kind: RejectionKind) -> Kind {
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
            "commit the files themselves: a plugin is a directory of regular files and links to files"
        }
        RejectionKind::UnsupportedPath => {
            "rename the entry: names must be UTF-8 without control characters"
        }
    }
}

/// The findings of the integrity contract and the manifests, before severity overrides.
/// `fallback` is the location for a finding with no file of its own (see DESIGN.md).
pub fn findings(inv: &Inventory, settings: &Settings, fallback: &str) -> Vec<Finding> {
    let lock_path = inv.lock_path.as_str();
    let lock_exists = !matches!(inv.lock, LockState::Missing);
    let update = format!("run `plugin-lock update`, review the change and commit {lock_path}");
    let mut out = Vec::new();
    match &inv.lock {
        LockState::Missing => {
            if let Some(first) = inv.plugins.first() {
                let at = first.anchor.clone().unwrap_or_else(|| fallback.to_owned());
                out.push(
                    Finding::new(
                        Kind::LockMissing,
                        at,
                        1,
                        format!(
                            "the lock `{lock_path}` does not exist, but {} plugin(s) do",
                            inv.plugins.len()
                        ),
                    )
                    .help(format!("create it: {update}")),
                );
            }
        }
        LockState::Malformed {
            line,
            column,
            message,
        } => out.push(
            Finding::new(
                Kind::LockMalformed,
                lock_path,
                *line,
                format!("the lock `{lock_path}` is malformed: {message}"),
            )
            .column(*column)
            .help(format!(
                "fix the file, or rewrite it from the plugins: {update}"
            )),
        ),
        LockState::Parsed { canonical, .. } => {
            if !canonical {
                out.push(
                    Finding::new(Kind::LockNotCanonical, lock_path, 1, format!("the lock `{lock_path}` is not in canonical form (sorted keys, 2-space indent, final newline)"))
                        .help(format!("rewrite it: {update}")),
                );
            }
        }
    }
    let lock_parsed = matches!(inv.lock, LockState::Parsed { .. });
    for p in &inv.plugins {
        let anchor = p.anchor.clone().unwrap_or_else(|| {
            if lock_exists {
                lock_path.to_owned()
            } else {
                fallback.to_owned()
            }
        });
        if let Some(r) = &p.rejection {
            // The finding's own `path` is the offending entry (DESIGN.md's `path` field);
            // no extra `path` field, which would repeat the key in the JSON object.
            out.push(
                Finding::new(
                    rejection_kind(r.kind),
                    r.path.clone(),
                    1,
                    format!("plugin `{}` is rejected: {}", p.id, r.message),
                )
                .plugin(&p.id)
                .help(rejection_help(r.kind)),
            );
        }
        if p.bytecode.count > 0 {
            out.push(bytecode_finding(p));
        }
        match &p.manifest {
            ManifestState::Missing => {
                let name = settings.config.manifest.as_deref().unwrap_or("plugin.yaml");
                out.push(
                    Finding::new(Kind::MissingManifest, anchor.clone(), 1, format!("plugin `{}` has no `{name}`", p.id))
                        .plugin(&p.id)
                        .help(format!("add `{}` with `name: {}` and a semver `version`, or set `manifest: none` in {CONFIG_FILE}", join(&p.dir, name), p.dir.rsplit('/').next().unwrap_or(&p.id))),
                );
            }
            ManifestState::Invalid(problems) => {
                let path = p.manifest_path.clone().unwrap_or_else(|| anchor.clone());
                for problem in problems {
                    out.push(
                        Finding::new(Kind::SchemaViolation, path.clone(), problem.line, format!("manifest of plugin `{}`: {}", p.id, problem.message))
                            .plugin(&p.id)
                            .column(problem.column)
                            .help("fix the manifest: `name` must equal the directory's name and `version` must be semver (MAJOR.MINOR.PATCH)"),
                    );
                }
            }
            ManifestState::NotRequired | ManifestState::Valid { .. } => {}
        }
        let lock_line = p.lock_line.unwrap_or(1);
        match p.status {
            Status::Unlocked if lock_parsed => out.push(
                Finding::new(
                    Kind::UnlockedPlugin,
                    anchor.clone(),
                    1,
                    format!("plugin `{}` has no entry in {lock_path}", p.id),
                )
                .plugin(&p.id)
                .help(format!("if the plugin is meant to be there, {update}")),
            ),
            Status::Rejected if lock_parsed && p.locked.is_none() => out.push(
                Finding::new(
                    Kind::UnlockedPlugin,
                    anchor.clone(),
                    1,
                    format!("plugin `{}` has no entry in {lock_path}", p.id),
                )
                .plugin(&p.id)
                .help(format!("fix the rejection above, then {update}")),
            ),
            Status::Mismatch => {
                let expected = p.locked.clone().unwrap_or_default();
                let actual = p.digest.clone().unwrap_or_default();
                out.push(
                    Finding::new(
                        Kind::IntegrityMismatch,
                        lock_path,
                        lock_line,
                        format!("plugin `{}` does not match its lock entry", p.id),
                    )
                    .plugin(&p.id)
                    .note("expected", expected.clone())
                    .note("actual", actual.clone())
                    .field("expected", expected)
                    .field("actual", actual)
                    .help(format!(
                        "if the change to {} is intended, {update}; otherwise restore its files",
                        p.dir
                    )),
                );
            }
            Status::MissingDirectory => out.push(
                Finding::new(
                    Kind::MissingPluginDirectory,
                    lock_path,
                    lock_line,
                    format!("lock entry `{}` has no plugin directory `{}`", p.id, p.dir),
                )
                .plugin(&p.id)
                .help(format!("restore `{}`, or drop the entry: {update}", p.dir)),
            ),
            _ => {}
        }
    }
    out
}

/// `bytecode_committed`: Python runs `__pycache__/*.pyc` (an unchecked-hash `.pyc`
/// whatever the source says, PEP 552) and `.pyc`/`.pyo` beside the sources, while
/// spec/DIGEST.md leaves most of them out of the digest.
fn bytecode_finding(p: &PluginState) -> Finding {
    let files: Vec<String> = p
        .bytecode
        .listed
        .iter()
        .map(|rel| join(&p.dir, rel))
        .collect();
    let more = p.bytecode.count.saturating_sub(files.len());
    let mut listed = files
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        listed.push_str(&format!(" and {more} more"));
    }
    // What to remove: each `__pycache__` directory whole, other bytecode file by file.
    let mut targets: Vec<String> = Vec::new();
    for rel in &p.bytecode.listed {
        let target = match rel.split('/').position(|c| c == "__pycache__") {
            Some(i) => rel.split('/').take(i + 1).collect::<Vec<_>>().join("/"),
            None => rel.clone(),
        };
        let target = join(&p.dir, &target);
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let mut command = format!("git rm -r --cached {}", targets.join(" "));
    if more > 0 {
        command.push_str(" …");
    }
    let at = files.first().cloned().unwrap_or_else(|| p.dir.clone());
    Finding::new(
        Kind::BytecodeCommitted,
        at,
        1,
        format!(
            "plugin `{}` has committed Python bytecode ({} file(s)): {listed}",
            p.id, p.bytecode.count
        ),
    )
    .plugin(&p.id)
    .field("files", files)
    .field("count", p.bytecode.count)
    .help(format!(
        "Python runs bytecode instead of the locked sources, and the digest leaves `__pycache__/` and `*.pyc` out (spec/DIGEST.md): remove it with `{command}`, commit, and add `__pycache__/` and `*.py[co]` to `.gitignore`"
    ))
}

/// The first file of the repository, for findings that have no better place.
pub fn first_file(reader: &mut Reader<'_>) -> Result<String> {
    let mut dir = String::new();
    let mut node: Node = match reader.lookup(BStr::new(""))? {
        Some(n) => n,
        None => return Ok(CONFIG_FILE.to_owned()),
    };
    for _ in 0..64 {
        let children = reader.children(BStr::new(&dir), &node)?;
        let file = children
            .iter()
            .find(|(_, n)| n.kind != crate::tree::Kind::Dir);
        if let Some((name, _)) = file {
            return Ok(join(&dir, &crate::tree::shown(name)));
        }
        match children.into_iter().next() {
            Some((name, child)) => {
                dir = join(&dir, &crate::tree::shown(&name));
                node = child;
            }
            None => break,
        }
    }
    Ok(CONFIG_FILE.to_owned())
}

/// Where findings without a file of their own go: the lock, else the configuration,
/// else the repository's first file.
pub fn fallback_location(
    reader: &mut Reader<'_>,
    inv: &Inventory,
    settings: &Settings,
) -> Result<String> {
    if !matches!(inv.lock, LockState::Missing) {
        return Ok(inv.lock_path.clone());
    }
    if settings.config_exists {
        return Ok(CONFIG_FILE.to_owned());
    }
    first_file(reader)
}

//! The check: what one tree says about its plugins (the inventory) and what is wrong
//! with it (the findings). `verify`, `list` and `update` are views of this.
pub mod drift;
pub mod rules;

use gix::bstr::BStr;

use crate::cache::Cache;
use crate::checks::computed::{Computed, ManifestState};
use crate::checks::contract;
use crate::checks::findings::Levels;
use crate::config::{self, Config};
use crate::digest;
use crate::digest::rejection::Rejection;
use crate::error::{Error, Result};
use crate::lock::{self, Lock};
use crate::manifest::{self, ManifestProblem};
use crate::tree::Tree;
use crate::tree::discover::{self, Plugin};
use crate::tree::git::Snapshot;
use crate::tree::git::attributes::{self, Ancestors};
use crate::tree::git::reader::Reader;
use crate::tree::{FileRead, Node, join};

pub const CONFIG_FILE: &str = ".plugin-lock.yml";

/// Flags that override `.plugin-lock.yml`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub plugins: Vec<String>,
    pub lock: Option<String>,
    /// `Some(None)` is `--manifest none`.
    pub manifest: Option<Option<manifest::Spec>>,
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
    pub ignores: crate::checks::suppress::Ignores,
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
    let ignores = crate::checks::suppress::Ignores::from_config(&config.ignore, CONFIG_FILE)?;
    if !flags.plugins.is_empty() {
        config.plugins = flags.plugins.clone();
        config.plugin_lines.clear();
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
        ignores,
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
        /// Why the bytes are not what `update` writes; `None` when they are.
        not_canonical: Option<String>,
    },
    /// Merge-conflict markers from `line` on; each side as its text restores it.
    Conflicted(lock::conflict::Conflict),
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
    /// The plugin's other rejections, after the first.
    pub more_rejections: Vec<Rejection>,
    /// Platform drift in the plugin's names (see `checks::platform`).
    pub drift: Vec<crate::checks::platform::Drift>,
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
            ManifestState::Valid { version } => version.as_deref(),
            _ => None,
        }
    }
}

pub struct Inventory {
    pub source: String,
    pub lock_path: String,
    pub lock: LockState,
    pub plugins: Vec<PluginState>,
    /// Directories the `plugins` globs matched that `exclude` took out: never hashed.
    pub excluded: Vec<discover::Excluded>,
    /// The `plugins` globs (indices) that matched no directory.
    pub unmatched_globs: Vec<usize>,
    pub nested: Vec<discover::Nested>,
    /// Findings an `ignore:` entry suppressed: reported as such, never in the verdict.
    pub suppressed: Vec<crate::checks::suppress::Suppressed>,
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
        Some(FileRead::Bytes(bytes)) => lock_state(&bytes),
    })
}

/// What the bytes of a lock file hold: a conflict, a lock, or a malformed lock.
pub fn lock_state(bytes: &[u8]) -> LockState {
    match lock::conflict::find(bytes) {
        Some(conflict) => LockState::Conflicted(conflict),
        None => parsed(bytes),
    }
}

fn parsed(bytes: &[u8]) -> LockState {
    match lock::parser::parse(bytes) {
        Ok(lock) => LockState::Parsed {
            not_canonical: lock::difference(bytes, &lock),
            lock,
        },
        Err(e) => LockState::Malformed {
            line: e.line,
            column: e.column,
            message: e.message,
        },
    }
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
    attributes: Option<&Ancestors>,
    buf: &mut Vec<u8>,
) -> Result<Computed> {
    let digest_options = digest::Options {
        policy: config.symlinks,
        records: false,
        read_only: options.read_only,
        contents: false,
        line_ends: attributes.is_some(),
    };
    if let Some(rejection) = contract::name_rejection(plugin) {
        return Ok(Computed {
            digest: Err(rejection),
            manifest: ManifestState::NotRequired,
            manifest_path: None,
            first_file: None,
            cacheable: false,
            bytecode: digest::Bytecode::default(),
            more_rejections: Vec::new(),
            drift: Vec::new(),
        });
    }
    let outcome = digest::plugin(
        reader,
        plugin.raw_dir.as_ref(),
        &plugin.node,
        &digest_options,
        buf,
    )?;
    finish(reader, plugin, config, attributes, outcome)
}

fn finish(
    reader: &mut Reader<'_>,
    plugin: &Plugin,
    config: &Config,
    attributes: Option<&Ancestors>,
    outcome: digest::Outcome,
) -> Result<Computed> {
    let (manifest, manifest_path) = match &config.manifest {
        None => (ManifestState::NotRequired, None),
        // A plugin that is a link or a submodule is rejected; it has no manifest to read.
        Some(_) if plugin.node.kind != crate::tree::Kind::Dir => (ManifestState::NotRequired, None),
        Some(spec) => match read_manifest(reader, plugin, spec)? {
            None => (ManifestState::Missing, None),
            Some((state, path)) => (state, Some(path)),
        },
    };
    let mut drift = crate::checks::platform::drift(&plugin.dir, &outcome.names);
    if let Some(ancestors) = attributes
        && !outcome.line_ends.is_empty()
    {
        drift.extend(eol_drift(reader, plugin, ancestors, &outcome)?);
    }
    Ok(Computed {
        digest: outcome.result,
        manifest,
        manifest_path,
        first_file: outcome.first.map(|rel| join(&plugin.dir, &rel)),
        cacheable: !outcome.looked_outside,
        bytecode: outcome.bytecode,
        more_rejections: outcome.more_rejections,
        drift,
    })
}

/// `eol_conversion` for each of the plugin's files with line ends, by the attributes of
/// the tree the digest read.
fn eol_drift(
    reader: &mut Reader<'_>,
    plugin: &Plugin,
    ancestors: &Ancestors,
    outcome: &digest::Outcome,
) -> Result<Vec<crate::checks::platform::Drift>> {
    let mut inner: Vec<&str> = outcome
        .names
        .iter()
        .filter_map(|(rel, kind)| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            (*kind == crate::tree::Kind::File && name == attributes::FILE_NAME)
                .then_some(rel.as_str())
        })
        .collect();
    // Outermost first: a deeper file's lines win over its parents'.
    inner.sort_by_key(|rel| rel.matches('/').count());
    let mut matcher = ancestors.matcher(reader, &plugin.dir, inner)?;
    Ok(outcome
        .line_ends
        .iter()
        .filter_map(|(rel, ends)| {
            let (text, eol) = matcher.eol_attributes(&join(&plugin.dir, rel));
            crate::checks::platform::eol_drift(rel, *ends, text, eol)
        })
        .collect())
}

/// The manifest's state and the path to point its findings at, or `None` when it does
/// not exist.
fn read_manifest(
    reader: &mut Reader<'_>,
    plugin: &Plugin,
    spec: &manifest::Spec,
) -> Result<Option<(ManifestState, String)>> {
    let invalid = |message: String| {
        ManifestState::Invalid(vec![ManifestProblem {
            line: 1,
            column: 1,
            message,
        }])
    };
    // A manifest in a subdirectory (`.claude-plugin/plugin.json`) is reached one listing
    // at a time, so that a link or a submodule on the way is named, never followed: a
    // checkout would read the manifest through the link, from outside what is hashed.
    let (parents, name) = spec.file.rsplit_once('/').unwrap_or(("", &spec.file));
    let (mut dir, mut node) = (plugin.dir.clone(), plugin.node.clone());
    let mut within = String::new();
    for component in parents.split('/').filter(|c| !c.is_empty()) {
        within = join(&within, component);
        let found = reader
            .children(BStr::new(&dir), &node)?
            .into_iter()
            .find(|(child, _)| child.as_slice() == component.as_bytes());
        let path = join(&dir, component);
        match found {
            None => return Ok(None),
            Some((_, child)) if child.kind != crate::tree::Kind::Dir => {
                let message = format!(
                    "`{within}` is a {}, not a directory holding `{name}`",
                    child.kind.describe()
                );
                return Ok(Some((invalid(message), path)));
            }
            Some((_, child)) => (dir, node) = (path, child),
        }
    }
    let path = join(&dir, name);
    let dir_name = plugin.dir.rsplit('/').next().unwrap_or(&plugin.dir);
    let state = match reader.read_file_in(&dir, &node, name, manifest::MAX_MANIFEST_BYTES)? {
        None => return Ok(None),
        Some(FileRead::Bytes(bytes)) => match manifest::check(&bytes, dir_name, spec) {
            Ok(m) => ManifestState::Valid { version: m.version },
            Err(problems) => ManifestState::Invalid(problems),
        },
        Some(FileRead::TooLarge(size)) => invalid(format!(
            "the manifest is {size} bytes, over the {} byte limit",
            manifest::MAX_MANIFEST_BYTES
        )),
        Some(FileRead::NotAFile(kind)) => invalid(format!(
            "`{}` is a {}, not a regular file",
            spec.file,
            kind.describe()
        )),
    };
    Ok(Some((state, path)))
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
    let discovery =
        discover::discover(&mut reader, &config.plugins, &config.exclude, &config.lock)?;
    let found = discovery.plugins;
    snap.prefetch(found.iter().map(|p| (p.raw_dir.as_ref(), &p.node)))?;
    // A checkout's bytes are what they are: there is no conversion left to predict.
    let attributes = if snap.is_checkout() {
        None
    } else {
        Some(Ancestors::read(
            &mut reader,
            found.iter().map(|p| p.dir.as_str()),
        )?)
    };
    let attributes = attributes.as_ref();
    let computed = snap.par_map(&found, |reader, plugin, buf| {
        // A plugin refused for its name never reaches the cache (its path is shown, not
        // exact: two directories could share the key).
        let outside = attributes
            .map(|a| a.fingerprint(&plugin.dir))
            .unwrap_or_default();
        let key = cache
            .filter(|_| !plugin.bad_name && plugin.same_id.is_empty())
            .and_then(|c| c.key(plugin, &outside));
        if let (Some(c), Some(k)) = (cache, &key)
            && let Some(hit) = c.get(k)
        {
            return Ok(hit);
        }
        let computed = compute(reader, plugin, config, options, attributes, buf)?;
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
            more_rejections: c.more_rejections,
            drift: c.drift,
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
                    more_rejections: Vec::new(),
                    drift: Vec::new(),
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
        excluded: discovery.excluded,
        unmatched_globs: discovery.unmatched,
        nested: discovery.nested,
        suppressed: Vec::new(),
    })
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

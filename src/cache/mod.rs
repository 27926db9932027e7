//! Incremental verification: per-plugin results (digest or rejection, manifest check)
//! cached by the plugin's git tree id, and per-directory ownership results
//! (src/checks/ownership/survey.rs, keyed by tree id and CODEOWNERS content), so a run on a large
//! repository costs the plugins that changed, not all of them (DESIGN.md "Performance
//! model").
//!
//! The file is `<common git dir>/plugin-lock/cache-v1`: a header line
//! `plugin-lock cache v1 <mac>`, then one `<key>\t<json>` line per entry. The MAC is
//! HMAC-SHA256 of the repository's common dir and the entries under a random per-user
//! key kept outside every repository (`$XDG_CACHE_HOME/plugin-lock/key`, else
//! `~/.cache/plugin-lock/key`; `%LOCALAPPDATA%\plugin-lock\key` on Windows): whoever can
//! write `.git` but not read that key cannot forge an entry, and a file copied from
//! another repository or user does not verify. A file whose header or MAC does not match
//! is ignored whole and rewritten; an entry whose key or value does not parse is dropped
//! (recomputed). A new file is written atomically (temporary file + rename), so
//! concurrent runs each see a whole file, and the last writer wins. Nothing here is ever
//! trusted over a recomputation except an entry that parsed under a matching key in a
//! file that verified.
//!
//! Files are opened without following a final symlink, never block (`O_NONBLOCK`), must
//! be regular files, and are read up to a bound whatever their metadata says: a FIFO,
//! a device or a link planted in `.git` is ignored, not waited on or read without end.
//!
//! Only directories of a git tree (a revision: directories have tree ids; never the
//! index or the work tree) are cached, and of plugins only those whose digest read
//! nothing outside their own directory.
//! [`configure`]: `--no-cache` bypasses reading and writing; under CI (`CI` or
//! `GITHUB_ACTIONS` set) the cache is off unless `--cache` (or `PLUGIN_LOCK_CACHE`) asks
//! for it, since a runner's `.git` and home may outlive a job of other trust. Without a
//! usable key there is no cache either ([`note`] says why).

pub mod entry;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::entry::{decode, encode, is_hex64};
use crate::checks::computed::Computed;
use crate::config::{Config, SymlinkPolicy};
use crate::digest;
use crate::tree::Kind;
use crate::tree::discover::Plugin;
use crate::tree::git::Snapshot;

const HEADER: &str = "plugin-lock cache v1";
const DIR: &str = "plugin-lock";
const FILE: &str = "cache-v1";
/// Entries kept beside those the latest run used (other revisions, other branches).
const KEEP_EXTRA: usize = 4096;
/// A file below this size is rewritten for any new entry (see [`Cache::save`]).
const SMALL_BYTES: usize = 256 * 1024;
/// A larger file is ignored (and rewritten within the bound).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The key file's directory under the per-user cache directory, and its name.
const KEY_DIR: &str = "plugin-lock";
const KEY_FILE: &str = "key";

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Whether this process uses the cache: never with `--no-cache`; under CI only when
/// asked for (`--cache`, `PLUGIN_LOCK_CACHE`); elsewhere always.
pub fn configure(cache: bool, no_cache: bool) {
    let ci = ["CI", "GITHUB_ACTIONS"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    DISABLED.store(no_cache || (ci && !cache), Ordering::Relaxed);
}

/// The per-user key, loaded (or created) on first use: `Err` says why there is none.
static USER_KEY: OnceLock<Result<Key, String>> = OnceLock::new();

/// Why this process ran without the cache although it was not disabled (`-v`).
pub fn note() -> Option<&'static str> {
    match USER_KEY.get()? {
        Ok(_) => None,
        Err(why) => Some(why),
    }
}

/// A cache key: the SHA-256 of everything a result depends on.
pub type Key = [u8; 32];

/// Keys are SHA-256 outputs, uniformly spread already: their first bytes are the hash.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

type KeyMap<V> = HashMap<Key, V, std::hash::BuildHasherDefault<KeyHasher>>;

pub struct Cache {
    path: PathBuf,
    /// The per-user key the file's MAC is made with.
    mac_key: Key,
    /// The repository the file belongs to (its common dir, canonical), under the MAC.
    repo_id: Vec<u8>,
    /// Everything the digest results depend on besides the plugin's directory and tree id.
    settings: String,
    /// The loaded file's entries, one `<hex key>\t<value>` line each (MAC verified).
    body: String,
    /// The stored entries: key → the value's byte range in `body`, parsed only on a hit.
    old: KeyMap<(usize, usize)>,
    /// The stored keys in file order (most recently used first).
    order: Vec<Key>,
    /// Entries this run used (`None`: the stored value) or computed (`Some`).
    used: Mutex<KeyMap<Option<String>>>,
    /// The file must be rewritten: it is damaged, missing, or holds entries to drop.
    dirty: AtomicBool,
    /// Entries this run computed that the file does not hold.
    fresh: AtomicUsize,
}

impl Cache {
    /// The cache for `snap` under `config`, or `None` when disabled or `snap` has no
    /// tree ids, or without a key, or when its directory is not a directory of its own.
    /// A missing, unreadable, damaged or unauthenticated file gives an empty cache.
    pub fn open(snap: &Snapshot, config: &Config) -> Option<Cache> {
        if DISABLED.load(Ordering::Relaxed) || !snap.has_tree_ids() {
            return None;
        }
        let mac_key = *USER_KEY.get_or_init(user_key).as_ref().ok()?;
        let common = snap.common_dir();
        let dir = common.join(DIR);
        // A symlink here would have the cache read from, and written to, elsewhere.
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| !m.is_dir()) {
            return None;
        }
        let path = dir.join(FILE);
        let repo_id = std::fs::canonicalize(&common)
            .unwrap_or(common)
            .into_os_string()
            .into_encoded_bytes();
        // The digest key holds what the digest and the manifest check depend on besides
        // the plugin's own tree: the tool version (digest and manifest rules, size limits,
        // messages), the digest version, the symlink policy and the manifest's spec (its
        // path, required fields and name rule).
        // Ownership results have keys of their own (src/checks/ownership/survey.rs: the CODEOWNERS
        // content); severities and the comparison with the lock are computed afresh.
        let policy = match config.symlinks {
            SymlinkPolicy::Follow => "follow",
            SymlinkPolicy::AsLink => "as-link",
        };
        let settings = format!(
            "plugin-lock {}\0digest v1\0symlinks {policy}\0manifest {}\0",
            env!("CARGO_PKG_VERSION"),
            config
                .manifest
                .as_ref()
                .map_or("-none".to_owned(), |m| format!("+{}", m.key())),
        );
        let mut cache = Cache {
            path,
            mac_key,
            repo_id,
            settings,
            body: String::new(),
            old: KeyMap::default(),
            order: Vec::new(),
            used: Mutex::new(KeyMap::default()),
            dirty: AtomicBool::new(false),
            fresh: AtomicUsize::new(0),
        };
        match load(&cache.path, |body| cache.mac(body)) {
            Some(body) => {
                let mut lines = 0;
                let mut start = 0;
                for line in body.split_inclusive('\n') {
                    lines += 1;
                    let text = line.strip_suffix('\n').unwrap_or(line);
                    if let Some((hex, value)) = text.split_once('\t')
                        && let Some(key) = parse_key(hex)
                    {
                        let value_start = start + hex.len() + 1;
                        let span = (value_start, value_start + value.len());
                        if cache.old.insert(key, span).is_none() {
                            cache.order.push(key);
                        }
                    }
                    start += line.len();
                }
                // A line that is no entry, or a repeated key: rewrite without it.
                if cache.order.len() != lines {
                    cache.dirty.store(true, Ordering::Relaxed);
                }
                cache.body = body;
            }
            None => {
                if std::fs::symlink_metadata(&cache.path).is_ok() {
                    cache.dirty.store(true, Ordering::Relaxed);
                }
            }
        }
        Some(cache)
    }

    /// The file's MAC over `body`, bound to this repository.
    fn mac(&self, body: &[u8]) -> Key {
        let id_len = (self.repo_id.len() as u64).to_le_bytes();
        digest::hmac_sha256(
            &self.mac_key,
            &[HEADER.as_bytes(), &id_len, &self.repo_id, body],
        )
    }

    /// The key of `plugin`, when its result can be cached: a directory with a tree id.
    /// The directory's path is part of it (rejection paths and messages, the manifest's
    /// expected `name`, how far `..` may climb all depend on it).
    /// `outside` is what else the result depends on (the `.gitattributes` files above
    /// the plugin).
    pub fn key(&self, plugin: &Plugin, outside: &[u8]) -> Option<Key> {
        if plugin.bad_name || plugin.node.kind != Kind::Dir {
            return None;
        }
        let id = plugin.node.id?;
        Some(digest::sha256(&[
            self.settings.as_bytes(),
            plugin.dir.as_bytes(),
            &[0],
            id.as_bytes(),
            &[0],
            outside,
        ]))
    }

    /// The stored result for `key`, if there is one that parses.
    pub fn get(&self, key: &Key) -> Option<Computed> {
        self.lookup_with(key, decode)
    }

    /// Records a freshly computed result.
    pub fn put(&self, key: Key, computed: &Computed) {
        if let Some(text) = encode(computed) {
            self.insert(key, text);
        }
    }

    /// A key for a result of another kind than a plugin's digest (the ownership survey):
    /// `parts` must hold everything the result depends on besides the tool's version,
    /// starting with a tag of its own so that kinds never share keys.
    pub fn key_of(&self, parts: &[&[u8]]) -> Key {
        let mut all: Vec<&[u8]> = vec![b"plugin-lock ", env!("CARGO_PKG_VERSION").as_bytes(), &[0]];
        all.extend_from_slice(parts);
        digest::sha256(&all)
    }

    /// The stored value for `key` (from [`Cache::key_of`]), if it parses as a `T` that
    /// `valid` accepts; one it refuses is a miss and is dropped from the file.
    pub fn lookup<T: DeserializeOwned>(
        &self,
        key: &Key,
        valid: impl FnOnce(&T) -> bool,
    ) -> Option<T> {
        self.lookup_with(key, |text| serde_json::from_str(text).ok().filter(valid))
    }

    /// Records a value under `key` (from [`Cache::key_of`]).
    pub fn store<T: Serialize>(&self, key: Key, value: &T) {
        if let Ok(text) = serde_json::to_string(value) {
            self.insert(key, text);
        }
    }

    fn lookup_with<T>(&self, key: &Key, parse: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let &(start, end) = self.old.get(key)?;
        match parse(self.body.get(start..end)?) {
            Some(value) => {
                self.used_entries().insert(*key, None);
                Some(value)
            }
            None => {
                // Damaged or from another kind: recomputed, and dropped from the file.
                self.dirty.store(true, Ordering::Relaxed);
                None
            }
        }
    }

    fn insert(&self, key: Key, text: String) {
        self.used_entries().insert(key, Some(text));
        self.fresh.fetch_add(1, Ordering::Relaxed);
    }

    fn used_entries(&self) -> std::sync::MutexGuard<'_, KeyMap<Option<String>>> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stored(&self, key: &Key) -> Option<&str> {
        let &(start, end) = self.old.get(key)?;
        self.body.get(start..end)
    }

    /// Writes the cache when it changed enough: this run's entries first, then up to
    /// [`KEEP_EXTRA`] older ones. Failures are ignored (a read-only repository still
    /// verifies; the next run recomputes).
    ///
    /// A large file is not rewritten for a few new entries: on a big repository a push
    /// changes a plugin or two, and recomputing those costs less than rewriting (and
    /// re-reading) megabytes each time. What changed since the last write is recomputed
    /// by every run until it reaches 1/32 of the entries a run uses; then the file is
    /// rewritten. So at most ~1/32 of the work is redone for want of a write.
    pub fn save(mut self) {
        let used = std::mem::take(self.used.get_mut().unwrap_or_else(|e| e.into_inner()));
        let extra = self.order.iter().filter(|k| !used.contains_key(*k)).count();
        let fresh = self.fresh.load(Ordering::Relaxed);
        if !worth_rewriting(
            self.dirty.load(Ordering::Relaxed),
            fresh,
            used.len(),
            self.body.len(),
            extra,
        ) {
            return;
        }
        let mut fresh: Vec<(&Key, &Option<String>)> = used.iter().collect();
        fresh.sort_unstable_by_key(|(k, _)| **k);
        let mut body = String::with_capacity(self.body.len() + 4096);
        for (key, value) in fresh {
            if let Some(text) = value.as_deref().or_else(|| self.stored(key)) {
                push_line(&mut body, key, text);
            }
        }
        let older = self.order.iter().filter(|k| !used.contains_key(*k));
        for key in older.take(KEEP_EXTRA) {
            if let Some(text) = self.stored(key) {
                push_line(&mut body, key, text);
            }
        }
        let mut file = String::with_capacity(HEADER.len() + 66 + body.len());
        file.push_str(HEADER);
        file.push(' ');
        digest::push_hex(&mut file, &self.mac(body.as_bytes()));
        file.push('\n');
        file.push_str(&body);
        // A fresh temporary file (O_EXCL) renamed over the path: a symlink planted at
        // either is replaced, never written through; and never into a symlinked directory.
        if let Some(dir) = self.path.parent()
            && std::fs::create_dir_all(dir).is_ok()
            && std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        {
            // No fsync: a file a crash damaged fails its MAC and is rebuilt.
            let _ = crate::atomic::write_atomic_unsynced(&self.path, file.as_bytes());
        }
    }
}

/// Whether [`Cache::save`] rewrites the file: it is damaged or has too many stale
/// entries, or this run's new entries are many, or the file is small.
fn worth_rewriting(dirty: bool, fresh: usize, used: usize, body_len: usize, extra: usize) -> bool {
    dirty
        || extra > KEEP_EXTRA
        || (fresh > 0 && (body_len < SMALL_BYTES || fresh.saturating_mul(32) >= used))
}

fn push_line(body: &mut String, key: &Key, value: &str) {
    digest::push_hex(body, key);
    body.push('\t');
    body.push_str(value);
    body.push('\n');
}

/// 64 lowercase hex digits as a key.
fn parse_key(hex: &str) -> Option<Key> {
    if !is_hex64(hex) {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        key[i] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Some(key)
}

/// The entry lines of a whole file whose MAC verifies; `None` for a missing, damaged or
/// foreign one. One MAC over the file, nothing per entry.
fn load(path: &Path, mac: impl FnOnce(&[u8]) -> Key) -> Option<String> {
    let (bytes, _) = read_regular(path, MAX_BYTES).ok()?;
    let mut text = String::from_utf8(bytes).ok()?;
    let (header, body) = text.split_once('\n')?;
    let stored = parse_key(header.strip_prefix(HEADER)?.strip_prefix(' ')?)?;
    if !same(&mac(body.as_bytes()), &stored) {
        return None;
    }
    let header_len = header.len() + 1;
    text.drain(..header_len);
    Some(text)
}

/// Equality in time independent of where the inputs differ (a MAC is compared).
fn same(a: &Key, b: &Key) -> bool {
    a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The regular file at `path` and its metadata, read whole if it holds at most `max`
/// bytes. A final symlink is not followed (unix: `O_NOFOLLOW`; Windows: the reparse
/// point itself is opened), the open never waits (`O_NONBLOCK`: a FIFO without a
/// writer), anything but a regular file is refused by the open handle's metadata, and
/// the read stops after `max + 1` bytes whatever the size said.
fn read_regular(path: &Path, max: u64) -> io::Result<(Vec<u8>, std::fs::Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt as _;
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if meta.len() > max {
        return Err(io::Error::other("too large"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other("too large"));
    }
    Ok((bytes, meta))
}

/// Where the per-user key lives: outside every repository, in the user's cache
/// directory (only absolute paths count, as XDG says).
fn key_path() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = if cfg!(windows) {
        absolute("LOCALAPPDATA")
    } else {
        absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))
    };
    Some(base?.join(KEY_DIR).join(KEY_FILE))
}

/// The per-user key, created on first use; `Err` (a note for `-v`) when none can be had.
fn user_key() -> Result<Key, String> {
    let path = key_path().ok_or("no cache key: neither XDG_CACHE_HOME nor HOME is set")?;
    match read_key(&path) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_key(&path).map_err(|e| format!("no cache key can be created: {e}"))
        }
        Err(e) => Err(format!("the cache key cannot be used: {e}")),
    }
}

/// A key file: exactly 32 bytes, a regular file, and (unix) private to its owner.
fn read_key(path: &Path) -> io::Result<Key> {
    let (bytes, meta) = read_regular(path, 32)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(io::Error::other("the key file is open to other users"));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Key::try_from(bytes.as_slice()).map_err(|_| io::Error::other("the key file is damaged"))
}

/// Creates the key: written whole to a fresh private file, then published under its
/// name without replacing one a concurrent run published first (whose key then wins).
fn create_key(path: &Path) -> io::Result<Key> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("no key directory"))?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let mut key: Key = [0; 32];
    let mut tag = [0u8; 8];
    getrandom::fill(&mut key)
        .and_then(|()| getrandom::fill(&mut tag))
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut name = format!(".{KEY_FILE}.tmp-{}-", std::process::id());
    digest::push_hex(&mut name, &tag);
    let tmp = dir.join(name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file: File| {
        file.write_all(&key)?;
        file.sync_all()
    });
    let published = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        // A file system without hard links: a rename, which a racing run may undo (its
        // key then wins and this run's file is rebuilt next time: no harm).
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => std::fs::rename(&tmp, path),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    match published {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::computed::ManifestState;
    use crate::digest::rejection::{Rejection, RejectionKind};
    use crate::manifest::ManifestProblem;

    #[test]
    fn a_large_file_waits_for_enough_new_entries() {
        let large = 2 * 1024 * 1024;
        assert!(!worth_rewriting(false, 0, 10_000, 100, 0), "nothing new");
        assert!(
            worth_rewriting(false, 1, 2, 100, 0),
            "a small file: any new entry"
        );
        assert!(
            !worth_rewriting(false, 3, 10_000, large, 0),
            "3 new of 10,000"
        );
        assert!(worth_rewriting(false, 313, 10_000, large, 0), "1/32 new");
        assert!(worth_rewriting(true, 0, 10_000, large, 0), "damaged");
        assert!(
            worth_rewriting(false, 0, 10, large, KEEP_EXTRA + 1),
            "too many stale"
        );
    }

    #[test]
    fn values_round_trip_and_bad_shapes_are_refused() {
        let c = Computed {
            digest: Err(Rejection {
                kind: RejectionKind::SymlinkLoop,
                path: "plugins/p/l".into(),
                message: "loop".into(),
            }),
            manifest: ManifestState::Invalid(vec![ManifestProblem {
                line: 2,
                column: 3,
                message: "bad".into(),
            }]),
            manifest_path: Some("plugins/p/plugin.yaml".into()),
            first_file: None,
            cacheable: true,
            bytecode: digest::Bytecode {
                listed: vec!["__pycache__/x.pyc".into()],
                count: 7,
            },
            more_rejections: Vec::new(),
            drift: Vec::new(),
        };
        let text = encode(&c).unwrap();
        assert_eq!(encode(&decode(&text).unwrap()).unwrap(), text);
        assert!(decode(r#"{"digest":"00","rejection":null,"manifest":"Missing","manifest_path":null,"first_file":null,"bytecode":[[],0]}"#).is_none());
        assert!(decode(&text.replace("symlink_loop", "nope")).is_none());
        assert!(decode(&text[..text.len() - 1]).is_none());
    }
}

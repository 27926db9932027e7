//! Incremental verification: per-plugin results (digest or rejection, manifest check)
//! cached by the plugin's git tree id, and per-directory ownership results
//! (src/survey.rs, keyed by tree id and CODEOWNERS content), so a run on a large
//! repository costs the plugins that changed, not all of them (DESIGN.md "Performance
//! model").
//!
//! The file is `<common git dir>/plugin-lock/cache-v1`: a header line
//! `plugin-lock cache v1 <sha256 of the rest>`, then one `<key>\t<json>` line per entry.
//! A file whose header or checksum does not match is ignored whole and rewritten; an
//! entry whose key or value does not parse is dropped (recomputed). A new file is
//! written atomically (temporary file + rename), so concurrent runs each see a whole
//! file, and the last writer wins. Nothing here is ever trusted over a recomputation
//! except an entry that parsed under a matching key.
//!
//! Only directories of a git tree (a revision: directories have tree ids; never the
//! index or the work tree) are cached, and of plugins only those whose digest read
//! nothing outside their own directory.
//! `--no-cache` ([`disable`]) bypasses reading and writing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::check::{Computed, ManifestState};
use crate::config::{Config, SymlinkPolicy};
use crate::digest::{self, Rejection, RejectionKind};
use crate::discover::Plugin;
use crate::manifest::ManifestProblem;
use crate::source::{Kind, Snapshot};

const HEADER: &str = "plugin-lock cache v1";
const DIR: &str = "plugin-lock";
const FILE: &str = "cache-v1";
/// Entries kept beside those the latest run used (other revisions, other branches).
const KEEP_EXTRA: usize = 4096;
/// A file below this size is rewritten for any new entry (see [`Cache::save`]).
const SMALL_BYTES: usize = 256 * 1024;
/// A larger file is ignored (and rewritten within the bound).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

static DISABLED: AtomicBool = AtomicBool::new(false);

/// `--no-cache`: no cache is read or written by this process.
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
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
    /// Everything the digest results depend on besides the plugin's directory and tree id.
    settings: String,
    /// The loaded file's entries, one `<hex key>\t<value>` line each (checksum verified).
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
    /// tree ids. A missing, unreadable or damaged file gives an empty cache.
    pub fn open(snap: &Snapshot, config: &Config) -> Option<Cache> {
        if DISABLED.load(Ordering::Relaxed) || !snap.has_tree_ids() {
            return None;
        }
        let path = snap.common_dir().join(DIR).join(FILE);
        // The digest key holds what the digest and the manifest check depend on besides
        // the plugin's own tree: the tool version (digest and manifest rules, size limits,
        // messages), the digest version, the symlink policy and the manifest file name.
        // Ownership results have keys of their own (src/survey.rs: the CODEOWNERS
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
                .as_deref()
                .map_or("-none".to_owned(), |m| format!("+{m}")),
        );
        let mut cache = Cache {
            path,
            settings,
            body: String::new(),
            old: KeyMap::default(),
            order: Vec::new(),
            used: Mutex::new(KeyMap::default()),
            dirty: AtomicBool::new(false),
            fresh: AtomicUsize::new(0),
        };
        match load(&cache.path) {
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
                if cache.path.exists() {
                    cache.dirty.store(true, Ordering::Relaxed);
                }
            }
        }
        Some(cache)
    }

    /// The key of `plugin`, when its result can be cached: a directory with a tree id.
    /// The directory's path is part of it (rejection paths and messages, the manifest's
    /// expected `name`, how far `..` may climb all depend on it).
    pub fn key(&self, plugin: &Plugin) -> Option<Key> {
        if plugin.bad_name || plugin.node.kind != Kind::Dir {
            return None;
        }
        let id = plugin.node.id?;
        Some(digest::sha256(&[
            self.settings.as_bytes(),
            plugin.dir.as_bytes(),
            &[0],
            id.as_bytes(),
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
        let mut file = format!("{HEADER} {}\n", digest::sha256_hex(&[body.as_bytes()]));
        file.push_str(&body);
        if let Some(dir) = self.path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            // No fsync: a file a crash damaged fails its checksum and is rebuilt.
            let _ = crate::lock::write_atomic_unsynced(&self.path, file.as_bytes());
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

/// The entry lines of a whole, undamaged file; `None` for a missing or damaged one.
fn load(path: &std::path::Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let mut text = String::from_utf8(bytes).ok()?;
    let (header, body) = text.split_once('\n')?;
    let sum = header.strip_prefix(HEADER)?.strip_prefix(' ')?;
    if !is_hex64(sum) || digest::sha256_hex(&[body.as_bytes()]) != sum {
        return None;
    }
    let header_len = header.len() + 1;
    text.drain(..header_len);
    Some(text)
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    digest: Option<String>,
    rejection: Option<StoredRejection>,
    manifest: StoredManifest,
    manifest_path: Option<String>,
    first_file: Option<String>,
    /// Committed bytecode: the first few paths (relative to the plugin) and the count.
    bytecode: (Vec<String>, usize),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRejection {
    kind: String,
    path: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
enum StoredManifest {
    NotRequired,
    Missing,
    Valid(String),
    Invalid(Vec<(u32, u32, String)>),
}

const KINDS: [RejectionKind; 5] = [
    RejectionKind::SymlinkEscape,
    RejectionKind::SymlinkLoop,
    RejectionKind::DanglingSymlink,
    RejectionKind::UnsupportedEntry,
    RejectionKind::UnsupportedPath,
];

fn encode(c: &Computed) -> Option<String> {
    let (digest, rejection) = match &c.digest {
        Ok(d) => (Some(d.clone()), None),
        Err(r) => (
            None,
            Some(StoredRejection {
                kind: r.kind.as_str().to_owned(),
                path: r.path.clone(),
                message: r.message.clone(),
            }),
        ),
    };
    let manifest = match &c.manifest {
        ManifestState::NotRequired => StoredManifest::NotRequired,
        ManifestState::Missing => StoredManifest::Missing,
        ManifestState::Valid { version } => StoredManifest::Valid(version.clone()),
        ManifestState::Invalid(problems) => StoredManifest::Invalid(
            problems
                .iter()
                .map(|p| (p.line, p.column, p.message.clone()))
                .collect(),
        ),
    };
    serde_json::to_string(&Stored {
        digest,
        rejection,
        manifest,
        manifest_path: c.manifest_path.clone(),
        first_file: c.first_file.clone(),
        bytecode: (c.bytecode.listed.clone(), c.bytecode.count),
    })
    .ok()
}

/// A stored value, validated: exactly one of digest (64 lowercase hex) and rejection
/// (a known kind).
fn decode(text: &str) -> Option<Computed> {
    let s: Stored = serde_json::from_str(text).ok()?;
    let digest = match (s.digest, s.rejection) {
        (Some(d), None) if is_hex64(&d) => Ok(d),
        (None, Some(r)) => Err(Rejection {
            kind: *KINDS.iter().find(|k| k.as_str() == r.kind)?,
            path: r.path,
            message: r.message,
        }),
        _ => return None,
    };
    if s.bytecode.0.len() > digest::Bytecode::LISTED || s.bytecode.1 < s.bytecode.0.len() {
        return None;
    }
    let manifest = match s.manifest {
        StoredManifest::NotRequired => ManifestState::NotRequired,
        StoredManifest::Missing => ManifestState::Missing,
        StoredManifest::Valid(version) => ManifestState::Valid { version },
        StoredManifest::Invalid(problems) => ManifestState::Invalid(
            problems
                .into_iter()
                .map(|(line, column, message)| ManifestProblem {
                    line,
                    column,
                    message,
                })
                .collect(),
        ),
    };
    Some(Computed {
        digest,
        manifest,
        manifest_path: s.manifest_path,
        first_file: s.first_file,
        cacheable: true,
        bytecode: digest::Bytecode {
            listed: s.bytecode.0,
            count: s.bytecode.1,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let text = encode(&c).unwrap();
        assert_eq!(encode(&decode(&text).unwrap()).unwrap(), text);
        assert!(decode(r#"{"digest":"00","rejection":null,"manifest":"Missing","manifest_path":null,"first_file":null,"bytecode":[[],0]}"#).is_none());
        assert!(decode(&text.replace("symlink_loop", "nope")).is_none());
        assert!(decode(&text[..text.len() - 1]).is_none());
    }
}

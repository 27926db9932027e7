//! Reads `.plugin-lock.yml`, the optional repository configuration: every key is
//! optional, unknown keys and wrong types are errors with a 1-based line and column, and
//! the result is a [`Config`] with the defaults filled in. Severity overrides keep their
//! kind names and positions unchecked; the findings module knows the kinds.
//!
//! The YAML is parsed by serde-saphyr into [`crate::yaml`]'s spanned nodes (duplicate
//! keys are its errors) and then walked by hand rather than through serde derive. A
//! probe with serde-saphyr 2.1 (`#[derive(Deserialize)]`, `Spanned<T>`,
//! `deny_unknown_fields`) gave the same line and column for every error, but not the
//! same messages, and the messages are what a user acts on: derive says ``unknown field
//! `plugin`, expected one of plugins, lock, owners`` where this says ``unknown key
//! `plugin` (expected one of: …)``, naming the section (`` in `owners` ``) when nested;
//! a non-string key becomes ``unknown field `1` `` instead of "keys must be strings,
//! found …"; a wrong type is "expected string scalar" without the key or what was
//! found. Every value needs checking beyond its type anyway (globs, paths, severities),
//! so derive would save little.

use crate::manifest::{Field, NamePolicy, Spec};
use crate::yaml::{self, Node, Spanned, position, utf8_error_position};

/// Largest configuration accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Longest glob accepted in `plugins`, `reload.hot` and `--plugins`. No path selector
/// needs more, and globset itself has no limit until its regex engine fails (a 100 KB
/// glob of `*` made it panic).
pub const MAX_GLOB_BYTES: usize = 1024;

/// Most wildcards (`*`, `?`, `[`, `{`) in one glob: each one multiplies the matching work.
pub const MAX_GLOB_WILDCARDS: usize = 32;

/// Compiles a `plugins` or `reload.hot` glob (`*` never crosses `/`), within the limits
/// above. A set, not `Glob::compile_matcher`: building a set reports the regex engine's
/// size limit as an error where the matcher panics.
pub fn compile_glob(glob: &str) -> Result<globset::GlobSet, String> {
    if glob.len() > MAX_GLOB_BYTES {
        return Err(format!(
            "is {} bytes, over the limit of {MAX_GLOB_BYTES} bytes for a glob",
            glob.len()
        ));
    }
    let wildcards = glob.matches(['*', '?', '[', '{']).count();
    if wildcards > MAX_GLOB_WILDCARDS {
        return Err(format!(
            "has {wildcards} wildcards, over the limit of {MAX_GLOB_WILDCARDS} for a glob"
        ));
    }
    let parsed = globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("is not a valid glob: {}", e.kind()))?;
    globset::GlobSetBuilder::new()
        .add(parsed)
        .build()
        .map_err(|e| format!("is too complex to match: {}", e.kind()))
}

/// A glob as messages show it: at most 60 characters, so a huge one cannot flood them.
pub fn shown_glob(glob: &str) -> String {
    match glob.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &glob[..at]),
        None => glob.to_owned(),
    }
}

/// `symlinks:` — how symlinks inside plugins are digested (spec/DIGEST.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymlinkPolicy {
    /// `follow`
    Follow,
    /// `as-link`
    AsLink,
}

/// A finding severity: `error`, `warning` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Off,
}

/// The configuration, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Globs selecting plugin directories; default `["plugins/*"]`.
    pub plugins: Vec<String>,
    /// The line of each `plugins` glob in `.plugin-lock.yml`; empty for the default.
    pub plugin_lines: Vec<u32>,
    /// `exclude:` globs: directories the `plugins` globs match that are not plugins.
    pub exclude: Vec<String>,
    /// The lock file's repository path; default `plugins/PLUGINS.lock`.
    pub lock: String,
    /// The manifest each plugin must have, and its rules; `None` when none is required.
    pub manifest: Option<Spec>,
    pub symlinks: SymlinkPolicy,
    /// `owners.required`; empty (the default) means anyone.
    pub required_owners: Vec<String>,
    /// `owners.plugins_must_be_owned`; default true.
    pub plugins_must_be_owned: bool,
    /// `reload.hot`: globs relative to each plugin directory; default `["**/SKILL.md"]`.
    pub hot: Vec<String>,
    /// `severity:` entries in file order.
    pub severity: Vec<SeverityOverride>,
    /// `ignore:` entries in file order.
    pub ignore: Vec<IgnoreEntry>,
}

/// One `ignore:` entry: which findings it suppresses and why. `kind` is validated where
/// kinds are known (`checks::suppress`); `line`/`column` locate the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub kind: String,
    /// The plugin id it applies to, or
    pub plugin: Option<String>,
    /// the finding's path (a glob relative to the repository root).
    pub path: Option<String>,
    pub reason: String,
    pub line: u32,
    pub column: u32,
}

/// One `severity:` entry. `kind` is not validated here; `line`/`column` (1-based) locate
/// the key so that an unknown kind can be reported where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityOverride {
    pub kind: String,
    pub level: Level,
    pub line: u32,
    pub column: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            plugins: vec!["plugins/*".to_owned()],
            plugin_lines: Vec::new(),
            exclude: Vec::new(),
            lock: "plugins/PLUGINS.lock".to_owned(),
            manifest: Some(Spec::plugin_yaml()),
            symlinks: SymlinkPolicy::Follow,
            required_owners: Vec::new(),
            plugins_must_be_owned: true,
            hot: vec!["**/SKILL.md".to_owned()],
            severity: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

/// Why the configuration was rejected, and where (1-based, always >= 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ConfigError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// `follow` or `as-link` (the `--symlinks` flag uses this too).
pub fn parse_symlink_policy(s: &str) -> Option<SymlinkPolicy> {
    match s {
        "follow" => Some(SymlinkPolicy::Follow),
        "as-link" => Some(SymlinkPolicy::AsLink),
        _ => None,
    }
}

/// `error`, `warning` or `off`.
pub fn parse_level(s: &str) -> Option<Level> {
    match s {
        "error" => Some(Level::Error),
        "warning" => Some(Level::Warning),
        "off" => Some(Level::Off),
        _ => None,
    }
}

/// Parses the bytes of `.plugin-lock.yml`. An empty file (or only comments) gives the
/// defaults. The first problem, in file order, is returned.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(error(
            1,
            1,
            format!(
                "configuration is {} bytes, over the limit of {MAX_CONFIG_BYTES} bytes",
                bytes.len()
            ),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let (line, column) = utf8_error_position(bytes, err.valid_up_to());
            let byte = bytes.get(err.valid_up_to()).copied().unwrap_or(0);
            return Err(error(
                line,
                column,
                format!("configuration is not valid UTF-8 (byte 0x{byte:02x})"),
            ));
        }
    };
    let root = yaml::parse(text).map_err(|e| error(e.line, e.column, e.message))?;
    let mut config = Config::default();
    let entries = match &root.value {
        Node::Null => return Ok(config),
        Node::Map(entries) => entries,
        other => {
            return Err(error_at(
                &root,
                format!(
                    "the configuration must be a mapping of keys to values, found {}",
                    other.kind()
                ),
            ));
        }
    };
    for (key, value) in entries {
        match lookup(key, TOP_KEYS, None)? {
            Top::Plugins => {
                config.plugins = globs(value, "plugins", "the repository root")?;
                config.plugin_lines = match &value.value {
                    Node::Seq(items) => items.iter().map(|i| position(&i.referenced).0).collect(),
                    _ => Vec::new(),
                };
            }
            Top::Exclude => config.exclude = globs(value, "exclude", "the repository root")?,
            Top::Lock => config.lock = lock_path(value)?,
            Top::Manifest => config.manifest = manifest(value)?,
            Top::Symlinks => config.symlinks = symlinks(value)?,
            Top::Owners => owners(value, &mut config)?,
            Top::Reload => reload(value, &mut config)?,
            Top::Severity => config.severity = severity(value)?,
            Top::Ignore => config.ignore = ignores(value)?,
        }
    }
    Ok(config)
}

#[derive(Clone, Copy)]
enum Top {
    Plugins,
    Exclude,
    Lock,
    Manifest,
    Symlinks,
    Owners,
    Reload,
    Severity,
    Ignore,
}

const TOP_KEYS: &[(&str, Top)] = &[
    ("plugins", Top::Plugins),
    ("exclude", Top::Exclude),
    ("lock", Top::Lock),
    ("manifest", Top::Manifest),
    ("symlinks", Top::Symlinks),
    ("owners", Top::Owners),
    ("reload", Top::Reload),
    ("severity", Top::Severity),
    ("ignore", Top::Ignore),
];

#[derive(Clone, Copy)]
enum OwnersKey {
    Required,
    PluginsMustBeOwned,
}

const OWNERS_KEYS: &[(&str, OwnersKey)] = &[
    ("required", OwnersKey::Required),
    ("plugins_must_be_owned", OwnersKey::PluginsMustBeOwned),
];

const RELOAD_KEYS: &[(&str, ())] = &[("hot", ())];

#[derive(Clone, Copy)]
enum ManifestKey {
    File,
    Require,
    Name,
}

const MANIFEST_KEYS: &[(&str, ManifestKey)] = &[
    ("file", ManifestKey::File),
    ("require", ManifestKey::Require),
    ("name", ManifestKey::Name),
];

/// Resolves a mapping key against the allowed ones; `section` names the parent mapping.
/// The valid key nearest to a misspelled one: at most two edits away (or one for a
/// short key), ties to the first.
fn closest<'a>(given: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given: Vec<char> = given.chars().take(64).collect();
    names
        .map(|name| {
            (
                edit_distance(&given, &name.chars().collect::<Vec<_>>()),
                name,
            )
        })
        .filter(|(d, name)| *d <= if name.len() <= 4 { 1 } else { 2 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// Levenshtein distance (insertions, deletions, substitutions), over short strings.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev + usize::from(ca != cb);
            prev = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(prev + 1);
        }
    }
    row[b.len()]
}

fn lookup<T: Copy>(
    key: &Spanned<Node>,
    table: &[(&str, T)],
    section: Option<&str>,
) -> Result<T, ConfigError> {
    let expected = table
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let within = section.map(|s| format!(" in `{s}`")).unwrap_or_default();
    match &key.value {
        Node::Str(k) => match table.iter().find(|(name, _)| name == k) {
            Some((_, value)) => Ok(*value),
            None => {
                let suggestion = closest(k, table.iter().map(|(name, _)| *name))
                    .map(|name| format!("did you mean `{name}`? "))
                    .unwrap_or_default();
                Err(error_at(
                    key,
                    format!(
                        "unknown key `{}`{within} ({suggestion}expected one of: {expected})",
                        k.escape_debug()
                    ),
                ))
            }
        },
        other => Err(error_at(
            key,
            format!(
                "keys{within} must be strings, found {} (expected one of: {expected})",
                other.kind()
            ),
        )),
    }
}

/// A list of globs (`plugins`, `reload.hot`), relative to `base`.
fn globs(value: &Spanned<Node>, field: &str, base: &str) -> Result<Vec<String>, ConfigError> {
    let Node::Seq(items) = &value.value else {
        return Err(error_at(
            value,
            format!(
                "`{field}` must be a list of globs, found {}",
                value.value.kind()
            ),
        ));
    };
    // An empty `plugins` would silently verify nothing; an empty `hot` list is meaningful.
    if items.is_empty() && field == "plugins" {
        return Err(error_at(
            value,
            format!("`{field}` must list at least one glob"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let glob = string(item, &format!("`{field}` entries must be strings"))?;
        let problem = if glob.is_empty() {
            Some("must not be empty".to_owned())
        } else if glob.starts_with('/') {
            Some(format!("must be relative to {base} (no leading `/`)"))
        } else if glob.contains('\\') {
            Some("must separate path components with `/`, not `\\`".to_owned())
        } else if glob.split('/').any(|c| c == "..") {
            Some("must not contain a `..` component".to_owned())
        } else {
            compile_glob(glob).err()
        };
        if let Some(problem) = problem {
            return Err(error_at(
                item,
                format!("glob {:?} in `{field}` {problem}", shown_glob(glob)),
            ));
        }
        out.push(glob.to_owned());
    }
    Ok(out)
}

/// `lock`: a repository-relative file path, compared literally with tree paths, so it
/// must be normalized.
fn lock_path(value: &Spanned<Node>) -> Result<String, ConfigError> {
    let path = string(value, "`lock` must be a string")?;
    let problem = if path.is_empty() {
        Some("must not be empty")
    } else if path.starts_with('/') {
        Some("must be relative to the repository root (no leading `/`)")
    } else if path.ends_with('/') {
        Some("must name a file, not a directory (no trailing `/`)")
    } else if path.contains('\\') {
        Some("must separate path components with `/`, not `\\`")
    } else if path.split('/').any(|c| c == "..") {
        Some("must not contain a `..` component")
    } else if path.split('/').any(|c| c.is_empty() || c == ".") {
        Some("must be a normalized path (no `.` or empty components)")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(error_at(value, format!("`lock` {problem}, found {path:?}"))),
        None => Ok(path.to_owned()),
    }
}

/// `manifest`: a path inside each plugin (its extension picks the format), `none` /
/// null for "no manifest required", or a mapping `{file, require, name}`.
fn manifest(value: &Spanned<Node>) -> Result<Option<Spec>, ConfigError> {
    match &value.value {
        Node::Null => Ok(None),
        Node::Str(s) if s == "none" => Ok(None),
        Node::Str(s) => Spec::new(s)
            .map(Some)
            .map_err(|problem| error_at(value, format!("`manifest` {problem}"))),
        Node::Map(entries) => manifest_mapping(value, entries).map(Some),
        other => Err(error_at(
            value,
            format!(
                "`manifest` must be a path, `none`, or a mapping with `file`, found {}",
                other.kind()
            ),
        )),
    }
}

fn manifest_mapping(
    map: &Spanned<Node>,
    entries: &[(Spanned<Node>, Spanned<Node>)],
) -> Result<Spec, ConfigError> {
    // `file` first: `require` and `name` keep the format's defaults unless given.
    let mut file = None;
    let mut require = None;
    let mut name = None;
    for (key, value) in entries {
        match lookup(key, MANIFEST_KEYS, Some("manifest"))? {
            ManifestKey::File => file = Some(value),
            ManifestKey::Require => require = Some(required_fields(value)?),
            ManifestKey::Name => name = Some(name_policy(value)?),
        }
    }
    let Some(file) = file else {
        return Err(error_at(
            map,
            "`manifest` needs a `file`: the manifest's path in each plugin".to_owned(),
        ));
    };
    let path = string(file, "`manifest.file` must be a path")?;
    let mut spec =
        Spec::new(path).map_err(|problem| error_at(file, format!("`manifest.file` {problem}")))?;
    if let Some(require) = require {
        spec.require = require;
    }
    if let Some(name) = name {
        spec.name = name;
    }
    Ok(spec)
}

/// `manifest.require`: a list of the known fields, each once.
fn required_fields(value: &Spanned<Node>) -> Result<Vec<Field>, ConfigError> {
    let known = Field::ALL.map(Field::as_str).join(", ");
    let Node::Seq(items) = &value.value else {
        return Err(error_at(
            value,
            format!(
                "`manifest.require` must be a list of fields ({known}), found {}",
                value.value.kind()
            ),
        ));
    };
    let mut fields = Vec::with_capacity(items.len());
    for item in items {
        let name = string(item, "`manifest.require` entries must be strings")?;
        let Some(field) = Field::from_name(name) else {
            return Err(error_at(
                item,
                format!(
                    "`manifest.require` entries must be one of {known}, found {:?}",
                    shown_glob(name)
                ),
            ));
        };
        if fields.contains(&field) {
            return Err(error_at(
                item,
                format!("`{name}` is listed twice in `manifest.require`"),
            ));
        }
        fields.push(field);
    }
    fields.sort();
    Ok(fields)
}

/// `manifest.name`: `directory` or `any`.
fn name_policy(value: &Spanned<Node>) -> Result<NamePolicy, ConfigError> {
    let found = match &value.value {
        Node::Str(s) => match NamePolicy::from_name(s) {
            Some(policy) => return Ok(policy),
            None => format!("{:?}", shown_glob(s)),
        },
        other => other.kind().to_owned(),
    };
    Err(error_at(
        value,
        format!("`manifest.name` must be `directory` or `any`, found {found}"),
    ))
}

fn symlinks(value: &Spanned<Node>) -> Result<SymlinkPolicy, ConfigError> {
    let found = match &value.value {
        Node::Str(s) => match parse_symlink_policy(s) {
            Some(policy) => return Ok(policy),
            None => format!("{s:?}"),
        },
        other => other.kind().to_owned(),
    };
    Err(error_at(
        value,
        format!("`symlinks` must be `follow` or `as-link`, found {found}"),
    ))
}

fn owners(value: &Spanned<Node>, config: &mut Config) -> Result<(), ConfigError> {
    let entries = match &value.value {
        // `owners:` with every child commented out means "no settings".
        Node::Null => return Ok(()),
        Node::Map(entries) => entries,
        other => {
            return Err(error_at(
                value,
                format!("`owners` must be a mapping, found {}", other.kind()),
            ));
        }
    };
    for (key, value) in entries {
        match lookup(key, OWNERS_KEYS, Some("owners"))? {
            OwnersKey::Required => {
                let Node::Seq(items) = &value.value else {
                    return Err(error_at(
                        value,
                        format!(
                            "`owners.required` must be a list of owners, found {}",
                            value.value.kind()
                        ),
                    ));
                };
                let mut required = Vec::with_capacity(items.len());
                for item in items {
                    let owner = string(item, "`owners.required` entries must be strings")?;
                    if !is_owner(owner) {
                        return Err(error_at(
                            item,
                            format!(
                                "owner {owner:?} in `owners.required` must look like @user, \
                                 @org/team or an email address"
                            ),
                        ));
                    }
                    required.push(owner.to_owned());
                }
                config.required_owners = required;
            }
            OwnersKey::PluginsMustBeOwned => match value.value {
                Node::Bool(b) => config.plugins_must_be_owned = b,
                ref other => {
                    return Err(error_at(
                        value,
                        format!(
                            "`owners.plugins_must_be_owned` must be true or false, found {}",
                            other.kind()
                        ),
                    ));
                }
            },
        }
    }
    Ok(())
}

/// A CODEOWNERS owner as GitHub accepts it: `@user`, `@org/team` or an email address.
fn is_owner(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match s.strip_prefix('@') {
        Some(handle) => match handle.split_once('/') {
            Some((org, team)) => name_ok(org) && name_ok(team),
            None => name_ok(handle),
        },
        None => match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }
            None => false,
        },
    }
}

fn reload(value: &Spanned<Node>, config: &mut Config) -> Result<(), ConfigError> {
    let entries = match &value.value {
        Node::Null => return Ok(()),
        Node::Map(entries) => entries,
        other => {
            return Err(error_at(
                value,
                format!("`reload` must be a mapping, found {}", other.kind()),
            ));
        }
    };
    for (key, value) in entries {
        lookup(key, RELOAD_KEYS, Some("reload"))?;
        config.hot = globs(value, "reload.hot", "the plugin directory")?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum IgnoreKey {
    Kind,
    Plugin,
    Path,
    Reason,
}

const IGNORE_KEYS: &[(&str, IgnoreKey)] = &[
    ("kind", IgnoreKey::Kind),
    ("plugin", IgnoreKey::Plugin),
    ("path", IgnoreKey::Path),
    ("reason", IgnoreKey::Reason),
];

/// `ignore:` — a list of `{kind, plugin | path, reason}`: a suppression must say what it
/// suppresses and why.
fn ignores(value: &Spanned<Node>) -> Result<Vec<IgnoreEntry>, ConfigError> {
    let items = match &value.value {
        Node::Null => return Ok(Vec::new()),
        Node::Seq(items) => items,
        other => {
            return Err(error_at(
                value,
                format!(
                    "`ignore` must be a list of {{kind, plugin or path, reason}} entries, found {}",
                    other.kind()
                ),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Node::Map(entries) = &item.value else {
            return Err(error_at(
                item,
                format!(
                    "`ignore` entries must be mappings with `kind`, `plugin` or `path`, and `reason`, found {}",
                    item.value.kind()
                ),
            ));
        };
        let (mut kind, mut plugin, mut path, mut reason) = (None, None, None, None);
        for (key, value) in entries {
            let text = string(value, "`ignore` values must be strings")?.to_owned();
            match lookup(key, IGNORE_KEYS, Some("ignore"))? {
                IgnoreKey::Kind => kind = Some(text),
                IgnoreKey::Plugin => plugin = Some(text),
                IgnoreKey::Path => path = Some(text),
                IgnoreKey::Reason => reason = Some(text),
            }
        }
        let Some(kind) = kind.filter(|k| !k.is_empty()) else {
            return Err(error_at(item, "an `ignore` entry needs a `kind`".into()));
        };
        if plugin.is_some() == path.is_some() {
            return Err(error_at(
                item,
                "an `ignore` entry names exactly one of `plugin` (an id) or `path` (a glob)".into(),
            ));
        }
        if let Some(p) = &path
            && let Err(problem) = compile_glob(p)
        {
            return Err(error_at(
                item,
                format!("`path` glob {:?} {problem}", shown_glob(p)),
            ));
        }
        let Some(reason) = reason.filter(|r| !r.trim().is_empty()) else {
            return Err(error_at(
                item,
                "an `ignore` entry needs a non-empty `reason`: why this finding is acceptable"
                    .into(),
            ));
        };
        let (line, column) = position(&item.referenced);
        out.push(IgnoreEntry {
            kind,
            plugin,
            path,
            reason,
            line,
            column,
        });
    }
    Ok(out)
}

fn severity(value: &Spanned<Node>) -> Result<Vec<SeverityOverride>, ConfigError> {
    let entries = match &value.value {
        Node::Null => return Ok(Vec::new()),
        Node::Map(entries) => entries,
        other => {
            return Err(error_at(
                value,
                format!(
                    "`severity` must be a mapping of finding kinds to error, warning or off, found {}",
                    other.kind()
                ),
            ));
        }
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let kind = match &key.value {
            Node::Str(kind) if !kind.is_empty() => kind,
            other => {
                return Err(error_at(
                    key,
                    format!(
                        "keys in `severity` must be finding kinds, found {}",
                        other.kind()
                    ),
                ));
            }
        };
        let found = match &value.value {
            Node::Str(s) => match parse_level(s) {
                Some(level) => {
                    let (line, column) = position(&key.referenced);
                    out.push(SeverityOverride {
                        kind: kind.clone(),
                        level,
                        line,
                        column,
                    });
                    continue;
                }
                None => format!("{s:?}"),
            },
            other => other.kind().to_owned(),
        };
        return Err(error_at(
            value,
            format!(
                "severity of `{}` must be error, warning or off, found {found}",
                kind.escape_debug()
            ),
        ));
    }
    Ok(out)
}

/// The string in `value`, else an error "{must}, found <kind>".
fn string<'a>(value: &'a Spanned<Node>, must: &str) -> Result<&'a str, ConfigError> {
    match &value.value {
        Node::Str(s) => Ok(s),
        other => Err(error_at(value, format!("{must}, found {}", other.kind()))),
    }
}

fn error(line: u32, column: u32, message: String) -> ConfigError {
    ConfigError {
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

fn error_at(node: &Spanned<Node>, message: String) -> ConfigError {
    let (line, column) = position(&node.referenced);
    error(line, column, message)
}

#[cfg(test)]
mod tests;

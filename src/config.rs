//! Reads `.plugin-lock.yml`, the optional repository configuration: every key is
//! optional, unknown keys and wrong types are errors with a 1-based line and column, and
//! the result is a [`Config`] with the defaults filled in. Severity overrides keep their
//! kind names and positions unchecked; the findings module knows the kinds.

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
    /// The lock file's repository path; default `plugins/PLUGINS.lock`.
    pub lock: String,
    /// The manifest's file name in each plugin; `None` when no manifest is required.
    pub manifest: Option<String>,
    pub symlinks: SymlinkPolicy,
    /// `owners.required`; empty (the default) means anyone.
    pub required_owners: Vec<String>,
    /// `owners.plugins_must_be_owned`; default true.
    pub plugins_must_be_owned: bool,
    /// `reload.hot`: globs relative to each plugin directory; default `["**/SKILL.md"]`.
    pub hot: Vec<String>,
    /// `severity:` entries in file order.
    pub severity: Vec<SeverityOverride>,
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
            lock: "plugins/PLUGINS.lock".to_owned(),
            manifest: Some("plugin.yaml".to_owned()),
            symlinks: SymlinkPolicy::Follow,
            required_owners: Vec::new(),
            plugins_must_be_owned: true,
            hot: vec!["**/SKILL.md".to_owned()],
            severity: Vec::new(),
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
            Top::Plugins => config.plugins = globs(value, "plugins", "the repository root")?,
            Top::Lock => config.lock = lock_path(value)?,
            Top::Manifest => config.manifest = manifest_name(value)?,
            Top::Symlinks => config.symlinks = symlinks(value)?,
            Top::Owners => owners(value, &mut config)?,
            Top::Reload => reload(value, &mut config)?,
            Top::Severity => config.severity = severity(value)?,
        }
    }
    Ok(config)
}

#[derive(Clone, Copy)]
enum Top {
    Plugins,
    Lock,
    Manifest,
    Symlinks,
    Owners,
    Reload,
    Severity,
}

const TOP_KEYS: &[(&str, Top)] = &[
    ("plugins", Top::Plugins),
    ("lock", Top::Lock),
    ("manifest", Top::Manifest),
    ("symlinks", Top::Symlinks),
    ("owners", Top::Owners),
    ("reload", Top::Reload),
    ("severity", Top::Severity),
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

/// Resolves a mapping key against the allowed ones; `section` names the parent mapping.
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
            None => Err(error_at(
                key,
                format!(
                    "unknown key `{}`{within} (expected one of: {expected})",
                    k.escape_debug()
                ),
            )),
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

/// `manifest`: a plain file name, or `none` / null for "no manifest required".
fn manifest_name(value: &Spanned<Node>) -> Result<Option<String>, ConfigError> {
    let name = match &value.value {
        Node::Null => return Ok(None),
        Node::Str(s) if s == "none" => return Ok(None),
        Node::Str(s) => s,
        other => {
            return Err(error_at(
                value,
                format!(
                    "`manifest` must be a file name or `none`, found {}",
                    other.kind()
                ),
            ));
        }
    };
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        return Err(error_at(
            value,
            format!("`manifest` must be a plain file name (no `/`) or `none`, found {name:?}"),
        ));
    }
    Ok(Some(name.clone()))
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
mod tests {
    use super::*;
    use crate::yaml::MAX_DEPTH;
    use std::time::{Duration, Instant};

    fn ok(yaml: &str) -> Config {
        match parse(yaml.as_bytes()) {
            Ok(config) => config,
            Err(err) => panic!("{yaml:?}: {err}"),
        }
    }

    fn err(yaml: &str) -> ConfigError {
        match parse(yaml.as_bytes()) {
            Ok(config) => panic!("{yaml:?} parsed: {config:?}"),
            Err(err) => err,
        }
    }

    fn at(e: &ConfigError) -> (u32, u32) {
        (e.line, e.column)
    }

    #[test]
    fn defaults() {
        let d = Config::default();
        assert_eq!(d.plugins, ["plugins/*"]);
        assert_eq!(d.lock, "plugins/PLUGINS.lock");
        assert_eq!(d.manifest.as_deref(), Some("plugin.yaml"));
        assert_eq!(d.symlinks, SymlinkPolicy::Follow);
        assert!(d.required_owners.is_empty());
        assert!(d.plugins_must_be_owned);
        assert_eq!(d.hot, ["**/SKILL.md"]);
        assert!(d.severity.is_empty());
    }

    #[test]
    fn empty_or_comments_only_gives_defaults() {
        for yaml in [
            "",
            "\n",
            "# nothing here\n  # at all\n",
            "---\n",
            "~\n",
            "\u{feff}# bom\n",
        ] {
            assert_eq!(ok(yaml), Config::default(), "{yaml:?}");
        }
    }

    #[test]
    fn design_example() {
        let yaml = r#"plugins: ["plugins/*"]        # globs selecting plugin directories (`*` never crosses `/`)
lock: plugins/PLUGINS.lock
manifest: plugin.yaml         # or none (null also accepted): no manifest required
symlinks: follow              # or as-link (spec/DIGEST.md)
owners:
  required: ["@acme/platform"] # see "Ownership"; empty (the default): anyone
  plugins_must_be_owned: true  # default true: every plugin file needs an owner
reload:                        # for `diff`: changes that need no restart
  hot: ["**/SKILL.md"]         # globs relative to each plugin directory
severity:                      # per finding kind: error | warning | off
  lock_not_canonical: warning
"#;
        let c = ok(yaml);
        assert_eq!(c.required_owners, ["@acme/platform"]);
        assert_eq!(
            c.severity,
            [SeverityOverride {
                kind: "lock_not_canonical".into(),
                level: Level::Warning,
                line: 11,
                column: 3
            }]
        );
        let expected = Config {
            required_owners: vec!["@acme/platform".into()],
            severity: c.severity.clone(),
            ..Config::default()
        };
        assert_eq!(c, expected);
    }

    #[test]
    fn every_key_set() {
        let c = ok(
            "plugins:\n  - plugins/*\n  - extra/**/x\nlock: locks/P.lock\nmanifest: skill.yml\n\
                    symlinks: as-link\nowners:\n  required: [\"@a\", \"@b/c-d\", dev@example.com]\n  \
                    plugins_must_be_owned: false\nreload:\n  hot: []\n",
        );
        assert_eq!(c.plugins, ["plugins/*", "extra/**/x"]);
        assert_eq!(c.lock, "locks/P.lock");
        assert_eq!(c.manifest.as_deref(), Some("skill.yml"));
        assert_eq!(c.symlinks, SymlinkPolicy::AsLink);
        assert_eq!(c.required_owners, ["@a", "@b/c-d", "dev@example.com"]);
        assert!(!c.plugins_must_be_owned);
        assert!(c.hot.is_empty());
    }

    #[test]
    fn unknown_top_level_key() {
        let e = err("lock: a/b.lock\n\nplugin: [\"plugins/*\"]\n");
        assert_eq!(at(&e), (3, 1));
        assert_eq!(
            e.message,
            "unknown key `plugin` (expected one of: plugins, lock, manifest, symlinks, owners, reload, severity)"
        );
        assert_eq!(
            e.to_string(),
            "line 3, column 1: unknown key `plugin` (expected one of: plugins, lock, manifest, symlinks, owners, reload, severity)"
        );
    }

    #[test]
    fn unknown_nested_keys() {
        let e = err("lock: x.lock\nowners: {requird: []}\n");
        assert_eq!(at(&e), (2, 10));
        assert_eq!(
            e.message,
            "unknown key `requird` in `owners` (expected one of: required, plugins_must_be_owned)"
        );
        let e = err("owners:\n  required: []\n  requird: []\n");
        assert_eq!(at(&e), (3, 3));
        let e = err("reload:\n  hott: []\n");
        assert_eq!(at(&e), (2, 3));
        assert_eq!(
            e.message,
            "unknown key `hott` in `reload` (expected one of: hot)"
        );
    }

    #[test]
    fn non_string_keys() {
        let e = err("lock: x.lock\n1: x\n");
        assert_eq!(at(&e), (2, 1));
        assert!(
            e.message
                .starts_with("keys must be strings, found an integer"),
            "{}",
            e.message
        );
        let e = err("severity:\n  [a]: off\n");
        assert_eq!(at(&e), (2, 3));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = err("lock: a.lock\nlock: b.lock\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let e = err("- plugins/*\n");
        assert_eq!(at(&e), (1, 1));
        assert!(e.message.ends_with("found a sequence"), "{}", e.message);
    }

    #[test]
    fn plugins_validation() {
        let cases = [
            (
                "plugins: plugins/*\n",
                (1, 10),
                "`plugins` must be a list of globs, found a string",
            ),
            (
                "plugins: []\n",
                (1, 10),
                "`plugins` must list at least one glob",
            ),
            (
                "plugins:\n",
                (1, 8),
                "`plugins` must be a list of globs, found null",
            ),
            (
                "plugins: [a, 3]\n",
                (1, 14),
                "`plugins` entries must be strings, found an integer",
            ),
            (
                "plugins: [a, \"\"]\n",
                (1, 14),
                "glob \"\" in `plugins` must not be empty",
            ),
            (
                "plugins:\n  - ok/*\n  - /abs/*\n",
                (3, 5),
                "glob \"/abs/*\" in `plugins` must be relative to the repository root (no leading `/`)",
            ),
            (
                "plugins: [\"a/../b/*\"]\n",
                (1, 11),
                "glob \"a/../b/*\" in `plugins` must not contain a `..` component",
            ),
            (
                "plugins: ['plugins\\*']\n",
                (1, 11),
                "glob \"plugins\\\\*\" in `plugins` must separate path components with `/`, not `\\`",
            ),
        ];
        for (yaml, pos, message) in cases {
            let e = err(yaml);
            assert_eq!((at(&e), e.message.as_str()), (pos, message), "{yaml:?}");
        }
        assert_eq!(
            ok("plugins: [\"..x/*\", \"a..b\"]").plugins,
            ["..x/*", "a..b"]
        );
    }

    #[test]
    fn globs_over_the_limits_are_errors_at_their_line_and_shown_short() {
        let huge = "*".repeat(100_000);
        let e = err(&format!("plugins:\n  - ok/*\n  - \"{huge}\"\n"));
        assert_eq!(at(&e), (3, 5));
        assert!(
            e.message.contains("100000 bytes, over the limit of 1024"),
            "{}",
            e.message
        );
        assert!(e.message.len() < 200, "{}", e.message);
        let e = err(&format!("reload:\n  hot: [\"{}\"]\n", "a?".repeat(33)));
        assert_eq!(at(&e).0, 2);
        assert!(e.message.contains("33 wildcards"), "{}", e.message);
        let e = err("plugins: [\"a/{b,c\"]\n");
        assert!(e.message.contains("is not a valid glob"), "{}", e.message);
        assert!(compile_glob(&"*/".repeat(32)).is_ok());
        assert_eq!(shown_glob("abc"), "abc");
        assert_eq!(shown_glob(&"é".repeat(61)), format!("{}…", "é".repeat(60)));
    }

    #[test]
    fn lock_validation() {
        for (yaml, message) in [
            ("lock: \"\"", "`lock` must not be empty"),
            (
                "lock: /etc/x.lock",
                "`lock` must be relative to the repository root",
            ),
            ("lock: plugins/", "`lock` must name a file"),
            (
                "lock: ../x.lock",
                "`lock` must not contain a `..` component",
            ),
            (
                "lock: a/../x.lock",
                "`lock` must not contain a `..` component",
            ),
            ("lock: ./x.lock", "`lock` must be a normalized path"),
            ("lock: a//x.lock", "`lock` must be a normalized path"),
            (
                "lock: 'a\\x.lock'",
                "`lock` must separate path components with `/`",
            ),
            ("lock: [a]", "`lock` must be a string, found a sequence"),
            ("lock: 5", "`lock` must be a string, found an integer"),
        ] {
            let e = err(&format!("# c\n{yaml}\n"));
            assert_eq!(at(&e), (2, 7), "{yaml}");
            assert!(e.message.starts_with(message), "{yaml}: {}", e.message);
        }
        assert_eq!(ok("lock: PLUGINS.lock").lock, "PLUGINS.lock");
        assert_eq!(ok("lock: a/b/c.json").lock, "a/b/c.json");
    }

    #[test]
    fn manifest_none_and_null() {
        assert_eq!(ok("manifest: none\n").manifest, None);
        assert_eq!(ok("manifest: null\n").manifest, None);
        assert_eq!(ok("manifest: ~\n").manifest, None);
        assert_eq!(ok("manifest:\n").manifest, None);
        assert_eq!(ok("manifest: \"none\"\n").manifest, None);
        assert_eq!(
            ok("manifest: extension.yml\n").manifest.as_deref(),
            Some("extension.yml")
        );
    }

    #[test]
    fn manifest_validation() {
        for yaml in [
            "manifest: a/plugin.yaml",
            "manifest: \"\"",
            "manifest: ..",
            "manifest: 'a\\b'",
        ] {
            let e = err(yaml);
            assert_eq!(at(&e), (1, 11), "{yaml}");
            assert!(
                e.message
                    .starts_with("`manifest` must be a plain file name"),
                "{}",
                e.message
            );
        }
        let e = err("manifest: [a]");
        assert_eq!(
            e.message,
            "`manifest` must be a file name or `none`, found a sequence"
        );
        let e = err("manifest: false");
        assert_eq!(
            e.message,
            "`manifest` must be a file name or `none`, found a boolean"
        );
    }

    #[test]
    fn symlinks_values() {
        assert_eq!(ok("symlinks: follow").symlinks, SymlinkPolicy::Follow);
        assert_eq!(ok("symlinks: as-link").symlinks, SymlinkPolicy::AsLink);
        let e = err("lock: x.lock\nsymlinks: bogus\n");
        assert_eq!(at(&e), (2, 11));
        assert_eq!(
            e.message,
            "`symlinks` must be `follow` or `as-link`, found \"bogus\""
        );
        let e = err("symlinks: true");
        assert_eq!(
            e.message,
            "`symlinks` must be `follow` or `as-link`, found a boolean"
        );
    }

    #[test]
    fn owners_validation() {
        assert_eq!(ok("owners:\n").required_owners, Vec::<String>::new());
        assert!(ok("owners: {}\n").plugins_must_be_owned);
        for good in [
            "@user",
            "@org/team",
            "@my-org/team_name",
            "a.b@example.com",
            "@Org.Name/x",
        ] {
            assert_eq!(
                ok(&format!("owners: {{required: [{good:?}]}}")).required_owners,
                [good]
            );
        }
        for bad in [
            "user", "@", "@/team", "@org/", "@a/b/c", "@a b", "a@", "@", "a@b@c", "", "@x\ty",
        ] {
            let e = err(&format!("owners:\n  required:\n    - {bad:?}\n"));
            assert_eq!(at(&e), (3, 7), "{bad:?}");
            assert!(
                e.message
                    .contains("must look like @user, @org/team or an email address"),
                "{}",
                e.message
            );
        }
        let e = err("owners:\n  required: \"@a\"\n");
        assert_eq!(at(&e), (2, 13));
        assert_eq!(
            e.message,
            "`owners.required` must be a list of owners, found a string"
        );
        let e = err("owners:\n  required: [[\"@a\"]]\n");
        assert_eq!(
            e.message,
            "`owners.required` entries must be strings, found a sequence"
        );
        let e = err("owners:\n  plugins_must_be_owned: \"yes\"\n");
        assert_eq!(at(&e), (2, 26));
        assert_eq!(
            e.message,
            "`owners.plugins_must_be_owned` must be true or false, found a string"
        );
        // YAML 1.2: `yes` is a string, not a boolean.
        assert!(
            err("owners: {plugins_must_be_owned: yes}")
                .message
                .ends_with("found a string")
        );
        let e = err("owners: [\"@a\"]\n");
        assert_eq!(e.message, "`owners` must be a mapping, found a sequence");
    }

    #[test]
    fn reload_validation() {
        assert_eq!(ok("reload:\n").hot, ["**/SKILL.md"]);
        assert_eq!(ok("reload: {}\n").hot, ["**/SKILL.md"]);
        assert_eq!(
            ok("reload: {hot: [\"*.md\", docs/**]}\n").hot,
            ["*.md", "docs/**"]
        );
        let e = err("reload:\n  hot: [\"/x.md\"]\n");
        assert_eq!(at(&e), (2, 9));
        assert_eq!(
            e.message,
            "glob \"/x.md\" in `reload.hot` must be relative to the plugin directory (no leading `/`)"
        );
        let e = err("reload:\n  hot: \"**/SKILL.md\"\n");
        assert_eq!(
            e.message,
            "`reload.hot` must be a list of globs, found a string"
        );
        let e = err("reload: hot\n");
        assert_eq!(e.message, "`reload` must be a mapping, found a string");
    }

    #[test]
    fn severity_overrides_keep_order_and_positions() {
        let c = ok(
            "severity:\n  lock_not_canonical: off\n  codeowners_missing: error\n  \
                    made_up_kind: warning\n",
        );
        let got: Vec<_> = c
            .severity
            .iter()
            .map(|s| (s.kind.as_str(), s.level, s.line, s.column))
            .collect();
        assert_eq!(
            got,
            [
                ("lock_not_canonical", Level::Off, 2, 3),
                ("codeowners_missing", Level::Error, 3, 3),
                ("made_up_kind", Level::Warning, 4, 3),
            ]
        );
        assert!(ok("severity:\n").severity.is_empty());
        assert_eq!(ok("severity: {a: warning}").severity[0].column, 12);
    }

    #[test]
    fn severity_validation() {
        let e = err("severity:\n  lock_not_canonical: warn\n");
        assert_eq!(at(&e), (2, 23));
        assert_eq!(
            e.message,
            "severity of `lock_not_canonical` must be error, warning or off, found \"warn\""
        );
        let e = err("severity:\n  x: false\n");
        assert_eq!(
            e.message,
            "severity of `x` must be error, warning or off, found a boolean"
        );
        let e = err("severity:\n  x:\n");
        assert_eq!(
            e.message,
            "severity of `x` must be error, warning or off, found null"
        );
        let e = err("severity:\n  1: off\n");
        assert_eq!(at(&e), (2, 3));
        assert_eq!(
            e.message,
            "keys in `severity` must be finding kinds, found an integer"
        );
        let e = err("severity: [x]\n");
        assert!(
            e.message.starts_with("`severity` must be a mapping"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cli_value_parsers() {
        assert_eq!(parse_symlink_policy("follow"), Some(SymlinkPolicy::Follow));
        assert_eq!(parse_symlink_policy("as-link"), Some(SymlinkPolicy::AsLink));
        assert_eq!(parse_symlink_policy("Follow"), None);
        assert_eq!(parse_symlink_policy("bogus"), None);
        assert_eq!(parse_level("error"), Some(Level::Error));
        assert_eq!(parse_level("warning"), Some(Level::Warning));
        assert_eq!(parse_level("off"), Some(Level::Off));
        assert_eq!(parse_level("warn"), None);
        assert_eq!(parse_level(""), None);
    }

    #[test]
    fn syntax_error_position() {
        let e = err("lock: x.lock\nplugins: [a\n");
        assert_eq!(at(&e), (2, 10));
        assert_eq!(e.message, "unclosed bracket '['");
    }

    #[test]
    fn aliases_work() {
        let c = ok("plugins: &p [\"a/*\"]\nreload:\n  hot: *p\n");
        assert_eq!(c.hot, ["a/*"]);
        let e = err("x: &bad /abs\nplugins: [*bad]\n");
        assert_eq!(e.line, 1);
        assert!(e.message.starts_with("unknown key `x`"), "{}", e.message);
    }

    #[test]
    fn too_large() {
        let mut big = b"# ".to_vec();
        big.resize(MAX_CONFIG_BYTES + 1, b'x');
        let e = parse(&big).unwrap_err();
        assert_eq!(at(&e), (1, 1));
        assert!(e.message.contains("over the limit"), "{}", e.message);
        big.truncate(MAX_CONFIG_BYTES);
        assert_eq!(parse(&big).unwrap(), Config::default());
    }

    #[test]
    fn invalid_utf8() {
        let e = parse(b"lock: x.lock\n# caf\xc3\xa9 \xc3\n").unwrap_err();
        assert_eq!(at(&e), (2, 8));
        assert!(e.message.contains("not valid UTF-8"), "{}", e.message);
    }

    fn assert_fast_rejection(yaml: &str) -> ConfigError {
        let start = Instant::now();
        let result = parse(yaml.as_bytes());
        let elapsed = start.elapsed();
        assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
        result.unwrap_err()
    }

    #[test]
    fn alias_bomb_is_rejected_fast() {
        // 9 levels of 9 aliases: ~4 * 10^8 nodes if expanded.
        let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let refs = vec![format!("*{}", pair[0]); 9].join(", ");
            bomb.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
        }
        let e = assert_fast_rejection(&bomb);
        assert_eq!(e.message, "YAML aliases expand to more than 10000 nodes");
        assert!(e.line > 1);
        // Inside a section that is otherwise valid: the parser stops it before any check.
        let nested = format!(
            "severity:\n{}",
            bomb.replace(": &", "_kind: &")
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        );
        let e = assert_fast_rejection(&nested);
        assert_eq!(e.message, "YAML aliases expand to more than 10000 nodes");
    }

    #[test]
    fn deep_nesting_is_rejected_fast() {
        let n = 100_000;
        for yaml in [
            "[".repeat(n),
            format!("plugins: {}{}", "[".repeat(n), "]".repeat(n)),
            "{a: ".repeat(n),
            format!("owners:\n  required:\n    {}", "- ".repeat(n)),
        ] {
            let e = assert_fast_rejection(&yaml);
            assert!(e.message.contains("nesting"), "{}", e.message);
        }
        // Within the limit the structure is read and then rejected for its type.
        let deep = format!(
            "plugins: {}{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(
            err(&deep).message,
            "`plugins` entries must be strings, found a sequence"
        );
    }

    /// Deterministic byte mutations: never a panic, every error positioned.
    #[test]
    fn mutations_never_panic() {
        let seeds: [&[u8]; 4] = [
            b"plugins: [\"plugins/*\"]\nlock: plugins/PLUGINS.lock\nmanifest: none\nsymlinks: as-link\n",
            b"owners:\n  required: [\"@acme/platform\", a@b.c]\n  plugins_must_be_owned: true\nreload:\n  hot: [\"**/SKILL.md\"]\n",
            b"severity:\n  lock_not_canonical: warning\n  x: off\n? [k]\n: &a {y: *a}\n",
            b"{plugins: [a/*], lock: 'l.lock', manifest: ~, owners: {required: []}, severity: {}}",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const INTERESTING: &[u8] = b"[]{}:-?&*!|>'\"#%@`,\n\r\t \\/.\x00\xff\xc3";
        for round in 0..3_000 {
            let seed = seeds[round % seeds.len()];
            let mut bytes = seed.to_vec();
            for _ in 0..1 + next() % 4 {
                let pos = (next() as usize) % (bytes.len() + 1);
                let byte = if next() % 2 == 0 {
                    INTERESTING[(next() as usize) % INTERESTING.len()]
                } else {
                    next() as u8
                };
                match next() % 3 {
                    0 if pos < bytes.len() => bytes[pos] = byte,
                    1 if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => bytes.insert(pos, byte),
                }
            }
            if let Err(e) = parse(&bytes) {
                assert!(e.line >= 1 && e.column >= 1, "{e:?} for {bytes:?}");
                assert!(!e.message.is_empty());
            }
        }
    }
}

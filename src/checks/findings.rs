//! Findings: every kind with its default severity, the finding itself (always located
//! at a file and a line ≥ 1), the `severity:` overrides, and the report order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::config::{Level, SeverityOverride};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $default:ident, contract: $contract:literal,
        $summary:literal $fix:literal; )*) => {
        /// A stable finding kind (DESIGN.md's table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $( $variant, )* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$( Kind::$variant, )*];

            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$variant => $name, )* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $( Kind::$variant => Severity::$default, )* }
            }

            /// Part of the integrity contract: `severity:` cannot lower it.
            pub fn is_contract(self) -> bool {
                match self { $( Kind::$variant => $contract, )* }
            }


            /// One line on what the kind means (rule descriptions).
            pub fn summary(self) -> &'static str {
                match self { $( Kind::$variant => $summary, )* }
            }

            /// How to fix a finding of this kind, in general.
            pub fn fix(self) -> &'static str {
                match self { $( Kind::$variant => $fix, )* }
            }

            pub fn from_name(name: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.as_str() == name)
            }
        }
    };
}

kinds! {
    IntegrityMismatch => "integrity_mismatch", Error, contract: true,
        "A plugin's digest differs from its lock entry."
        "If the change is intended, run `plugin-lock update`, review the diff and commit the lock; otherwise restore the plugin's files.";
    UnlockedPlugin => "unlocked_plugin", Error, contract: true,
        "A plugin directory has no lock entry."
        "Run `plugin-lock update` to add the plugin's entry, review it and commit the lock.";
    MissingPluginDirectory => "missing_plugin_directory", Error, contract: true,
        "A lock entry has no plugin directory."
        "Restore the plugin directory, or run `plugin-lock update` to drop the entry and commit the lock.";
    PluginRenamed => "plugin_renamed", Error, contract: true,
        "A lock entry has no directory and an unlocked directory has the entry's digest: the plugin moved."
        "Run `plugin-lock update` to rename the lock entry, review it and commit the lock.";
    PluginsGlobUnmatched => "plugins_glob_unmatched", Error, contract: false,
        "A `plugins` glob matches no directory, so nothing it was meant to select is verified."
        "Fix the glob in `.plugin-lock.yml` (or run `plugin-lock init`), or remove it; an empty lock `{}` with no plugin at all is the one state where nothing is expected.";
    NestedPlugin => "nested_plugin", Error, contract: false,
        "A plugin directory is inside another plugin directory, so its files are in both digests."
        "Narrow the `plugins` globs, or add the inner or the outer directory to `exclude:`.";
    MissingManifest => "missing_manifest", Error, contract: false,
        "A plugin directory has no manifest."
        "Add the plugin's manifest (`plugin.yaml` by default, with `name` equal to the directory's name and a semver `version`; `manifest:` can name a `SKILL.md` or a `plugin.json` instead), or set `manifest: none`.";
    BytecodeCommitted => "bytecode_committed", Error, contract: false,
        "A plugin carries committed Python bytecode (`__pycache__/`, `*.pyc`, `*.pyo`), which Python runs instead of the locked sources."
        "Remove the bytecode from git (`git rm -r --cached <plugin>/__pycache__`), commit, and add `__pycache__/` and `*.py[co]` to `.gitignore`.";
    SchemaViolation => "schema_violation", Error, contract: false,
        "A manifest does not parse or breaks the schema."
        "Fix the manifest: it must parse as its format (YAML, front matter, JSON) and follow its rules; the finding's help says which (`plugin.yaml` by default: `name` equal to the directory's name and a semver `version`).";
    SymlinkEscape => "symlink_escape", Error, contract: true,
        "A symlink points outside its plugin or the repository."
        "Point the link at a file inside the plugin, or commit the file itself.";
    SymlinkLoop => "symlink_loop", Error, contract: true,
        "A symlink does not resolve within 40 links."
        "Break the cycle of links.";
    DanglingSymlink => "dangling_symlink", Error, contract: true,
        "A symlink points to nothing in the tree."
        "Commit the file the link points to or remove the link (or set `symlinks: as-link`).";
    UnsupportedEntry => "unsupported_entry", Error, contract: true,
        "A submodule, a symlink to a directory, or a file over the blob size limit, where a plugin file or directory should be."
        "Commit the files themselves: a plugin is a directory of regular files and links to files, each at most the blob size limit (`--max-blob-size`, 64 MiB by default).";
    UnsupportedPath => "unsupported_path", Error, contract: true,
        "A file name that is not UTF-8 or contains a control character."
        "Rename the entry: names must be UTF-8 without control characters.";
    LockMalformed => "lock_malformed", Error, contract: true,
        "The lock is not a flat JSON object of plugin id to 64 lowercase hex digits."
        "Fix the JSON, or rewrite the lock from the plugins with `plugin-lock update`, and commit it.";
    LockConflict => "lock_conflict", Error, contract: true,
        "The lock holds merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`)."
        "Resolve with `plugin-lock update`: it rewrites the lock from the merged plugins and reports each entry against both sides; review and commit it.";
    LockMissing => "lock_missing", Error, contract: true,
        "Plugins exist but the lock does not."
        "Run `plugin-lock update` to create the lock, review it and commit it.";
    LockNotCanonical => "lock_not_canonical", Warning, contract: false,
        "The lock's bytes differ from what `plugin-lock update` writes."
        "Run `plugin-lock update` to rewrite the lock canonically and commit it.";
    CodeownersMissing => "codeowners_missing", Warning, contract: false,
        "No CODEOWNERS file."
        "Add `.github/CODEOWNERS` that assigns the lock, the configuration and every plugin to owners.";
    CodeownersSyntax => "codeowners_syntax", Error, contract: false,
        "A CODEOWNERS line that GitHub would skip."
        "Fix the line: GitHub skips it, so its paths fall to earlier rules.";
    CodeownersDuplicatePattern => "codeowners_duplicate_pattern", Warning, contract: false,
        "The same CODEOWNERS pattern on two lines."
        "Merge the owners onto one line: only the last line with a pattern counts.";
    CodeownersShadowedRule => "codeowners_shadowed_rule", Warning, contract: false,
        "A CODEOWNERS rule that decides no file because later rules win."
        "Remove the rule or move it below the rules that override it.";
    CodeownersMultipleFiles => "codeowners_multiple_files", Warning, contract: false,
        "More than one CODEOWNERS location has a file."
        "Keep one CODEOWNERS file: GitHub reads only the first of .github/, the root and docs/.";
    LockNotOwned => "lock_not_owned", Error, contract: false,
        "The lock or the configuration is not owned by the required owners."
        "Assign the lock and the configuration in CODEOWNERS to the required owners only.";
    PluginNotOwned => "plugin_not_owned", Error, contract: false,
        "A plugin has files with no owner."
        "Add CODEOWNERS rules that give every plugin file an owner.";
    LockOwnershipChanged => "lock_ownership_changed", Error, contract: false,
        "CODEOWNERS changed who owns the lock or the configuration."
        "Change CODEOWNERS in a separate pull request that the current owners approve.";
    ApprovalMissing => "approval_missing", Error, contract: false,
        "The lock or configuration changed without an approval from a required owner."
        "Ask a required owner to review and approve the pull request.";
    ApprovalUnverifiable => "approval_unverifiable", Warning, contract: false,
        "The GitHub API refused an approval lookup."
        "Give the token read access to pull requests and organization members, or check the approval by hand.";
    EolConversion => "eol_conversion", Warning, contract: false,
        "A text file of a plugin that git checks out with other line ends than its blob on some platform (CRLF on Windows), or a text-attributed blob with CRLF that the next `git add` changes."
        "Pin the plugin tree's line ends in `.gitattributes` (`plugins/** -text` keeps bytes exact; `plugins/** text=auto eol=lf` normalizes), then `git add --renormalize`.";
    CaseCollision => "case_collision", Warning, contract: false,
        "Two paths of a plugin differ only in case: Windows and macOS (case-insensitive file systems) check out one file for both."
        "Rename one of them so that the names differ by more than case.";
    UnicodeCollision => "unicode_collision", Warning, contract: false,
        "Two paths of a plugin are the same name after Unicode normalization: macOS checks out one file for both."
        "Rename one of them (keep the NFC form).";
    UnicodeUnnormalized => "unicode_unnormalized", Warning, contract: false,
        "A path of a plugin is not in Unicode NFC: macOS may hand it back in another form, with other bytes."
        "Rename it to its NFC form.";
    WindowsInvalidName => "windows_invalid_name", Warning, contract: false,
        "A path of a plugin that Windows refuses (a device name such as `CON` or `aux.txt`, a trailing dot or space, `<>:\"|?*\\`, over 260 characters): git for Windows does not check it out."
        "Rename it to a name Windows accepts.";
    SymlinkCheckout => "symlink_checkout", Warning, contract: false,
        "A symlink inside a plugin: Windows without symlink support (`core.symlinks=false`) checks it out as a small text file holding the target."
        "Commit the file itself instead of the link, or make sure every loader's machine checks links out as links.";
    UnusedIgnore => "unused_ignore", Warning, contract: false,
        "An `ignore:` entry in `.plugin-lock.yml` suppresses no finding."
        "Remove the entry: the finding it was written for is gone, or its kind, plugin or path is misspelled.";
    BaseUnavailable => "base_unavailable", Warning, contract: false,
        "The base revision is not in the repository."
        "Fetch the base revision (`fetch-depth: 0` in actions/checkout, or `git fetch --no-tags --depth=1 origin <sha>`); in a pull request it is an error that `severity:` cannot lower.";
}

/// Where a kind is documented: `docs/findings.md` in the repository named by
/// Cargo.toml, at the kind's anchor.
pub fn help_uri(kind: Kind) -> String {
    format!(
        "{}/blob/main/docs/findings.md#{}",
        env!("CARGO_PKG_REPOSITORY"),
        kind.as_str()
    )
}

impl Kind {
    /// Which findings get the few places a report has (GitHub shows 10 annotations per
    /// severity): the integrity contract first, then ownership, then the plugins' own
    /// files (manifests, bytecode), then the rest. Lower comes first.
    pub fn priority(self) -> u8 {
        use Kind::*;
        match self {
            IntegrityMismatch
            | UnlockedPlugin
            | MissingPluginDirectory
            | SymlinkEscape
            | SymlinkLoop
            | DanglingSymlink
            | UnsupportedEntry
            | UnsupportedPath
            | LockMalformed
            | LockConflict
            | LockMissing
            | PluginRenamed => 0,
            CodeownersMissing
            | CodeownersSyntax
            | CodeownersDuplicatePattern
            | CodeownersShadowedRule
            | CodeownersMultipleFiles
            | LockNotOwned
            | PluginNotOwned
            | LockOwnershipChanged
            | ApprovalMissing
            | ApprovalUnverifiable
            | PluginsGlobUnmatched
            | NestedPlugin => 1,
            MissingManifest | SchemaViolation | BytecodeCommitted => 2,
            LockNotCanonical | BaseUnavailable | UnusedIgnore | EolConversion | CaseCollision
            | UnicodeCollision | UnicodeUnnormalized | WindowsInvalidName | SymlinkCheckout => 3,
        }
    }
}

/// One finding. `message` says what happened and what to do.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub plugin: Option<String>,
    pub path: String,
    pub line: u32,
    pub column: Option<u32>,
    /// The headline: what is wrong, in one line ([`Finding::title`] reads it).
    pub title: Title,
    /// Detail lines for people (`expected: …`); most labels and some values are fixed
    /// text, which is not copied for each finding.
    pub notes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// What to do about it; integrity findings name the command that fixes them.
    /// Shared: one plugin tree's fix is the same text for each of its thousands of
    /// `eol_conversion` findings.
    pub help: Option<Arc<str>>,
    /// Kind-specific fields of the JSON shape.
    pub fields: Fields,
}

impl Finding {
    pub fn new(kind: Kind, path: impl Into<String>, line: u32, title: impl Into<Title>) -> Finding {
        Finding {
            kind,
            severity: kind.default_severity(),
            plugin: None,
            path: path.into(),
            line: line.max(1),
            column: None,
            title: title.into(),
            notes: Vec::new(),
            help: None,
            fields: Fields::default(),
        }
    }

    pub fn plugin(mut self, id: impl Into<String>) -> Finding {
        self.plugin = Some(id.into());
        self
    }

    pub fn column(mut self, column: u32) -> Finding {
        self.column = Some(column.max(1));
        self
    }

    pub fn note(
        mut self,
        label: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Finding {
        // Most findings have one note or none: a push would reserve four.
        self.notes.reserve_exact(1);
        self.notes.push((label.into(), value.into()));
        self
    }

    pub fn help(mut self, help: impl Into<Arc<str>>) -> Finding {
        self.help = Some(help.into());
        self
    }

    /// Several fields at once, with room for exactly these.
    pub fn fields<const N: usize>(
        mut self,
        fields: [(&'static str, serde_json::Value); N],
    ) -> Finding {
        self.fields.0.reserve_exact(N);
        for (name, value) in fields {
            self.fields.insert(name, value);
        }
        self
    }

    pub fn field(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Finding {
        self.fields.insert(name, value.into());
        self
    }

    /// The headline: what is wrong, in one line.
    pub fn title(&self) -> Cow<'_, str> {
        match &self.title {
            Title::Text(text) => Cow::Borrowed(text),
            Title::OfPath(write) => Cow::Owned(write(&self.path)),
        }
    }

    /// The whole message in one string: headline, then what to do.
    pub fn message(&self) -> String {
        compose(&self.title(), self.help.as_deref())
    }
}

/// A finding's headline: written when the finding is made, or written from its path
/// when it is read. A tree without `.gitattributes` has an `eol_conversion` per text
/// file, tens of thousands, and most are only counted (the terminal shows ten of a
/// kind, the pre-push hook a number): their headlines are not written for that.
#[derive(Debug, Clone)]
pub enum Title {
    Text(String),
    OfPath(fn(&str) -> String),
}

impl From<String> for Title {
    fn from(text: String) -> Title {
        Title::Text(text)
    }
}

impl From<&str> for Title {
    fn from(text: &str) -> Title {
        Title::Text(text.to_owned())
    }
}

/// A finding's kind-specific fields, by name, each once, kept sorted so that the JSON
/// shape lists them as a map would. A finding has a few at most: a sorted vector costs
/// a tenth of a map's node, which counts when a tree has tens of thousands of findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields(Vec<(&'static str, serde_json::Value)>);

impl Fields {
    /// Sets `name`, replacing its value if it is there.
    pub fn insert(&mut self, name: &'static str, value: serde_json::Value) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&name)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => {
                // One slot at a time: a push would reserve four.
                self.0.reserve_exact(1);
                self.0.insert(i, (name, value));
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &serde_json::Value)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = serde_json::Value;

    /// `Value::Null` for a missing field, as `serde_json::Value` indexes.
    fn index(&self, name: &str) -> &serde_json::Value {
        self.get(name).unwrap_or(&serde_json::Value::Null)
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A message from a headline and what to do (`report::message` caps the parts).
pub fn compose(title: &str, help: Option<&str>) -> String {
    match help {
        Some(help) => {
            let mut chars = help.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            format!("{title}. {}{}", first.unwrap_or_default(), chars.as_str())
        }
        None => title.to_owned(),
    }
}

/// The `severity:` map, validated: known kinds only, the integrity contract not lowered.
#[derive(Debug, Clone, Default)]
pub struct Levels(BTreeMap<Kind, Level>);

impl Levels {
    pub fn from_config(overrides: &[SeverityOverride], file: &str) -> Result<Levels, Error> {
        let mut map = BTreeMap::new();
        for o in overrides {
            let err = |message: String| Error::Config {
                file: file.to_owned(),
                line: o.line,
                column: o.column,
                message,
            };
            let kind = Kind::from_name(&o.kind).ok_or_else(|| {
                err(format!(
                    "unknown finding kind `{}` under `severity` (known: {})",
                    o.kind,
                    Kind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if kind.is_contract() && o.level != Level::Error {
                return Err(err(format!(
                    "`{}` is part of the integrity contract and is always an error",
                    o.kind
                )));
            }
            map.insert(kind, o.level);
        }
        Ok(Levels(map))
    }

    /// Applies the overrides, drops what is `off`, and sorts by (path, line, kind, plugin).
    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        let mut out: Vec<Finding> = findings
            .into_iter()
            .filter_map(|mut f| {
                match self.0.get(&f.kind) {
                    Some(Level::Off) => return None,
                    Some(Level::Error) => f.severity = Severity::Error,
                    Some(Level::Warning) => f.severity = Severity::Warning,
                    None => {}
                }
                Some(f)
            })
            .collect();
        sort(&mut out);
        out
    }
}

/// The report order: by file, line, kind, plugin, column, then headline.
pub fn report_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.path, a.line, a.kind.as_str(), &a.plugin, a.column)
        .cmp(&(&b.path, b.line, b.kind.as_str(), &b.plugin, b.column))
        // Only on a tie, so that a headline written when read is rarely written here.
        .then_with(|| a.title().cmp(&b.title()))
}

/// Sorts `findings` into the report order, stably. A finding is large and they come
/// nearly in order (plugin by plugin, each plugin's files in tree order), tens of
/// thousands of them in a tree without `.gitattributes`: their indices are sorted (a
/// stable sort finds the runs already in order) and each finding then moves once.
pub fn sort(findings: &mut [Finding]) {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| report_order(&findings[a], &findings[b]));
    // Position `i` takes the finding at `order[i]`, one cycle of the permutation at a
    // time; a position done points at itself.
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            findings.swap(at, from);
            at = from;
        }
    }
}

/// Findings per kind and severity, the most important kinds first ([`Kind::priority`]).
pub fn statistics(findings: &[Finding]) -> Vec<(Kind, Severity, usize)> {
    let mut counts: BTreeMap<(u8, Kind, Severity), usize> = BTreeMap::new();
    for f in findings {
        *counts
            .entry((f.kind.priority(), f.kind, f.severity))
            .or_default() += 1;
    }
    counts.into_iter().map(|((_, k, s), n)| (k, s, n)).collect()
}

/// The report order for the places that cannot show everything (annotations, the job
/// summary): [`Kind::priority`] first, then path and line.
pub fn by_priority(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.kind.priority(), &a.path, a.line).cmp(&(b.kind.priority(), &b.path, b.line))
}

pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_is_the_report_order_and_stable() {
        // Out of order in runs, with ties that only the headline or the input order breaks.
        let mut findings = Vec::new();
        for (i, path) in ["b/2", "b/1", "a/9", "c/1", "a/1", "b/2", "a/1", "c/0"]
            .iter()
            .enumerate()
        {
            let title = if i % 3 == 0 { "second" } else { "first" };
            findings.push(
                Finding::new(Kind::EolConversion, *path, 1, title).note("input", i.to_string()),
            );
        }
        findings.push(Finding::new(Kind::CaseCollision, "a/1", 1, "first"));
        let mut want = findings.clone();
        want.sort_by(report_order);
        sort(&mut findings);
        let seen = |f: &[Finding]| -> Vec<String> {
            f.iter()
                .map(|f| format!("{} {} {} {:?}", f.path, f.kind.as_str(), f.title(), f.notes))
                .collect()
        };
        assert_eq!(seen(&findings), seen(&want));
        assert_eq!(findings[0].path, "a/1");
        assert_eq!(findings.last().map(|f| f.path.as_str()), Some("c/1"));
        // Already sorted stays as it is.
        sort(&mut findings);
        assert_eq!(seen(&findings), seen(&want));
    }

    #[test]
    fn fields_serialize_as_a_sorted_map_each_name_once() {
        let mut fields = Fields::default();
        fields.insert("expected", "b".into());
        fields.insert("actual", "a".into());
        fields.insert("expected", "c".into());
        assert_eq!(fields.get("expected"), Some(&serde_json::json!("c")));
        assert_eq!(fields["missing"], serde_json::Value::Null);
        assert_eq!(
            serde_json::to_string(&fields).ok().as_deref(),
            Some(r#"{"actual":"a","expected":"c"}"#)
        );
        let names: Vec<&str> = fields.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["actual", "expected"]);
    }

    /// docs/findings.md documents exactly the closed list: one `## kind` section each,
    /// with its five parts, and a table row whose severity and contract match the code.
    #[test]
    fn every_kind_has_its_documentation_page_and_nothing_else_does() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let mut documented: Vec<&str> =
            docs.lines().filter_map(|l| l.strip_prefix("## ")).collect();
        let mut kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, kinds, "documented in the code's order");
        documented.sort_unstable();
        kinds.sort_unstable();
        documented.dedup();
        assert_eq!(documented.len(), kinds.len(), "each kind once");
        for kind in Kind::ALL {
            let name = kind.as_str();
            let start = docs.find(&format!("\n## {name}\n")).unwrap();
            let rest = &docs[start + name.len() + 5..];
            let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
            for part in [
                "**Raised when**",
                "**Why it matters.**",
                "**How to fix.**",
                "**Example**",
                "**Severity.**",
            ] {
                assert!(section.contains(part), "{name}: no {part}");
            }
            let row = format!(
                "| [`{name}`](#{name}) | {} | {} |",
                kind.default_severity().as_str(),
                if kind.is_contract() { "yes" } else { "no" }
            );
            assert!(docs.contains(&row), "{name}: the table says `{row}`");
        }
    }

    #[test]
    fn the_integrity_contract_comes_first_and_only_it() {
        for kind in Kind::ALL {
            assert_eq!(
                kind.is_contract(),
                kind.priority() == 0,
                "{}",
                kind.as_str()
            );
        }
    }
}

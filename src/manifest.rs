//! Validates one plugin's manifest (`plugin.yaml`): it must be a YAML mapping whose
//! `name` equals the plugin directory's name and whose `version` is semver; other keys
//! are allowed and ignored. Every problem found is reported with a 1-based line and
//! column, sorted by position.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Location, Spanned};

/// Largest manifest accepted, in bytes. Callers check the blob size before reading it
/// too; `check` enforces it again so it is safe on any input.
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// A manifest that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    /// The version as `semver` prints it (normalized).
    pub version: String,
}

/// One problem in a manifest. `line` and `column` are 1-based and always >= 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Checks the bytes of `<plugin>/plugin.yaml`; `dir_name` is the plugin directory's last
/// path component. Returns every problem found (never an empty list) on failure.
pub fn check(bytes: &[u8], dir_name: &str) -> Result<Manifest, Vec<ManifestProblem>> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(vec![problem(
            1,
            1,
            format!(
                "manifest is {} bytes, over the limit of {MAX_MANIFEST_BYTES} bytes",
                bytes.len()
            ),
        )]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let (line, column) = utf8_error_position(bytes, err.valid_up_to());
            let byte = bytes.get(err.valid_up_to()).copied().unwrap_or(0);
            return Err(vec![problem(
                line,
                column,
                format!("manifest is not valid UTF-8 (byte 0x{byte:02x})"),
            )]);
        }
    };
    let root = parse_yaml(text).map_err(|p| vec![p])?;
    let entries = match &root.value {
        Node::Map(entries) => entries,
        Node::Null => return Err(vec![problem(1, 1, "manifest is empty".to_owned())]),
        other => {
            let (line, column) = position(&root.referenced);
            return Err(vec![problem(
                line,
                column,
                format!(
                    "manifest must be a mapping of keys to values, found {}",
                    other.kind()
                ),
            )]);
        }
    };

    let mut name = None;
    let mut version = None;
    for (key, value) in entries {
        // Duplicate keys never get here: the parser rejects them with their position.
        match &key.value {
            Node::Str(k) if k == "name" => name = Some(value),
            Node::Str(k) if k == "version" => version = Some(value),
            _ => {}
        }
    }

    let mut problems = Vec::new();
    let (map_line, map_column) = position(&root.referenced);
    let name = match name {
        None => {
            problems.push(problem(
                map_line,
                map_column,
                "missing required key `name`".to_owned(),
            ));
            None
        }
        Some(value) => {
            let (line, column) = position(&value.referenced);
            match &value.value {
                Node::Str(s) if s == dir_name => Some(s.clone()),
                Node::Str(s) => {
                    problems.push(problem(
                        line,
                        column,
                        format!("name {s:?} does not match the plugin directory {dir_name:?}"),
                    ));
                    None
                }
                _ => {
                    problems.push(problem(line, column, "name must be a string".to_owned()));
                    None
                }
            }
        }
    };
    let version = match version {
        None => {
            problems.push(problem(
                map_line,
                map_column,
                "missing required key `version`".to_owned(),
            ));
            None
        }
        Some(value) => {
            let (line, column) = position(&value.referenced);
            match &value.value {
                Node::Str(s) => match semver::Version::parse(s) {
                    Ok(v) => Some(v.to_string()),
                    Err(_) => {
                        problems.push(problem(
                            line,
                            column,
                            format!("version {s:?} is not semver (MAJOR.MINOR.PATCH)"),
                        ));
                        None
                    }
                },
                // `version: 1.0` is a float and `version: 1` an integer in YAML; their
                // text is already lost, so ask for a string rather than guess it.
                _ => {
                    problems.push(problem(
                        line,
                        column,
                        "version must be a string like \"1.2.3\"".to_owned(),
                    ));
                    None
                }
            }
        }
    };

    match (name, version) {
        (Some(name), Some(version)) if problems.is_empty() => Ok(Manifest { name, version }),
        _ => {
            problems.sort_by_key(|p| (p.line, p.column));
            Err(problems)
        }
    }
}

fn problem(line: u32, column: u32, message: String) -> ManifestProblem {
    ManifestProblem {
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

// ---------------------------------------------------------------------------------------
// YAML reading. The same code lives in config.rs so each module stands alone.

/// Hard limits, set explicitly so they never depend on serde-saphyr's defaults. The input
/// is at most 1 MiB; these bound what aliases and nesting can make of it.
///
/// Depth is 32, not saphyr's default 64: deserializing recurses once per level, measured
/// at ~39 KiB of stack per level in debug builds (~4 KiB in release), so 64 levels overflow
/// a 2 MiB thread (test threads, rayon) in debug. Real manifests nest a few levels.
const MAX_DEPTH: usize = 32;
const MAX_NODES: usize = 100_000;
const MAX_EVENTS: usize = 400_000;
const MAX_ALIASES: usize = 1_000;
const MAX_REPLAYED_EVENTS: usize = 10_000;
const MAX_SCALAR_BYTES: usize = 4 * 1024 * 1024;

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    // The parser counts flow nesting separately; one more level than MAX_DEPTH lets the
    // depth budget report it, and both stop `[[[[...` long before the stack is at risk.
    budget.flow_nesting_limit = MAX_DEPTH + 1;
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_EVENTS;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_recorded_anchor_events = MAX_REPLAYED_EVENTS;
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_recorded_anchor_bytes = MAX_SCALAR_BYTES;
    // Two, so that a second document is reported as such; a stream of them stops early.
    budget.max_documents = 2;
    budget.enforce_alias_anchor_ratio = true;

    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // An alias bomb ("billion laughs") stops after this many replayed events.
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.alias_limits.max_replay_stack_depth = MAX_DEPTH;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.merge_keys = serde_saphyr::MergeKeyPolicy::Merge;
    // YAML 1.2 booleans only: `off` stays a string.
    options.strict_booleans = true;
    // `.inf` is valid YAML; an ignored key must not fail the manifest.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    // We report line and column ourselves; no rendered snippet.
    options.with_snippet = false;
    options
}

fn parse_yaml(text: &str) -> Result<Spanned<Node>, ManifestProblem> {
    serde_saphyr::from_str_with_options::<Spanned<Node>>(text, yaml_options()).map_err(|err| {
        let (line, column) = err.location().map_or((1, 1), |loc| position(&loc));
        problem(line, column, yaml_error_message(&err))
    })
}

/// 1-based line and column of a location; unknown (0) becomes 1.
fn position(loc: &Location) -> (u32, u32) {
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).max(1);
    (clamp(loc.line()), clamp(loc.column()))
}

/// Line and column (in characters, as serde-saphyr counts) of byte `offset`, where
/// `bytes[..offset]` is valid UTF-8.
fn utf8_error_position(bytes: &[u8], offset: usize) -> (u32, u32) {
    let prefix = bytes.get(..offset).unwrap_or_default();
    let prefix = std::str::from_utf8(prefix).unwrap_or_default();
    // The parser skips a byte-order mark; so do we, to agree on columns.
    let prefix = prefix.strip_prefix('\u{feff}').unwrap_or(prefix);
    let (mut line, mut column) = (1u32, 1u32);
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        let crlf = c == '\r' && chars.peek() == Some(&'\n');
        if (c == '\n' || c == '\r') && !crlf {
            line = line.saturating_add(1);
            column = 1;
        } else if !crlf {
            column = column.saturating_add(1);
        }
    }
    (line, column)
}

/// The library's user-facing text without its " at line X, column Y" suffix, since the
/// position is reported separately; limit breaches get a plainer wording.
fn yaml_error_message(err: &serde_saphyr::Error) -> String {
    if let Some(breach) = budget_breach(err) {
        match breach {
            BudgetBreach::Depth { .. } => {
                return format!("YAML nesting is deeper than {MAX_DEPTH} levels");
            }
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                return format!("YAML has more than {MAX_NODES} nodes (counting expanded aliases)");
            }
            BudgetBreach::ScalarBytes { .. } => {
                return format!(
                    "YAML has more than {MAX_SCALAR_BYTES} bytes of text (counting expanded aliases)"
                );
            }
            _ => {}
        }
    }
    let formatter = serde_saphyr::UserMessageFormatter.with_localizer(&NoLocation);
    let options = serde_saphyr::render_options! {
        formatter: &formatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let message = err.render_with_options(options);
    if message == "recursion limit exceeded" {
        return format!("YAML nesting is deeper than {MAX_DEPTH} levels");
    }
    message
}

fn budget_breach(mut err: &serde_saphyr::Error) -> Option<&BudgetBreach> {
    loop {
        match err {
            serde_saphyr::Error::Budget { breach, .. } => return Some(breach),
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => err = error,
            _ => return None,
        }
    }
}

struct NoLocation;

impl serde_saphyr::Localizer for NoLocation {
    fn attach_location<'a>(&self, base: Cow<'a, str>, _loc: Location) -> Cow<'a, str> {
        base
    }
    fn alias_used_at(&self, _used: Location) -> String {
        String::new()
    }
    fn alias_defined_at(&self, _defined: Location) -> String {
        String::new()
    }
}

/// Any YAML value, with the position of every node, so that checks can point at values
/// and report several problems at once. Size is bounded by the budget above.
#[derive(Debug)]
enum Node {
    Null,
    Bool,
    Int,
    Float,
    Str(String),
    Bytes,
    Seq,
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool => "a boolean",
            Node::Int => "an integer",
            Node::Float => "a number",
            Node::Str(_) => "a string",
            Node::Bytes => "binary data",
            Node::Seq => "a sequence",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Int)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Bytes)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        // No check looks inside a sequence; its items are read (budget, errors) and dropped.
        while seq.next_element::<Node>()?.is_some() {}
        Ok(Node::Seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn problems(yaml: &str, dir: &str) -> Vec<ManifestProblem> {
        match check(yaml.as_bytes(), dir) {
            Ok(m) => panic!("expected problems, got {m:?}"),
            Err(p) => {
                assert!(!p.is_empty());
                p
            }
        }
    }

    fn only(yaml: &str, dir: &str) -> ManifestProblem {
        let mut p = problems(yaml, dir);
        assert_eq!(p.len(), 1, "{p:?}");
        p.remove(0)
    }

    fn at(p: &ManifestProblem) -> (u32, u32) {
        (p.line, p.column)
    }

    #[test]
    fn valid_manifest() {
        let m = check(b"name: foo\nversion: 1.2.3\n", "foo").unwrap();
        assert_eq!(
            m,
            Manifest {
                name: "foo".into(),
                version: "1.2.3".into()
            }
        );
    }

    #[test]
    fn other_keys_are_ignored_whatever_their_value() {
        let yaml = "# comment\nname: foo\ndescription: >\n  text\nversion: \"2.0.0-rc.1+b5\"\n\
                    deps: [a, {b: c}]\n? [complex, key]\n: ~\n7: seven\ninf: .inf\nflag: off\n\
                    anchor: &a {x: 1}\nalias: *a\n";
        let m = check(yaml.as_bytes(), "foo").unwrap();
        assert_eq!(m.name, "foo");
        assert_eq!(m.version, "2.0.0-rc.1+b5");
    }

    #[test]
    fn flow_mapping_and_crlf_and_bom() {
        assert!(check(b"{name: foo, version: 0.1.0}", "foo").is_ok());
        assert!(check(b"name: foo\r\nversion: 0.1.0\r\n", "foo").is_ok());
        assert!(check("\u{feff}name: foo\nversion: 0.1.0\n".as_bytes(), "foo").is_ok());
    }

    #[test]
    fn name_mismatch_points_at_the_value() {
        let p = only("# top\nversion: 1.0.0\nname: other\n", "foo");
        assert_eq!(at(&p), (3, 7));
        assert_eq!(
            p.message,
            "name \"other\" does not match the plugin directory \"foo\""
        );
    }

    #[test]
    fn name_must_be_a_string() {
        let p = only("name: [foo]\nversion: 1.0.0\n", "foo");
        assert_eq!(at(&p), (1, 7));
        assert_eq!(p.message, "name must be a string");
        let p = only("name: 123\nversion: 1.0.0\n", "123");
        assert_eq!(p.message, "name must be a string");
        // Quoted, it is a string.
        assert!(check(b"name: \"123\"\nversion: 1.0.0\n", "123").is_ok());
    }

    #[test]
    fn quoted_non_semver_version() {
        let p = only("name: foo\nversion: \"1.0\"\n", "foo");
        assert_eq!(at(&p), (2, 10));
        assert_eq!(
            p.message,
            "version \"1.0\" is not semver (MAJOR.MINOR.PATCH)"
        );
    }

    #[test]
    fn plain_non_semver_versions() {
        let p = only("name: foo\nversion: v1.2.3\n", "foo");
        assert_eq!(
            p.message,
            "version \"v1.2.3\" is not semver (MAJOR.MINOR.PATCH)"
        );
        let p = only("name: foo\nversion: 1.2.3.4\n", "foo");
        assert_eq!(at(&p), (2, 10));
    }

    #[test]
    fn float_and_integer_versions_are_not_strings() {
        for yaml in ["name: foo\nversion: 1.0\n", "name: foo\nversion: 1\n"] {
            let p = only(yaml, "foo");
            assert_eq!(at(&p), (2, 10), "{yaml}");
            assert_eq!(p.message, "version must be a string like \"1.2.3\"");
        }
        let p = only("name: foo\nversion:\n", "foo");
        assert_eq!(p.line, 2);
        assert_eq!(p.message, "version must be a string like \"1.2.3\"");
    }

    #[test]
    fn version_is_normalized() {
        let m = check(b"name: foo\nversion: 01.2.3\n", "foo");
        // semver rejects leading zeros; a normal version round-trips.
        assert!(m.is_err());
        let m = check(b"name: foo\nversion: '1.2.3-alpha.1'\n", "foo").unwrap();
        assert_eq!(m.version, "1.2.3-alpha.1");
    }

    #[test]
    fn missing_keys() {
        let p = problems("# only\ndescription: x\n", "foo");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].message, "missing required key `name`");
        assert_eq!(p[1].message, "missing required key `version`");
        // At the mapping's start.
        assert_eq!(at(&p[0]), (2, 1));
        let p = only("name: foo\n", "foo");
        assert_eq!(p.message, "missing required key `version`");
        assert_eq!(at(&p), (1, 1));
    }

    #[test]
    fn all_problems_sorted_by_position() {
        let p = problems("version: \"1.0\"\nextra: 1\nname: bar\n", "foo");
        assert_eq!(p.len(), 2);
        assert_eq!(at(&p[0]), (1, 10));
        assert!(p[0].message.starts_with("version \"1.0\""));
        assert_eq!(at(&p[1]), (3, 7));
        assert!(p[1].message.starts_with("name \"bar\""));
    }

    #[test]
    fn empty_manifest() {
        for yaml in ["", "\n\n", "# just a comment\n", "---\n", "~\n"] {
            let p = only(yaml, "foo");
            assert_eq!(p.message, "manifest is empty", "{yaml:?}");
            assert_eq!(at(&p), (1, 1));
        }
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let p = only("- name: foo\n", "foo");
        assert_eq!(at(&p), (1, 1));
        assert_eq!(
            p.message,
            "manifest must be a mapping of keys to values, found a sequence"
        );
        let p = only("\n\"just text\"\n", "foo");
        assert_eq!(p.line, 2);
        assert!(p.message.ends_with("found a string"));
    }

    #[test]
    fn syntax_error_has_its_position() {
        let p = only("name: foo\nversion: [1.0.0\n", "foo");
        assert_eq!(at(&p), (2, 10));
        assert!(!p.message.contains("at line"), "{}", p.message);
        assert_eq!(p.message, "unclosed bracket '['");
        // An unterminated quote runs to the end of the input, where it is reported.
        let p = only("name: foo\nversion: 'unterminated\n", "foo");
        assert!(p.line >= 2, "{p:?}");
    }

    #[test]
    fn duplicate_keys_are_rejected_with_position() {
        let p = only("name: foo\nversion: 1.0.0\nname: foo\n", "foo");
        assert_eq!(p.line, 3);
        assert!(p.message.contains("duplicate"), "{}", p.message);
    }

    #[test]
    fn multiple_documents_are_rejected() {
        let p = only("name: foo\nversion: 1.0.0\n---\nname: bar\n", "foo");
        assert!(p.line >= 3, "{p:?}");
    }

    #[test]
    fn unknown_alias_is_an_error() {
        let p = only("name: foo\nversion: *v\n", "foo");
        assert_eq!(p.line, 2);
    }

    #[test]
    fn alias_values_are_checked_at_the_alias() {
        let p = only("x: &n bar\nname: *n\nversion: 1.0.0\n", "foo");
        assert_eq!(at(&p), (2, 7));
    }

    #[test]
    fn too_large() {
        let mut big = b"name: foo\nversion: 1.0.0\nx: ".to_vec();
        big.resize(MAX_MANIFEST_BYTES + 1, b'a');
        let p = check(&big, "foo").unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(at(&p[0]), (1, 1));
        assert!(p[0].message.contains("over the limit"));
        // Exactly at the limit is read.
        big.truncate(MAX_MANIFEST_BYTES);
        assert!(check(&big, "foo").is_ok());
    }

    #[test]
    fn invalid_utf8_position() {
        let p = check(b"name: foo\nversion: 1.0.0\ndesc: ab\xffc\n", "foo").unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(at(&p[0]), (3, 9));
        assert!(p[0].message.contains("UTF-8"));
        assert!(p[0].message.contains("0xff"));
        // Columns count characters, not bytes.
        let p = check("d: \u{e9}\u{e9}\u{80}".as_bytes(), "foo").unwrap_err();
        assert_eq!(p.len(), 1);
        let p = check(b"d: \xc3\xa9\xc3\xa9\x80", "foo").unwrap_err();
        assert_eq!(at(&p[0]), (1, 6));
        let p = check(b"\xfe", "foo").unwrap_err();
        assert_eq!(at(&p[0]), (1, 1));
    }

    fn billion_laughs() -> String {
        let mut yaml = String::from(
            "name: foo\nversion: 1.0.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let refs = vec![format!("*{}", pair[0]); 9].join(",");
            yaml.push_str(&format!("{}: &{} [{refs}]\n", pair[1], pair[1]));
        }
        yaml
    }

    fn assert_fast_rejection(yaml: &str) -> ManifestProblem {
        let start = Instant::now();
        let result = check(yaml.as_bytes(), "foo");
        let elapsed = start.elapsed();
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
        let mut p = result.unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        p.remove(0)
    }

    #[test]
    fn alias_bomb_is_rejected_fast() {
        let p = assert_fast_rejection(&billion_laughs());
        assert!(p.line >= 3, "{p:?}");
    }

    #[test]
    fn scalar_alias_bomb_is_rejected_fast() {
        let big = "x".repeat(900_000);
        let yaml = format!("a: &a {big}\nb: [{}]\n", vec!["*a"; 2000].join(","));
        assert_fast_rejection(&yaml);
    }

    #[test]
    fn deep_nesting_is_rejected_fast() {
        let n = 100_000;
        for yaml in [
            "[".repeat(n),
            format!("{}{}", "[".repeat(n), "]".repeat(n)),
            "{a: ".repeat(n),
            "- ".repeat(n),
            format!("name: foo\nversion: 1.0.0\nx: {}", "[".repeat(n)),
        ] {
            let p = assert_fast_rejection(&yaml);
            assert!(p.message.contains("nesting"), "{}", p.message);
        }
    }

    #[test]
    fn nesting_within_the_limit_is_accepted() {
        // Also proves the tree walk fits a test thread's stack in debug builds.
        let depth = MAX_DEPTH - 2;
        let flow = format!(
            "name: foo\nversion: 1.0.0\nx: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(check(flow.as_bytes(), "foo").is_ok());
        let mut block = String::from("name: foo\nversion: 1.0.0\nx:\n");
        for level in 1..depth {
            block.push_str(&"  ".repeat(level));
            block.push_str("x:\n");
        }
        assert!(check(block.as_bytes(), "foo").is_ok());
        let too_deep = format!(
            "x: {}{}\n",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(only(&too_deep, "foo").message.contains("nesting"));
    }

    #[test]
    fn many_nodes_are_rejected() {
        let yaml = format!(
            "name: foo\nversion: 1.0.0\nx: [{}]\n",
            vec!["1"; MAX_NODES + 1].join(",")
        );
        let p = assert_fast_rejection(&yaml);
        assert!(p.message.contains("nodes"), "{}", p.message);
    }

    /// Deterministic byte mutations of valid and invalid manifests: never a panic, and
    /// every problem has a position >= 1.
    #[test]
    fn mutations_never_panic() {
        let seeds: [&[u8]; 5] = [
            b"name: foo\nversion: 1.2.3\ndeps: [a, {b: c}]\n",
            b"{name: foo, version: \"1.0\", x: &a [1, *a]}",
            b"name: &n foo\nversion: !!str 1.0.0\n? [k]\n: |\n  text\n",
            b"- a\n- b: c\n  d: 'e'\n",
            "n\u{e9}me: f\u{f6}o\r\nversion: 1.0.0 # c\n".as_bytes(),
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const INTERESTING: &[u8] = b"[]{}:-?&*!|>'\"#%@`,\n\r\t \\\x00\xff\xc3";
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
            if let Err(problems) = check(&bytes, "foo") {
                assert!(!problems.is_empty());
                for p in problems {
                    assert!(p.line >= 1 && p.column >= 1, "{p:?} for {bytes:?}");
                    assert!(!p.message.is_empty());
                }
            }
        }
    }
}

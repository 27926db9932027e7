//! YAML reading for manifests and the configuration: one positioned tree per document
//! (every node keeps its line and column), parsed by serde-saphyr within hard limits
//! against alias bombs and deep nesting.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
pub use serde_saphyr::{Location, Spanned};

/// A document that does not parse, or breaks a limit; 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Hard limits, set explicitly so they never depend on serde-saphyr's defaults. The input
/// is at most 1 MiB; these bound what aliases and nesting can make of it.
///
/// Depth is 32, not saphyr's default 64: deserializing recurses once per level, measured
/// at ~39 KiB of stack per level in debug builds (~4 KiB in release), so 64 levels overflow
/// a 2 MiB thread (test threads, rayon) in debug. Manifests and the configuration nest a few levels.
pub const MAX_DEPTH: usize = 32;
pub const MAX_NODES: usize = 50_000;
const MAX_EVENTS: usize = 4 * MAX_NODES;
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
    // `.inf` is valid YAML; an ignored manifest key holding it must not fail.
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    // We report line and column ourselves; no rendered snippet.
    options.with_snippet = false;
    options
}

/// Parses one YAML document into a positioned tree, within the limits above.
pub fn parse(text: &str) -> Result<Spanned<Node>, YamlError> {
    serde_saphyr::from_str_with_options::<Spanned<Node>>(text, yaml_options()).map_err(|err| {
        let (line, column) = err.location().map_or((1, 1), |loc| position(&loc));
        YamlError {
            line,
            column,
            message: yaml_error_message(&err),
        }
    })
}

/// 1-based line and column of a location; unknown (0) becomes 1.
pub fn position(loc: &Location) -> (u32, u32) {
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).max(1);
    (clamp(loc.line()), clamp(loc.column()))
}

/// Line and column (in characters, as serde-saphyr counts) of byte `offset`, where
/// `bytes[..offset]` is valid UTF-8.
pub fn utf8_error_position(bytes: &[u8], offset: usize) -> (u32, u32) {
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
/// position is reported separately; a breached limit gets a plain statement of the limit.
fn yaml_error_message(err: &serde_saphyr::Error) -> String {
    if let Some(message) = limit_message(err) {
        return message;
    }
    let formatter = serde_saphyr::UserMessageFormatter.with_localizer(&NoLocation);
    let options = serde_saphyr::render_options! {
        formatter: &formatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let message = err.render_with_options(options);
    // The parser's own flow-nesting guard; the depth budget normally fires first.
    if message == "recursion limit exceeded" {
        return format!("YAML nesting is deeper than {MAX_DEPTH} levels");
    }
    message
}

fn limit_message(mut err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    let expanded = "counting every use of an alias";
    loop {
        let breach = match err {
            E::AliasError { error, .. } | E::WithSnippet { error, .. } => {
                err = error;
                continue;
            }
            E::AliasReplayLimitExceeded { .. } | E::AliasExpansionLimitExceeded { .. } => {
                return Some(format!(
                    "YAML aliases expand to more than {MAX_REPLAYED_EVENTS} nodes"
                ));
            }
            E::AliasReplayStackDepthExceeded { .. } => {
                return Some(format!("YAML aliases nest deeper than {MAX_DEPTH} levels"));
            }
            E::Budget { breach, .. } => breach,
            _ => return None,
        };
        return Some(match breach {
            BudgetBreach::Depth { .. } => format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                format!("YAML is too large: more than {MAX_NODES} nodes, {expanded}")
            }
            BudgetBreach::ScalarBytes { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
                format!(
                    "YAML is too large: more than {} MiB of text, {expanded}",
                    MAX_SCALAR_BYTES / (1024 * 1024)
                )
            }
            BudgetBreach::Aliases { .. } => format!("YAML has more than {MAX_ALIASES} aliases"),
            BudgetBreach::Anchors { .. } => format!("YAML has more than {MAX_ALIASES} anchors"),
            BudgetBreach::AliasAnchorRatio { .. } => {
                "YAML uses too many aliases for its number of anchors".to_owned()
            }
            BudgetBreach::RecordedAnchorEvents { .. } => {
                format!("YAML aliases expand to more than {MAX_REPLAYED_EVENTS} nodes")
            }
            BudgetBreach::Documents { .. } => "only one YAML document is allowed".to_owned(),
            other => format!("YAML exceeds a parser limit ({other:?})"),
        });
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
pub enum Node {
    Null,
    Bool(bool),
    Int,
    Float,
    Str(String),
    Bytes,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int => "an integer",
            Node::Float => "a number",
            Node::Str(_) => "a string",
            Node::Bytes => "binary data",
            Node::Seq(_) => "a sequence",
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
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
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
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

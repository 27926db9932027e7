//! Machine-readable output: the shapes DESIGN.md fixes, byte-identical for the same
//! inputs (findings sorted, maps ordered).

use std::io::{self, Write};

use serde::Serialize;

use crate::checks::findings::{Finding, Severity};
use crate::checks::integrity::Inventory;
use crate::checks::suppress::Suppressed;
use crate::escape;
use crate::report::PluginJson;

#[derive(Serialize)]
pub struct FindingJson<'a> {
    pub kind: &'static str,
    pub severity: &'static str,
    pub plugin: Option<&'a str>,
    pub path: &'a str,
    pub line: u32,
    pub column: Option<u32>,
    pub message: String,
    pub help_uri: String,
    /// Set when an `ignore:` entry suppressed the finding: it is reported, not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<SuppressedJson<'a>>,
    #[serde(flatten)]
    pub fields: &'a crate::checks::findings::Fields,
}

impl<'a> FindingJson<'a> {
    pub fn new(f: &'a Finding) -> Self {
        FindingJson {
            kind: f.kind.as_str(),
            severity: f.severity.as_str(),
            plugin: f.plugin.as_deref(),
            path: &f.path,
            line: f.line,
            column: f.column,
            // Capped parts: the data fields stay exact, the text for people is bounded.
            message: crate::report::message(f),
            help_uri: crate::checks::findings::help_uri(f.kind),
            suppressed: None,
            fields: &f.fields,
        }
    }

    /// A suppressed finding, with the `ignore:` entry's reason and line.
    pub fn suppressed(s: &'a Suppressed) -> Self {
        FindingJson {
            suppressed: Some(SuppressedJson {
                reason: &s.reason,
                line: s.line,
            }),
            ..FindingJson::new(&s.finding)
        }
    }
}

#[derive(Serialize)]
pub struct SuppressedJson<'a> {
    pub reason: &'a str,
    /// The `ignore:` entry's line in `.plugin-lock.yml`.
    pub line: u32,
}

/// Pretty-printed JSON and a final newline; DEL, C1 and line separators as `\u`
/// escapes ([`escape::json_bytes`]), so not even a C1 reaches a terminal.
pub fn write(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| io::Error::new(e.io_error_kind().unwrap_or(io::ErrorKind::Other), e))?;
    out.write_all(&escape::json_bytes(bytes))?;
    writeln!(out)
}

/// `fail` when any finding is an error (suppressed ones are not in `findings`).
fn verdict(findings: &[Finding]) -> &'static str {
    if findings.iter().any(|f| f.severity == Severity::Error) {
        "fail"
    } else {
        "pass"
    }
}

/// The base that changes were explained against, and, when plugin-lock chose it, why.
#[derive(Serialize)]
pub struct BaseJson<'a> {
    pub commit: &'a str,
    /// `given` (`--base`, a pull request's base) or `inferred` (a merge base).
    pub chosen: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_base_with: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<&'a str>,
}

pub fn verify(
    out: &mut dyn Write,
    inv: &Inventory,
    findings: &[Finding],
    base: Option<&BaseJson<'_>>,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        source: &'a str,
        verdict: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        base: Option<&'a BaseJson<'a>>,
        findings: Vec<FindingJson<'a>>,
        plugins: Vec<PluginJson<'a>>,
    }
    write(
        out,
        &Doc {
            source: &inv.source,
            verdict: verdict(findings),
            base,
            findings: findings
                .iter()
                .map(FindingJson::new)
                .chain(inv.suppressed.iter().map(FindingJson::suppressed))
                .collect(),
            plugins: inv.plugins.iter().map(PluginJson::new).collect(),
        },
    )
}

/// `verify --statistics`: the verdict and the count of findings per kind and severity.
pub fn statistics(out: &mut dyn Write, inv: &Inventory, findings: &[Finding]) -> io::Result<()> {
    #[derive(Serialize)]
    struct Row {
        kind: &'static str,
        severity: &'static str,
        count: usize,
        help_uri: String,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        source: &'a str,
        verdict: &'static str,
        statistics: Vec<Row>,
    }
    write(
        out,
        &Doc {
            source: &inv.source,
            verdict: verdict(findings),
            statistics: crate::checks::findings::statistics(findings)
                .into_iter()
                .map(|(kind, severity, count)| Row {
                    kind: kind.as_str(),
                    severity: severity.as_str(),
                    count,
                    help_uri: crate::checks::findings::help_uri(kind),
                })
                .collect(),
        },
    )
}

pub fn list(out: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        source: &'a str,
        plugins: Vec<PluginJson<'a>>,
        /// Directories the globs matched that `exclude:` took out (status `excluded`).
        excluded: Vec<Excluded<'a>>,
    }
    #[derive(Serialize)]
    struct Excluded<'a> {
        dir: &'a str,
        status: &'static str,
        exclude: &'a str,
    }
    write(
        out,
        &Doc {
            source: &inv.source,
            plugins: inv.plugins.iter().map(PluginJson::new).collect(),
            excluded: inv
                .excluded
                .iter()
                .map(|e| Excluded {
                    dir: &e.dir,
                    status: "excluded",
                    exclude: &e.glob,
                })
                .collect(),
        },
    )
}

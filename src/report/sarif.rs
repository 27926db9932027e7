//! SARIF 2.1.0 for GitHub code scanning: one rule per finding kind, a physical location
//! on every result, and fingerprints that survive line moves.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::checks::findings::{Finding, Kind, Severity};
use crate::checks::suppress::Suppressed;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// `integrity_mismatch` → `IntegrityMismatch` (SARIF's `name` is a readable identifier).
fn camel(kind: &str) -> String {
    kind.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule(kind: Kind) -> Value {
    json!({
        "id": kind.as_str(),
        "name": camel(kind.as_str()),
        "shortDescription": { "text": kind.summary() },
        "fullDescription": {
            "text": format!("{} Raised by plugin-lock when verifying a tree against its plugin lock (the `lock` of .plugin-lock.yml).", kind.summary())
        },
        "help": {
            "text": kind.fix(),
            "markdown": format!("**{}**\n\n{}", kind.as_str(), kind.fix()),
        },
        "helpUri": crate::checks::findings::help_uri(kind),
        "defaultConfiguration": { "level": level(kind.default_severity()) },
        "properties": { "tags": ["plugin-lock", "supply-chain"] },
    })
}

/// A repository-relative path as a URI reference: unreserved bytes and `/` stay, the
/// rest is percent-encoded (spaces, `#`, `%`, non-ASCII).
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// FNV-1a, 64 bit: a stable, platform-independent fingerprint (not a security digest).
fn fnv1a(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let mut region = json!({ "startLine": f.line });
    if let Some(column) = f.column {
        region["startColumn"] = json!(column);
    }
    // Not line-based: the same problem keeps its identity when lines move.
    let plugin = f.plugin.as_deref().unwrap_or("");
    let fingerprint = fnv1a(&[f.kind.as_str(), &f.path, plugin, &f.title()]);
    let mut result = json!({
        "ruleId": f.kind.as_str(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": crate::report::message(f) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&f.path), "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        }],
        "partialFingerprints": {
            "primaryLocationLineHash": format!("{fingerprint}:1"),
            "pluginLockFinding/v1": fingerprint,
        },
    });
    if !f.fields.is_empty() || f.plugin.is_some() {
        let mut props = serde_json::Map::new();
        if let Some(p) = &f.plugin {
            props.insert("plugin".into(), json!(p));
        }
        for (k, v) in f.fields.iter() {
            props.insert(k.to_owned(), v.clone());
        }
        result["properties"] = Value::Object(props);
    }
    result
}

/// The SARIF log: `findings`, then the `suppressed` ones with a `suppressions` entry
/// (kind `external`: the configuration, not the source, suppresses them).
pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    suppressed: &[Suppressed],
) -> io::Result<()> {
    let rules: Vec<Value> = Kind::ALL.iter().map(|k| rule(*k)).collect();
    let index = |f: &Finding| Kind::ALL.iter().position(|k| *k == f.kind).unwrap_or(0);
    let mut results: Vec<Value> = findings.iter().map(|f| result(f, index(f))).collect();
    for s in suppressed {
        let mut r = result(&s.finding, index(&s.finding));
        r["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": s.reason,
        }]);
        results.push(r);
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "plugin-lock",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The repository root." } } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    crate::report::json::write(out, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("plugins/a b/#x%.txt"), "plugins/a%20b/%23x%25.txt");
        assert_eq!(uri("plugins/été"), "plugins/%C3%A9t%C3%A9");
    }

    #[test]
    fn fingerprints_ignore_lines() {
        let a = Finding::new(Kind::IntegrityMismatch, "plugins/PLUGINS.lock", 3, "t").plugin("x");
        let b = Finding::new(Kind::IntegrityMismatch, "plugins/PLUGINS.lock", 9, "t").plugin("x");
        assert_eq!(
            result(&a, 0)["partialFingerprints"],
            result(&b, 0)["partialFingerprints"]
        );
        let c = Finding::new(Kind::IntegrityMismatch, "plugins/PLUGINS.lock", 3, "t").plugin("y");
        assert_ne!(
            result(&a, 0)["partialFingerprints"],
            result(&c, 0)["partialFingerprints"]
        );
    }

    #[test]
    fn every_rule_has_descriptions_and_help() {
        for kind in Kind::ALL {
            let r = rule(*kind);
            for key in ["shortDescription", "fullDescription", "help"] {
                assert!(
                    !r[key]["text"].as_str().unwrap_or("").is_empty(),
                    "{kind:?} {key}"
                );
            }
        }
    }
}

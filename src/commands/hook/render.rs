//! How a push's verdict reads: one line per ref for people, a document for scripts.

use std::collections::BTreeSet;
use std::io::Write;

use serde::Serialize;

use crate::checks::findings::{Finding, Severity, count};
use crate::commands::ctx::{Ctx, io_out};
use crate::commands::hook::protocol::Update;
use crate::error::Result;
use crate::escape;
use crate::report::{human, json};

/// One verified tree (shared by every ref whose tip resolves to it).
pub struct Checked {
    pub commit: String,
    pub lock_path: String,
    pub plugins: usize,
    pub findings: Vec<Finding>,
}

impl Checked {
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// A pushed ref and its verification (`None`: its tip has no tree, e.g. a tag of a blob).
pub struct Verdict<'a> {
    pub update: &'a Update,
    pub checked: Option<usize>,
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The pushed ref as given; an object id given as the source, shortened.
fn ref_name(u: &Update) -> String {
    let r = &u.local_ref;
    if r.len() >= 7 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        short(r).to_owned()
    } else {
        escape::shown(r).into_owned()
    }
}

/// `refs/heads/x (0123456789ab)`: the ref and the commit verified for it.
fn label(u: &Update, commit: &str) -> String {
    let name = ref_name(u);
    if commit.starts_with(&name) {
        name
    } else {
        format!("{name} ({})", short(commit))
    }
}

/// `in plugin alpha`, `in plugins alpha, beta and plugins/PLUGINS.lock`.
fn where_failed(findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| f.severity == Severity::Error);
    let plugins: BTreeSet<&str> = errors.clone().filter_map(|f| f.plugin.as_deref()).collect();
    let files: BTreeSet<&str> = errors
        .filter(|f| f.plugin.is_none())
        .map(|f| f.path.as_str())
        .collect();
    let mut parts = Vec::new();
    if !plugins.is_empty() {
        let names: Vec<String> = plugins
            .iter()
            .map(|p| escape::shown(p).into_owned())
            .collect();
        let word = if names.len() == 1 {
            "plugin"
        } else {
            "plugins"
        };
        parts.push(format!("{word} {}", names.join(", ")));
    }
    parts.extend(files.iter().map(|f| escape::shown(f).into_owned()));
    parts.join(" and ")
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The findings of each failing tree, one line per ref, and what to do. Success is one
/// line (none with `quiet`).
pub fn write_human(
    out: &mut dyn Write,
    verdicts: &[Verdict<'_>],
    checks: &[Checked],
    style: human::Style,
    quiet: bool,
) -> std::io::Result<()> {
    let failed: Vec<&Verdict<'_>> = verdicts
        .iter()
        .filter(|v| v.checked.is_some_and(|i| checks[i].failed()))
        .collect();
    let skipped = verdicts.iter().filter(|v| v.checked.is_none());
    for v in skipped.filter(|_| !quiet) {
        writeln!(
            out,
            "pre-push: {} points at no commit or tree; nothing to verify",
            label(v.update, &v.update.local_id)
        )?;
    }
    if failed.is_empty() {
        if quiet {
            return Ok(());
        }
        let verified: Vec<&Checked> = verdicts
            .iter()
            .filter_map(|v| v.checked.map(|i| &checks[i]))
            .collect();
        let Some(first) = verified.first() else {
            return Ok(());
        };
        let mut warnings = 0;
        let mut shown = BTreeSet::new();
        for c in &verified {
            if shown.insert(&c.commit) {
                warnings += count(&c.findings, Severity::Warning);
            }
        }
        let mut line = format!(
            "pre-push: {} {} verified against {}",
            style_ok(style),
            plural(verified.len(), "ref"),
            escape::shown(&first.lock_path)
        );
        if warnings > 0 {
            line.push_str(&format!(
                " ({}; `plugin-lock verify` shows them)",
                plural(warnings, "warning")
            ));
        }
        return writeln!(out, "{line}");
    }
    // Each failing tree's findings once, headed by the refs that push it.
    let mut printed = BTreeSet::new();
    for v in &failed {
        let i = v.checked.expect("failed refs were checked");
        if !printed.insert(i) {
            continue;
        }
        let c = &checks[i];
        let refs: Vec<String> = verdicts
            .iter()
            .filter(|w| w.checked == Some(i))
            .map(|w| ref_name(w.update))
            .collect();
        writeln!(
            out,
            "pre-push: {} (commit {}) does not pass plugin-lock:\n",
            refs.join(", "),
            short(&c.commit)
        )?;
        for f in &c.findings {
            if quiet && f.severity != Severity::Error {
                continue;
            }
            human::finding(out, f, style)?;
        }
    }
    for v in verdicts {
        let Some(i) = v.checked else { continue };
        let c = &checks[i];
        let target = if v.update.remote_ref.is_empty() {
            String::new()
        } else {
            format!(" -> {}", escape::shown(&v.update.remote_ref))
        };
        if c.failed() {
            writeln!(
                out,
                "pre-push: {} {}{target}: {} in {}",
                style_failed(style),
                label(v.update, &c.commit),
                plural(count(&c.findings, Severity::Error), "error"),
                where_failed(&c.findings)
            )?;
        } else if !quiet {
            writeln!(
                out,
                "pre-push: ok {}{target}: {} match {}",
                label(v.update, &c.commit),
                plural(c.plugins, "plugin"),
                escape::shown(&c.lock_path)
            )?;
        }
    }
    let lock_path = &checks[failed[0].checked.expect("checked")].lock_path;
    writeln!(
        out,
        "pre-push: push stopped, nothing was pushed: {} of {} failed.",
        failed.len(),
        plural(verdicts.len(), "ref")
    )?;
    writeln!(
        out,
        "  fix: on the failing branch run `plugin-lock update`, review and commit {} (or restore the plugins' files), then push again; the help lines above say what `update` cannot fix.",
        escape::shown(lock_path)
    )?;
    if failed
        .iter()
        .any(|v| v.update.local_ref.starts_with("refs/tags/"))
    {
        writeln!(
            out,
            "  a tag: fix the commit on its branch, then move the tag to the fixed commit (`git tag -f`) and push it again."
        )?;
    }
    Ok(())
}

fn style_ok(style: human::Style) -> String {
    if style.color {
        "\x1b[1;32mok\x1b[0m".to_owned()
    } else {
        "ok".to_owned()
    }
}

fn style_failed(style: human::Style) -> String {
    if style.color {
        "\x1b[1;31mFAILED\x1b[0m".to_owned()
    } else {
        "FAILED".to_owned()
    }
}

pub fn write_json(
    ctx: &mut Ctx<'_>,
    remote: Option<&str>,
    url: Option<&str>,
    verdicts: &[Verdict<'_>],
    checks: &[Checked],
) -> Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        remote: Option<&'a str>,
        url: Option<&'a str>,
        verdict: &'static str,
        refs: Vec<RefJson<'a>>,
    }
    #[derive(Serialize)]
    struct RefJson<'a> {
        local_ref: &'a str,
        local_id: &'a str,
        remote_ref: &'a str,
        remote_id: Option<&'a str>,
        /// The commit (or tree) verified: `local_id` peeled.
        commit: Option<&'a str>,
        verdict: &'static str,
        findings: Vec<json::FindingJson<'a>>,
    }
    let refs: Vec<RefJson<'_>> = verdicts
        .iter()
        .map(|v| {
            let c = v.checked.map(|i| &checks[i]);
            RefJson {
                local_ref: &v.update.local_ref,
                local_id: &v.update.local_id,
                remote_ref: &v.update.remote_ref,
                remote_id: v.update.remote_id.as_deref(),
                commit: c.map(|c| c.commit.as_str()),
                verdict: match c {
                    None => "skipped",
                    Some(c) if c.failed() => "fail",
                    Some(_) => "pass",
                },
                findings: c
                    .map(|c| c.findings.iter().map(json::FindingJson::new).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let failed = refs.iter().any(|r| r.verdict == "fail");
    json::write(
        ctx.out,
        &Doc {
            remote,
            url,
            verdict: if failed { "fail" } else { "pass" },
            refs,
        },
    )
    .map_err(io_out)
}

// ---------------------------------------------------------------------------------------

//! Output for people: compiler-style diagnostics, a one-line verdict, tables.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::checks::findings::{Finding, Kind, Severity, count};
use crate::checks::integrity::{Inventory, PluginState};
use crate::escape;

/// ANSI styling, on only when the caller decided colour is wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// `-v`: every warning is shown, and each finding's last line links its kind's
    /// documentation.
    pub verbose: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn severity(&self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::Error => self.paint("1;31", text),
            Severity::Warning => self.paint("1;33", text),
        }
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// One block per finding: `error[kind]: title`, ` --> file:line`, notes, help.
pub fn finding(out: &mut dyn Write, f: &Finding, style: Style) -> io::Result<()> {
    let head = format!("{}[{}]", f.severity.as_str(), f.kind.as_str());
    writeln!(
        out,
        "{}: {}",
        style.severity(f.severity, &head),
        style.bold(&escape::shown(&f.title()))
    )?;
    let path = escape::shown(&f.path);
    let location = match f.column {
        Some(column) => format!("{path}:{}:{column}", f.line),
        None => format!("{path}:{}", f.line),
    };
    writeln!(out, "  {} {}", style.dim("-->"), location)?;
    let width = f
        .notes
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (label, value) in &f.notes {
        writeln!(
            out,
            "   {} {label}:{:pad$} {}",
            style.dim("="),
            "",
            escape::shown(value),
            pad = width - label.len()
        )?;
    }
    if let Some(help) = &f.help {
        writeln!(out, "   {} help: {}", style.dim("="), escape::shown(help))?;
    }
    if style.verbose {
        writeln!(
            out,
            "   {} help: {}",
            style.dim("="),
            crate::checks::findings::help_uri(f.kind)
        )?;
    }
    writeln!(out)
}

/// How many warnings of one kind `report` shows before it counts the rest.
pub const WARNINGS_SHOWN_PER_KIND: usize = 10;

pub struct Verdict<'a> {
    pub command: &'a str,
    pub source: &'a str,
    pub lock_path: &'a str,
    pub plugins: usize,
}

/// The findings, then one line that says pass or fail and why. `quiet` keeps only errors.
pub fn report(
    out: &mut dyn Write,
    findings: &[Finding],
    verdict: &Verdict<'_>,
    style: Style,
    quiet: bool,
) -> io::Result<()> {
    // Warnings of one kind past the first few are counted, not shown (one repository
    // without `.gitattributes` has an `eol_conversion` per text file); errors always are.
    let mut shown: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut hidden: BTreeMap<Kind, usize> = BTreeMap::new();
    for f in findings {
        if quiet && f.severity != Severity::Error {
            continue;
        }
        if f.severity == Severity::Warning && !style.verbose {
            let n = shown.entry(f.kind).or_default();
            if *n >= WARNINGS_SHOWN_PER_KIND {
                *hidden.entry(f.kind).or_default() += 1;
                continue;
            }
            *n += 1;
        }
        finding(out, f, style)?;
    }
    if quiet {
        return Ok(());
    }
    for (kind, n) in hidden {
        writeln!(
            out,
            "note: {n} more warning[{}] not shown (-v shows every finding, `--format json` lists them)",
            kind.as_str()
        )?;
    }
    let rows = crate::checks::findings::statistics(findings);
    if rows.len() > 1 {
        let counts: Vec<String> = rows
            .iter()
            .map(|(kind, severity, n)| format!("{n} {}[{}]", severity.as_str(), kind.as_str()))
            .collect();
        writeln!(out, "{}", counts.join(", "))?;
    }
    verdict_line(out, findings, verdict, style)
}

/// How many findings `ignore:` suppressed (and, with `verbose`, each with its reason).
pub fn suppressed(
    out: &mut dyn Write,
    suppressed: &[crate::checks::suppress::Suppressed],
    verbose: bool,
    quiet: bool,
) -> io::Result<()> {
    if suppressed.is_empty() || quiet {
        return Ok(());
    }
    writeln!(
        out,
        "note: {} finding(s) suppressed by `ignore:` in .plugin-lock.yml{}",
        suppressed.len(),
        if verbose { ":" } else { " (-v lists them)" }
    )?;
    if verbose {
        for s in suppressed {
            writeln!(
                out,
                "  suppressed[{}]: {} ({}:{}; reason: {}; .plugin-lock.yml line {})",
                s.finding.kind.as_str(),
                escape::shown(&s.finding.title()),
                escape::shown(&s.finding.path),
                s.finding.line,
                escape::shown(&s.reason),
                s.line
            )?;
        }
    }
    Ok(())
}

/// `--statistics`: one line per kind and severity, the count first, then the verdict.
pub fn statistics(
    out: &mut dyn Write,
    findings: &[Finding],
    verdict: &Verdict<'_>,
    style: Style,
) -> io::Result<()> {
    let rows = crate::checks::findings::statistics(findings);
    let width = rows
        .iter()
        .map(|(_, _, n)| n.to_string().len())
        .max()
        .unwrap_or(1);
    for (kind, severity, n) in rows {
        writeln!(
            out,
            "{n:>width$}  {:<7}  {}",
            style.severity(severity, severity.as_str()),
            kind.as_str()
        )?;
    }
    verdict_line(out, findings, verdict, style)
}

/// `--format concise`: one line per finding, `path:line:col: severity[kind] message`, as
/// grep and editors read them, then the verdict.
pub fn concise(
    out: &mut dyn Write,
    findings: &[Finding],
    verdict: &Verdict<'_>,
    quiet: bool,
) -> io::Result<()> {
    for f in findings {
        if quiet && f.severity != Severity::Error {
            continue;
        }
        writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            escape::shown(&f.path),
            f.line,
            f.column.unwrap_or(1),
            f.severity.as_str(),
            f.kind.as_str(),
            escape::shown_text(&crate::report::message(f))
        )?;
    }
    if quiet {
        return Ok(());
    }
    verdict_line(
        out,
        findings,
        verdict,
        Style {
            color: false,
            verbose: false,
        },
    )
}

/// The one line that says pass or fail and why.
fn verdict_line(
    out: &mut dyn Write,
    findings: &[Finding],
    verdict: &Verdict<'_>,
    style: Style,
) -> io::Result<()> {
    let errors = count(findings, Severity::Error);
    let warnings = count(findings, Severity::Warning);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let line = if errors == 0 && verdict.plugins == 0 {
        // The "nothing yet" state (an empty lock, no plugin): say so, not "0 plugins match".
        format!(
            "{}: {} no plugins yet: nothing matches the plugins globs and {} is empty ({})",
            verdict.command,
            style.paint("1;32", "ok"),
            escape::shown(verdict.lock_path),
            plural(warnings, "warning"),
        )
    } else if errors == 0 {
        format!(
            "{}: {} {} {} ({}, {})",
            verdict.command,
            style.paint("1;32", "ok"),
            plural(verdict.plugins, "plugin"),
            if verdict.plugins == 1 {
                "matches"
            } else {
                "match"
            },
            escape::shown(verdict.lock_path),
            plural(warnings, "warning"),
        )
    } else {
        format!(
            "{}: {} {}, {}; {} checked against {}",
            verdict.command,
            style.paint("1;31", "FAILED"),
            plural(errors, "error"),
            plural(warnings, "warning"),
            plural(verdict.plugins, "plugin"),
            escape::shown(verdict.lock_path),
        )
    };
    writeln!(
        out,
        "{line} [source {}]",
        escape::shown(escape::short_id(verdict.source))
    )
}

fn short(hex: Option<&str>) -> String {
    hex.map_or_else(|| "-".to_owned(), |h| h.chars().take(12).collect())
}

/// `list`: a table of plugins.
pub fn inventory(out: &mut dyn Write, inv: &Inventory, verbose: bool) -> io::Result<()> {
    let rows: Vec<[String; 6]> = inv
        .plugins
        .iter()
        .map(|p: &PluginState| {
            let digest = match &p.rejection {
                Some(r) => r.kind.as_str().to_owned(),
                None if verbose => p.digest.clone().unwrap_or_else(|| "-".into()),
                None => short(p.digest.as_deref()),
            };
            let locked = if verbose {
                p.locked.clone().unwrap_or_else(|| "-".into())
            } else {
                short(p.locked.as_deref())
            };
            [
                escape::shown(&p.id).into_owned(),
                escape::shown(p.version().unwrap_or("-")).into_owned(),
                p.status.as_str().to_owned(),
                escape::shown(&digest).into_owned(),
                escape::shown(&locked).into_owned(),
                if p.owners.is_empty() {
                    "-".to_owned()
                } else {
                    owners(&p.owners)
                },
            ]
        })
        .collect();
    // Excluded directories are listed too: what `exclude:` hides stays visible.
    let mut rows = rows;
    for e in &inv.excluded {
        rows.push([
            escape::shown(&e.dir).into_owned(),
            "-".to_owned(),
            "excluded".to_owned(),
            format!("(exclude: {})", escape::shown(&e.glob)),
            "-".to_owned(),
            "-".to_owned(),
        ]);
    }
    let header = ["ID", "VERSION", "STATUS", "DIGEST", "LOCKED", "OWNERS"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(
        out,
        "{} plugin(s) in {} [source {}]",
        inv.plugins
            .iter()
            .filter(|p| p.status != crate::checks::integrity::Status::MissingDirectory)
            .count(),
        escape::shown(&inv.lock_path),
        escape::shown(escape::short_id(&inv.source))
    )
}

/// Owners as a space-separated list, each shown safely.
pub fn owners(owners: &[String]) -> String {
    owners
        .iter()
        .map(|o| escape::shown(o).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `diff`: one line per changed plugin, its files below; unchanged ones with `-v`.
pub fn diff(
    out: &mut dyn Write,
    d: &crate::checks::changes::Diff,
    verbose: bool,
) -> io::Result<()> {
    use crate::checks::changes::Class;
    let short = |s: &str| escape::shown(&s.chars().take(12).collect::<String>()).into_owned();
    writeln!(out, "diff {}..{}", short(&d.from), short(&d.to))?;
    let width = d
        .plugins
        .iter()
        .map(|p| escape::shown(&p.id).chars().count())
        .max()
        .unwrap_or(0);
    let mut unchanged = 0;
    for p in &d.plugins {
        if p.change == Class::Unchanged && !verbose {
            unchanged += 1;
            continue;
        }
        let lock = match (&p.locked_from, &p.locked_to) {
            _ if p.lock_stale() => "  lock not updated".to_owned(),
            (a, b) if a == b => String::new(),
            (a, b) => format!(
                "  lock {} -> {}",
                a.as_deref().map_or_else(|| "-".to_owned(), short),
                b.as_deref().map_or_else(|| "-".to_owned(), short)
            ),
        };
        writeln!(
            out,
            "  {:<9}  {:<width$}{lock}",
            p.change.as_str(),
            escape::shown(&p.id),
        )?;
        for f in &p.files {
            let word = match f.change {
                crate::checks::changes::FileChange::Added => "added",
                crate::checks::changes::FileChange::Removed => "removed",
                crate::checks::changes::FileChange::Modified => "modified",
            };
            writeln!(out, "      {word:<8}  {}", escape::shown(&f.path))?;
        }
    }
    if unchanged > 0 {
        writeln!(out, "  ({unchanged} unchanged plugin(s); -v lists them)")?;
    }
    Ok(())
}

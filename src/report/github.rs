//! GitHub Actions output: workflow-command annotations (escaped exactly as the Actions
//! toolkit escapes them), the job summary in Markdown, and step outputs.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::checks::findings::{Finding, Severity, count};
use crate::checks::integrity::{Inventory, Status};
use crate::escape::{self, md_code as code, md_text as cell, shown};

/// The runner shows at most this many annotations per severity and step.
pub const MAX_PER_SEVERITY: usize = 10;
/// GitHub rejects a step summary over 1 MiB; stay well below with room for the tail.
pub const MAX_SUMMARY_BYTES: usize = 1024 * 1024 - 4096;

/// The toolkit's `escapeData`: `%` first, then CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The toolkit's `escapeProperty`: data escapes plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::error file=…,line=…,col=…,title=…::message`.
fn workflow_command(
    severity: Severity,
    path: &str,
    line: u32,
    column: Option<u32>,
    title: &str,
    message: &str,
) -> String {
    let level = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // Title and message shown first (capped, control characters escaped: the log renders
    // ANSI), the path as exact as the runner can carry it; then escaped as the toolkit
    // does, so the runner reads back exactly that.
    let mut props = format!(
        "file={},line={}",
        escape_property(&escape::annotation_path(path)),
        line
    );
    if let Some(col) = column {
        let _ = write!(props, ",col={col}");
    }
    let _ = write!(props, ",title={}", escape_property(title));
    format!(
        "::{level} {props}::{}",
        escape_data(&escape::terminal(message))
    )
}

fn title(f: &Finding) -> String {
    match &f.plugin {
        Some(id) => format!("{} ({})", f.kind.as_str(), shown(id)),
        None => f.kind.as_str().to_owned(),
    }
}

/// The files an explained `integrity_mismatch` names that exist in the verified tree
/// (added or modified since the base): where a reviewer's diff shows the change.
pub fn changed_files(f: &Finding) -> Vec<(&str, &str)> {
    let Some(serde_json::Value::Array(changes)) = f.fields.get("changes") else {
        return Vec::new();
    };
    changes
        .iter()
        .filter_map(|c| Some((c.get("path")?.as_str()?, c.get("change")?.as_str()?)))
        .collect()
}

/// A finding's annotations: its own, and for an explained mismatch one at line 1 of
/// every changed file that the verified tree holds, so the pull request's *Files
/// changed* view shows it inline.
fn commands_of(f: &Finding) -> Vec<String> {
    let mut out = vec![workflow_command(
        f.severity,
        &f.path,
        f.line,
        f.column,
        &title(f),
        &crate::report::message(f),
    )];
    let base = f
        .fields
        .get("base")
        .and_then(|b| b.as_str())
        .map(escape::short_id)
        .unwrap_or("the base");
    let lock_changed = f.fields.get("lock_changed").and_then(|v| v.as_bool());
    let id = f.plugin.as_deref().map(shown).unwrap_or_default();
    for (path, change) in changed_files(f) {
        if change == "removed" {
            continue;
        }
        let message = match lock_changed {
            Some(true) => format!(
                "{change} since {base}; the lock entry for `{id}` was updated but does not match"
            ),
            _ => format!("{change} since {base}; the lock entry for `{id}` was not updated"),
        };
        out.push(workflow_command(
            f.severity,
            path,
            1,
            None,
            &title(f),
            &message,
        ));
    }
    out
}

/// The annotations, most important first within each severity (errors first): the
/// integrity contract, ownership, the plugins' files, the rest ([`Kind::priority`]),
/// then by path; at most [`MAX_PER_SEVERITY`] of each, then one notice that counts the
/// rest by kind and points at the job summary.
pub fn annotations(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    let mut hidden: std::collections::BTreeMap<&str, usize> = Default::default();
    for severity in [Severity::Error, Severity::Warning] {
        let mut ordered: Vec<&Finding> =
            findings.iter().filter(|f| f.severity == severity).collect();
        ordered.sort_by(|a, b| crate::checks::findings::by_priority(a, b));
        let mut shown = 0;
        for f in ordered {
            for command in commands_of(f) {
                if shown < MAX_PER_SEVERITY {
                    escape::command(out, &command)?;
                    shown += 1;
                } else {
                    *hidden.entry(f.kind.as_str()).or_default() += 1;
                }
            }
        }
    }
    if !hidden.is_empty() {
        let total: usize = hidden.values().sum();
        let kinds: Vec<String> = hidden.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let notice = format!(
            "::notice title=plugin-lock::{}",
            escape_data(&format!(
                "{total} more annotation(s) not shown (GitHub shows {MAX_PER_SEVERITY} per severity): {}; the job summary lists all {} finding(s)",
                kinds.join(", "),
                findings.len()
            ))
        );
        escape::command(out, &notice)?;
    }
    Ok(())
}

/// More `ok` plugins than this are counted, not listed.
pub const MAX_OK_LISTED: usize = 200;
/// Changed files listed under one finding in the summary.
const MAX_FILES_LISTED: usize = 20;

/// The report as GitHub-flavoured Markdown, in the order a reviewer reads it: the
/// verdict and the counts per kind; the findings, errors first, each with the files
/// that changed; the plugins that are not `ok` (12-digit digests); the `ok` ones
/// collapsed, or only counted past [`MAX_OK_LISTED`]. Truncated visibly below 1 MiB.
pub fn summary(inv: &Inventory, findings: &[Finding], command: &str) -> String {
    let errors = count(findings, Severity::Error);
    let warnings = count(findings, Severity::Warning);
    let mut md = String::new();
    let verdict = if errors == 0 { "✅ pass" } else { "❌ fail" };
    let _ = writeln!(md, "## plugin-lock {command}: {verdict}\n");
    let _ = writeln!(
        md,
        "{errors} error(s), {warnings} warning(s), {} plugin(s), source {}, lock {}\n",
        inv.plugins.len(),
        code(escape::short_id(&inv.source)),
        code(&inv.lock_path)
    );
    let mut body = String::new();
    if !findings.is_empty() {
        let _ = writeln!(body, "| kind | severity | count |");
        let _ = writeln!(body, "|---|---|---|");
        for (kind, severity, n) in crate::checks::findings::statistics(findings) {
            let _ = writeln!(
                body,
                "| [{}]({}) | {} | {n} |",
                code(kind.as_str()),
                crate::checks::findings::help_uri(kind),
                severity.as_str()
            );
        }
        body.push('\n');
    }
    for (severity, heading) in [(Severity::Error, "Errors"), (Severity::Warning, "Warnings")] {
        let mut these: Vec<&Finding> = findings.iter().filter(|f| f.severity == severity).collect();
        if these.is_empty() {
            continue;
        }
        these.sort_by(|a, b| crate::checks::findings::by_priority(a, b));
        let _ = writeln!(body, "### {heading}\n");
        for f in these {
            let _ = writeln!(
                body,
                "- {}{} at {}: {}",
                code(f.kind.as_str()),
                f.plugin
                    .as_deref()
                    .map(|id| format!(" {}", code(id)))
                    .unwrap_or_default(),
                escape::md_location(&f.path, f.line),
                cell(&crate::report::message(f))
            );
            let files = changed_files(f);
            for (path, change) in files.iter().take(MAX_FILES_LISTED) {
                let _ = writeln!(body, "  - {change} {}", code(path));
            }
            if files.len() > MAX_FILES_LISTED {
                let _ = writeln!(
                    body,
                    "  - … {} more file(s)",
                    files.len() - MAX_FILES_LISTED
                );
            }
        }
        body.push('\n');
    }
    if !inv.suppressed.is_empty() {
        let _ = writeln!(body, "### Suppressed by `ignore:`\n");
        for s in &inv.suppressed {
            let f = &s.finding;
            let _ = writeln!(
                body,
                "- {} at {}: {} (reason: {}, `.plugin-lock.yml` line {})",
                code(f.kind.as_str()),
                escape::md_location(&f.path, f.line),
                cell(&f.title()),
                cell(&s.reason),
                s.line
            );
        }
        body.push('\n');
    }
    let short = |d: Option<&str>| d.map(|d| code(escape::short_id(d))).unwrap_or_default();
    let (ok, attention): (Vec<_>, Vec<_>) =
        inv.plugins.iter().partition(|p| p.status == Status::Ok);
    if !attention.is_empty() {
        let _ = writeln!(body, "### Plugins that need attention\n");
        let _ = writeln!(
            body,
            "| plugin | status | version | expected (lock) | actual |"
        );
        let _ = writeln!(body, "|---|---|---|---|---|");
        for p in &attention {
            let actual = match (&p.digest, &p.rejection) {
                (Some(d), _) => short(Some(d)),
                (None, Some(r)) => format!("rejected: {}", code(r.kind.as_str())),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                body,
                "| {} | {} | {} | {} | {} |",
                code(&p.id),
                p.status.as_str(),
                p.version().map(code).unwrap_or_default(),
                short(p.locked.as_deref()),
                actual
            );
        }
        body.push('\n');
    }
    if ok.len() > MAX_OK_LISTED {
        let _ = writeln!(
            body,
            "{} plugin(s) match their lock entries (not listed past {MAX_OK_LISTED}; the JSON report lists every plugin).",
            ok.len()
        );
    } else if !ok.is_empty() {
        let _ = writeln!(
            body,
            "<details><summary>{} plugin(s) match their lock entries</summary>\n",
            ok.len()
        );
        let _ = writeln!(body, "| plugin | version | digest |");
        let _ = writeln!(body, "|---|---|---|");
        for p in &ok {
            let _ = writeln!(
                body,
                "| {} | {} | {} |",
                code(&p.id),
                p.version().map(code).unwrap_or_default(),
                short(p.digest.as_deref())
            );
        }
        let _ = writeln!(body, "\n</details>");
    }
    truncate_lines(&mut body, MAX_SUMMARY_BYTES.saturating_sub(md.len()));
    md.push_str(&body);
    md
}

/// What `--format github` reports when the run stops with an error (exit 2): an
/// `::error` annotation at the file it names (or none), a one-section job summary, and
/// the step outputs `status=error`, `failures=0` and `error` (the message, for the
/// action's step message).
pub fn run_error(
    out: &mut dyn Write,
    command: &str,
    message: &str,
    location: Option<(&str, u32, Option<u32>)>,
) -> io::Result<()> {
    let title = format!("plugin-lock {command} could not run");
    let line = match location {
        Some((path, line, column)) => {
            workflow_command(Severity::Error, path, line, column, &title, message)
        }
        None => format!(
            "::error title={}::{}",
            escape_property(&title),
            escape_data(&escape::terminal(message))
        ),
    };
    escape::command(out, &line)?;
    // The message names the file and line itself (`.plugin-lock.yml:2:1: …`).
    let summary = format!(
        "## plugin-lock {command}: ⚠️ could not run\n\n{}\n\nNothing was verified: fix this and run again (exit 2).\n",
        cell(message)
    );
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(std::path::Path::new(&path), summary.as_bytes())?;
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let mut text = output_line("status", "error");
        text.push_str(&output_line("failures", "0"));
        text.push_str(&output_line("error", &escape::shown_text(message)));
        append(std::path::Path::new(&path), text.as_bytes())?;
    }
    Ok(())
}

/// Cuts `text` at a line boundary to fit `limit` bytes, with a visible last line.
fn truncate_lines(text: &mut String, limit: usize) {
    if text.len() <= limit {
        return;
    }
    let note =
        "\n\n**… truncated: the summary is limited to 1 MiB; the JSON report has everything.**\n";
    let mut cut = limit.saturating_sub(note.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').map_or(0, |i| i + 1);
    text.truncate(cut);
    text.push_str(note);
}

/// Writes text that may quote file names with workflow-command parsing suspended
/// (`::stop-commands::TOKEN` … `::TOKEN::`, a fresh random token), so nothing in it can
/// run as a command.
pub fn without_commands(
    out: &mut dyn Write,
    text: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let token = random_token();
    escape::command(out, &format!("::stop-commands::{token}"))?;
    text(out)?;
    escape::command(out, &format!("::{token}::"))
}

/// `name=value` lines for `$GITHUB_OUTPUT`; a value with a line break uses a heredoc
/// with a random delimiter that the value cannot contain.
pub fn output_line(name: &str, value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("{name}={value}\n");
    }
    let mut delimiter = random_token();
    while value.contains(&delimiter) {
        delimiter = random_token();
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// An unpredictable token (std's per-process random hash keys, the clock and the pid).
pub fn random_token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    let a = h.finish();
    let mut h2 = RandomState::new().build_hasher();
    h2.write_u64(a);
    format!("ghadelim_{a:016x}{:016x}", h2.finish())
}

/// Appends the summary to `$GITHUB_STEP_SUMMARY` and `status`, `failures` and `report`
/// to `$GITHUB_OUTPUT`, when the runner set them (locally they are absent: no-op).
pub fn publish(
    summary_md: &str,
    failed: bool,
    failures: usize,
    report: &std::path::Path,
) -> io::Result<()> {
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(std::path::Path::new(&path), summary_md.as_bytes())?;
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let mut text = output_line("status", if failed { "fail" } else { "pass" });
        text.push_str(&output_line("failures", &failures.to_string()));
        text.push_str(&output_line("report", &report.to_string_lossy()));
        append(std::path::Path::new(&path), text.as_bytes())?;
    }
    Ok(())
}

fn append(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::findings::Kind;

    /// A parsed workflow command: name, properties, message.
    type Command = (String, Vec<(String, String)>, String);

    /// The runner's parser (actions/runner ActionCommand.TryParseV2), for round trips.
    fn parse(line: &str) -> Option<Command> {
        let rest = line.trim_start().strip_prefix("::")?;
        let end = rest.find("::")?;
        let (head, message) = (&rest[..end], &rest[end + 2..]);
        let (name, props) = head.split_once(' ').unwrap_or((head, ""));
        let unescape_prop = |s: &str| {
            s.replace("%3A", ":")
                .replace("%2C", ",")
                .replace("%0D", "\r")
                .replace("%0A", "\n")
                .replace("%25", "%")
        };
        let props = props
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), unescape_prop(v)))
            .collect();
        let message = message
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%");
        Some((name.to_owned(), props, message))
    }

    #[test]
    fn hostile_paths_round_trip_and_inject_nothing() {
        for path in [
            "plugins/a,b:c%d/x",
            "plugins/x\n::warning::injected",
            "p/%0A::error::x",
            "p/line=9,title=forged",
        ] {
            let f = Finding::new(Kind::SymlinkEscape, path, 3, format!("bad {path}"));
            let mut out = Vec::new();
            annotations(&mut out, &[f]).unwrap();
            let text = String::from_utf8(out).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 1, "one command per finding: {text:?}");
            let (name, props, message) = parse(lines[0]).unwrap();
            assert_eq!(name, "error");
            assert_eq!(props[0], ("file".to_owned(), path.to_owned()));
            assert_eq!(props[1], ("line".to_owned(), "3".to_owned()));
            assert!(message.contains(&*shown(path)));
        }
    }

    #[test]
    fn at_most_ten_per_severity_then_a_notice() {
        let findings: Vec<Finding> = (0..25)
            .map(|i| Finding::new(Kind::IntegrityMismatch, "plugins/PLUGINS.lock", i + 1, "x"))
            .collect();
        let mut out = Vec::new();
        annotations(&mut out, &findings).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        let notice: Vec<&str> = text.lines().filter(|l| l.starts_with("::notice")).collect();
        assert_eq!(notice.len(), 1);
        assert!(notice[0].contains("15 more"));
        assert!(notice[0].contains("15 integrity_mismatch"), "{}", notice[0]);
    }

    #[test]
    fn multi_line_outputs_use_a_random_delimiter() {
        assert_eq!(output_line("status", "pass"), "status=pass\n");
        let v = output_line("report", "a\nb");
        let delim = v.lines().next().unwrap().strip_prefix("report<<").unwrap();
        assert!(delim.len() > 20);
        assert!(v.ends_with(&format!("\n{delim}\n")));
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn truncation_keeps_whole_lines_and_says_so() {
        let mut text = "line\n".repeat(1000);
        truncate_lines(&mut text, 500);
        assert!(text.len() <= 500);
        assert!(text.contains("truncated"));
        assert!(text.starts_with("line\nline\n"));
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b\\\\nc");
        assert_eq!(code("x`y"), "``x`y``");
    }
}

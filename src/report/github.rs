//! GitHub Actions output: workflow-command annotations (escaped exactly as the Actions
//! toolkit escapes them), the job summary in Markdown, and step outputs.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::checks::findings::{Finding, Kind, Severity, count};
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

fn command(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // Title and message shown first (capped, control characters escaped: the log renders
    // ANSI), the path as exact as the runner can carry it; then escaped as the toolkit
    // does, so the runner reads back exactly that.
    let mut props = format!(
        "file={},line={}",
        escape_property(&escape::annotation_path(&f.path)),
        f.line
    );
    if let Some(col) = f.column {
        let _ = write!(props, ",col={col}");
    }
    let title = match &f.plugin {
        Some(id) => format!("{} ({})", f.kind.as_str(), shown(id)),
        None => f.kind.as_str().to_owned(),
    };
    let _ = write!(props, ",title={}", escape_property(&title));
    format!(
        "::{level} {props}::{}",
        escape_data(&escape::terminal(&crate::report::message(f)))
    )
}

/// Errors first, at most [`MAX_PER_SEVERITY`] of each severity, then one notice for the
/// rest that points at the job summary.
pub fn annotations(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    let mut hidden = 0;
    for severity in [Severity::Error, Severity::Warning] {
        let mut shown = 0;
        for f in findings.iter().filter(|f| f.severity == severity) {
            if shown < MAX_PER_SEVERITY {
                escape::command(out, &command(f))?;
                shown += 1;
            } else {
                hidden += 1;
            }
        }
    }
    if hidden > 0 {
        let notice = format!(
            "::notice title=plugin-lock::{}",
            escape_data(&format!(
                "{hidden} more finding(s) are not shown as annotations (GitHub shows {MAX_PER_SEVERITY} per severity); the job summary lists all {}",
                findings.len()
            ))
        );
        escape::command(out, &notice)?;
    }
    Ok(())
}

/// The complete report as GitHub-flavoured Markdown, truncated visibly below 1 MiB.
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
        let _ = writeln!(body, "### Findings\n");
        let _ = writeln!(body, "| severity | kind | plugin | location | message |");
        let _ = writeln!(body, "|---|---|---|---|---|");
        for f in findings {
            let _ = writeln!(
                body,
                "| {} | {} | {} | {} | {} |",
                f.severity.as_str(),
                code(f.kind.as_str()),
                f.plugin.as_deref().map(code).unwrap_or_default(),
                escape::md_location(&f.path, f.line),
                cell(&crate::report::message(f))
            );
        }
        let mut kinds: Vec<Kind> = findings.iter().map(|f| f.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let _ = writeln!(body, "\n### How to fix\n");
        for kind in kinds {
            let _ = writeln!(body, "- {}: {}", code(kind.as_str()), kind.fix());
        }
        body.push('\n');
    }
    let _ = writeln!(body, "### Plugins\n");
    let _ = writeln!(
        body,
        "| plugin | status | version | expected (lock) | actual |"
    );
    let _ = writeln!(body, "|---|---|---|---|---|");
    let mut plugins: Vec<_> = inv.plugins.iter().collect();
    // Problems first, so a truncated summary still shows them.
    plugins.sort_by_key(|p| (p.status == Status::Ok, p.id.clone()));
    for p in plugins {
        let actual = match (&p.digest, &p.rejection) {
            (Some(d), _) => code(d),
            (None, Some(r)) => format!("rejected: {}", code(r.kind.as_str())),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            body,
            "| {} | {} | {} | {} | {} |",
            code(&p.id),
            p.status.as_str(),
            p.version().map(code).unwrap_or_default(),
            p.locked.as_deref().map(code).unwrap_or_default(),
            actual
        );
    }
    truncate_lines(&mut body, MAX_SUMMARY_BYTES.saturating_sub(md.len()));
    md.push_str(&body);
    md
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

//! One CODEOWNERS line: its grammar (pattern, escapes, owners), GitHub's reasons for
//! skipping it, and the glob it compiles to.

use globset::{Glob, GlobBuilder};

/// Most owners on one line. GitHub documents no limit; no team needs more, and each owner
/// costs work for every file the line decides. A longer line is skipped and reported.
pub const MAX_OWNERS_PER_LINE: usize = 256;

/// Longest pattern, in characters: `PATH_MAX`, longer than any path git checks out on Linux.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Most wildcards (`*`, `?`) in one pattern. Each one multiplies matching work; real
/// patterns have a handful.
pub const MAX_PATTERN_WILDCARDS: usize = 32;

/// One valid CODEOWNERS line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line number in the file.
    pub line: u32,
    /// The pattern as written, escapes included.
    pub pattern: String,
    /// The owners in line order. Empty means explicitly unowned.
    pub owners: Vec<String>,
}

/// A line GitHub would skip. `column` is where the offending pattern or owner starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// What is wrong, in GitHub's words where they are known.
    pub message: String,
    /// Skipped for one of this module's resource limits, not because GitHub rejects it.
    pub limit: bool,
}

/// What a rule's glob is tried on. A file is owned by a rule when the glob matches the
/// file's path (`File`), or matches one of its parent directories (`Directory`), or either
/// (`FileOrDirectory`). Matching a parent directory means "a matched directory owns all
/// its contents".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `docs/*`, `foo/**`, `**`: the path only, because `docs/*` owns direct children only.
    File,
    /// `foo/`: directories only (trailing `/`).
    Directory,
    /// `foo`, `*.md`, `a/b`: a file of that name, or everything in a directory of that name.
    FileOrDirectory,
}

impl Target {
    pub fn accepts(self, candidate_is_file: bool) -> bool {
        match self {
            Target::File => candidate_is_file,
            Target::Directory => !candidate_is_file,
            Target::FileOrDirectory => true,
        }
    }
}

/// A valid line: the rule, its glob, what the glob is tried on, and the column of its
/// pattern (for late errors).
pub struct Compiled {
    pub rule: Rule,
    pub glob: Glob,
    pub target: Target,
    pub column: u32,
    /// Whether the pattern has a wildcard (counts against [`MAX_WILDCARD_REGEX_BYTES`](crate::checks::ownership::codeowners::MAX_WILDCARD_REGEX_BYTES)).
    pub wildcard: bool,
}

/// Every glob is built with these options. `backslash_escape` must be set explicitly
/// because globset's default is `false` on Windows. `literal_separator` keeps `*` and `?`
/// from crossing `/`. Matching is case-sensitive, as GitHub's is.
pub fn glob_builder(glob: &str) -> GlobBuilder<'_> {
    let mut builder = GlobBuilder::new(glob);
    builder
        .literal_separator(true)
        .backslash_escape(true)
        .case_insensitive(false)
        .empty_alternates(false);
    builder
}

/// One character of a pattern: `Raw` as written, or `Escaped` after a backslash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Raw(char),
    Escaped(char),
}

/// `c` as a column number: 0-based character index → 1-based column.
pub fn column_at(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses one line (without its line terminator).
/// `Ok(None)` means a blank or comment line; `Err` means the line is skipped.
pub fn parse_line(line: u32, text: &str) -> Result<Option<Compiled>, Vec<SyntaxError>> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while chars.get(i).copied().is_some_and(is_blank) {
        i += 1;
    }
    match chars.get(i) {
        None | Some('#') => return Ok(None),
        Some(_) => {}
    }

    // The pattern runs to the first unescaped blank. A backslash escapes the next
    // character, blanks included (`\ `). One at the very end escapes nothing.
    let pattern_column = column_at(i);
    let pattern_start = i;
    let mut pieces = Vec::new();
    let mut dangling = false;
    while let Some(&c) = chars.get(i) {
        if is_blank(c) {
            break;
        }
        if c == '\\' {
            match chars.get(i + 1) {
                // `\/` is a `/` as far as anchoring and segments go, as in gitignore.
                Some('/') => pieces.push(Piece::Raw('/')),
                Some(&next) => pieces.push(Piece::Escaped(next)),
                None => dangling = true,
            }
            i += 2;
        } else {
            pieces.push(Piece::Raw(c));
            i += 1;
        }
    }
    let pattern: String = chars
        .get(pattern_start..i.min(chars.len()))
        .unwrap_or_default()
        .iter()
        .collect();

    // Owners are the blank-separated tokens that follow, up to one starting with `#`.
    let mut owners = Vec::new();
    loop {
        while chars.get(i).copied().is_some_and(is_blank) {
            i += 1;
        }
        if chars.get(i).is_none_or(|&c| c == '#') {
            break;
        }
        let start = i;
        while chars.get(i).is_some_and(|&c| !is_blank(c)) {
            i += 1;
        }
        let token: String = chars.get(start..i).unwrap_or_default().iter().collect();
        owners.push((token, column_at(start)));
    }

    let mut errors = Vec::new();
    let pattern_error = |message: String| SyntaxError {
        line,
        column: pattern_column,
        message,
        limit: false,
    };
    let wildcards = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Raw('*' | '?')))
        .count();
    if pieces.len() > MAX_PATTERN_CHARS {
        errors.push(SyntaxError {
            limit: true,
            ..pattern_error(format!(
                "the pattern is {} characters, over plugin-lock's limit of {MAX_PATTERN_CHARS}",
                pieces.len()
            ))
        });
    } else if wildcards > MAX_PATTERN_WILDCARDS {
        errors.push(SyntaxError {
            limit: true,
            ..pattern_error(format!(
                "the pattern has {wildcards} wildcards, over plugin-lock's limit of \
                 {MAX_PATTERN_WILDCARDS}"
            ))
        });
    } else if let Err(message) = check_pattern(&pieces, &pattern, dangling) {
        errors.push(pattern_error(message));
    }
    if let Some((_, column)) = owners.get(MAX_OWNERS_PER_LINE) {
        errors.push(SyntaxError {
            line,
            column: *column,
            message: format!(
                "{} owners on one line, over plugin-lock's limit of {MAX_OWNERS_PER_LINE}",
                owners.len()
            ),
            limit: true,
        });
        return Err(errors);
    }
    for (owner, column) in &owners {
        if !valid_owner(owner) {
            errors.push(SyntaxError {
                line,
                column: *column,
                message: format!(
                    "Invalid owner `{owner}`: an owner must be `@user`, `@org/team` or an \
                     email address"
                ),
                limit: false,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let Some((glob, target)) = compile(&pieces) else {
        // Unreachable after `check_pattern`; kept so an empty pattern can never match everything.
        return Err(vec![pattern_error(
            "Invalid pattern: it will never match anything".to_owned(),
        )]);
    };
    let glob = glob_builder(&glob)
        .build()
        .map_err(|err| vec![pattern_error(format!("Invalid pattern: {err}"))])?;
    Ok(Some(Compiled {
        rule: Rule {
            line,
            pattern,
            owners: owners.into_iter().map(|(o, _)| o).collect(),
        },
        glob,
        target,
        column: pattern_column,
        wildcard: wildcards > 0,
    }))
}

/// The forms GitHub rejects (or that this module rejects, see the module docs).
/// `Err` holds the message.
fn check_pattern(pieces: &[Piece], pattern: &str, dangling: bool) -> Result<(), String> {
    use Piece::{Escaped, Raw};
    if dangling {
        return Err("Invalid pattern: a trailing `\\` escapes nothing".to_owned());
    }
    match pieces.first() {
        Some(Raw('!')) => {
            return Err(
                "Invalid pattern: negation with `!` is not supported in CODEOWNERS".to_owned(),
            );
        }
        Some(Escaped('#')) => {
            return Err(
                "Invalid pattern: escaping a leading `#` with `\\#` is not supported \
                 in CODEOWNERS"
                    .to_owned(),
            );
        }
        _ => {}
    }
    if pieces.iter().any(|p| matches!(p, Raw('#') | Escaped('#'))) {
        return Err(
            "Invalid pattern: `#` inside a pattern is not supported (GitHub may read \
             it as the start of a comment)"
                .to_owned(),
        );
    }
    if pieces.iter().any(|p| matches!(p, Raw('[') | Raw(']'))) {
        return Err("Invalid pattern: both `[` and `]` must be escaped with a `\\`".to_owned());
    }
    if pieces.windows(3).any(|w| w.iter().all(|p| *p == Raw('*'))) {
        return Err(format!(
            "Invalid pattern: `***` is not a valid pattern; did you mean `{}`?",
            collapse_stars(pattern)
        ));
    }
    if pieces == [Raw('/')] {
        return Err(
            "Invalid pattern: pattern `/` will never match anything, did you mean `*`?".to_owned(),
        );
    }
    if pieces.windows(2).any(|w| w == [Raw('/'), Raw('/')]) {
        return Err(
            "Invalid pattern: an empty path segment (`//`) will never match anything".to_owned(),
        );
    }
    Ok(())
}

/// `pattern` with every run of three or more unescaped `*` shortened to `**`: the
/// suggestion GitHub gives for `***/*.rb` is `**/*.rb`.
fn collapse_stars(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut run = 0;
    let mut escaped = false;
    for c in pattern.chars() {
        if c == '*' && !escaped {
            run += 1;
            if run <= 2 {
                out.push(c);
            }
            continue;
        }
        run = 0;
        escaped = c == '\\' && !escaped;
        out.push(c);
    }
    out
}

/// Translates a validated pattern into one glob and what it is tried on (research note
/// §3.3, with `base/**` replaced by trying `base` on the path's parent directories):
///
/// ```text
/// anchored  = leading '/' or a '/' in the middle;  unanchored gets "**/" in front
/// dir_only  = trailing '/', removed
/// dir_only                    -> base on the parent directories  (the directory's contents)
/// last segment "*" or "**"    -> base on the path only          (docs/* = direct children)
/// otherwise                   -> base on the path and its parents (the file, or a dir's contents)
/// ```
/// Examples: `foo` → `**/foo` on both; `/foo/` → `foo` on directories; `docs/*` → `docs/*`
/// on the path; `/plugins/*/` → `plugins/*` on directories; `**/` → `**` on directories.
///
/// Trying `base` on every parent directory is exactly trying `base/**` on the path (globset
/// turns a trailing `/**` into `/.*`). It is much faster: literal and name-only globs stay in
/// globset's hash-based strategies. Otherwise a few hundred `…/**` globs land in one regex
/// set whose lazy DFA thrashes. Measured: 1,000 such globs on 50,000 paths took 1.5 s.
fn compile(pieces: &[Piece]) -> Option<(String, Target)> {
    use Piece::Raw;
    const SLASH: Piece = Raw('/');
    const STAR: Piece = Raw('*');

    let (anchored_lead, core) = match pieces.split_first() {
        Some((&SLASH, rest)) => (true, rest),
        _ => (false, pieces),
    };
    let (dir_only, core) = match core.split_last() {
        Some((&SLASH, rest)) => (true, rest),
        _ => (false, core),
    };
    if core.is_empty() {
        return None;
    }
    let last_segment = core.rsplit(|p| *p == SLASH).next().unwrap_or(core);
    let anchored = anchored_lead || core.contains(&SLASH) || core == [STAR, STAR];

    let mut glob = String::new();
    if !anchored {
        glob.push_str("**/");
    }
    for piece in core {
        match *piece {
            // Braces are alternation in globset, always; CODEOWNERS has none.
            Raw(c @ ('{' | '}')) => {
                glob.push('\\');
                glob.push(c);
            }
            Raw(c) => glob.push(c),
            Piece::Escaped(c) => {
                if matches!(
                    c,
                    '\\' | '*' | '?' | '[' | ']' | '{' | '}' | '!' | '^' | ',' | '-'
                ) {
                    glob.push('\\');
                }
                glob.push(c);
            }
        }
    }

    let target = if dir_only {
        Target::Directory
    } else if last_segment == [STAR] || last_segment == [STAR, STAR] {
        Target::File
    } else {
        Target::FileOrDirectory
    };
    Some((glob, target))
}

/// Owner syntax only: `@user`, `@org/team`, or an email address. Whether the owner exists
/// and has write access is for GitHub's API to say.
pub fn valid_owner(owner: &str) -> bool {
    match owner.strip_prefix('@') {
        Some(name) => match name.split_once('/') {
            Some((org, team)) => valid_login(org) && valid_team(team),
            None => valid_login(name),
        },
        None => valid_email(owner),
    }
}

/// GitHub name characters. `_` appears in Enterprise Managed User logins and `.` in some
/// team slugs; hyphen placement is not enforced, because legacy accounts break the current
/// rules and GitHub itself reports unknown names.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn valid_login(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(is_name_char)
}

fn valid_team(slug: &str) -> bool {
    !slug.is_empty() && slug.chars().all(is_name_char)
}

/// `local@domain.tld`: one `@`, a non-empty local part of email characters, and a domain
/// of at least two non-empty dot-separated labels.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    local_ok && domain_ok
}

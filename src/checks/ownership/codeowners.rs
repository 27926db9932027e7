//! CODEOWNERS: parse the file and answer "who owns path P" exactly as GitHub does.
//!
//! This module has one job. It reads the bytes of a CODEOWNERS file and decides, for a
//! repository-relative file path, which rule GitHub would apply. It also reports the lines
//! GitHub would skip, and the rules that can never decide anything (duplicates, shadowed
//! rules). It does not locate the file, read git or check that owners exist. Only GitHub's
//! `codeowners/errors` API can check that.
//!
//! GitHub's semantics, briefly (sources in `research/codeowners.md` §1):
//! - Each line is a pattern followed by zero or more whitespace-separated owners. `#` at the
//!   start of a line (after whitespace) makes a comment, and so does an owner token starting
//!   with `#`. Blank lines are ignored.
//! - **The last matching line wins.** A winning line with no owners makes the path
//!   *explicitly unowned*, which is different from "no line matched". [`CodeOwners::decide`]
//!   returns the winning [`Rule`] in both cases, so callers can tell the three states apart.
//! - Patterns follow gitignore, with one exception:
//!   - a pattern with no slash, or only a trailing one, matches at any depth;
//!   - a leading or middle `/` anchors the pattern to the root;
//!   - a trailing `/` matches directories only;
//!   - a matched directory owns everything below it;
//!   - `*` and `?` never cross `/`;
//!   - `**` spans directories;
//!   - matching is case-sensitive;
//!   - the exception: a final segment that is exactly `*` matches direct children only
//!     (`docs/*` owns `docs/a.md`, not `docs/x/a.md`).
//! - Escapes: `\ ` is a space inside a pattern, `\[` and `\]` are literal brackets, `\x` is
//!   a literal `x`. Braces are literal characters, because gitignore has no brace expansion.
//! - **A line GitHub considers invalid is skipped, and the rest of the file still works.**
//!   Invalid means: unescaped `[`/`]`, a leading `!`, `***`, the pattern `/`, or an owner
//!   that is not `@user`, `@org/team` or an email. Every skipped line is returned as a
//!   [`SyntaxError`].
//!
//! Matching uses one [`globset::GlobSet`] holding one glob per rule, with a glob→rule index.
//! The winner is the largest rule index among the matches. The set is split into several
//! only when it exceeds the regex engine's size limit, which takes megabytes of complex
//! patterns. The translation follows
//! `research/codeowners.md` §3.3, with one change: instead of a second glob `base/**` for
//! "a directory's contents", `base` is tried on each parent directory of the path. The
//! result is the same, and it is much faster. The function `compile` writes this out.
//!
//! Cases the sources leave open, decided here (research note §1.6):
//! - `#` inside a pattern (`foo#bar`, `foo\#bar`) is rejected. Some tools cut the pattern
//!   there and others do not, so any reading could disagree with GitHub.
//! - A pattern starting with `\#` is rejected. GitHub documents that `\#` escaping does not
//!   work.
//! - An invalid owner skips the whole line, as the brief asks. GitHub may drop only that
//!   owner (iccDEV#2431). Either way the line is reported, so the file needs fixing.
//! - Leading whitespace before a pattern is ignored, as in `hmarr/codeowners`. A pattern
//!   that really starts with a space is written `\ …`.
//! - A UTF-8 byte-order mark at the start of the file is stripped. Otherwise line 1's
//!   pattern would begin with U+FEFF and silently match nothing, or a `#` comment on line 1
//!   would turn into a pattern. Windows editors write BOMs.
//! - One `\r` before each `\n` is stripped (CRLF files). Any other `\r` is an ordinary
//!   character.
//! - `**/` (directory-only, any depth) owns every file inside some directory, and no
//!   root-level file. This is gitignore's reading; GitHub's behaviour is unverified.
//! - `//` anywhere in a pattern is rejected: no path contains an empty segment, so the
//!   line could never match.
//! - "Under 3 MB" is taken as fewer than 3,000,000 bytes. A file of exactly
//!   [`MAX_CODEOWNERS_BYTES`] is rejected: it is not under 3 MB, and 3,000,000 is the
//!   smaller of MB and MiB.
//! - Duplicate patterns are compared after normalisation (the compiled glob). `/a/b` and
//!   `a/b` are the same pattern, and the earlier line is dead either way.
//! - Columns are 1-based and count Unicode scalar values (characters), not bytes. A BOM
//!   does not count.
//! - Resource limits of this module, not GitHub's (a hostile file must not cost minutes or
//!   gigabytes): at most [`MAX_OWNERS_PER_LINE`] owners on a line, [`MAX_PATTERN_CHARS`]
//!   characters and [`MAX_PATTERN_WILDCARDS`] wildcards in a pattern, and
//!   [`MAX_WILDCARD_REGEX_BYTES`] of compiled wildcard patterns in the file. A line over
//!   one is skipped like an invalid line (its paths fall to earlier rules, as GitHub does
//!   with lines it skips) and reported with [`SyntaxError::limit`] set. Truncating the
//!   owner list instead would make up an ownership neither GitHub nor the file states.

use std::collections::HashMap;

use globset::{Candidate, Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// GitHub does not load a CODEOWNERS file unless it is "under 3 MB".
pub const MAX_CODEOWNERS_BYTES: usize = 3_000_000;

/// Most owners on one line. GitHub documents no limit; no team needs more, and each owner
/// costs work for every file the line decides. A longer line is skipped and reported.
pub const MAX_OWNERS_PER_LINE: usize = 256;

/// Longest pattern, in characters: `PATH_MAX`, longer than any path git checks out on Linux.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Most wildcards (`*`, `?`) in one pattern. Each one multiplies matching work; real
/// patterns have a handful.
pub const MAX_PATTERN_WILDCARDS: usize = 32;

/// Most regex bytes, over the whole file, of patterns with wildcards (literal patterns
/// cost a hash lookup and are not counted). This keeps the patterns within one or two
/// regex sets (see [`build_shards`]), each with its own lazy-DFA cache: 1,490 lines of
/// `*a`×1000 took 1.7 GB and 11 s before. About 5,000 wildcard lines fit.
pub const MAX_WILDCARD_REGEX_BYTES: usize = 250_000;

/// GitHub's search order; the first that exists wins.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

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

/// A parsed CODEOWNERS file, ready to answer ownership queries.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    rules: Vec<Rule>,
    /// Per rule, its glob and what the glob is tried on. Equal pairs mean equivalent
    /// patterns, which is how [`CodeOwners::duplicate_patterns`] normalises.
    matchers: Vec<(String, Target)>,
    /// Normally a single set holding every rule's glob. See [`build_shards`] for when there
    /// are more.
    shards: Vec<Shard>,
}

/// A `GlobSet` holding the globs of rules `first_rule..first_rule + set.len()`, in order:
/// glob `g` belongs to rule `first_rule + g`. Shards hold increasing, disjoint rule ranges.
#[derive(Debug, Clone)]
struct Shard {
    set: GlobSet,
    first_rule: usize,
}

/// What a rule's glob is tried on. A file is owned by a rule when the glob matches the
/// file's path (`File`), or matches one of its parent directories (`Directory`), or either
/// (`FileOrDirectory`). Matching a parent directory means "a matched directory owns all
/// its contents".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    /// `docs/*`, `foo/**`, `**`: the path only, because `docs/*` owns direct children only.
    File,
    /// `foo/`: directories only (trailing `/`).
    Directory,
    /// `foo`, `*.md`, `a/b`: a file of that name, or everything in a directory of that name.
    FileOrDirectory,
}

impl Target {
    fn accepts(self, candidate_is_file: bool) -> bool {
        match self {
            Target::File => candidate_is_file,
            Target::Directory => !candidate_is_file,
            Target::FileOrDirectory => true,
        }
    }
}

/// Parses the file's bytes.
///
/// Lines GitHub would skip are skipped and returned as errors; the other lines still work.
/// A file that is too large (see [`MAX_CODEOWNERS_BYTES`]) gives no rules and a single
/// error at 1:1, because GitHub does not load it at all. A line that is not valid UTF-8
/// gives an error and only that line is skipped.
/// Errors come back sorted by line, then column.
pub fn parse(bytes: &[u8]) -> (CodeOwners, Vec<SyntaxError>) {
    let mut errors = Vec::new();
    if bytes.len() >= MAX_CODEOWNERS_BYTES {
        errors.push(SyntaxError {
            line: 1,
            column: 1,
            message: format!(
                "CODEOWNERS is {} bytes; GitHub does not load a CODEOWNERS file unless it is \
                 under 3 MB ({MAX_CODEOWNERS_BYTES} bytes)",
                bytes.len()
            ),
            limit: false,
        });
        return (CodeOwners::from_compiled(Vec::new(), &mut errors), errors);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);

    let mut compiled = Vec::new();
    let mut wildcard_regex = 0;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(text) => text,
            Err(err) => {
                let valid = raw.get(..err.valid_up_to()).unwrap_or_default();
                errors.push(SyntaxError {
                    line,
                    column: column_at(String::from_utf8_lossy(valid).chars().count()),
                    message: "Invalid line: not valid UTF-8".to_owned(),
                    limit: false,
                });
                continue;
            }
        };
        match parse_line(line, text) {
            Ok(Some(rule)) if rule.wildcard => {
                let size = rule.glob.regex().len();
                if wildcard_regex + size > MAX_WILDCARD_REGEX_BYTES {
                    errors.push(SyntaxError {
                        line,
                        column: rule.column,
                        message: format!(
                            "over plugin-lock's limit of {MAX_WILDCARD_REGEX_BYTES} bytes of \
                             compiled wildcard patterns per file; simplify or merge patterns"
                        ),
                        limit: true,
                    });
                } else {
                    wildcard_regex += size;
                    compiled.push(rule);
                }
            }
            Ok(Some(rule)) => compiled.push(rule),
            Ok(None) => {}
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    let owners = CodeOwners::from_compiled(compiled, &mut errors);
    errors.sort_by_key(|e| (e.line, e.column));
    (owners, errors)
}

impl CodeOwners {
    /// The valid rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that decides `path`: the last matching rule, or `None` if no rule matches.
    ///
    /// `path` is a file path relative to the repository root, `/`-separated, with no
    /// leading `/`. A winning rule with no owners is returned as well: the path is
    /// explicitly unowned. (On Windows, globset reads a `\` in `path` as a `/`.)
    pub fn decide(&self, path: &str) -> Option<&Rule> {
        self.decide_with(path, &mut Vec::new())
    }

    /// Same as [`CodeOwners::decide`], but matches into `scratch`, a caller-provided buffer
    /// reused across calls (for hot loops over many files).
    pub fn decide_with(&self, path: &str, scratch: &mut Vec<usize>) -> Option<&Rule> {
        let mut winner: Option<usize> = None;
        for (candidate, is_file) in candidates(path) {
            let candidate = Candidate::from_bytes(candidate.as_bytes());
            // Shards hold increasing rule ranges, so the last shard with an accepted match
            // holds this candidate's best rule; shards entirely below `winner` cannot improve it.
            for shard in self.shards.iter().rev() {
                if winner.is_some_and(|w| w >= shard.first_rule + shard.set.len()) {
                    break;
                }
                shard.set.matches_candidate_into(&candidate, scratch);
                // `scratch` is sorted ascending; the last accepted glob is this shard's best.
                let best = scratch
                    .iter()
                    .rev()
                    .map(|&g| shard.first_rule + g)
                    .find(|&rule| self.accepts(rule, is_file));
                if best.is_some() {
                    winner = winner.max(best);
                    break;
                }
            }
        }
        winner.and_then(|w| self.rules.get(w))
    }

    /// Pairs of rules with the same pattern, as `(earlier_line, later_line, earlier_pattern)`.
    /// The earlier rule is dead: the later one wins every path it matches.
    ///
    /// Patterns are compared after normalisation, so `/a/b` and `a/b` are duplicates. Each
    /// line is paired with the next line that repeats it: three copies give (1, 2) and (2, 3).
    /// Sorted by the earlier line.
    pub fn duplicate_patterns(&self) -> Vec<(u32, u32, String)> {
        let mut last_seen: HashMap<&(String, Target), usize> = HashMap::new();
        let mut pairs = Vec::new();
        for (index, matcher) in self.matchers.iter().enumerate() {
            if let Some(earlier) = last_seen.insert(matcher, index)
                && let (Some(a), Some(b)) = (self.rules.get(earlier), self.rules.get(index))
            {
                pairs.push((a.line, b.line, a.pattern.clone()));
            }
        }
        pairs.sort();
        pairs
    }

    /// Lines of rules that match at least one of `paths` but decide none of them, because a
    /// later rule wins every file they match. Pass every file of the tree.
    ///
    /// A rule that matches nothing at all is not included: that is a different finding.
    /// The earlier line of a duplicate pair is included when it matches something.
    /// Sorted by line.
    #[cfg(test)]
    pub fn shadowed_rules<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
        let mut matched = vec![false; self.rules.len()];
        let mut decides = vec![false; self.rules.len()];
        let (mut scratch, mut hits) = (Vec::new(), Vec::new());
        for path in paths {
            hits.clear();
            let winner = self.tally(path, &mut scratch, &mut hits);
            for &rule in &hits {
                if let Some(m) = matched.get_mut(rule) {
                    *m = true;
                }
            }
            if let Some(d) = winner.and_then(|w| decides.get_mut(w)) {
                *d = true;
            }
        }
        self.shadowed_lines(
            |rule| matched.get(rule).copied().unwrap_or(false),
            |rule| decides.get(rule).copied().unwrap_or(false),
        )
    }

    /// The lines of the rules that `matched` but never `decided` anything (see
    /// [`CodeOwners::shadowed_rules`]), from tallies gathered with [`CodeOwners::tally`].
    pub fn shadowed_lines(
        &self,
        matched: impl Fn(usize) -> bool,
        decided: impl Fn(usize) -> bool,
    ) -> Vec<u32> {
        (0..self.rules.len())
            .filter(|&rule| matched(rule) && !decided(rule))
            .filter_map(|rule| self.rules.get(rule).map(|r| r.line))
            .collect()
    }

    /// Pushes onto `matched` the index of every rule that matches the file `path` (in no
    /// set order, possibly repeated) and returns the index of the rule that decides it.
    /// Unlike [`CodeOwners::decide_with`], every rule is tried: this feeds the shadowed-rule
    /// check, which needs all matches, not only the winner.
    pub fn tally(
        &self,
        path: &str,
        scratch: &mut Vec<usize>,
        matched: &mut Vec<usize>,
    ) -> Option<usize> {
        let mut winner = None;
        for (candidate, is_file) in candidates(path) {
            let candidate = Candidate::from_bytes(candidate.as_bytes());
            for shard in &self.shards {
                shard.set.matches_candidate_into(&candidate, scratch);
                for rule in scratch.iter().map(|&g| shard.first_rule + g) {
                    if self.accepts(rule, is_file) {
                        matched.push(rule);
                        winner = winner.max(Some(rule));
                    }
                }
            }
        }
        winner
    }

    /// The rule at `index` (as [`CodeOwners::tally`] returns them).
    pub fn rule_at(&self, index: usize) -> Option<&Rule> {
        self.rules.get(index)
    }

    /// Whether rule `rule`'s glob applies to a candidate that is the file (`true`) or one
    /// of its parent directories (`false`).
    fn accepts(&self, rule: usize, candidate_is_file: bool) -> bool {
        self.matchers
            .get(rule)
            .is_some_and(|(_, target)| target.accepts(candidate_is_file))
    }

    /// Builds the matcher. A rule whose glob cannot be compiled into a set is dropped and
    /// reported.
    fn from_compiled(mut compiled: Vec<Compiled>, errors: &mut Vec<SyntaxError>) -> Self {
        loop {
            let mut failed = Vec::new();
            let shards = build_shards(&compiled, &mut failed);
            if failed.is_empty() {
                let (rules, matchers) = compiled
                    .into_iter()
                    .map(|c| (c.rule, (c.glob.glob().to_owned(), c.target)))
                    .unzip();
                return CodeOwners {
                    rules,
                    matchers,
                    shards,
                };
            }
            // Rare: a single pattern too large for the regex engine. Drop it and rebuild so
            // that the rule indices stay dense.
            failed.sort_unstable();
            failed.dedup();
            for (index, message) in failed.into_iter().rev() {
                if index < compiled.len() {
                    let c = compiled.remove(index);
                    errors.push(SyntaxError {
                        line: c.rule.line,
                        column: c.column,
                        message,
                        limit: true,
                    });
                }
            }
        }
    }
}

/// The candidates a file path is matched as: the path itself (`true`), then each parent
/// directory (`false`), shortest last. `a/b/c` gives `a/b/c`, `a/b`, `a`.
fn candidates(path: &str) -> impl Iterator<Item = (&str, bool)> {
    let parents = path
        .char_indices()
        .filter(|&(i, c)| c == '/' && i > 0)
        .filter_map(|(i, _)| path.get(..i))
        .map(|dir| (dir, false));
    std::iter::once((path, true)).chain(parents)
}

/// A valid line: the rule, its glob, what the glob is tried on, and the column of its
/// pattern (for late errors).
struct Compiled {
    rule: Rule,
    glob: Glob,
    target: Target,
    column: u32,
    /// Whether the pattern has a wildcard (counts against [`MAX_WILDCARD_REGEX_BYTES`]).
    wildcard: bool,
}

/// Puts every rule's glob into one `GlobSet`, glob `i` being rule `i`.
///
/// A set fails to build only when it exceeds the regex engine's size limit (10 MiB of NFA
/// in globset). A file under 3 MB full of complex patterns can reach that. Then the rules are
/// cut into consecutive shards of about [`SHARD_REGEX_BUDGET`] bytes of regex. A shard that
/// still fails is halved recursively, so every rule is still matched. A single rule whose
/// glob fails on its own is reported in `failed` as `(index, message)`.
fn build_shards(compiled: &[Compiled], failed: &mut Vec<(usize, String)>) -> Vec<Shard> {
    if let Ok(set) = build_set(compiled) {
        return vec![Shard { set, first_rule: 0 }];
    }
    let mut shards = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, c) in compiled.iter().enumerate() {
        let len = c.glob.regex().len();
        if i > start && size + len > SHARD_REGEX_BUDGET {
            build_shards_into(
                compiled.get(start..i).unwrap_or_default(),
                start,
                &mut shards,
                failed,
            );
            (start, size) = (i, 0);
        }
        size += len;
    }
    build_shards_into(
        compiled.get(start..).unwrap_or_default(),
        start,
        &mut shards,
        failed,
    );
    shards
}

/// Regex bytes per shard in the fallback. Measured: one glob of about 300,000 regex bytes
/// fits the 10 MiB NFA limit and one of 350,000 does not, so a third of that leaves room.
/// Building a set that fails costs as much as building one that fits, so fewer failed
/// attempts matter more than fewer shards.
const SHARD_REGEX_BUDGET: usize = 100_000;

fn build_set(compiled: &[Compiled]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for c in compiled {
        builder.add(c.glob.clone());
    }
    builder.build()
}

fn build_shards_into(
    compiled: &[Compiled],
    offset: usize,
    shards: &mut Vec<Shard>,
    failed: &mut Vec<(usize, String)>,
) {
    if compiled.is_empty() {
        return;
    }
    match build_set(compiled) {
        Ok(set) => shards.push(Shard {
            set,
            first_rule: offset,
        }),
        Err(err) if compiled.len() == 1 => {
            failed.push((
                offset,
                format!("Invalid pattern: too complex to match ({err})"),
            ));
        }
        Err(_) => {
            let (low, high) = compiled.split_at(compiled.len() / 2);
            build_shards_into(low, offset, shards, failed);
            build_shards_into(high, offset + low.len(), shards, failed);
        }
    }
}

/// Every glob is built with these options. `backslash_escape` must be set explicitly
/// because globset's default is `false` on Windows. `literal_separator` keeps `*` and `?`
/// from crossing `/`. Matching is case-sensitive, as GitHub's is.
fn glob_builder(glob: &str) -> GlobBuilder<'_> {
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
fn column_at(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses one line (without its line terminator).
/// `Ok(None)` means a blank or comment line; `Err` means the line is skipped.
fn parse_line(line: u32, text: &str) -> Result<Option<Compiled>, Vec<SyntaxError>> {
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
fn valid_owner(owner: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn owners_of(co: &CodeOwners, path: &str) -> Option<Vec<String>> {
        co.decide(path).map(|r| r.owners.clone())
    }

    fn line_of(co: &CodeOwners, path: &str) -> Option<u32> {
        co.decide(path).map(|r| r.line)
    }

    fn positions(errors: &[SyntaxError]) -> Vec<(u32, u32)> {
        errors.iter().map(|e| (e.line, e.column)).collect()
    }

    #[test]
    fn vectors() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/codeowners.json")).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert_eq!(
            cases.len(),
            58,
            "the vectors file changed size; review the new cases"
        );
        // Lines GitHub reports as invalid, per case; every other case must parse cleanly.
        let expected_errors: HashMap<u64, Vec<u32>> =
            [(44, vec![2]), (45, vec![2]), (47, vec![2]), (53, vec![2])].into();
        let known_keys = [
            "id",
            "codeowners",
            "path",
            "owners",
            "source",
            "note",
            "path_is_file",
        ];
        let mut failures = Vec::new();
        for case in cases {
            let obj = case.as_object().unwrap();
            for key in obj.keys() {
                assert!(
                    known_keys.contains(&key.as_str()),
                    "unknown vector key `{key}`"
                );
            }
            let id = case["id"].as_u64().unwrap();
            let text = case["codeowners"].as_str().unwrap();
            let path = case["path"].as_str().unwrap();
            let note = case.get("note").and_then(|n| n.as_str()).unwrap_or("");
            let expected: Vec<String> = case["owners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap().to_owned())
                .collect();
            // `path_is_file`: the path is a file, not a directory of that name. `decide`
            // always takes a file path, so `true` is honoured as is; `false` would ask a
            // question this API does not answer.
            if let Some(flag) = obj.get("path_is_file") {
                assert_eq!(
                    flag,
                    &serde_json::Value::Bool(true),
                    "case {id}: path_is_file"
                );
            }

            let (co, errors) = parse(text.as_bytes());
            let got = owners_of(&co, path).unwrap_or_default();
            if got != expected {
                failures.push(format!(
                    "case {id} {path:?}: expected {expected:?}, got {got:?} {note} (errors: {errors:?})"
                ));
            }
            let error_lines: Vec<u32> = errors.iter().map(|e| e.line).collect();
            let want_lines = expected_errors.get(&id).cloned().unwrap_or_default();
            if error_lines != want_lines {
                failures.push(format!(
                    "case {id}: expected syntax errors on lines {want_lines:?}, got {errors:?} {note}"
                ));
            }
            // A note such as "(line 2 Invalid pattern, skipped)" must agree with the parse.
            let lower = note.to_lowercase();
            if lower.contains("invalid")
                && let Some(rest) = lower.split("line ").nth(1)
            {
                let n: u32 = rest
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap();
                if !error_lines.contains(&n) {
                    failures.push(format!("case {id}: note says line {n} is invalid: {note}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} vector failure(s):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn skipped_forms_are_reported_with_line_and_column() {
        let text = "* @g\n\
                    /pages/[id]/ @o\n\
                    \x20 !docs/* @o\n\
                    ***/*.rb @r\n\
                    / @o\n\
                    \\#foo @o\n\
                    foo#bar @o\n\
                    a/b]\n\
                    *.rs @ok user\n\
                    *.txt docs@\n\
                    a//b @o\n\
                    /ok/ @ok\n\
                    a/b\\";
        let (co, errors) = parse(text.as_bytes());
        assert_eq!(
            positions(&errors),
            [
                (2, 1),
                (3, 3),
                (4, 1),
                (5, 1),
                (6, 1),
                (7, 1),
                (8, 1),
                (9, 10),
                (10, 7),
                (11, 1),
                (13, 1)
            ]
        );
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages[0],
            "Invalid pattern: both `[` and `]` must be escaped with a `\\`"
        );
        assert!(messages[1].contains("`!`"), "{}", messages[1]);
        assert_eq!(
            messages[2],
            "Invalid pattern: `***` is not a valid pattern; did you mean `**/*.rb`?"
        );
        assert_eq!(
            messages[3],
            "Invalid pattern: pattern `/` will never match anything, did you mean `*`?"
        );
        assert!(messages[4].contains("\\#"), "{}", messages[4]);
        assert!(
            messages[5].contains("`#` inside a pattern"),
            "{}",
            messages[5]
        );
        assert!(messages[6].contains("both `[` and `]`"), "{}", messages[6]);
        assert!(
            messages[7].starts_with("Invalid owner `user`"),
            "{}",
            messages[7]
        );
        assert!(
            messages[8].starts_with("Invalid owner `docs@`"),
            "{}",
            messages[8]
        );
        assert!(messages[9].contains("`//`"), "{}", messages[9]);
        assert!(messages[10].contains("trailing `\\`"), "{}", messages[10]);

        // The skipped lines are gone; the others still work.
        let lines: Vec<u32> = co.rules().iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 12]);
        assert_eq!(line_of(&co, "pages/[id]/index.tsx"), Some(1));
        assert_eq!(line_of(&co, "docs/a.md"), Some(1));
        assert_eq!(line_of(&co, "a/b.rb"), Some(1));
        assert_eq!(line_of(&co, "src/lib.rs"), Some(1));
        assert_eq!(line_of(&co, "ok/x"), Some(12));
        assert_eq!(
            errors[0].to_string(),
            format!("line 2, column 1: {}", messages[0])
        );
    }

    #[test]
    fn every_problem_on_a_line_is_reported_and_columns_count_characters() {
        let (co, errors) = parse("[x] bad @ok also-bad\n  é/[x] @o\n/é/ bad\n".as_bytes());
        assert_eq!(
            positions(&errors),
            [(1, 1), (1, 5), (1, 13), (2, 3), (3, 5)]
        );
        assert!(co.rules().is_empty());
    }

    #[test]
    fn invalid_utf8_skips_only_that_line() {
        let (co, errors) = parse(b"* @g\n/a\xff/ @o\n/b/ @b\n");
        assert_eq!(positions(&errors), [(2, 3)]);
        assert!(errors[0].message.contains("UTF-8"));
        assert_eq!(line_of(&co, "a\u{fffd}/x"), Some(1));
        assert_eq!(line_of(&co, "b/x"), Some(3));
    }

    #[test]
    fn owner_syntax() {
        for ok in [
            "@user",
            "@User-Name",
            "@user_emu",
            "@a.b",
            "@org/team",
            "@Org-1/team_x.y",
            "a@b.co",
            "first.last+tag@sub.example.org",
        ] {
            assert!(valid_owner(ok), "{ok} should be valid");
        }
        for bad in [
            "user",
            "@",
            "@-x",
            "@@x",
            "@org/",
            "@/team",
            "@org/team/x",
            "@us!er",
            "docs@",
            "a@b",
            "x@y@z.com",
            "a@.com",
            "a@b..com",
            "a@b.com.",
            "<a@b.com>",
        ] {
            assert!(!valid_owner(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn duplicates_pair_each_line_with_its_next_repeat() {
        let (co, errors) = parse(b"a/ @1\n/x/y @2\na/ @3\nx/y @4\na/ @5\n/a/ @6\n");
        assert!(errors.is_empty());
        assert_eq!(
            co.duplicate_patterns(),
            [
                (1, 3, "a/".to_owned()),
                (2, 4, "/x/y".to_owned()),
                (3, 5, "a/".to_owned())
            ]
        );
        let (co, _) = parse(b"* @a\n*.rs @b\n");
        assert!(co.duplicate_patterns().is_empty());
    }

    #[test]
    fn shadowed_rules_match_something_but_decide_nothing() {
        let (co, errors) = parse(b"* @all\n/docs/ @d\n*.md @md\n/src/ @s\n/nothing/ @n\n");
        assert!(errors.is_empty());
        let tree = ["docs/a.md", "src/x.rs", "README.md"];
        assert_eq!(co.shadowed_rules(tree), [1, 2]);
        let tree = ["docs/a.md", "src/x.rs", "README.md", "Cargo.toml"];
        assert_eq!(co.shadowed_rules(tree), [2]);
        assert!(co.shadowed_rules([]).is_empty());
        // The earlier of two duplicates is shadowed as soon as it matches anything.
        let (co, _) = parse(b"/a/ @1\n/a/ @2\n/b/ @3\n");
        assert_eq!(co.shadowed_rules(["a/x", "c/y"]), [1]);
    }

    #[test]
    fn explicitly_unowned_is_not_unmatched() {
        let (co, errors) = parse(b"/apps/ @octocat\n/apps/github\n");
        assert!(errors.is_empty());
        let unowned = co.decide("apps/github/x.rb").unwrap();
        assert_eq!((unowned.line, unowned.owners.is_empty()), (2, true));
        assert_eq!(unowned.pattern, "/apps/github");
        assert_eq!(
            owners_of(&co, "apps/web/x.rb"),
            Some(vec!["@octocat".to_owned()])
        );
        assert_eq!(co.decide("lib/x.rb"), None);
    }

    #[test]
    fn files_of_3_mb_or_more_are_not_loaded() {
        let mut text = b"* @g\n".to_vec();
        text.resize(MAX_CODEOWNERS_BYTES - 1, b'#');
        let (co, errors) = parse(&text);
        assert!(errors.is_empty());
        assert_eq!(line_of(&co, "x"), Some(1));

        text.push(b'#');
        let (co, errors) = parse(&text);
        assert!(co.rules().is_empty());
        assert_eq!(co.decide("x"), None);
        assert_eq!(positions(&errors), [(1, 1)]);
        assert!(errors[0].message.contains("3 MB"), "{}", errors[0].message);

        text.extend_from_slice(b"\n* @h\n");
        assert_eq!(parse(&text).1.len(), 1);
    }

    #[test]
    fn inline_comments_end_the_owner_list() {
        let (co, errors) =
            parse(b"*.js @js-owner #This is an inline comment.\n/docs/ # nobody\n*.rs @a #c @b\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            owners_of(&co, "lib/a.js"),
            Some(vec!["@js-owner".to_owned()])
        );
        assert_eq!(owners_of(&co, "docs/x"), Some(vec![]));
        assert_eq!(owners_of(&co, "src/a.rs"), Some(vec!["@a".to_owned()]));
        // Whole-line comments, also after leading whitespace, and blank lines.
        let (co, errors) = parse(b"# c\n   # c\n\t#c\n\n   \n  /x/   @a   \n");
        assert!(errors.is_empty());
        assert_eq!(co.rules().len(), 1);
        assert_eq!(co.rules()[0].line, 6);
        assert_eq!(co.rules()[0].pattern, "/x/");
    }

    #[test]
    fn escaped_space_and_brackets_are_literal() {
        let (co, errors) = parse(b"/a\\ b/ @o\nPath\\ With\\ Space.cs @p\n/pages/\\[id\\]/ @q\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(co.rules()[0].pattern, "/a\\ b/");
        assert_eq!(line_of(&co, "a b/c.txt"), Some(1));
        assert_eq!(line_of(&co, "a/c.txt"), None);
        assert_eq!(line_of(&co, "Testing/Path With Space.cs"), Some(2));
        assert_eq!(line_of(&co, "pages/[id]/index.tsx"), Some(3));
        assert_eq!(line_of(&co, "pages/i/index.tsx"), None);
    }

    #[test]
    fn braces_are_literal() {
        let (co, errors) = parse(b"/src/{a,b}.rs @o\n");
        assert!(errors.is_empty());
        assert_eq!(line_of(&co, "src/{a,b}.rs"), Some(1));
        assert_eq!(line_of(&co, "src/a.rs"), None);
    }

    #[test]
    fn crlf_and_tabs() {
        let (co, errors) = parse(b"* @g\r\n*.js\t@js\t@x\r\n/docs/ @d \r\n\r\n# c\r\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            owners_of(&co, "a.js"),
            Some(vec!["@js".to_owned(), "@x".to_owned()])
        );
        assert_eq!(owners_of(&co, "docs/a"), Some(vec!["@d".to_owned()]));
        assert_eq!(owners_of(&co, "a.rs"), Some(vec!["@g".to_owned()]));
        assert_eq!(co.rules().len(), 3);
    }

    #[test]
    fn leading_bom_is_stripped() {
        let (co, errors) = parse(b"\xEF\xBB\xBF# comment\n* @g\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(line_of(&co, "x"), Some(2));
        let (co, errors) = parse(b"\xEF\xBB\xBF/docs/ @d\n");
        assert!(errors.is_empty());
        assert_eq!(line_of(&co, "docs/a"), Some(1));
        let (_, errors) = parse(b"\xEF\xBB\xBF[x] @o\n");
        assert_eq!(positions(&errors), [(1, 1)]);
        // Only at the very start: elsewhere it is an ordinary character.
        let (co, _) = parse("* @g\n\u{feff}x @o\n".as_bytes());
        assert_eq!(line_of(&co, "x"), Some(1));
        assert_eq!(line_of(&co, "\u{feff}x"), Some(2));
    }

    #[test]
    fn glob_translation_matches_the_research_note() {
        use Target::{Directory as D, File as F, FileOrDirectory as FD};
        let cases = [
            ("foo", "**/foo", FD),
            ("/foo", "foo", FD),
            ("foo/", "**/foo", D),
            ("/build/logs/", "build/logs", D),
            ("docs/*", "docs/*", F),
            ("/*", "*", F),
            ("*", "**/*", F),
            ("*.js", "**/*.js", FD),
            ("foo/bar", "foo/bar", FD),
            ("/plugins/*/", "plugins/*", D),
            ("**", "**", F),
            ("/**", "**", F),
            ("**/logs", "**/logs", FD),
            ("foo/**", "foo/**", F),
            ("**/", "**", D),
            ("foo/**/", "foo/**", D),
            ("/src/{a,b}.rs", "src/\\{a,b\\}.rs", FD),
            ("f\\*o", "**/f\\*o", FD),
            ("a\\ b", "**/a b", FD),
            ("\\/x", "x", FD),
        ];
        for (pattern, glob, target) in cases {
            let (co, errors) = parse(format!("{pattern} @o\n").as_bytes());
            assert!(errors.is_empty(), "{pattern}: {errors:?}");
            assert_eq!(co.matchers[0], (glob.to_owned(), target), "{pattern}");
        }
    }

    #[test]
    fn double_star_shapes() {
        let (co, _) = parse(b"foo/**/ @o\n");
        assert_eq!(line_of(&co, "foo/x"), None);
        assert_eq!(line_of(&co, "foo/x/y"), Some(1));
        assert_eq!(line_of(&co, "foo/x/y/z"), Some(1));
        let (co, _) = parse(b"/foo/**/bar/ @o\n");
        assert_eq!(line_of(&co, "foo/bar/x"), Some(1));
        assert_eq!(line_of(&co, "foo/a/b/bar/x"), Some(1));
        assert_eq!(line_of(&co, "foo/bar"), None);
        let (co, _) = parse(b"**/ @o\n");
        assert_eq!(line_of(&co, "a"), None);
        assert_eq!(line_of(&co, "a/b"), Some(1));
        let (co, _) = parse(b"a**b @o\n");
        assert_eq!(line_of(&co, "x/aZZb"), Some(1));
        assert_eq!(line_of(&co, "x/a/b"), None);
        let (co, _) = parse(b"/** @o\n");
        assert_eq!(line_of(&co, ".github/CODEOWNERS"), Some(1));
    }

    #[test]
    fn decide_with_reuses_the_buffer_and_agrees_with_decide() {
        let (co, _) = parse(b"* @g\n*.rs @rs\n/src/ @src\n/src/gen/ \n");
        let mut scratch = Vec::new();
        for path in ["a", "a.rs", "src/a.rs", "src/gen/x.rs", "docs/x.rs"] {
            assert_eq!(
                co.decide_with(path, &mut scratch),
                co.decide(path),
                "{path}"
            );
        }
        let (empty, errors) = parse(b"");
        assert!(errors.is_empty() && empty.rules().is_empty());
        assert_eq!(empty.decide_with("a", &mut scratch), None);
    }

    #[test]
    fn locations_are_in_github_order() {
        assert_eq!(
            LOCATIONS,
            [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
        );
    }

    /// A tiny deterministic PRNG (xorshift64*), so the mutation test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// The per-directory matching must give exactly what research note §3.3's two-glob
    /// recipe gives (`base` and `base/**` on the path), with one correction: the note maps
    /// `x/**/` to `x/**/**`, which globset collapses to `x/**`, so a file directly in `x`
    /// would be owned. Here it becomes `x/**/*/**`.
    #[test]
    fn per_directory_matching_equals_the_two_glob_recipe() {
        fn recipe(pattern: &str) -> Vec<globset::GlobMatcher> {
            let (anchored_lead, core) = match pattern.strip_prefix('/') {
                Some(rest) => (true, rest),
                None => (false, pattern),
            };
            let (dir_only, core) = match core.strip_suffix('/') {
                Some(rest) => (true, rest),
                None => (false, core),
            };
            let base = if anchored_lead || core.contains('/') || core == "**" {
                core.to_owned()
            } else {
                format!("**/{core}")
            };
            let last = base.rsplit('/').next().unwrap();
            let globs = if dir_only && last == "**" {
                vec![format!("{base}/*/**")]
            } else if dir_only {
                vec![format!("{base}/**")]
            } else if last == "*" || last == "**" {
                vec![base]
            } else {
                vec![base.clone(), format!("{base}/**")]
            };
            globs
                .iter()
                .map(|g| glob_builder(g).build().unwrap().compile_matcher())
                .collect()
        }
        let segments = ["a", "b", "*", "**", "a*", "?", "x.md", "*.md"];
        let names = ["a", "b", "x.md", "ab", "c"];
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut checked = 0;
        for _ in 0..300 {
            let mut text = String::new();
            let mut patterns = Vec::new();
            for _ in 0..=rng.below(4) {
                let mut p: Vec<&str> = Vec::new();
                for _ in 0..=rng.below(3) {
                    p.push(segments[rng.below(segments.len())]);
                }
                let mut pattern = p.join("/");
                if rng.below(2) == 0 {
                    pattern.insert(0, '/');
                }
                if rng.below(3) == 0 {
                    pattern.push('/');
                }
                text.push_str(&format!("{pattern} @o\n"));
                patterns.push(recipe(&pattern));
            }
            let (co, errors) = parse(text.as_bytes());
            assert!(errors.is_empty(), "{text}: {errors:?}");
            for _ in 0..20 {
                let path: Vec<&str> = (0..=rng.below(4))
                    .map(|_| names[rng.below(names.len())])
                    .collect();
                let path = path.join("/");
                let want = patterns
                    .iter()
                    .rposition(|globs| globs.iter().any(|g| g.is_match(&path)))
                    .map(|i| u32::try_from(i + 1).unwrap());
                assert_eq!(line_of(&co, &path), want, "{path} against\n{text}");
                checked += 1;
            }
        }
        assert_eq!(checked, 6000);
    }

    #[test]
    fn byte_mutations_never_panic() {
        let seed = "\u{feff}# comment\n* @g1 @g2\n*.js @js #inline\n/build/logs/ a@b.co\r\n\
                    docs/* @d\n**/logs @l\n/a\\ b/ @o\n/pages/\\[id\\]/ @p\nfoo/**/bar @o\n\
                    /plugins/*/ @org/team\n/src/{a,b}.rs @o\nf\\*o @o\n**/ @o\n/apps/github\n\
                    é/ü @u\n";
        let alphabet = b"*?/\\[]{}!#@ \t\r\n.,-_aZ0\xff\xc3\xa9";
        let paths = [
            "a.js",
            "docs/a.md",
            "build/logs/x",
            "a b/c",
            "pages/[id]/x",
            "plugins/p/x",
            "é/ü",
            "",
            "/",
            "a//b",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut scratch = Vec::new();
        for _ in 0..2000 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len() + 1);
                let byte = alphabet[rng.below(alphabet.len())];
                match rng.below(3) {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, byte),
                }
            }
            let (co, errors) = parse(&bytes);
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "{e:?}");
            }
            for path in paths {
                let _ = co.decide_with(path, &mut scratch);
            }
            let _ = co.duplicate_patterns();
            let _ = co.shadowed_rules(paths);
        }
        // Every truncation too (a dangling escape, a cut UTF-8 sequence, ...).
        for end in 0..=seed.len() {
            let (co, _) = parse(&seed.as_bytes()[..end]);
            let _ = co.decide("docs/a.md");
        }
    }

    /// Patterns too large for one `GlobSet` (globset's 10 MiB NFA limit) are split across
    /// shards, and the last matching line still wins across shards. `parse` keeps a file
    /// under that size (see [`MAX_WILDCARD_REGEX_BYTES`]), so the rules are built directly.
    #[test]
    fn rules_too_large_for_one_set_are_sharded() {
        // 100 patterns of 4,000 bytes do not fit one set together but do fit in several.
        // The wildcard goes last: a `*` followed by a long run of one letter would make
        // the regex engine track every offset of the run, quadratic on a long path.
        let long = "b".repeat(4_000);
        let mut lines = vec!["/s/ @a".to_owned()];
        for i in 0..100 {
            lines.push(format!("/{long}{i}* @b"));
        }
        lines.push("/s/x/ @c".to_owned());
        lines.push("/z/ @z".to_owned());
        let compiled: Vec<Compiled> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| match parse_line(i as u32 + 1, l) {
                Ok(Some(c)) => c,
                _ => panic!("line {l} does not parse"),
            })
            .collect();
        let mut errors = Vec::new();
        let co = CodeOwners::from_compiled(compiled, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(
            co.shards.len() >= 2,
            "expected a split, got {} shard(s)",
            co.shards.len()
        );
        assert_eq!(line_of(&co, "s/x/y"), Some(102));
        assert_eq!(line_of(&co, "s/q"), Some(1));
        assert_eq!(line_of(&co, "z/q"), Some(103));
        assert_eq!(line_of(&co, "q"), None);
        assert_eq!(line_of(&co, &format!("{long}7q")), Some(9));
        assert_eq!(line_of(&co, &format!("{long}99")), Some(101));
        assert_eq!(co.shadowed_rules(["s/x/y", "s/q"]), Vec::<u32>::new());
    }

    /// A pattern over the length or wildcard limits is skipped and reported as a limit;
    /// the other lines still work.
    #[test]
    fn a_pattern_over_the_limits_is_reported() {
        let text = format!(
            "* @g\n  /{}* @o\n/z/ @z\n{} @w\n",
            "b".repeat(400_000),
            "*a".repeat(40)
        );
        let (co, errors) = parse(text.as_bytes());
        assert_eq!(positions(&errors), [(2, 3), (4, 1)]);
        assert!(errors.iter().all(|e| e.limit), "{errors:?}");
        assert!(
            errors[0].message.contains("limit of 4096"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.contains("40 wildcards"),
            "{}",
            errors[1].message
        );
        let lines: Vec<u32> = co.rules().iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 3]);
        assert_eq!(line_of(&co, "z/q"), Some(3));
        assert_eq!(line_of(&co, "abbb"), Some(1));
    }

    /// Owners per line are bounded: the line is skipped, at the first owner over the limit.
    #[test]
    fn a_line_with_too_many_owners_is_skipped_as_a_limit() {
        let owners: Vec<String> = (0..=MAX_OWNERS_PER_LINE)
            .map(|i| format!("@u{i}"))
            .collect();
        let text = format!(
            "* @g\n/x/ {}\n/x/ {}\n",
            owners.join(" "),
            owners[1..].join(" ")
        );
        let (co, errors) = parse(text.as_bytes());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].limit);
        let column = 5 + owners[..MAX_OWNERS_PER_LINE]
            .iter()
            .map(|o| o.len() + 1)
            .sum::<usize>();
        assert_eq!(errors[0].column as usize, column);
        assert_eq!(
            co.decide("x/a").map(|r| (r.line, r.owners.len())),
            Some((3, 256))
        );
    }

    /// Past the file-wide budget, wildcard lines are skipped; literal lines still count.
    #[test]
    fn wildcard_patterns_past_the_file_budget_are_skipped() {
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!("/d{i}/*x*y/*.q{i} @o\n/lit{i}/ @l\n"));
        }
        let (co, errors) = parse(text.as_bytes());
        assert!(!errors.is_empty());
        assert!(
            errors.iter().all(|e| e.limit && e.line % 2 == 1),
            "{:?}",
            errors.first()
        );
        assert_eq!(line_of(&co, "lit9999/a"), Some(20_000));
        assert_eq!(line_of(&co, "d0/axy/b.q0"), Some(1));
        assert_eq!(line_of(&co, "d9999/axy/b.q9999"), None);
    }

    #[test]
    fn performance_2000_rules_50000_paths() {
        let mut text = String::from("* @org/everyone\n");
        for i in 0..2000 {
            let line = match i % 8 {
                0 => format!("/plugins/p{i}/ @org/t{i}\n"),
                1 => format!("*.ext{i} @u{i}\n"),
                2 => format!("docs/s{i}/* d{i}@example.com\n"),
                3 => format!("**/name{i} @u{i}\n"),
                4 => format!("/src/m{i}/**/gen/ @u{i}\n"),
                5 => format!("lib{i}/ @u{i}\n"),
                6 => format!("/x{i}/*.rs @u{i}\n"),
                _ => format!("/plugins/p{}/PLUGINS.lock\n", i - 7),
            };
            text.push_str(&line);
        }
        let paths: Vec<String> = (0..50_000)
            .map(|i| match i % 5 {
                0 => format!("plugins/p{}/src/f{i}.rs", (i / 5) % 2000),
                1 => format!("docs/s{}/page{i}.md", (i / 5) % 2000),
                2 => format!("src/m{}/a/gen/f{i}.ext{}", (i / 5) % 2000, i % 2000),
                3 => format!("deep/a/b/c/lib{}/name{}/f{i}", (i / 5) % 2000, i % 2000),
                _ => format!("x{}/y{i}.rs", (i / 5) % 2000),
            })
            .collect();
        let started = Instant::now();
        let (co, errors) = parse(text.as_bytes());
        assert!(errors.is_empty());
        let built = started.elapsed();
        let mut scratch = Vec::new();
        let mut decided = 0;
        let deciding = Instant::now();
        for path in &paths {
            if co.decide_with(path, &mut scratch).is_some() {
                decided += 1;
            }
        }
        // `*` on line 1 matches everything.
        assert_eq!(decided, paths.len());
        assert_eq!(line_of(&co, "plugins/p8/src/f.rs"), Some(10));
        assert_eq!(owners_of(&co, "plugins/p0/PLUGINS.lock"), Some(vec![]));
        assert_eq!(line_of(&co, "src/m4/a/b/gen/f"), Some(6));
        eprintln!(
            "2000 rules: built in {built:?}; 50000 paths decided in {:?}",
            deciding.elapsed()
        );
    }
}

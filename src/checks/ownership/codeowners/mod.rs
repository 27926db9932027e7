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
//!   gigabytes): at most [`MAX_OWNERS_PER_LINE`](syntax::MAX_OWNERS_PER_LINE) owners on a line, [`MAX_PATTERN_CHARS`](syntax::MAX_PATTERN_CHARS)
//!   characters and [`MAX_PATTERN_WILDCARDS`](syntax::MAX_PATTERN_WILDCARDS) wildcards in a pattern, and
//!   [`MAX_WILDCARD_REGEX_BYTES`] of compiled wildcard patterns in the file. A line over
//!   one is skipped like an invalid line (its paths fall to earlier rules, as GitHub does
//!   with lines it skips) and reported with [`SyntaxError::limit`] set. Truncating the
//!   owner list instead would make up an ownership neither GitHub nor the file states.

pub mod shards;
pub mod syntax;

use std::collections::HashMap;

use globset::Candidate;

use crate::checks::ownership::codeowners::shards::{Shard, build_shards};
use crate::checks::ownership::codeowners::syntax::{
    Compiled, Rule, SyntaxError, Target, column_at, parse_line,
};

/// GitHub does not load a CODEOWNERS file unless it is "under 3 MB".
pub const MAX_CODEOWNERS_BYTES: usize = 3_000_000;

/// Most regex bytes, over the whole file, of patterns with wildcards (literal patterns
/// cost a hash lookup and are not counted). This keeps the patterns within one or two
/// regex sets (see [`build_shards`]), each with its own lazy-DFA cache: 1,490 lines of
/// `*a`×1000 took 1.7 GB and 11 s before. About 5,000 wildcard lines fit.
pub const MAX_WILDCARD_REGEX_BYTES: usize = 250_000;

/// GitHub's search order; the first that exists wins.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

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

#[cfg(test)]
mod tests;

//! `ignore:` — suppressions with reasons, as ruff's and cargo-deny's: a suppressed
//! finding is kept (JSON, SARIF, the job summary say so) but never counts toward the
//! verdict, and an entry that suppresses nothing is itself a warning (`unused_ignore`).
//! The integrity contract cannot be ignored: a plugin that cannot be hashed is
//! `exclude`d instead, which the lock's history and review show.

use globset::GlobMatcher;

use crate::checks::findings::{Finding, Kind};
use crate::config::IgnoreEntry;
use crate::error::Error;

/// What an entry applies to.
#[derive(Debug, Clone)]
enum Target {
    Plugin(String),
    Path(GlobMatcher),
}

#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    target: Target,
    reason: String,
    line: u32,
}

/// The validated `ignore:` entries.
#[derive(Debug, Clone, Default)]
pub struct Ignores {
    entries: Vec<Entry>,
    file: String,
}

/// A finding an entry suppressed, and the entry's reason and line.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
    pub line: u32,
}

impl Ignores {
    pub fn from_config(entries: &[IgnoreEntry], file: &str) -> Result<Ignores, Error> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let err = |message: String| Error::Config {
                file: file.to_owned(),
                line: e.line,
                column: e.column,
                message,
            };
            let kind = Kind::from_name(&e.kind)
                .ok_or_else(|| err(format!("unknown finding kind `{}` under `ignore`", e.kind)))?;
            if kind.is_contract() {
                return Err(err(format!(
                    "`{}` is part of the integrity contract and cannot be ignored; a plugin that cannot be locked is listed under `exclude:` instead",
                    e.kind
                )));
            }
            let target = match (&e.plugin, &e.path) {
                (Some(id), _) => Target::Plugin(id.clone()),
                (None, Some(glob)) => Target::Path(
                    crate::config::compile_glob(glob)
                        .ok()
                        .and_then(|_| globset::Glob::new(glob).ok())
                        .map(|g| g.compile_matcher())
                        .ok_or_else(|| err(format!("`path` {glob:?} is not a valid glob")))?,
                ),
                (None, None) => return Err(err("names neither `plugin` nor `path`".into())),
            };
            out.push(Entry {
                kind,
                target,
                reason: e.reason.clone(),
                line: e.line,
            });
        }
        Ok(Ignores {
            entries: out,
            file: file.to_owned(),
        })
    }

    /// Splits `findings` into those that stand and those an entry suppresses; an entry
    /// that suppressed nothing adds an `unused_ignore` warning.
    pub fn apply(&self, findings: Vec<Finding>) -> (Vec<Finding>, Vec<Suppressed>) {
        if self.entries.is_empty() {
            return (findings, Vec::new());
        }
        let mut used = vec![false; self.entries.len()];
        let mut kept = Vec::new();
        let mut suppressed = Vec::new();
        for f in findings {
            let hit = self.entries.iter().position(|e| {
                e.kind == f.kind
                    && match &e.target {
                        Target::Plugin(id) => f.plugin.as_deref() == Some(id.as_str()),
                        Target::Path(glob) => glob.is_match(&f.path),
                    }
            });
            match hit {
                Some(i) => {
                    used[i] = true;
                    suppressed.push(Suppressed {
                        reason: self.entries[i].reason.clone(),
                        line: self.entries[i].line,
                        finding: f,
                    });
                }
                None => kept.push(f),
            }
        }
        for (e, _) in self.entries.iter().zip(&used).filter(|(_, u)| !**u) {
            let what = match &e.target {
                Target::Plugin(id) => format!("plugin `{id}`"),
                Target::Path(glob) => format!("path `{}`", glob.glob()),
            };
            kept.push(
                Finding::new(
                    Kind::UnusedIgnore,
                    self.file.clone(),
                    e.line,
                    format!(
                        "this `ignore` entry ({} for {what}) suppresses nothing",
                        e.kind.as_str()
                    ),
                )
                .help("remove the entry: the finding it was written for is gone (or the kind, plugin or path is misspelled)"),
            );
        }
        crate::checks::findings::sort(&mut kept);
        (kept, suppressed)
    }
}

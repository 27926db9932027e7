//! The ownership survey: one walk over a tree that asks CODEOWNERS about every file —
//! which rules match and which decide (for shadowed rules), and each plugin's owners and
//! unowned files. No blob is read.
//!
//! Subtrees that neither hold nor lie inside a plugin, and plugin directories without
//! plugins below them, are summarised as a unit; with a cache ([`Cache`]), a summary is
//! kept under the directory's path, its tree id and the CODEOWNERS content, so a
//! pre-push re-walks only the directories that changed.

use gix::bstr::BStr;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

use crate::cache::Cache;
use crate::checks::ownership::codeowners::CodeOwners;
use crate::error::Result;
use crate::tree::ExpansionMemo;
use crate::tree::Tree;
use crate::tree::git::reader::Reader;
use crate::tree::{Kind, MAX_TREE_ENTRIES, MAX_WALK_ENTRIES, Node, join, shown, too_many_entries};

/// A plain subtree is cached only from this many files on: smaller ones cost less to
/// walk again than their cache entries cost to keep.
const PLAIN_MIN_FILES: u64 = 32;
/// Directories deeper than this are walked without recursion (a crafted tree can nest
/// thousands deep; the call stack should not have to).
const MAX_NESTING: usize = 64;

/// One plugin's ownership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginOwnership {
    /// The owners of its files, each once, in the order their files sort.
    pub owners: Vec<String>,
    /// Its files that no rule gives an owner, sorted (repository paths).
    pub unowned: Vec<String>,
}

pub struct Survey {
    /// Lines of rules that match some file of the tree but decide none.
    pub shadowed: Vec<u32>,
    /// Per plugin directory, in the order they were given.
    pub plugins: Vec<PluginOwnership>,
}

/// What is cached for one directory: rule indices (not lines), and for a plugin its
/// ownership.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Summary {
    files: u64,
    matched: Vec<u32>,
    decided: Vec<u32>,
    plugin: Option<(Vec<String>, Vec<String>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Plain,
    Plugin,
}

/// Surveys the whole tree of `reader` against `owners`, whose file content has the
/// fingerprint `fingerprint` (part of every cache key). `plugin_dirs` are repository
/// paths; a directory that is not in the tree, or is not a directory, has no files.
pub fn survey(
    reader: &mut Reader<'_>,
    owners: &CodeOwners,
    fingerprint: &str,
    plugin_dirs: &[&str],
    cache: Option<&Cache>,
) -> Result<Survey> {
    let rules = owners.rules().len();
    let mut walk = Walk {
        owners,
        fingerprint,
        cache,
        index: plugin_dirs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.to_string(), i))
            .collect(),
        holders: holders(plugin_dirs),
        matched: vec![false; rules],
        decided: vec![false; rules],
        results: vec![None; plugin_dirs.len()],
        loose: vec![Vec::new(); plugin_dirs.len()],
        scratch: Vec::new(),
        hits: Vec::new(),
        expansion: ExpansionMemo::default(),
        charged: 0,
        inside_charged: 0,
    };
    if let Some(root) = reader.lookup(BStr::new(""))? {
        walk.visit(reader, String::new(), &root, &[], 0)?;
    }
    let shadowed = owners.shadowed_lines(|r| walk.matched[r], |r| walk.decided[r]);
    let mut plugins = Vec::with_capacity(plugin_dirs.len());
    for (result, loose) in walk.results.into_iter().zip(walk.loose) {
        plugins.push(match result {
            Some(done) => done,
            None => ownership_of(owners, loose),
        });
    }
    Ok(Survey { shadowed, plugins })
}

/// Every directory that holds a plugin directory somewhere below it (the root included).
fn holders(plugin_dirs: &[&str]) -> HashSet<String> {
    let mut out = HashSet::new();
    for dir in plugin_dirs {
        out.insert(String::new());
        for (i, _) in dir.match_indices('/') {
            out.insert(dir[..i].to_owned());
        }
    }
    out
}

/// A plugin's ownership from its files and the index of the rule deciding each.
fn ownership_of(owners: &CodeOwners, mut files: Vec<(String, Option<usize>)>) -> PluginOwnership {
    files.sort();
    let mut out = PluginOwnership::default();
    // Sets, not scans of `out.owners`: a line may list hundreds of owners and a plugin
    // may have many files; each rule's owners are merged once.
    let mut merged_rules = std::collections::HashSet::new();
    let mut seen = std::collections::HashSet::new();
    for (path, winner) in files {
        match winner.and_then(|w| owners.rule_at(w).map(|rule| (w, rule))) {
            Some((w, rule)) if !rule.owners.is_empty() => {
                if merged_rules.insert(w) {
                    for o in &rule.owners {
                        if seen.insert(o.as_str()) {
                            out.owners.push(o.clone());
                        }
                    }
                }
            }
            _ => out.unowned.push(path),
        }
    }
    out
}

struct Walk<'a> {
    owners: &'a CodeOwners,
    fingerprint: &'a str,
    cache: Option<&'a Cache>,
    index: BTreeMap<String, usize>,
    holders: HashSet<String>,
    matched: Vec<bool>,
    decided: Vec<bool>,
    results: Vec<Option<PluginOwnership>>,
    /// Files of plugins not summarised as a unit (plugins that hold plugins, and those).
    loose: Vec<Vec<(String, Option<usize>)>>,
    scratch: Vec<usize>,
    hits: Vec<usize>,
    /// Entries each tree expands to, by id ([`Reader::expanded_entries`]).
    expansion: ExpansionMemo,
    /// Entries of the subtrees walked so far, bounded by [`MAX_TREE_ENTRIES`]: a tree
    /// that repeats subtrees is refused before it is walked, not after hours.
    charged: u64,
    /// Above zero while walking inside a subtree already charged.
    inside_charged: usize,
}

impl Walk<'_> {
    /// Charges the subtree `node` (unless inside one already charged) before it is
    /// walked; past the bound the survey stops with an error. Returns whether it charged.
    /// A `plugin` directory is walked with [`Reader::walk`], which has its own bound.
    fn charge(
        &mut self,
        reader: &mut Reader<'_>,
        dir: &str,
        node: &Node,
        plugin: bool,
    ) -> Result<bool> {
        if self.inside_charged > 0 {
            return Ok(false);
        }
        let left = MAX_TREE_ENTRIES - self.charged;
        let n = reader.expanded_entries(node, usize::MAX, left, &mut self.expansion)?;
        if plugin && n > MAX_WALK_ENTRIES as u64 {
            // Its walk stops at the bound and lists nothing; the digest rejects it as
            // `unsupported_entry`, a finding at the plugin rather than a stopped run.
            return Ok(false);
        }
        if n > left {
            let at = if dir.is_empty() { "the root" } else { dir };
            return Err(too_many_entries(&format!(
                "the CODEOWNERS ownership survey, at `{at}`"
            )));
        }
        self.charged += n;
        self.inside_charged += 1;
        Ok(true)
    }

    fn visit(
        &mut self,
        reader: &mut Reader<'_>,
        dir: String,
        node: &Node,
        enclosing: &[usize],
        depth: usize,
    ) -> Result<()> {
        // Inside a plugin that holds plugins, a subtree that holds none is walked here
        // file by file: charged as a whole at its top.
        let charged = !enclosing.is_empty()
            && !self.holders.contains(&dir)
            && self.charge(reader, &dir, node, false)?;
        let result = self.visit_charged(reader, dir, node, enclosing, depth);
        if charged {
            self.inside_charged -= 1;
        }
        result
    }

    fn visit_charged(
        &mut self,
        reader: &mut Reader<'_>,
        dir: String,
        node: &Node,
        enclosing: &[usize],
        depth: usize,
    ) -> Result<()> {
        let here = self.index.get(&dir).copied();
        if enclosing.is_empty() && !self.holders.contains(&dir) {
            let unit = if here.is_some() {
                Unit::Plugin
            } else {
                Unit::Plain
            };
            let summary = self.summarize(reader, &dir, node, unit, depth)?;
            for &r in &summary.matched {
                self.matched[r as usize] = true;
            }
            for &r in &summary.decided {
                self.decided[r as usize] = true;
            }
            if let (Some(i), Some((owners, unowned))) = (here, summary.plugin) {
                self.results[i] = Some(PluginOwnership { owners, unowned });
            }
            return Ok(());
        }
        let mut inside = enclosing.to_vec();
        inside.extend(here);
        if depth >= MAX_NESTING {
            // A pathologically deep tree: no recursion below here; each file finds its
            // plugins by its own path.
            for path in files_below(reader, &dir, node)? {
                let owners: Vec<usize> = ancestors(&path)
                    .filter_map(|a| self.index.get(a).copied())
                    .collect();
                self.loose_file(path, &owners);
            }
            return Ok(());
        }
        for (name, child) in reader.children(BStr::new(&dir), node)? {
            let path = join(&dir, &shown(&name));
            if child.kind == Kind::Dir {
                self.visit(reader, path, &child, &inside, depth + 1)?;
            } else {
                self.loose_file(path, &inside);
            }
        }
        Ok(())
    }

    /// A file outside the summarised units: tallied, and recorded for `plugins`.
    fn loose_file(&mut self, path: String, plugins: &[usize]) {
        self.hits.clear();
        let winner = self.owners.tally(&path, &mut self.scratch, &mut self.hits);
        for &r in &self.hits {
            self.matched[r] = true;
        }
        if let Some(w) = winner {
            self.decided[w] = true;
        }
        for &i in plugins {
            self.loose[i].push((path.clone(), winner));
        }
    }

    /// The summary of `dir`, from the cache or computed (and then cached).
    fn summarize(
        &mut self,
        reader: &mut Reader<'_>,
        dir: &str,
        node: &Node,
        unit: Unit,
        depth: usize,
    ) -> Result<Summary> {
        let key = match (self.cache, node.id) {
            (Some(cache), Some(id)) if node.kind == Kind::Dir => Some(cache.key_of(&[
                b"ownership survey v1\0",
                self.fingerprint.as_bytes(),
                &[0, unit as u8],
                dir.as_bytes(),
                &[0],
                id.as_bytes(),
            ])),
            _ => None,
        };
        if let (Some(cache), Some(key)) = (self.cache, &key)
            && let Some(summary) = cache.lookup(key, |s: &Summary| self.valid(s, unit))
        {
            return Ok(summary);
        }
        let charged = self.charge(reader, dir, node, unit == Unit::Plugin)?;
        let summary = match unit {
            Unit::Plugin => self.plugin_summary(reader, dir, node),
            Unit::Plain => self.plain_summary(reader, dir, node, depth),
        };
        if charged {
            self.inside_charged -= 1;
        }
        let summary = summary?;
        if let (Some(cache), Some(key)) = (self.cache, key)
            && (unit == Unit::Plugin || summary.files >= PLAIN_MIN_FILES)
        {
            cache.store(key, &summary);
        }
        Ok(summary)
    }

    /// A stored summary is used only if it fits this CODEOWNERS file and this unit.
    fn valid(&self, summary: &Summary, unit: Unit) -> bool {
        let rules = self.owners.rules().len();
        summary
            .matched
            .iter()
            .chain(&summary.decided)
            .all(|&r| (r as usize) < rules)
            && summary.plugin.is_some() == (unit == Unit::Plugin)
    }

    fn plugin_summary(
        &mut self,
        reader: &mut Reader<'_>,
        dir: &str,
        node: &Node,
    ) -> Result<Summary> {
        let mut summary = Summary::default();
        let paths = files_below(reader, dir, node)?;
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let winner = self.tally_into(&path, &mut summary);
            files.push((path, winner));
        }
        finish(&mut summary);
        let done = ownership_of(self.owners, files);
        summary.plugin = Some((done.owners, done.unowned));
        Ok(summary)
    }

    /// A subtree with no plugin in or around it: its subdirectories are summaries too,
    /// so that one changed file deep inside costs its own path, not the whole subtree.
    fn plain_summary(
        &mut self,
        reader: &mut Reader<'_>,
        dir: &str,
        node: &Node,
        depth: usize,
    ) -> Result<Summary> {
        let mut summary = Summary::default();
        if depth >= MAX_NESTING {
            for path in files_below(reader, dir, node)? {
                self.tally_into(&path, &mut summary);
            }
            finish(&mut summary);
            return Ok(summary);
        }
        for (name, child) in reader.children(BStr::new(dir), node)? {
            let path = join(dir, &shown(&name));
            if child.kind == Kind::Dir {
                let sub = self.summarize(reader, &path, &child, Unit::Plain, depth + 1)?;
                summary.files += sub.files;
                summary.matched.extend(sub.matched);
                summary.decided.extend(sub.decided);
            } else {
                self.tally_into(&path, &mut summary);
            }
            if summary.matched.len() > 4096 {
                finish(&mut summary);
            }
        }
        finish(&mut summary);
        Ok(summary)
    }

    fn tally_into(&mut self, path: &str, summary: &mut Summary) -> Option<usize> {
        self.hits.clear();
        let winner = self.owners.tally(path, &mut self.scratch, &mut self.hits);
        summary.files += 1;
        summary.matched.extend(self.hits.iter().map(|&r| r as u32));
        summary.decided.extend(winner.map(|w| w as u32));
        winner
    }
}

/// Every non-directory entry below `dir`, as repository paths (no recursion: the
/// reader walks with a stack of its own). A walk cut short (a path over PATH_MAX, a tree
/// that repeats subtrees past the entry limit) gives none: the digest rejects such a
/// plugin, and tallying a partial list would cost the time the limit saves.
fn files_below(reader: &mut Reader<'_>, dir: &str, node: &Node) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    if node.kind == Kind::Dir && reader.walk(BStr::new(dir), node, &mut entries)?.is_some() {
        return Ok(Vec::new());
    }
    Ok(entries
        .into_iter()
        .filter(|(_, entry)| entry.kind != Kind::Dir)
        .map(|(rel, _)| join(dir, &shown(&rel)))
        .collect())
}

/// `a/b/c` → `a/b`, `a` (the directories that hold it, innermost first).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.rmatch_indices('/').map(move |(i, _)| &path[..i])
}

fn finish(summary: &mut Summary) {
    for set in [&mut summary.matched, &mut summary.decided] {
        set.sort_unstable();
        set.dedup();
    }
}

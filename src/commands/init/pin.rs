//! The `.gitattributes` line `init` offers so that a loader's checkout holds the
//! committed bytes: `/<plugin tree>/** -text` for every plugin tree with a file git would
//! convert (`eol_conversion`), unless the file says so already.

use std::collections::BTreeSet;

use crate::checks::integrity::drift::plugin_tree_root;
use crate::checks::integrity::{Inventory, PluginState};
use crate::checks::platform::DriftKind;
use crate::commands::gitattributes;
use crate::tree::discover;

/// The comment above the lines `init` appends.
pub const COMMENT: &str =
    "plugin-lock: plugin files are checked out byte for byte, as the lock hashes them";

pub struct LineEndPin {
    /// The lines to append, in order; empty when nothing needs pinning.
    pub lines: Vec<String>,
    /// The plugin trees the lines cover, as the fix's `git add --renormalize` names them.
    pub roots: Vec<String>,
    /// The files that would be converted without the lines.
    pub files: usize,
    /// The `.gitattributes` the lines are appended to.
    pub current: gitattributes::Current,
}

impl LineEndPin {
    pub fn of(inv: &Inventory, lock: &str, current: gitattributes::Current) -> LineEndPin {
        let lock_dir = discover::lock_dir(lock);
        let mut roots = BTreeSet::new();
        let mut files = 0;
        for p in &inv.plugins {
            let n = converted_in(p);
            if n > 0 {
                files += n;
                roots.insert(plugin_tree_root(&p.dir, lock_dir).to_owned());
            }
        }
        let mut lines = Vec::new();
        let mut kept = Vec::new();
        for root in roots {
            let pattern = gitattributes::pattern(&root, "/**");
            // A line already there does not end the drift (an inner file overrides it):
            // appending it again would not either.
            if !current.has_line(&pattern, "-text") {
                lines.push(format!("{pattern} -text"));
                kept.push(root);
            }
        }
        LineEndPin {
            lines,
            roots: kept,
            files,
            current,
        }
    }
}

/// Every file of the inventory that git would check out with other line ends.
pub fn converted(inv: &Inventory) -> usize {
    inv.plugins.iter().map(converted_in).sum()
}

fn converted_in(p: &PluginState) -> usize {
    p.drift
        .iter()
        .filter(|d| d.kind == DriftKind::EolConversion)
        .count()
}

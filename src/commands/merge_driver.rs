//! `merge-driver %O %A %B %P`: git's merge driver for the lock. Set up with
//! `.gitattributes` `plugins/PLUGINS.lock merge=plugin-lock` and `git config
//! merge.plugin-lock.driver "plugin-lock merge-driver %O %A %B %P"`. The result goes to
//! %A (ours), as git expects; exit 0 merged, 1 an entry conflicts (its markers are in
//! %A), 2 a side is not a lock (then %A is left as it was, and git reports a conflict).

use std::io::Read as _;
use std::path::Path;

use crate::commands::ctx::{Ctx, io_out};
use crate::error::{Error, Result, exit};
use crate::escape;
use crate::lock::{self, merge};

/// Git's exit status for "merged with conflicts".
const CONFLICTED: u8 = 1;

fn read_side(path: &Path, label: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(lock::MAX_LOCK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    // No common ancestor (both sides added the lock): git hands an empty base.
    if bytes.is_empty() {
        return Ok(Default::default());
    }
    lock::parser::parse(&bytes)
        .map(|l| l.to_map())
        .map_err(|e| Error::Config {
            file: format!("{label} ({})", path.display()),
            line: e.line,
            column: e.column,
            message: e.message,
        })
}

pub fn run(
    ctx: &mut Ctx<'_>,
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path: Option<&str>,
) -> Result<u8> {
    let shown = escape::shown(path.unwrap_or("the lock")).into_owned();
    let merged = merge::three_way(
        &read_side(base, "the base lock")?,
        &read_side(ours, "our lock")?,
        &read_side(theirs, "their lock")?,
        "ours",
        "theirs",
    );
    crate::atomic::write_atomic(ours, merged.text.as_bytes()).map_err(|source| Error::Io {
        path: ours.to_path_buf(),
        source,
    })?;
    if merged.conflicts.is_empty() {
        if !ctx.cli.quiet {
            writeln!(ctx.err, "merge-driver: merged {shown} entry by entry").map_err(io_out)?;
        }
        return Ok(exit::OK);
    }
    let ids: Vec<String> = merged
        .conflicts
        .iter()
        .map(|id| format!("`{}`", escape::shown(id)))
        .collect();
    writeln!(
        ctx.err,
        "merge-driver: {shown}: {} entr{} changed differently on both sides ({}); resolve the plugins' files, then run `plugin-lock update`",
        ids.len(),
        if ids.len() == 1 { "y" } else { "ies" },
        ids.join(", ")
    )
    .map_err(io_out)?;
    Ok(CONFLICTED)
}

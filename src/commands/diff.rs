//! `diff A B`: every plugin's class of change between two revisions.

use crate::checks::changes;
use crate::checks::integrity::{self, Settings};
use crate::commands::ctx::*;
use crate::error::{Error, Result, exit};
use crate::report::{human, json};
use crate::tree::git::{self, Selector, Snapshot};

/// `diff A B` (or `A..B`): every plugin's class of change.
/// With `check`, exit 4 when any plugin's lock entry was not updated with its files.
pub fn run(ctx: &mut Ctx<'_>, revs: &[String], check: bool) -> Result<u8> {
    let (a, b) = match revs {
        [one] => one
            .split_once("..")
            .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.starts_with('.'))
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .ok_or_else(|| Error::Usage(format!("`{one}`: give two revisions, `A B` or `A..B`")))?,
        [a, b] => (a.clone(), b.clone()),
        _ => return Err(Error::Usage("diff takes two revisions".into())),
    };
    if ctx.cli.source.index
        || ctx.cli.source.worktree
        || ctx.cli.source.checkout
        || ctx.cli.source.rev.is_some()
    {
        return Err(Error::Usage(
            "diff reads its two revisions; --rev, --index and --worktree do not apply".into(),
        ));
    }
    let open_side = |rev: &str| -> Result<(Snapshot, Settings)> {
        let snap = Snapshot::open(git::open_repo()?, &Selector::Rev(rev.to_owned()))?;
        let repo = snap.local_repo();
        let mut reader = snap.reader(&repo);
        let settings = integrity::settings(&mut reader, &ctx.overrides()?)?;
        drop(reader);
        Ok((snap, settings))
    };
    let (sa, seta) = open_side(&a)?;
    let (sb, setb) = open_side(&b)?;
    let d = changes::diff((&sa, &seta), (&sb, &setb))?;
    match ctx.format()? {
        Plain::Json => json::write(ctx.out, &d),
        Plain::Human => human::diff(ctx.out, &d, ctx.cli.verbose),
    }
    .map_err(io_out)?;
    if check && d.plugins.iter().any(|p| p.lock_stale()) {
        return Ok(exit::CHECK_FAILED);
    }
    Ok(exit::OK)
}

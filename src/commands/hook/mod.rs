//! Git hooks: `hook pre-push` (git's stdin lines: verify the tree of every pushed tip),
//! `hook pre-commit-framework` (the same check for the pre-commit framework, which hands
//! its hooks environment variables instead of git's stdin), and `hook install` /
//! `hook uninstall` (the pre-push hook file).
//!
//! A push is verified tip by tip: each ref's `<local-id>` is opened as `--rev` would open
//! it (annotated tags peeled), checked like `verify`, and — when the remote's old id is
//! in the repository — its mismatches are explained against that old id.

pub mod install;
pub mod merge_setup;
pub mod protocol;
pub mod push;
pub mod render;

use crate::cli::HookAction;
use crate::commands::ctx::Ctx;
use crate::commands::hook::install::{install, uninstall};
use crate::commands::hook::push::{pre_commit_framework, pre_push};
use crate::error::{Error, Result};

pub fn run(ctx: &mut Ctx<'_>, action: &HookAction) -> Result<u8> {
    let s = &ctx.cli.source;
    if s.rev.is_some() || s.index || s.worktree || s.checkout {
        return Err(Error::Usage(
            "hook commands read the pushed commits (or the hooks directory); --rev, --index and --worktree do not apply".into(),
        ));
    }
    match action {
        HookAction::PrePush { remote, url } => pre_push(ctx, Some(remote), Some(url)),
        HookAction::PreCommitFramework => pre_commit_framework(ctx),
        HookAction::Install {
            force,
            merge_driver,
        } => install(ctx, *force, *merge_driver),
        HookAction::Uninstall { force } => uninstall(ctx, *force),
    }
}

//! `completions SHELL`: the shell completion script, generated from the argument parser.

use crate::commands::ctx::Ctx;
use crate::error::{Result, exit};

pub fn run(ctx: &mut Ctx<'_>, shell: clap_complete::Shell) -> Result<u8> {
    let mut cmd = crate::cli::command();
    clap_complete::generate(shell, &mut cmd, "plugin-lock", ctx.out);
    Ok(exit::OK)
}

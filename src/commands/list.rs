//! `list`: every plugin with its digest and lock state.

use crate::checks::integrity::InventoryOptions;
use crate::checks::pipeline::{self, OwnershipFrom};
use crate::commands::ctx::*;
use crate::error::{Result, exit};
use crate::github::actions_env;
use crate::report::{human, json};
use crate::tree::git::Selector;

pub fn run(ctx: &mut Ctx<'_>) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let (inv, _) = pipeline::evaluate(
        &snap,
        &settings,
        InventoryOptions::default(),
        &pipeline::Base::None,
        OwnershipFrom::Verified,
        actions_env::change_base_sha().is_some(),
    )?;
    match ctx.format()? {
        Plain::Json => json::list(ctx.out, &inv),
        Plain::Human => human::inventory(ctx.out, &inv, ctx.cli.verbose),
    }
    .map_err(io_out)?;
    Ok(exit::OK)
}

//! `owners [PATH...]`: GitHub's answer per path, or the ownership report.

use crate::cache::Cache;
use crate::checks::integrity::{self, InventoryOptions};
use crate::checks::ownership;
use crate::checks::ownership::codeowners;
use crate::checks::pipeline::{self};
use crate::commands::ctx::*;
use crate::digest;
use crate::error::{Result, exit};
use crate::escape;
use crate::report::{human, json};
use crate::tree::git::Selector;

/// `owners [PATH...]`: GitHub's answer per path, or the ownership report. With
/// `--base`, CODEOWNERS comes from the base tree, as GitHub reads it for a pull request.
pub fn run(ctx: &mut Ctx<'_>, paths: &[String]) -> Result<u8> {
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    let base = pipeline::open_base(
        ctx.cli.base.as_deref(),
        pipeline::Named::ByUser,
        &ctx.overrides()?,
        &settings,
    )?;
    let file = {
        let (from, _) = match &base {
            pipeline::Base::Present(b) => (&b.0, &b.1),
            _ => (&snap, &settings),
        };
        let repo = from.local_repo();
        let mut reader = from.reader(&repo);
        ownership::load(&mut reader)?
    };
    let code = if file.as_ref().is_some_and(|f| !f.errors.is_empty()) {
        exit::CHECK_FAILED
    } else {
        exit::OK
    };
    if let Some(f) = file.as_ref().filter(|f| !f.errors.is_empty()) {
        for e in &f.errors {
            writeln!(
                ctx.err,
                "plugin-lock: {}:{}:{}: {}",
                escape::shown(&f.path),
                e.line,
                e.column,
                escape::shown(&e.message)
            )
            .map_err(io_out)?;
        }
    }
    let codeowners = file.as_ref().map(|f| f.path.clone());
    #[derive(serde::Serialize)]
    struct Entry {
        path: String,
        owners: Vec<String>,
        line: Option<u32>,
    }
    let entry = |path: &str| {
        let a = ownership::answer(file.as_ref(), path);
        Entry {
            path: a.path,
            owners: a.owners,
            line: a.line,
        }
    };
    if !paths.is_empty() {
        let mut entries = Vec::with_capacity(paths.len());
        for p in paths {
            entries.push(entry(&tree_path(&snap.prefix, p)?));
        }
        match ctx.format()? {
            Plain::Json => {
                #[derive(serde::Serialize)]
                struct Doc {
                    codeowners: Option<String>,
                    paths: Vec<Entry>,
                }
                json::write(
                    ctx.out,
                    &Doc {
                        codeowners,
                        paths: entries,
                    },
                )
            }
            Plain::Human => entries.iter().try_for_each(|e| {
                let who = if e.owners.is_empty() {
                    "-".to_owned()
                } else {
                    human::owners(&e.owners)
                };
                writeln!(ctx.out, "{}  {who}", escape::shown(&e.path))
            }),
        }
        .map_err(io_out)?;
        return Ok(code);
    }
    // The report: the lock, the configuration, and each plugin's unowned files.
    let cache = Cache::open(&snap, &settings.config);
    let inv = integrity::inventory(
        &snap,
        &settings,
        InventoryOptions::default(),
        cache.as_ref(),
    )?;
    #[derive(serde::Serialize)]
    struct PluginOwners {
        id: String,
        owners: Vec<String>,
        unowned: Vec<String>,
    }
    // Without CODEOWNERS no rule matches: every plugin file is unowned.
    let nobody = codeowners::parse(b"").0;
    let (rules, fingerprint) = match &file {
        Some(f) => (&f.owners, f.fingerprint.clone()),
        None => (&nobody, digest::sha256_hex(&[])),
    };
    let surveyed = ownership::survey_inventory(&snap, rules, &fingerprint, &inv, cache.as_ref())?;
    if let Some(cache) = cache {
        cache.save();
    }
    let plugins: Vec<PluginOwners> = surveyed
        .plugins
        .into_iter()
        .filter_map(|(i, found)| {
            inv.plugins.get(i).map(|p| PluginOwners {
                id: p.id.clone(),
                owners: found.owners,
                unowned: found.unowned,
            })
        })
        .collect();
    let lock = entry(&settings.config.lock);
    let config = settings
        .config_exists
        .then(|| entry(integrity::CONFIG_FILE));
    match ctx.format()? {
        Plain::Json => {
            #[derive(serde::Serialize)]
            struct Doc {
                codeowners: Option<String>,
                lock: Entry,
                config: Option<Entry>,
                plugins: Vec<PluginOwners>,
            }
            json::write(
                ctx.out,
                &Doc {
                    codeowners,
                    lock,
                    config,
                    plugins,
                },
            )
        }
        Plain::Human => (|| {
            let who = |o: &[String]| {
                if o.is_empty() {
                    "-".to_owned()
                } else {
                    human::owners(o)
                }
            };
            let at = |l: Option<u32>| l.map(|l| format!(" (line {l})")).unwrap_or_default();
            match &codeowners {
                Some(c) => writeln!(ctx.out, "CODEOWNERS: {}", escape::shown(c))?,
                None => writeln!(ctx.out, "CODEOWNERS: none")?,
            }
            writeln!(
                ctx.out,
                "{}  {}{}",
                escape::shown(&lock.path),
                who(&lock.owners),
                at(lock.line)
            )?;
            if let Some(c) = &config {
                writeln!(
                    ctx.out,
                    "{}  {}{}",
                    escape::shown(&c.path),
                    who(&c.owners),
                    at(c.line)
                )?;
            }
            for p in &plugins {
                let tail = if p.unowned.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  ({} unowned file(s): {})",
                        p.unowned.len(),
                        p.unowned
                            .iter()
                            .take(3)
                            .map(|f| escape::shown(f).into_owned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                writeln!(
                    ctx.out,
                    "{}  {}{tail}",
                    escape::shown(&p.id),
                    who(&p.owners)
                )?;
            }
            Ok(())
        })(),
    }
    .map_err(io_out)?;
    Ok(code)
}

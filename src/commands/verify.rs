//! `verify`: check the tree against its lock and report the findings in the format asked.

use std::path::Path;

use crate::checks::findings::Severity;
use crate::checks::integrity::{self, InventoryOptions};
use crate::checks::pipeline::{self, OwnershipFrom};
use crate::cli::Format;
use crate::commands::ctx::*;
use crate::error::{Error, Result};
use crate::github::actions_env;
use crate::github::api;
use crate::github::approvals;
use crate::github::checkrun;
use crate::report::{github, human, json, sarif};
use crate::tree::git::{self, Selector};
use crate::write_path;

/// `verify`'s flags beyond the tree and the format.
pub struct Options {
    pub read_only: bool,
    pub check_run: bool,
    pub check_approvals: bool,
    pub statistics: bool,
}

pub fn run(ctx: &mut Ctx<'_>, report: Option<&Path>, options: Options) -> Result<u8> {
    let Options {
        read_only,
        check_run,
        check_approvals,
        statistics,
    } = options;
    if statistics
        && matches!(
            ctx.verify_format(),
            Format::Github | Format::Sarif | Format::Concise
        )
    {
        return Err(Error::Usage(
            "--statistics prints human or json; github and sarif report each finding".into(),
        ));
    }
    let (snap, settings) = open(ctx, Selector::Rev("HEAD".into()))?;
    if let Some(note) = uncommitted_note(ctx, &snap, &settings)?.filter(|_| !ctx.cli.quiet) {
        let _ = writeln!(ctx.err, "{note}");
    }
    let options = InventoryOptions { read_only };
    let overrides = ctx.overrides()?;
    // `--base`; else a pull request's base inside Actions (approvals compare with it
    // even outside); else the merge base with the upstream, which only explains.
    let from_environment = (actions_env::in_actions() || check_approvals)
        .then(actions_env::change_base_sha)
        .flatten();
    let base = match (&ctx.cli.base, from_environment) {
        (Some(rev), _) => {
            pipeline::open_base(Some(rev), pipeline::Named::ByUser, &overrides, &settings)?
        }
        (None, Some(rev)) => pipeline::open_base(
            Some(&rev),
            pipeline::Named::ByEnvironment,
            &overrides,
            &settings,
        )?,
        // The checkout is explained against the commit it came from.
        (None, None) if snap.source == "checkout" => {
            pipeline::committed_base(&overrides, &settings)?
        }
        (None, None) => {
            let branch = git::base::branch_of(&snap.local_repo(), ctx.cli.source.rev.as_deref());
            pipeline::inferred_base(&snap, branch.as_deref(), None, &overrides, &settings)?
        }
    };
    let (inv, mut findings) = pipeline::evaluate(
        &snap,
        &settings,
        options,
        &base,
        OwnershipFrom::Base,
        actions_env::change_base_sha().is_some(),
    )?;
    if check_approvals {
        let outcome = approvals::check(&snap, &settings, &base, &approvals::PrEnv::from_env())?;
        // The base's severities, as for ownership: a change cannot switch the check off.
        let levels = match &base {
            pipeline::Base::Present(b) => &b.1.levels,
            _ => &settings.levels,
        };
        findings.extend(levels.apply(outcome.findings));
        crate::checks::findings::sort(&mut findings);
        if let Some(note) = outcome.note.filter(|_| !ctx.cli.quiet) {
            let _ = writeln!(ctx.err, "{note}");
        }
    }
    let style = ctx.style();
    let format = ctx.verify_format();
    let base_json = match &base {
        pipeline::Base::Present(b) => Some(json::BaseJson {
            commit: &b.0.source,
            chosen: "given",
            merge_base_with: None,
            why: None,
        }),
        pipeline::Base::Inferred(b, found) => Some(json::BaseJson {
            commit: &b.0.source,
            chosen: "inferred",
            merge_base_with: Some(&found.with),
            why: Some(&found.why),
        }),
        _ => None,
    };
    // A base nobody asked for is named where it explains something.
    if let pipeline::Base::Inferred(_, found) = &base
        && format != Format::Json
        && !ctx.cli.quiet
        && findings
            .iter()
            .any(|f| f.kind == crate::checks::findings::Kind::IntegrityMismatch)
    {
        let _ = if snap.source == "checkout" {
            writeln!(
                ctx.err,
                "note: the checkout is compared with commit {} ({}), {}",
                crate::escape::short_id(&found.commit),
                crate::escape::shown(&found.with),
                crate::escape::shown(&found.why)
            )
        } else {
            writeln!(
                ctx.err,
                "note: changes are explained against {}, the merge base with {} ({}); `--base REV` chooses another",
                crate::escape::short_id(&found.commit),
                crate::escape::shown(&found.with),
                crate::escape::shown(&found.why)
            )
        };
    }
    let verdict = human::Verdict {
        command: "verify",
        source: &inv.source,
        lock_path: &inv.lock_path,
        plugins: inv
            .plugins
            .iter()
            .filter(|p| p.status != integrity::Status::MissingDirectory)
            .count(),
    };
    // The JSON report: where asked (replacing the path, never writing through it), and
    // always with `github`, as a fresh file whose path is the `report` output.
    let report_path = match (report, format) {
        (None, Format::Human | Format::Json | Format::Sarif | Format::Concise) => None,
        (Some(path), _) => {
            let repo = snap.local_repo();
            write_path::report_file(
                snap.workdir.as_deref(),
                &[repo.git_dir(), repo.common_dir()],
                path,
            )?;
            let mut bytes = Vec::new();
            json::verify(&mut bytes, &inv, &findings, base_json.as_ref()).map_err(io_out)?;
            crate::atomic::write_atomic(path, &bytes).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Some(path.to_path_buf())
        }
        (None, Format::Github) => {
            let mut bytes = Vec::new();
            json::verify(&mut bytes, &inv, &findings, base_json.as_ref()).map_err(io_out)?;
            Some(write_path::fresh_report(&report_dir(), &bytes)?)
        }
    };
    match format {
        Format::Json if statistics => json::statistics(ctx.out, &inv, &findings),
        Format::Human if statistics => human::statistics(ctx.out, &findings, &verdict, style),
        Format::Json => json::verify(ctx.out, &inv, &findings, base_json.as_ref()),
        Format::Sarif => sarif::write(ctx.out, &findings, &inv.suppressed),
        Format::Concise => human::concise(ctx.out, &findings, &verdict, ctx.cli.quiet),
        Format::Human => human::report(ctx.out, &findings, &verdict, style, ctx.cli.quiet)
            .and_then(|()| {
                human::suppressed(ctx.out, &inv.suppressed, ctx.cli.verbose, ctx.cli.quiet)
            }),
        Format::Github => {
            github::annotations(ctx.out, &findings).map_err(io_out)?;
            github::without_commands(ctx.out, |out| {
                human::report(
                    out,
                    &findings,
                    &verdict,
                    human::Style {
                        color: false,
                        verbose: ctx.cli.verbose,
                    },
                    ctx.cli.quiet,
                )
            })
            .map_err(io_out)?;
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            let summary = github::summary(&inv, &findings, "verify");
            match &report_path {
                Some(path) => github::publish(&summary, errors > 0, errors, path),
                None => Ok(()),
            }
        }
    }
    .map_err(io_out)?;
    if check_run {
        // The report first (the API may take a while); the exit code never depends on it.
        let _ = ctx.out.flush();
        let summary = github::summary(&inv, &findings, "verify");
        let outcome = checkrun::publish(&findings, &summary, &api::GithubEnv::from_env());
        // `-q` is errors only: the verdict is the exit code, not the check run's fate.
        let quiet = ctx.cli.quiet;
        if let Some(note) = outcome.note(format == Format::Github).filter(|_| !quiet) {
            let _ = writeln!(ctx.err, "{note}");
        }
    }
    Ok(verdict_code(&findings))
}

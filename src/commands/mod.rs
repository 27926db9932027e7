//! One module per command, each `run(ctx, args) -> Result<exit code>`: open the tree,
//! ask the checks, hand the result to a renderer. This module only sets up the process
//! (the guarded output streams, `-C`, process-wide limits) and dispatches.

pub mod completions;
pub mod ctx;
pub mod diff;
pub mod digest;
pub mod gitattributes;
pub mod hook;
pub mod init;
pub mod list;
pub mod merge_driver;
pub mod owners;
pub mod update;
pub mod verify;

use std::io::{BufWriter, StderrLock, StdoutLock, Write};

use crate::cache;
use crate::cli::{Cli, Command};
use crate::error::{Result, exit};
use crate::escape::{self, Guard};
use crate::github::actions_env;
use crate::tree::blob;

pub use ctx::Ctx;

/// The process's stdout and stderr, each behind the escaping guard ([`Guard`]): no raw
/// control character, and inside Actions no line that the runner would run as a command.
pub struct Streams {
    out: Guard<BufWriter<StdoutLock<'static>>>,
    err: Guard<StderrLock<'static>>,
}

impl Streams {
    pub fn open() -> Streams {
        let actions = actions_env::in_actions();
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let read_by_runner = |handle| actions && escape::runner_reads(&handle);
        let err = Guard::new(stderr.lock(), read_by_runner(handle(&stderr)));
        let out = Guard::new(
            BufWriter::new(stdout.lock()),
            read_by_runner(handle(&stdout)),
        );
        Streams { out, err }
    }

    /// Writes a usage error (already rendered) to stderr.
    pub fn usage_error(&mut self, message: &str) {
        let _ = self.err.write_all(message.as_bytes());
    }
}

#[cfg(unix)]
fn handle(stream: &impl std::os::fd::AsFd) -> escape::StreamHandle<'_> {
    stream.as_fd()
}

#[cfg(windows)]
fn handle(stream: &impl std::os::windows::io::AsHandle) -> escape::StreamHandle<'_> {
    stream.as_handle()
}

/// The whole program, as the binary and the Python package's `plugin-lock` script run
/// it: parse `args` (the program name first), run the command, return the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> u8 {
    let mut streams = Streams::open();
    let cli = match crate::cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            streams.usage_error(&usage_error(&e, &args));
            return exit::USAGE;
        }
        Err(e) => {
            // --help, --version: our own text, on stdout.
            let _ = e.print();
            return exit::OK;
        }
    };
    execute(&cli, streams)
}

/// clap's message for a usage error. clap quotes the offending argument as given, so
/// when an argument holds a control character (a newline would start a line of the
/// argument's choosing) the message is rendered from the arguments as they are shown.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> String {
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let render = |e: &clap::Error| {
        let styled = e.render();
        if colour {
            styled.ansi().to_string()
        } else {
            styled.to_string()
        }
    };
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let shown: Vec<String> = args.iter().map(|a| escape::shown(a).into_owned()).collect();
    if shown != args
        && let Err(again) = crate::cli::parse(
            &shown
                .iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>(),
        )
        && again.use_stderr()
    {
        return render(&again);
    }
    render(e)
}

/// Runs the parsed command line and returns the process's exit code: errors are printed
/// here, once, and a closed pipe on stdout is not one.
pub fn execute(cli: &Cli, streams: Streams) -> u8 {
    let Streams { mut out, mut err } = streams;
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let _ = writeln!(
            err,
            "plugin-lock: error: cannot change to {}: {e}",
            escape::shown(&dir.to_string_lossy())
        );
        return exit::USAGE;
    }
    cache::configure(cli.cache, cli.no_cache);
    if let Some(bytes) = cli.max_blob_size {
        blob::set_max_blob_size(bytes);
    }
    let mut ctx = Ctx {
        cli,
        out: &mut out,
        err: &mut err,
    };
    let result = run(&mut ctx);
    // Under `--format github` a run that stops says so where people look, too.
    if let (Err(e), Some(command)) = (&result, github_command(&ctx))
        && !e.is_broken_pipe()
    {
        let location = e.location();
        let _ = crate::report::github::run_error(
            ctx.out,
            command,
            &escape::shown_text(&e.to_string()),
            location.as_ref().map(|(p, l, c)| (p.as_str(), *l, *c)),
        );
    }
    let flushed = out.finish();
    if cli.verbose
        && let Some(note) = cache::note()
    {
        let _ = writeln!(err, "plugin-lock: note: {note}; ran without the cache");
    }
    match result {
        Ok(code) => match flushed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                let _ = writeln!(err, "plugin-lock: error: writing output: {e}");
                exit::INTERNAL
            }
            _ => code,
        },
        Err(e) if e.is_broken_pipe() => exit::OK,
        Err(e) => {
            // Errors quote globs, paths and revisions from the repository or the
            // arguments: capped, control characters escaped, one line.
            let _ = writeln!(
                err,
                "plugin-lock: error: {}",
                escape::shown_text(&e.to_string())
            );
            e.exit_code()
        }
    }
}

/// The command's name when it reports in GitHub's format: `verify`, with `--format
/// github` or inside Actions by default.
fn github_command(ctx: &Ctx<'_>) -> Option<&'static str> {
    (matches!(ctx.cli.command, Command::Verify { .. })
        && ctx.verify_format() == crate::cli::Format::Github)
        .then_some("verify")
}

/// Runs one command, writing to the writers in `ctx`.
pub fn run(ctx: &mut Ctx<'_>) -> Result<u8> {
    match &ctx.cli.command {
        Command::Completions { shell } => completions::run(ctx, *shell),
        Command::MergeDriver {
            ancestor,
            current,
            other,
            lock_path,
        } => merge_driver::run(ctx, ancestor, current, other, lock_path.as_deref()),
        Command::Verify {
            report,
            bench_read_only,
            check_run,
            check_approvals,
            statistics,
        } => verify::run(
            ctx,
            report.as_deref(),
            verify::Options {
                read_only: *bench_read_only,
                check_run: *check_run,
                check_approvals: *check_approvals,
                statistics: *statistics,
            },
        ),
        Command::List => list::run(ctx),
        Command::Init {
            dry_run,
            force,
            no_gitattributes,
        } => init::run(ctx, *dry_run, *force, !*no_gitattributes),
        Command::Owners { paths } => owners::run(ctx, paths),
        Command::Diff { revs, check } => diff::run(ctx, revs, *check),
        Command::Update {
            check,
            stdout,
            tracked,
        } => update::run(ctx, *check, *stdout, *tracked),
        Command::Digest { dirs, explain } => digest::run(ctx, dirs, *explain),
        Command::Hook { action } => hook::run(ctx, action),
    }
}

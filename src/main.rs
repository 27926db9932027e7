//! plugin-lock: keeps a repository's plugin directories honest.
//!
//! The entry point only parses arguments, runs the command and turns its outcome into
//! an exit code; see `commands` for what each command does.

mod actions_env;
mod approvals;
mod cache;
mod changes;
mod check;
mod checkrun;
mod cli;
mod codeowners;
mod commands;
mod config;
mod digest;
mod discover;
mod error;
mod findings;
mod hook;
mod lock;
mod manifest;
mod ownership;
mod pipeline;
mod render;
mod source;
mod survey;
mod write_path;
mod yaml;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Everything printed passes the guard (render::escape::Guard): no raw control
    // character, and inside Actions no line that the runner would run as a command.
    let actions = actions_env::in_actions();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let read_by_runner = |handle| actions && render::escape::runner_reads(&handle);
    let mut err = render::escape::Guard::new(stderr.lock(), read_by_runner(handle(&stderr)));
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let _ = err.write_all(usage_error(&e).as_bytes());
            return ExitCode::from(error::exit::USAGE);
        }
        Err(e) => {
            // --help, --version: our own text, on stdout.
            let _ = e.print();
            return ExitCode::from(error::exit::OK);
        }
    };
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        let _ = writeln!(
            err,
            "plugin-lock: error: cannot change to {}: {e}",
            render::escape::shown(&dir.to_string_lossy())
        );
        return ExitCode::from(error::exit::USAGE);
    }
    cache::configure(cli.cache, cli.no_cache);
    if let Some(bytes) = cli.max_blob_size {
        source::set_max_blob_size(bytes);
    }
    let mut out = render::escape::Guard::new(
        std::io::BufWriter::new(stdout.lock()),
        read_by_runner(handle(&stdout)),
    );
    let result = commands::run(&mut commands::Ctx {
        cli: &cli,
        out: &mut out,
        err: &mut err,
    });
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
                ExitCode::from(error::exit::INTERNAL)
            }
            _ => ExitCode::from(code),
        },
        Err(error::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(error::exit::OK)
        }
        Err(e) => {
            // Errors quote globs, paths and revisions from the repository or the
            // arguments: capped, control characters escaped, one line.
            let _ = writeln!(
                err,
                "plugin-lock: error: {}",
                render::escape::shown_text(&e.to_string())
            );
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(unix)]
fn handle(stream: &impl std::os::fd::AsFd) -> render::escape::StreamHandle<'_> {
    stream.as_fd()
}

#[cfg(windows)]
fn handle(stream: &impl std::os::windows::io::AsHandle) -> render::escape::StreamHandle<'_> {
    stream.as_handle()
}

/// clap's message for a usage error. clap quotes the offending argument as given, so
/// when an argument holds a control character (a newline would start a line of the
/// argument's choosing) the message is rendered from the arguments as they are shown.
fn usage_error(e: &clap::Error) -> String {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let render = |e: &clap::Error| {
        let styled = e.render();
        if colour {
            styled.ansi().to_string()
        } else {
            styled.to_string()
        }
    };
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let shown: Vec<String> = args
        .iter()
        .map(|a| render::escape::shown(a).into_owned())
        .collect();
    if shown != args
        && let Err(again) = cli::Cli::try_parse_from(&shown)
        && again.use_stderr()
    {
        return render(&again);
    }
    render(e)
}

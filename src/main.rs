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

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::exit::USAGE
            } else {
                error::exit::OK
            });
        }
    };
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!(
            "plugin-lock: error: cannot change to {}: {e}",
            dir.display()
        );
        return ExitCode::from(error::exit::USAGE);
    }
    cache::configure(cli.cache, cli.no_cache);
    if let Some(bytes) = cli.max_blob_size {
        source::set_max_blob_size(bytes);
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = stderr.lock();
    let result = commands::run(&mut commands::Ctx {
        cli: &cli,
        out: &mut out,
        err: &mut err,
    });
    let flushed = out.flush();
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
            let _ = writeln!(err, "plugin-lock: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

//! plugin-lock: keeps a repository's plugin directories honest.
//!
//! The entry point only parses the arguments, runs the command and returns its exit
//! code; the library (`plugin_lock`, src/lib.rs) does the rest.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use plugin_lock::cli::Cli;
use plugin_lock::commands::{self, Streams};
use plugin_lock::error::exit;
use plugin_lock::escape;

fn main() -> ExitCode {
    let mut streams = Streams::open();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            streams.usage_error(&usage_error(&e));
            return ExitCode::from(exit::USAGE);
        }
        Err(e) => {
            // --help, --version: our own text, on stdout.
            let _ = e.print();
            return ExitCode::from(exit::OK);
        }
    };
    ExitCode::from(commands::execute(&cli, streams))
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
    let shown: Vec<String> = args.iter().map(|a| escape::shown(a).into_owned()).collect();
    if shown != args
        && let Err(again) = Cli::try_parse_from(&shown)
        && again.use_stderr()
    {
        return render(&again);
    }
    render(e)
}

//! plugin-lock: keeps a repository's plugin directories honest.
//!
//! The entry point hands the arguments to the library (`plugin_lock::commands::main`:
//! parse them, run the command, return its exit code), which the Python package's
//! `plugin-lock` script calls too.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(plugin_lock::commands::main(std::env::args_os().collect()))
}

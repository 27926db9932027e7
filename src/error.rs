//! The errors that stop a command before it can judge anything, and their exit codes.
//!
//! Findings (a plugin that does not match, a malformed lock) are not errors: they are
//! results, reported and judged. These are the cases where the tool could not run as
//! asked (exit 2) or broke (exit 1).

use std::path::PathBuf;

/// Exit codes, the same for every command (DESIGN.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const CHECK_FAILED: u8 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: not a git repository (or any of its parents){cause}")]
    NotARepository { path: PathBuf, cause: String },
    #[error("unknown revision `{rev}`: {cause}")]
    UnknownRevision { rev: String, cause: String },
    #[error("{file}:{line}:{column}: {message}")]
    Config {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("git: {0}")]
    Git(String),
    /// A file over the blob size limit (`--max-blob-size`): its digest cannot be computed.
    #[error("`{path}` is {}{size} bytes, over the {cap}-byte blob size limit (raise it with --max-blob-size or PLUGIN_LOCK_MAX_BLOB_SIZE)", if *at_least { "at least " } else { "" })]
    BlobTooLarge {
        path: String,
        size: u64,
        /// The size is a lower bound: reading stopped at the limit.
        at_least: bool,
        cap: u64,
    },
    /// An object the tree names is not in the repository (a partial clone's blob not
    /// fetched yet, or one that could not be fetched).
    #[error("`{path}` in {source_label}: object {id} is not in this repository: {hint}")]
    MissingObject {
        path: String,
        id: String,
        /// The tree, as people name it (`commit 3f2a1c9e0b7d`, `the index`).
        source_label: String,
        hint: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The file (repository-relative), line and column the error is about, when it has
    /// one: where an annotation can point.
    pub fn location(&self) -> Option<(String, u32, Option<u32>)> {
        match self {
            Error::Config {
                file, line, column, ..
            } => Some((file.clone(), *line, Some(*column))),
            Error::MissingObject { path, .. } | Error::BlobTooLarge { path, .. } => {
                Some((path.clone(), 1, None))
            }
            Error::Io { path, .. } if path.is_relative() && !path.as_os_str().is_empty() => {
                Some((path.to_string_lossy().replace('\\', "/"), 1, None))
            }
            _ => None,
        }
    }

    /// A write to a closed pipe (`plugin-lock … | head`): not a failure of the run.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Internal(_) => exit::INTERNAL,
            _ => exit::USAGE,
        }
    }

    /// A gix error with its whole cause chain: gix's `Display` shows only the top line.
    #[cfg(feature = "cli")]
    pub fn git(err: &gix::Error) -> Error {
        Error::Git(chain(err))
    }
}

/// Joins an error's messages, outermost first, skipping repeats.
#[cfg(feature = "cli")]
pub fn chain(err: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.iter_errors() {
        let msg = e.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
    }
    parts.join(": ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

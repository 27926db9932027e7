//! plugin-lock keeps a repository's plugin directories honest: it computes a SHA-256
//! tree digest for every plugin from committed git blobs, compares the digests with
//! `plugins/PLUGINS.lock`, checks ownership with CODEOWNERS, and reports what it found.
//!
//! The crate is a library with a thin binary (`src/main.rs`). Its layers, from the
//! bottom (each may use the ones above it in this list, never one below):
//!
//! - [`error`], [`escape`]: the errors that stop a run; the one layer that makes
//!   untrusted text safe to print.
//! - [`tree`]: where bytes come from — the [`tree::Tree`] trait, blob limits, and (with
//!   the `cli` feature) the gix sources and plugin discovery.
//! - [`digest`] (spec/DIGEST.md, the only SHA-256), [`lock`], [`config`], [`manifest`]
//!   (with [`yaml`]): the contract's data, pure functions over bytes and trees.
//! - [`checks`]: what a run decides — the closed list of finding kinds
//!   ([`checks::findings`]) and, with `cli`, one module per check.
//! - `cache` (with `cli`): per-plugin results kept between runs.
//! - `report`, `github` (with `cli`): one module per output format; the Actions
//!   environment, check runs and approvals (the only async code).
//! - `cli`, `commands` (with `cli`): the command line and one module per command.
//!
//! Without the default `cli` feature only the runtime core builds: the digest, the lock,
//! the configuration, manifests and the tree trait, with no gix, clap, octocrab or
//! tokio. ARCHITECTURE.md at the repository's root is the map.

pub mod atomic;
pub mod checks;
pub mod config;
pub mod digest;
pub mod error;
pub mod escape;
pub mod lock;
pub mod manifest;
#[cfg(test)]
pub(crate) mod mutate;
pub mod parallel;
pub mod runtime;
pub mod tree;
pub mod yaml;

#[cfg(feature = "cli")]
pub mod cache;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod github;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod write_path;

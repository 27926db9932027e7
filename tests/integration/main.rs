//! The integration suite: the binary, run against fixture repositories built with git.

// A panic in a test is a failed test: helpers outside `#[test]` functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod adoption;
mod approvals;
mod architecture;
mod bad_input;
mod cache;
mod changes;
mod checkout;
mod checkrun;
mod crlf;
mod default_base;
mod eol;
mod github;
mod github_api;
mod hook;
mod init;
mod manifests;
mod owners;
mod partial_clone;
mod platform;
mod reports;
mod security_base;
mod security_cache;
mod security_limits;
mod security_output;
mod security_paths;
mod security_review;
mod security_trees;
mod security_writes;
mod snapshots;
mod snapshots_messages;
mod sources;
mod suppress;
mod update;
mod update_sources;
#[allow(dead_code)] // helpers shared by modules; not every module uses each
mod util;
mod vectors;
mod verify;

//! One plugin's results computed from its own tree — the digest, the manifest's state,
//! where to point findings — the part of a check that src/cache may keep between runs.

use crate::digest;
use crate::digest::rejection::Rejection;
use crate::manifest::ManifestProblem;

/// The plugin's manifest, as the check found it.
#[derive(Debug, Clone)]
pub enum ManifestState {
    NotRequired,
    Missing,
    /// `version`: what the manifest states, when it states one.
    Valid {
        version: Option<String>,
    },
    Invalid(Vec<ManifestProblem>),
}

/// One plugin's results, as src/cache stores them.
pub struct Computed {
    pub digest: std::result::Result<String, Rejection>,
    pub manifest: ManifestState,
    pub manifest_path: Option<String>,
    pub first_file: Option<String>,
    /// Whether the result depends only on the plugin's own tree (see cache.rs).
    pub cacheable: bool,
    /// Committed bytecode inside the plugin (`bytecode_committed`).
    pub bytecode: digest::Bytecode,
    /// A rejected plugin's offending entries after the first (never cached).
    pub more_rejections: Vec<Rejection>,
    /// What a checkout on Windows or macOS would do to the plugin's names.
    pub drift: Vec<crate::checks::platform::Drift>,
}

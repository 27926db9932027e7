//! One cached result as the cache file stores it: a [`Computed`] as a line of JSON,
//! decoded strictly (anything unexpected is dropped and recomputed).

use serde::{Deserialize, Serialize};

use crate::checks::computed::{Computed, ManifestState};
use crate::digest;
use crate::digest::rejection::{Rejection, RejectionKind};
use crate::manifest::ManifestProblem;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    digest: Option<String>,
    rejection: Option<StoredRejection>,
    manifest: StoredManifest,
    manifest_path: Option<String>,
    first_file: Option<String>,
    /// Committed bytecode: the first few paths (relative to the plugin) and the count.
    bytecode: (Vec<String>, usize),
    /// Platform drift: kind, path, the other path of a collision, detail.
    drift: Vec<(String, String, Option<String>, String)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRejection {
    kind: String,
    path: String,
    message: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
enum StoredManifest {
    NotRequired,
    Missing,
    Valid(Option<String>),
    Invalid(Vec<(u32, u32, String)>),
}

const KINDS: [RejectionKind; 5] = [
    RejectionKind::SymlinkEscape,
    RejectionKind::SymlinkLoop,
    RejectionKind::DanglingSymlink,
    RejectionKind::UnsupportedEntry,
    RejectionKind::UnsupportedPath,
];

pub fn encode(c: &Computed) -> Option<String> {
    let (digest, rejection) = match &c.digest {
        Ok(d) => (Some(d.clone()), None),
        Err(r) => (
            None,
            Some(StoredRejection {
                kind: r.kind.as_str().to_owned(),
                path: r.path.clone(),
                message: r.message.clone(),
            }),
        ),
    };
    let manifest = match &c.manifest {
        ManifestState::NotRequired => StoredManifest::NotRequired,
        ManifestState::Missing => StoredManifest::Missing,
        ManifestState::Valid { version } => StoredManifest::Valid(version.clone()),
        ManifestState::Invalid(problems) => StoredManifest::Invalid(
            problems
                .iter()
                .map(|p| (p.line, p.column, p.message.clone()))
                .collect(),
        ),
    };
    serde_json::to_string(&Stored {
        digest,
        rejection,
        manifest,
        manifest_path: c.manifest_path.clone(),
        first_file: c.first_file.clone(),
        bytecode: (c.bytecode.listed.clone(), c.bytecode.count),
        drift: c
            .drift
            .iter()
            .map(|d| {
                (
                    d.kind.as_str().to_owned(),
                    d.path.clone(),
                    d.other.clone(),
                    d.detail.to_string(),
                )
            })
            .collect(),
    })
    .ok()
}

/// A stored value, validated: exactly one of digest (64 lowercase hex) and rejection
/// (a known kind).
pub fn decode(text: &str) -> Option<Computed> {
    let s: Stored = serde_json::from_str(text).ok()?;
    let digest = match (s.digest, s.rejection) {
        (Some(d), None) if is_hex64(&d) => Ok(d),
        (None, Some(r)) => Err(Rejection {
            kind: *KINDS.iter().find(|k| k.as_str() == r.kind)?,
            path: r.path,
            message: r.message,
        }),
        _ => return None,
    };
    if s.bytecode.0.len() > digest::Bytecode::LISTED || s.bytecode.1 < s.bytecode.0.len() {
        return None;
    }
    let drift = s
        .drift
        .into_iter()
        .map(|(kind, path, other, detail)| {
            use crate::checks::platform::{Drift, DriftKind, EolCause};
            let kind = DriftKind::from_name(&kind)?;
            // A line-end cause is one of the known names, shared as the fresh drift is.
            let detail = match kind {
                DriftKind::EolConversion => EolCause::from_name(&detail)?.as_str().into(),
                _ => detail.into(),
            };
            Some(Drift {
                kind,
                path,
                other,
                detail,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let manifest = match s.manifest {
        StoredManifest::NotRequired => ManifestState::NotRequired,
        StoredManifest::Missing => ManifestState::Missing,
        StoredManifest::Valid(version) => ManifestState::Valid { version },
        StoredManifest::Invalid(problems) => ManifestState::Invalid(
            problems
                .into_iter()
                .map(|(line, column, message)| ManifestProblem {
                    line,
                    column,
                    message,
                })
                .collect(),
        ),
    };
    Some(Computed {
        digest,
        manifest,
        manifest_path: s.manifest_path,
        first_file: s.first_file,
        cacheable: true,
        bytecode: digest::Bytecode {
            listed: s.bytecode.0,
            count: s.bytecode.1,
        },
        more_rejections: Vec::new(),
        drift,
    })
}

pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

//! Renderers: one module per output format. Each takes what a command computed and a
//! writer; none decides anything.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::checks::findings::{self, Finding};
use crate::checks::integrity::PluginState;
use crate::digest::rejection::Rejection;
use crate::escape;

/// The plugin shape shared by `list` and `verify` JSON (DESIGN.md).
#[derive(serde::Serialize)]
pub struct PluginJson<'a> {
    pub id: &'a str,
    pub dir: &'a str,
    pub version: Option<&'a str>,
    pub digest: Option<&'a str>,
    pub rejection: Option<RejectionJson<'a>>,
    pub locked: Option<&'a str>,
    pub status: &'static str,
    pub owners: &'a [String],
}

#[derive(serde::Serialize)]
pub struct RejectionJson<'a> {
    pub kind: &'static str,
    pub path: &'a str,
    /// Capped: a record keeps data exact, but a message is text for people.
    pub message: std::borrow::Cow<'a, str>,
}

impl<'a> RejectionJson<'a> {
    pub fn new(r: &'a Rejection) -> Self {
        RejectionJson {
            kind: r.kind.as_str(),
            path: &r.path,
            message: escape::cap(&r.message),
        }
    }
}

impl<'a> PluginJson<'a> {
    pub fn new(p: &'a PluginState) -> Self {
        PluginJson {
            id: &p.id,
            dir: &p.dir,
            version: p.version(),
            digest: p.digest.as_deref(),
            rejection: p.rejection.as_ref().map(RejectionJson::new),
            locked: p.locked.as_deref(),
            status: p.status.as_str(),
            owners: &p.owners,
        }
    }
}

/// A finding's message (headline, then help), each part capped: a long value in the
/// headline cannot push out what to do.
pub fn message(f: &Finding) -> String {
    findings::compose(
        &escape::cap(&f.title()),
        f.help.as_deref().map(escape::cap).as_deref(),
    )
}

//! Platform drift as findings: what a checkout on Windows or macOS does to each of a
//! plugin's files ([`crate::checks::platform`] finds it), worded with the platforms it
//! affects and the fix. A tree without `.gitattributes` has one `eol_conversion` per
//! text file, tens of thousands in a large one: a finding holds only what is its own
//! (its path and headline), the plugin tree's fix is one shared string.

use std::sync::Arc;

use crate::checks::findings::{Finding, Kind, Title};
use crate::checks::integrity::PluginState;
use crate::checks::platform::{Drift, DriftKind, EolCause};
use crate::tree::join;

/// The line-end fix of the last plugin tree, reused while its plugins follow (they come
/// sorted, so a tree's are adjacent).
#[derive(Default)]
pub struct Fixes<'a>(Option<(&'a str, Arc<str>)>);

impl<'a> Fixes<'a> {
    fn of(&mut self, root: &'a str) -> Arc<str> {
        match &self.0 {
            Some((r, fix)) if *r == root => fix.clone(),
            _ => self.0.insert((root, eol_fix(root))).1.clone(),
        }
    }
}

/// Adds the drift findings of plugin `p` to `out`. An entry the digest already rejects
/// gets no second finding about its checkout.
pub fn push<'a>(
    out: &mut Vec<Finding>,
    p: &'a PluginState,
    lock_dir: &'a str,
    fixes: &mut Fixes<'a>,
) {
    if p.drift.is_empty() {
        return;
    }
    let root = plugin_tree_root(&p.dir, lock_dir);
    let fix = fixes.of(root);
    let rejected_at: Vec<&str> = p
        .rejection
        .iter()
        .chain(&p.more_rejections)
        .map(|r| r.path.as_str())
        .collect();
    out.extend(
        p.drift
            .iter()
            .map(|d| finding(p, d, root, &fix))
            .filter(|f| !rejected_at.contains(&f.path.as_str())),
    );
}

/// The directory a `.gitattributes` line should cover for the plugin at `dir`: the
/// lock's directory when the plugin is below it (every plugin is, in the usual
/// layout), else the plugin's parent.
pub fn plugin_tree_root<'a>(dir: &'a str, lock_dir: &'a str) -> &'a str {
    if !lock_dir.is_empty()
        && dir
            .strip_prefix(lock_dir)
            .is_some_and(|rest| rest.starts_with('/'))
    {
        return lock_dir;
    }
    match dir.rsplit_once('/') {
        Some((parent, _)) => parent,
        None => dir,
    }
}

/// The fix of every `eol_conversion` in the plugin tree `root`: made once per tree and
/// shared by its findings (a tree without attributes has one per text file).
fn eol_fix(root: &str) -> Arc<str> {
    format!(
        "add `{root}/** -text` at the end of the top-level .gitattributes to keep the bytes exact (or `{root}/** text=auto eol=lf` to normalize text to LF), then `git add --renormalize {root}` and commit"
    )
    .into()
}

/// An `eol_conversion` finding's headline (written from its path when it is read), the
/// platforms it affects, and its fix (`fix`, the tree's [`eol_fix`], unless the cause
/// needs its own).
fn eol_finding(
    path: &str,
    cause: &str,
    root: &str,
    fix: &Arc<str>,
) -> (Title, &'static str, Arc<str>) {
    const LOADER: &str = "and a loader there hashes other bytes than the lock";
    const NATIVE: &str =
        "Windows (native line ends), and any machine with `core.eol=crlf` or `core.autocrlf=true`";
    match EolCause::from_name(cause) {
        Some(EolCause::CrlfBlob) => (
            Title::OfPath(|path| format!("`{path}` is committed with CRLF line ends but is text by its attributes: the next `git add` of it, on any platform, stores LF, and the plugin's digest changes without an edit")),
            "every platform, at the next `git add`",
            format!("store it as the attributes say (`git add --renormalize {path}`, then `plugin-lock update`), or keep the CRLF bytes with `{root}/** -text` at the end of the top-level .gitattributes").into(),
        ),
        Some(EolCause::EolCrlf) => (
            Title::OfPath(|path| format!("`{path}` has `eol=crlf`: every checkout, on every platform, gets CRLF line ends where the blob has LF, {LOADER}")),
            "every platform",
            fix.clone(),
        ),
        Some(EolCause::Text) => (
            Title::OfPath(|path| format!("`{path}` has the `text` attribute without `eol`: a Windows checkout gets CRLF line ends (the native ones) where the blob has LF, {LOADER}")),
            NATIVE,
            fix.clone(),
        ),
        Some(EolCause::TextAuto) => (
            Title::OfPath(|path| format!("`{path}` is `text=auto` without `eol`: a Windows checkout gets CRLF line ends (the native ones) where the blob has LF, {LOADER}")),
            NATIVE,
            fix.clone(),
        ),
        Some(EolCause::NoAttribute) | None => (
            Title::OfPath(|path| format!("`{path}` is text with LF line ends that no `.gitattributes` line pins: git for Windows (`core.autocrlf=true`, its installer's default) checks it out with CRLF, {LOADER}")),
            "Windows with `core.autocrlf=true`, and any machine with it set",
            fix.clone(),
        ),
    }
}

/// What a checkout on another platform does to one of the plugin's files.
fn finding(p: &PluginState, d: &Drift, tree_root: &str, eol_fix: &Arc<str>) -> Finding {
    let path = join(&p.dir, &d.path);
    let other = d
        .other
        .as_deref()
        .map(|o| join(&p.dir, o))
        .unwrap_or_default();
    let mut affects = None;
    let (kind, title, help): (Kind, Title, Arc<str>) = match d.kind {
        DriftKind::EolConversion => {
            let (title, platforms, help) = eol_finding(&path, &d.detail, tree_root, eol_fix);
            affects = Some(platforms);
            (Kind::EolConversion, title, help)
        }
        DriftKind::CaseCollision => (
            Kind::CaseCollision,
            format!("`{other}` and `{path}` differ only in case: on Windows and macOS (case-insensitive by default) a checkout holds one file for both, and a loader hashes another plugin than the lock").into(),
            "rename one of them so that the names differ by more than case".into(),
        ),
        DriftKind::UnicodeCollision => (
            Kind::UnicodeCollision,
            format!("`{other}` and `{path}` are one name after Unicode normalization: on macOS a checkout holds one file for both").into(),
            "rename one of them, keeping the NFC form".into(),
        ),
        DriftKind::UnicodeUnnormalized => {
            use unicode_normalization::UnicodeNormalization;
            let nfc: String = d.path.nfc().collect();
            (
                Kind::UnicodeUnnormalized,
                format!("`{path}` is not in Unicode NFC: macOS may return the name in another form, so a loader that hashes names on disk sees other bytes than the lock").into(),
                format!("rename it to its NFC form `{}`", join(&p.dir, &nfc)).into(),
            )
        }
        DriftKind::WindowsInvalidName => (
            Kind::WindowsInvalidName,
            format!("`{path}` cannot be checked out on Windows: {}; git for Windows refuses it (`core.protectNTFS`), so the plugin is incomplete there", d.detail).into(),
            "rename it to a name Windows accepts".into(),
        ),
        DriftKind::SymlinkCheckout => (
            Kind::SymlinkCheckout,
            format!("`{path}` is a symlink: on Windows without symlink support (`core.symlinks=false`, the default without Developer Mode) git checks it out as a text file holding the link's target, and a loader reads that text").into(),
            "commit the file itself instead of the link, or make sure every machine that loads the plugin checks links out as links (`git config core.symlinks true`)".into(),
        ),
    };
    let finding = Finding::new(kind, path, 1, title).plugin(&p.id);
    match affects {
        Some(platforms) => finding
            .fields([("affects", platforms.into()), ("cause", (*d.detail).into())])
            .note("affects", platforms),
        None => finding,
    }
    .help(help)
}

//! What is wrong with an inventory: the findings of the integrity contract and the
//! manifests, with the fix for each.

use std::collections::BTreeMap;

use crate::checks::computed::ManifestState;
use crate::checks::contract;
use crate::checks::findings::{Finding, Kind};
use crate::checks::integrity::{CONFIG_FILE, Inventory, LockState, PluginState, Settings, Status};
use crate::manifest::{Format, Spec, fields};
use crate::tree::join;

/// The findings of the integrity contract and the manifests, before severity overrides.
/// `fallback` is the location for a finding with no file of its own (see DESIGN.md).
pub fn findings(inv: &Inventory, settings: &Settings, fallback: &str) -> Vec<Finding> {
    let lock_path = inv.lock_path.as_str();
    let lock_exists = !matches!(inv.lock, LockState::Missing);
    let update = contract::update_hint(lock_path);
    let lock_dir = crate::tree::discover::lock_dir(lock_path);
    let mut out = Vec::new();
    match &inv.lock {
        LockState::Missing => {
            if let Some(first) = inv.plugins.first() {
                let at = first.anchor.clone().unwrap_or_else(|| fallback.to_owned());
                out.push(
                    Finding::new(
                        Kind::LockMissing,
                        at,
                        1,
                        format!(
                            "the lock `{lock_path}` does not exist, but {} plugin(s) do",
                            inv.plugins.len()
                        ),
                    )
                    .help(format!("create it: {update}")),
                );
            }
        }
        LockState::Malformed {
            line,
            column,
            message,
        } => out.push(
            Finding::new(
                Kind::LockMalformed,
                lock_path,
                *line,
                format!("the lock `{lock_path}` is malformed: {message}"),
            )
            .column(*column)
            .help(format!(
                "fix the file, or rewrite it from the plugins: {update}"
            )),
        ),
        LockState::Conflicted(conflict) => out.push(
            Finding::new(
                Kind::LockConflict,
                lock_path,
                conflict.line,
                format!(
                    "the lock `{lock_path}` has merge-conflict markers (from line {})",
                    conflict.line
                ),
            )
            .help(
                "resolve with `plugin-lock update`: it rewrites the lock from the merged plugins and reports each entry against both sides; review and commit it",
            ),
        ),
        LockState::Parsed { not_canonical, .. } => {
            if let Some(why) = not_canonical {
                out.push(
                    Finding::new(Kind::LockNotCanonical, lock_path, 1, format!("the lock `{lock_path}` is not in canonical form: {why}"))
                        .help(format!("rewrite it: {update}")),
                );
            }
        }
    }
    let lock_parsed = matches!(inv.lock, LockState::Parsed { .. });
    let renames = renames(inv);
    for p in &inv.plugins {
        // A moved plugin is one finding at its old entry, not two.
        if let Some(to) = renames.get(p.id.as_str()) {
            out.push(renamed(p, to, lock_path));
            continue;
        }
        if p.status == Status::Unlocked && renames.values().any(|to| to.id == p.id) {
            continue;
        }
        let anchor = p.anchor.clone().unwrap_or_else(|| {
            if lock_exists {
                lock_path.to_owned()
            } else {
                fallback.to_owned()
            }
        });
        if let Some(r) = &p.rejection {
            // The finding's own `path` is the offending entry (DESIGN.md's `path` field);
            // no extra `path` field, which would repeat the key in the JSON object.
            out.push(contract::rejected(&p.id, r));
            for more in &p.more_rejections {
                out.push(contract::rejected(&p.id, more));
            }
        }
        if p.bytecode.count > 0 {
            out.push(bytecode_finding(p));
        }
        // An entry the digest already rejects needs no second finding about its checkout.
        let rejected_at: Vec<&str> = p
            .rejection
            .iter()
            .chain(&p.more_rejections)
            .map(|r| r.path.as_str())
            .collect();
        let tree_root = plugin_tree_root(&p.dir, lock_dir);
        out.extend(
            p.drift
                .iter()
                .map(|d| drift_finding(p, d, tree_root))
                .filter(|f| !rejected_at.contains(&f.path.as_str())),
        );
        match &p.manifest {
            ManifestState::Missing => {
                let spec = settings
                    .config
                    .manifest
                    .clone()
                    .unwrap_or_else(Spec::plugin_yaml);
                let dir_name = p.dir.rsplit('/').next().unwrap_or(&p.id);
                out.push(
                    Finding::new(
                        Kind::MissingManifest,
                        anchor.clone(),
                        1,
                        format!("plugin `{}` has no `{}`", p.id, spec.file),
                    )
                    .plugin(&p.id)
                    .help(format!(
                        "add {}, or set `manifest: none` in {CONFIG_FILE}",
                        new_manifest(&spec, &join(&p.dir, &spec.file), dir_name)
                    )),
                );
            }
            ManifestState::Invalid(problems) => {
                let path = p.manifest_path.clone().unwrap_or_else(|| anchor.clone());
                let spec = settings
                    .config
                    .manifest
                    .clone()
                    .unwrap_or_else(Spec::plugin_yaml);
                let help = format!("fix `{}`: {}", spec.file, fields::rules(&spec));
                for problem in problems {
                    out.push(
                        Finding::new(
                            Kind::SchemaViolation,
                            path.clone(),
                            problem.line,
                            format!("manifest of plugin `{}`: {}", p.id, problem.message),
                        )
                        .plugin(&p.id)
                        .column(problem.column)
                        .help(help.clone()),
                    );
                }
            }
            ManifestState::NotRequired | ManifestState::Valid { .. } => {}
        }
        let lock_line = p.lock_line.unwrap_or(1);
        match p.status {
            Status::Unlocked if lock_parsed => {
                out.push(contract::unlocked(&p.id, &anchor, lock_path, false))
            }
            Status::Rejected if lock_parsed && p.locked.is_none() => {
                out.push(contract::unlocked(&p.id, &anchor, lock_path, true))
            }
            Status::Mismatch => out.push(contract::mismatch(
                &p.id,
                &p.dir,
                lock_path,
                lock_line,
                p.locked.as_deref().unwrap_or_default(),
                p.digest.as_deref().unwrap_or_default(),
            )),
            Status::MissingDirectory => {
                let mut f = contract::missing_directory(&p.id, &p.dir, lock_path, lock_line);
                if let Some(e) = inv.excluded.iter().find(|e| e.dir == p.dir) {
                    f = f
                        .note("excluded by", format!("`exclude: {}`", e.glob))
                        .help(format!(
                            "the directory is excluded, so it is not a plugin: drop its entry ({update})"
                        ));
                }
                out.push(f);
            }
            _ => {}
        }
    }
    out.extend(discovery(inv, settings, fallback));
    out
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

/// An `eol_conversion` finding's title, the platforms it affects, and its fix.
fn eol_finding(path: &str, cause: &str, root: &str) -> (String, String, String) {
    use crate::checks::platform::EolCause;
    let loader = "and a loader there hashes other bytes than the lock";
    let fix = format!(
        "add `{root}/** -text` at the end of the top-level .gitattributes to keep the bytes exact (or `{root}/** text=auto eol=lf` to normalize text to LF), then `git add --renormalize {root}` and commit"
    );
    match EolCause::from_name(cause) {
        Some(EolCause::CrlfBlob) => (
            format!("`{path}` is committed with CRLF line ends but is text by its attributes: the next `git add` of it, on any platform, stores LF, and the plugin's digest changes without an edit"),
            "every platform, at the next `git add`".to_owned(),
            format!("store it as the attributes say (`git add --renormalize {path}`, then `plugin-lock update`), or keep the CRLF bytes with `{root}/** -text` at the end of the top-level .gitattributes"),
        ),
        Some(EolCause::EolCrlf) => (
            format!("`{path}` has `eol=crlf`: every checkout, on every platform, gets CRLF line ends where the blob has LF, {loader}"),
            "every platform".to_owned(),
            fix,
        ),
        Some(EolCause::Text) => (
            format!("`{path}` has the `text` attribute without `eol`: a Windows checkout gets CRLF line ends (the native ones) where the blob has LF, {loader}"),
            "Windows (native line ends), and any machine with `core.eol=crlf` or `core.autocrlf=true`".to_owned(),
            fix,
        ),
        Some(EolCause::TextAuto) => (
            format!("`{path}` is `text=auto` without `eol`: a Windows checkout gets CRLF line ends (the native ones) where the blob has LF, {loader}"),
            "Windows (native line ends), and any machine with `core.eol=crlf` or `core.autocrlf=true`".to_owned(),
            fix,
        ),
        Some(EolCause::NoAttribute) | None => (
            format!("`{path}` is text with LF line ends that no `.gitattributes` line pins: git for Windows (`core.autocrlf=true`, its installer's default) checks it out with CRLF, {loader}"),
            "Windows with `core.autocrlf=true`, and any machine with it set".to_owned(),
            fix,
        ),
    }
}

/// What a checkout on another platform does to one of the plugin's files.
fn drift_finding(p: &PluginState, d: &crate::checks::platform::Drift, tree_root: &str) -> Finding {
    use crate::checks::platform::DriftKind;
    let path = join(&p.dir, &d.path);
    let other = d
        .other
        .as_deref()
        .map(|o| join(&p.dir, o))
        .unwrap_or_default();
    let mut affects = None;
    let (kind, title, help) = match d.kind {
        DriftKind::EolConversion => {
            let (title, platforms, help) = eol_finding(&path, &d.detail, tree_root);
            affects = Some(platforms);
            (Kind::EolConversion, title, help)
        }
        DriftKind::CaseCollision => (
            Kind::CaseCollision,
            format!("`{other}` and `{path}` differ only in case: on Windows and macOS (case-insensitive by default) a checkout holds one file for both, and a loader hashes another plugin than the lock"),
            "rename one of them so that the names differ by more than case".to_owned(),
        ),
        DriftKind::UnicodeCollision => (
            Kind::UnicodeCollision,
            format!("`{other}` and `{path}` are one name after Unicode normalization: on macOS a checkout holds one file for both"),
            "rename one of them, keeping the NFC form".to_owned(),
        ),
        DriftKind::UnicodeUnnormalized => {
            use unicode_normalization::UnicodeNormalization;
            let nfc: String = d.path.nfc().collect();
            (
                Kind::UnicodeUnnormalized,
                format!("`{path}` is not in Unicode NFC: macOS may return the name in another form, so a loader that hashes names on disk sees other bytes than the lock"),
                format!("rename it to its NFC form `{}`", join(&p.dir, &nfc)),
            )
        }
        DriftKind::WindowsInvalidName => (
            Kind::WindowsInvalidName,
            format!("`{path}` cannot be checked out on Windows: {}; git for Windows refuses it (`core.protectNTFS`), so the plugin is incomplete there", d.detail),
            "rename it to a name Windows accepts".to_owned(),
        ),
        DriftKind::SymlinkCheckout => (
            Kind::SymlinkCheckout,
            format!("`{path}` is a symlink: on Windows without symlink support (`core.symlinks=false`, the default without Developer Mode) git checks it out as a text file holding the link's target, and a loader reads that text"),
            "commit the file itself instead of the link, or make sure every machine that loads the plugin checks links out as links (`git config core.symlinks true`)".to_owned(),
        ),
    };
    let finding = Finding::new(kind, path, 1, title).plugin(&p.id);
    match affects {
        Some(platforms) => finding
            .field("cause", d.detail.as_str())
            .field("affects", platforms.as_str())
            .note("affects", platforms),
        None => finding,
    }
    .help(help)
}

/// Lock entries without a directory whose digest is exactly one unlocked directory's:
/// the old id and the plugin it moved to.
fn renames(inv: &Inventory) -> BTreeMap<&str, &PluginState> {
    let mut unlocked: BTreeMap<&str, Vec<&PluginState>> = BTreeMap::new();
    for p in inv.plugins.iter().filter(|p| p.status == Status::Unlocked) {
        if let Some(d) = &p.digest {
            unlocked.entry(d).or_default().push(p);
        }
    }
    let mut out = BTreeMap::new();
    let mut taken: Vec<&str> = Vec::new();
    for p in inv
        .plugins
        .iter()
        .filter(|p| p.status == Status::MissingDirectory)
    {
        let Some(candidates) = p.locked.as_deref().and_then(|d| unlocked.get(d)) else {
            continue;
        };
        if let [to] = candidates.as_slice()
            && !taken.contains(&to.id.as_str())
        {
            taken.push(&to.id);
            out.insert(p.id.as_str(), *to);
        }
    }
    out
}

fn renamed(from: &PluginState, to: &PluginState, lock_path: &str) -> Finding {
    Finding::new(
        Kind::PluginRenamed,
        lock_path,
        from.lock_line.unwrap_or(1),
        format!(
            "plugin `{}` moved to `{}` (same digest), but its lock entry still names `{}`",
            from.id, to.id, from.id
        ),
    )
    .plugin(&to.id)
    .note("from", from.dir.clone())
    .note("to", to.dir.clone())
    .help(format!(
        "`plugin-lock update` renames the entry: {}",
        contract::update_hint(lock_path)
    ))
}

/// Where a `plugins` glob is written: its line in `.plugin-lock.yml`, else `fallback`.
fn glob_location(settings: &Settings, index: usize, fallback: &str) -> (String, u32) {
    match settings.config.plugin_lines.get(index) {
        Some(line) if settings.config_exists => (CONFIG_FILE.to_owned(), *line),
        _ => (fallback.to_owned(), 1),
    }
}

/// Globs that select nothing, and plugins inside plugins.
fn discovery(inv: &Inventory, settings: &Settings, fallback: &str) -> Vec<Finding> {
    let config = &settings.config;
    let mut out = Vec::new();
    // The one state where nothing is expected: no plugin anywhere and an empty lock.
    let nothing_yet = inv.plugins.is_empty()
        && matches!(&inv.lock, LockState::Parsed { lock, .. } if lock.entries().is_empty());
    if !nothing_yet {
        for &i in &inv.unmatched_globs {
            let glob = crate::config::shown_glob(&config.plugins[i]);
            let (path, line) = glob_location(settings, i, fallback);
            let (title, help) = if settings.config_exists {
                (
                    format!(
                        "the plugins glob `{glob}` matches no directory: nothing it was meant to select is verified"
                    ),
                    format!(
                        "fix the glob (a typo? a directory not committed yet?), or remove it from `plugins:` in {CONFIG_FILE}"
                    ),
                )
            } else {
                (
                    format!(
                        "no directory matches the plugins glob `{glob}` (the default, or --plugins; there is no {CONFIG_FILE}): no plugin is verified"
                    ),
                    format!(
                        "write {CONFIG_FILE} with the `plugins:` globs of your layout (`plugin-lock init` finds them), or, while plugins are still to come, commit an empty lock `{{}}` at {}",
                        inv.lock_path
                    ),
                )
            };
            out.push(Finding::new(Kind::PluginsGlobUnmatched, path, line, title).help(help));
        }
    }
    for n in &inv.nested {
        let (path, line) = glob_location(settings, n.inner_glob, fallback);
        let glob = |i: usize| crate::config::shown_glob(&config.plugins[i]);
        out.push(
            Finding::new(
                Kind::NestedPlugin,
                path,
                line,
                format!(
                    "plugin directory `{}` (matched by `{}`) is inside plugin directory `{}` (matched by `{}`): its files are in both digests",
                    n.inner,
                    glob(n.inner_glob),
                    n.outer,
                    glob(n.outer_glob)
                ),
            )
            .plugin(
                inv.plugins
                    .iter()
                    .find(|p| p.dir == n.inner)
                    .map_or(n.inner.as_str(), |p| p.id.as_str()),
            )
            .help(format!(
                "narrow the globs, or add `{}` or `{}` to `exclude:` in {CONFIG_FILE}",
                n.inner, n.outer
            )),
        );
    }
    out
}

/// What to add for a missing manifest at `path`: "`plugins/a/plugin.yaml` with `name: a`
/// and a semver `version`", saying how a front matter or a JSON object is written.
fn new_manifest(spec: &Spec, path: &str, dir_name: &str) -> String {
    let contents = fields::required_contents(spec, dir_name);
    let sep = if contents.is_empty() { "" } else { " " };
    match spec.format {
        Format::Yaml => format!("`{path}`{sep}{contents}"),
        Format::FrontMatter => {
            format!("`{path}` starting with YAML front matter between `---` lines{sep}{contents}")
        }
        Format::Json => format!("`{path}`, a JSON object{sep}{contents}"),
    }
}

/// `bytecode_committed`: Python runs `__pycache__/*.pyc` (an unchecked-hash `.pyc`
/// whatever the source says, PEP 552) and `.pyc`/`.pyo` beside the sources, while
/// spec/DIGEST.md leaves most of them out of the digest.
fn bytecode_finding(p: &PluginState) -> Finding {
    let files: Vec<String> = p
        .bytecode
        .listed
        .iter()
        .map(|rel| join(&p.dir, rel))
        .collect();
    let more = p.bytecode.count.saturating_sub(files.len());
    let mut listed = files
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        listed.push_str(&format!(" and {more} more"));
    }
    // What to remove: each `__pycache__` directory whole, other bytecode file by file.
    let mut targets: Vec<String> = Vec::new();
    for rel in &p.bytecode.listed {
        let target = match rel.split('/').position(|c| c == "__pycache__") {
            Some(i) => rel.split('/').take(i + 1).collect::<Vec<_>>().join("/"),
            None => rel.clone(),
        };
        let target = join(&p.dir, &target);
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let mut command = format!("git rm -r --cached {}", targets.join(" "));
    if more > 0 {
        command.push_str(" …");
    }
    let at = files.first().cloned().unwrap_or_else(|| p.dir.clone());
    Finding::new(
        Kind::BytecodeCommitted,
        at,
        1,
        format!(
            "plugin `{}` has committed Python bytecode ({} file(s)): {listed}",
            p.id, p.bytecode.count
        ),
    )
    .plugin(&p.id)
    .field("files", files)
    .field("count", p.bytecode.count)
    .help(format!(
        "Python runs bytecode instead of the locked sources, and the digest leaves `__pycache__/` and `*.pyc` out (spec/DIGEST.md): remove it with `{command}`, commit, and add `__pycache__/` and `*.py[co]` to `.gitignore`"
    ))
}

//! What is wrong with an inventory: the findings of the integrity contract and the
//! manifests, with the fix for each.

use std::collections::BTreeMap;

use crate::checks::computed::ManifestState;
use crate::checks::contract;
use crate::checks::findings::{Finding, Kind};
use crate::checks::integrity::drift;
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
    // Room for the drift at once, not by doubling: a tree without attributes has tens of
    // thousands of findings, the other checks a few.
    let drift_count: usize = inv.plugins.iter().map(|p| p.drift.len()).sum();
    let mut out = Vec::with_capacity(drift_count);
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
    let mut fixes = drift::Fixes::default();
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
        drift::push(&mut out, p, lock_dir, &mut fixes);
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

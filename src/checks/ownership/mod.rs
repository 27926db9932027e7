//! Ownership: finds the CODEOWNERS file in a tree and turns GitHub's answers into
//! findings — who owns the lock, the configuration and every plugin file, and whether a
//! change grants itself ownership of the lock (the base-tree rule).

pub mod codeowners;
pub mod survey;

use std::collections::BTreeSet;

use crate::cache::Cache;
use crate::checks::findings::{Finding, Kind};
use crate::checks::integrity::{CONFIG_FILE, Inventory, Settings, Status};
use crate::checks::ownership::codeowners::CodeOwners;
use crate::checks::ownership::codeowners::syntax::{Rule, SyntaxError};
use crate::checks::ownership::survey::PluginOwnership;
use crate::digest;
use crate::error::Result;
use crate::tree::FileRead;
use crate::tree::git::Snapshot;
use crate::tree::git::reader::Reader;

/// The CODEOWNERS file GitHub would use in one tree.
pub struct OwnersFile {
    pub path: String,
    pub owners: CodeOwners,
    /// SHA-256 of the file's content: what the cached survey results depend on.
    pub fingerprint: String,
    pub errors: Vec<SyntaxError>,
    /// Other locations that also hold a CODEOWNERS file (GitHub ignores them).
    pub ignored: Vec<String>,
}

/// Looks for CODEOWNERS in GitHub's order (`.github/`, root, `docs/`); the first wins.
pub fn load(reader: &mut Reader<'_>) -> Result<Option<OwnersFile>> {
    let mut found: Option<OwnersFile> = None;
    for location in codeowners::LOCATIONS {
        let read = reader.read_file(location, codeowners::MAX_CODEOWNERS_BYTES)?;
        let (owners, errors, fingerprint) = match read {
            None | Some(FileRead::NotAFile(_)) => continue,
            Some(FileRead::Bytes(bytes)) => {
                let (owners, errors) = codeowners::parse(&bytes);
                (owners, errors, digest::sha256_hex(&[&bytes]))
            }
            Some(FileRead::TooLarge(size)) => {
                let (owners, _) = codeowners::parse(b"");
                let error = SyntaxError {
                    line: 1,
                    column: 1,
                    message: format!(
                        "the file is {size} bytes; GitHub does not load a CODEOWNERS file of 3 MB or more"
                    ),
                    limit: false,
                };
                (owners, vec![error], digest::sha256_hex(&[]))
            }
        };
        match &mut found {
            None => {
                found = Some(OwnersFile {
                    path: location.to_owned(),
                    owners,
                    fingerprint,
                    errors,
                    ignored: Vec::new(),
                })
            }
            Some(first) => first.ignored.push(location.to_owned()),
        }
    }
    Ok(found)
}

/// Whether the deciding rule makes `path` owned: it lists an owner and, with required
/// owners, every owner on it is a required one (any listed owner can approve alone).
fn owned_by_required(rule: Option<&Rule>, required: &[String]) -> bool {
    let Some(rule) = rule else { return false };
    !rule.owners.is_empty()
        && (required.is_empty()
            || rule
                .owners
                .iter()
                .all(|o| required.iter().any(|r| r.eq_ignore_ascii_case(o))))
}

fn owner_set(rule: Option<&Rule>) -> BTreeSet<String> {
    rule.map(|r| r.owners.iter().map(|o| o.to_ascii_lowercase()).collect())
        .unwrap_or_default()
}

fn describe(rule: Option<&Rule>) -> String {
    match rule {
        None => "no rule matches it".to_owned(),
        Some(r) if r.owners.is_empty() => format!(
            "line {} (`{}`) leaves it explicitly unowned",
            r.line, r.pattern
        ),
        Some(r) => format!(
            "line {} (`{}`) gives it to {}",
            r.line,
            r.pattern,
            r.owners.join(" ")
        ),
    }
}

/// Where ownership is decided: the CODEOWNERS file and `owners.required` — from the
/// base tree when there is one (GitHub reads CODEOWNERS from the pull request's base).
pub struct Authority {
    pub file: Option<OwnersFile>,
    pub required: Vec<String>,
    pub plugins_must_be_owned: bool,
}

/// The ownership findings for the verified tree, and each plugin's owners in `inv`.
/// `head_file` is the verified tree's own CODEOWNERS when the authority is a base tree.
pub fn check(
    snap: &Snapshot,
    settings: &Settings,
    authority: &Authority,
    head_file: Option<&OwnersFile>,
    inv: &mut Inventory,
    cache: Option<&Cache>,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let lock = settings.config.lock.as_str();
    let Some(file) = &authority.file else {
        let required = !authority.required.is_empty();
        let mut missing = Finding::new(
            Kind::CodeownersMissing,
            lock,
            1,
            "no CODEOWNERS file (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS): anyone with write access can change the lock",
        )
        .help(Kind::CodeownersMissing.fix());
        if required {
            missing.severity = crate::checks::findings::Severity::Error;
            out.push(missing);
            out.push(
                Finding::new(
                    Kind::LockNotOwned,
                    lock,
                    1,
                    format!("`{lock}` has no owner, but `owners.required` is set"),
                )
                .help(Kind::LockNotOwned.fix()),
            );
        } else {
            out.push(missing);
        }
        return Ok(out);
    };
    let cf = file.path.as_str();
    for ignored in &file.ignored {
        out.push(
            Finding::new(
                Kind::CodeownersMultipleFiles,
                ignored.clone(),
                1,
                format!("`{ignored}` is ignored: GitHub uses `{cf}`, the first of .github/, the root and docs/"),
            )
            .help(Kind::CodeownersMultipleFiles.fix()),
        );
    }
    for e in &file.errors {
        out.push(
            Finding::new(
                Kind::CodeownersSyntax,
                cf,
                e.line,
                format!(
                    "CODEOWNERS line {} is skipped by {}: {}",
                    e.line,
                    // A limit of ours, not GitHub's: GitHub may apply the line.
                    if e.limit { "plugin-lock" } else { "GitHub" },
                    e.message
                ),
            )
            .column(e.column)
            .help(Kind::CodeownersSyntax.fix()),
        );
    }
    let mut duplicated = Vec::new();
    for (earlier, later, pattern) in file.owners.duplicate_patterns() {
        duplicated.push(earlier);
        out.push(
            Finding::new(
                Kind::CodeownersDuplicatePattern,
                cf,
                earlier,
                format!("pattern `{pattern}` on line {earlier} is repeated on line {later}; only line {later} counts"),
            )
            .help(Kind::CodeownersDuplicatePattern.fix()),
        );
    }

    let surveyed = survey_inventory(snap, &file.owners, &file.fingerprint, inv, cache)?;
    // A repeated pattern's earlier line is shadowed by definition: one finding says so.
    for line in surveyed
        .shadowed
        .into_iter()
        .filter(|l| !duplicated.contains(l))
    {
        out.push(
            Finding::new(
                Kind::CodeownersShadowedRule,
                cf,
                line,
                format!("the rule on line {line} decides no file: later rules win for every file it matches"),
            )
            .help(Kind::CodeownersShadowedRule.fix()),
        );
    }

    // The lock and the configuration: owned by required owners only.
    let mut guarded = vec![lock.to_owned()];
    if settings.config_exists {
        guarded.push(CONFIG_FILE.to_owned());
    }
    for path in &guarded {
        let rule = file.owners.decide(path);
        if !owned_by_required(rule, &authority.required) {
            let why =
                if rule.is_some_and(|r| !r.owners.is_empty()) && !authority.required.is_empty() {
                    format!(
                        "{}, but `owners.required` is {} (any listed owner can approve alone)",
                        describe(rule),
                        authority.required.join(" ")
                    )
                } else {
                    describe(rule)
                };
            // Without `owners.required` any owner will do: say that, not "as required".
            let (title, help) = if authority.required.is_empty() {
                (
                    format!("`{path}` has no owner in CODEOWNERS: {why}"),
                    format!(
                        "add a rule that gives it an owner (e.g. `/{path} @your-team`), so that a change to it needs that owner's review"
                    ),
                )
            } else {
                (
                    format!("`{path}` is not owned as required: {why}"),
                    Kind::LockNotOwned.fix().to_owned(),
                )
            };
            out.push(
                Finding::new(Kind::LockNotOwned, cf, rule.map_or(1, |r| r.line), title)
                    .field("owners", rule.map(|r| r.owners.clone()).unwrap_or_default())
                    .help(help),
            );
        }
    }

    // The base-tree rule: a change may not alter who owns the lock or the configuration.
    if let Some(head) = head_file {
        for path in &guarded {
            let (before, after) = (file.owners.decide(path), head.owners.decide(path));
            if owner_set(before) != owner_set(after) {
                out.push(
                    Finding::new(
                        Kind::LockOwnershipChanged,
                        head.path.clone(),
                        after.map_or(1, |r| r.line),
                        format!(
                            "this change alters who owns `{path}`: on the base {}; here {}",
                            describe(before),
                            describe(after)
                        ),
                    )
                    .help(Kind::LockOwnershipChanged.fix()),
                );
            }
        }
    }

    // Every file of every plugin needs an owner; each plugin's owners for `list`.
    for (i, found) in surveyed.plugins {
        let Some(p) = inv.plugins.get_mut(i) else {
            continue;
        };
        p.owners = found.owners;
        let unowned = found.unowned;
        if authority.plugins_must_be_owned && !unowned.is_empty() {
            let shown: Vec<&str> = unowned.iter().take(5).map(String::as_str).collect();
            out.push(
                Finding::new(
                    Kind::PluginNotOwned,
                    cf,
                    1,
                    format!(
                        "plugin `{}` has {} file(s) with no owner: {}{}",
                        p.id,
                        unowned.len(),
                        shown.join(", "),
                        if unowned.len() > shown.len() {
                            ", …"
                        } else {
                            ""
                        }
                    ),
                )
                .plugin(&p.id)
                .field("unowned", unowned)
                .help(Kind::PluginNotOwned.fix()),
            );
        }
    }
    Ok(out)
}

/// [`survey_inventory`]'s answer.
pub struct Surveyed {
    /// Lines of rules that match some file but decide none.
    pub shadowed: Vec<u32>,
    /// Each surveyed plugin's index in `inv.plugins`, and its ownership.
    pub plugins: Vec<(usize, PluginOwnership)>,
}

/// Surveys `snap` against `owners` (whose content has the SHA-256 `fingerprint`) for
/// the plugins of `inv` that have a directory.
pub fn survey_inventory(
    snap: &Snapshot,
    owners: &CodeOwners,
    fingerprint: &str,
    inv: &Inventory,
    cache: Option<&Cache>,
) -> Result<Surveyed> {
    let (indices, dirs): (Vec<usize>, Vec<&str>) = inv
        .plugins
        .iter()
        .enumerate()
        .filter(|(_, p)| p.status != Status::MissingDirectory)
        .map(|(i, p)| (i, p.dir.as_str()))
        .unzip();
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    let survey = survey::survey(&mut reader, owners, fingerprint, &dirs, cache)?;
    Ok(Surveyed {
        shadowed: survey.shadowed,
        plugins: indices.into_iter().zip(survey.plugins).collect(),
    })
}

/// One path's answer for `owners PATH...`.
pub struct Answer {
    pub path: String,
    pub owners: Vec<String>,
    pub line: Option<u32>,
}

pub fn answer(file: Option<&OwnersFile>, path: &str) -> Answer {
    let rule = file.and_then(|f| f.owners.decide(path));
    Answer {
        path: path.to_owned(),
        owners: rule.map(|r| r.owners.clone()).unwrap_or_default(),
        line: rule.map(|r| r.line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(owners: &[&str]) -> Rule {
        Rule {
            line: 3,
            pattern: "x".into(),
            owners: owners.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn one_outsider_on_the_line_breaks_ownership() {
        let required = vec!["@acme/platform".to_owned()];
        assert!(owned_by_required(
            Some(&rule(&["@ACME/Platform"])),
            &required
        ));
        assert!(!owned_by_required(
            Some(&rule(&["@acme/platform", "@mallory"])),
            &required
        ));
        assert!(!owned_by_required(Some(&rule(&[])), &required));
        assert!(!owned_by_required(None, &[]));
        assert!(owned_by_required(Some(&rule(&["@anyone"])), &[]));
    }
}

//! The rules on the known fields, the same for every reader: which are required, what
//! `name` must equal, and what each format accepts as a `name`, `version` and
//! `description`. Every problem is reported, at its value (a missing field at the
//! mapping's start).

use crate::manifest::document::{Doc, Entry, ManifestProblem, Value, problem};
use crate::manifest::spec::{Field, Format, NamePolicy, Spec};

/// The Agent Skills limits on a SKILL.md's `name` and `description`.
pub const MAX_SKILL_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// A manifest that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: Option<String>,
    /// The version as the manifest states it; a semver one as `semver` prints it.
    pub version: Option<String>,
}

/// Checks the known fields of `doc` against `spec`; `dir_name` is the plugin directory's
/// last path component. Problems come sorted by position.
pub fn check(doc: &Doc, spec: &Spec, dir_name: &str) -> Result<Manifest, Vec<ManifestProblem>> {
    let mut problems = Vec::new();
    for field in Field::ALL {
        if spec.requires(field) && doc.get(field).is_none() {
            problems.push(problem(
                doc.line,
                doc.column,
                format!("missing required key `{}`", field.as_str()),
            ));
        }
    }
    let mut checked = |field: Field, rule: &dyn Fn(&str) -> Result<String, String>| {
        let entry = doc.get(field)?;
        let result = match &entry.value {
            Value::Str(s) => rule(s),
            // A free-form version is taken as written: `version: 1.10` is "1.10".
            Value::Number { text, .. }
                if field == Field::Version && !spec.format.semver_version() =>
            {
                rule(text)
            }
            Value::Number { kind, .. } | Value::Other(kind) => {
                Err(not_a_string(field, spec.format, kind))
            }
        };
        result.map_err(|m| problems.push(at(entry, m))).ok()
    };
    let name = checked(Field::Name, &|s| name(s, spec, dir_name));
    let version = checked(Field::Version, &|s| version(s, spec.format));
    // Free text in plugin.yaml and plugin.json, checked only where a host relies on it.
    if spec.format == Format::FrontMatter || spec.requires(Field::Description) {
        checked(Field::Description, &|s| description(s, spec.format));
    }
    if problems.is_empty() {
        Ok(Manifest { name, version })
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(problems)
    }
}

fn at(entry: &Entry, message: String) -> ManifestProblem {
    problem(entry.line, entry.column, message)
}

fn not_a_string(field: Field, format: Format, kind: &str) -> String {
    match field {
        // `version: 1.0` is a float and `version: 1` an integer in YAML; their text is
        // already lost, so ask for a string rather than guess it.
        Field::Version if format.semver_version() => {
            "version must be a string like \"1.2.3\"".to_owned()
        }
        Field::Version => format!("version must be a string, found {kind}"),
        Field::Name => "name must be a string".to_owned(),
        Field::Description => format!("description must be a string, found {kind}"),
    }
}

fn name(s: &str, spec: &Spec, dir_name: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("name must not be empty".to_owned());
    }
    if spec.format == Format::FrontMatter {
        skill_name(s)?;
    }
    if spec.name == NamePolicy::Directory && s != dir_name {
        return Err(format!(
            "name {:?} does not match the plugin directory {dir_name:?}",
            shown(s)
        ));
    }
    Ok(s.to_owned())
}

/// The Agent Skills name: 1–64 lowercase ASCII letters, digits and hyphens, with no
/// hyphen at either end and none doubled.
fn skill_name(s: &str) -> Result<(), String> {
    let chars = s.chars().count();
    if chars > MAX_SKILL_NAME_CHARS {
        return Err(format!(
            "name is {chars} characters long, over the limit of {MAX_SKILL_NAME_CHARS}"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "name {s:?} may hold only lowercase letters a-z, digits and hyphens, found {c:?}"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(format!("name {s:?} must not start or end with a hyphen"));
    }
    if s.contains("--") {
        return Err(format!(
            "name {s:?} must not contain consecutive hyphens (`--`)"
        ));
    }
    Ok(())
}

fn version(s: &str, format: Format) -> Result<String, String> {
    if !format.semver_version() {
        return Ok(s.to_owned());
    }
    semver::Version::parse(s)
        .map(|v| v.to_string())
        .map_err(|_| format!("version {:?} is not semver (MAJOR.MINOR.PATCH)", shown(s)))
}

fn description(s: &str, format: Format) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("description must not be empty".to_owned());
    }
    let chars = s.chars().count();
    if format == Format::FrontMatter && chars > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "description is {chars} characters long, over the limit of {MAX_DESCRIPTION_CHARS}"
        ));
    }
    Ok(s.to_owned())
}

/// A manifest's value as messages quote it: at most 80 characters, so a huge one
/// cannot flood a report.
fn shown(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// The rules of `spec`, as a help text says them: "`name` (required) must …; …".
pub fn rules(spec: &Spec) -> String {
    let name = match (spec.format, spec.name) {
        (Format::FrontMatter, policy) => format!(
            "must be 1–{MAX_SKILL_NAME_CHARS} lowercase letters, digits and hyphens (no hyphen \
             at either end, no `--`){}",
            if policy == NamePolicy::Directory {
                ", equal to the directory's name"
            } else {
                ""
            }
        ),
        (_, NamePolicy::Directory) => "must equal the directory's name".to_owned(),
        (_, NamePolicy::Any) => "must be a non-empty string".to_owned(),
    };
    let version = if spec.format.semver_version() {
        "must be semver (MAJOR.MINOR.PATCH)"
    } else {
        "must be a string"
    };
    let description = if spec.format == Format::FrontMatter {
        format!("must be a non-empty string of at most {MAX_DESCRIPTION_CHARS} characters")
    } else {
        "must be a non-empty string".to_owned()
    };
    let mut out = Vec::new();
    for (field, rule) in [
        (Field::Name, name),
        (Field::Version, version.to_owned()),
        (Field::Description, description),
    ] {
        let required = spec.requires(field);
        if field == Field::Description && !required && spec.format != Format::FrontMatter {
            continue;
        }
        let when = if required {
            " (required)"
        } else {
            ", if present,"
        };
        out.push(format!("`{}`{when} {rule}", field.as_str()));
    }
    out.join("; ")
}

/// What a new manifest must hold, as a help text says it: "with `name: alpha` and a
/// semver `version`"; empty when nothing is required.
pub fn required_contents(spec: &Spec, dir_name: &str) -> String {
    let parts: Vec<String> = spec
        .require
        .iter()
        .map(|field| match field {
            Field::Name if spec.name == NamePolicy::Any => "a `name`".to_owned(),
            Field::Name if spec.format == Format::Json => format!("`\"name\": \"{dir_name}\"`"),
            Field::Name => format!("`name: {dir_name}`"),
            Field::Version if spec.format.semver_version() => "a semver `version`".to_owned(),
            Field::Version => "a `version`".to_owned(),
            Field::Description => "a `description`".to_owned(),
        })
        .collect();
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => format!("with {last}"),
        Some((last, rest)) => format!("with {} and {last}", rest.join(", ")),
    }
}

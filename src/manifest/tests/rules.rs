//! The configurable rules (`require`, `name`) and the help texts that describe them.

use crate::manifest::fields::{required_contents, rules};
use crate::manifest::{Field, NamePolicy, Spec};

#[test]
fn require_fewer_fields_in_plugin_yaml() {
    let mut spec = Spec::plugin_yaml();
    spec.require = vec![Field::Name];
    let m = crate::manifest::check(b"name: a\n", "a", &spec).unwrap();
    assert_eq!(m.version, None);
    // Present, a version is still checked.
    let p = crate::manifest::check(b"name: a\nversion: '1.0'\n", "a", &spec).unwrap_err();
    assert!(p[0].message.contains("not semver"));
    // Nothing required: an empty mapping passes, an empty file does not.
    spec.require.clear();
    assert!(crate::manifest::check(b"other: 1\n", "a", &spec).is_ok());
    let p = crate::manifest::check(b"", "a", &spec).unwrap_err();
    assert_eq!(p[0].message, "manifest is empty");
}

#[test]
fn require_more_fields() {
    let mut spec = Spec::new("SKILL.md").unwrap();
    spec.require = vec![Field::Name, Field::Version, Field::Description];
    let p = crate::manifest::check(b"---\nname: a\ndescription: d\n---\n", "a", &spec).unwrap_err();
    assert_eq!(p[0].message, "missing required key `version`");
}

#[test]
fn help_texts_follow_the_spec() {
    let yaml = Spec::plugin_yaml();
    assert_eq!(
        required_contents(&yaml, "alpha"),
        "with `name: alpha` and a semver `version`"
    );
    assert_eq!(
        rules(&yaml),
        "`name` (required) must equal the directory's name; `version` (required) must be semver (MAJOR.MINOR.PATCH)"
    );
    let skill = Spec::new("SKILL.md").unwrap();
    assert_eq!(
        required_contents(&skill, "pdf"),
        "with `name: pdf` and a `description`"
    );
    assert_eq!(
        rules(&skill),
        "`name` (required) must be 1–64 lowercase letters, digits and hyphens (no hyphen at either end, no `--`), equal to the directory's name; `version`, if present, must be a string; `description` (required) must be a non-empty string of at most 1024 characters"
    );
    let mut json = Spec::new(".claude-plugin/plugin.json").unwrap();
    assert_eq!(required_contents(&json, "fmt"), "with `\"name\": \"fmt\"`");
    assert_eq!(
        rules(&json),
        "`name` (required) must equal the directory's name; `version`, if present, must be semver (MAJOR.MINOR.PATCH)"
    );
    json.name = NamePolicy::Any;
    json.require = vec![Field::Name, Field::Description];
    assert_eq!(
        required_contents(&json, "fmt"),
        "with a `name` and a `description`"
    );
    assert!(rules(&json).ends_with("`description` (required) must be a non-empty string"));
    json.require.clear();
    assert_eq!(required_contents(&json, "fmt"), "");
}

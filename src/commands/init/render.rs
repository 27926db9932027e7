//! The `.plugin-lock.yml` that `init` writes, commented, and its next steps.

use crate::commands::init::Proposal;
use crate::escape;

/// A YAML double-quoted scalar (JSON's escapes are YAML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

pub fn config(p: &Proposal) -> String {
    let c = &p.config;
    let mut out = String::new();
    out.push_str(
        "# plugin-lock configuration, written by `plugin-lock init`: review it, then commit\n",
    );
    out.push_str("# it with the lock. Every key is described in plugin-lock's README, \"Configuration\".\n\n");
    out.push_str(&format!(
        "# The plugin directories: {}.\n",
        escape::terminal(&p.layout)
    ));
    out.push_str("plugins:\n");
    for glob in &c.plugins {
        out.push_str(&format!("  - {}\n", quoted(glob)));
    }
    if !p.exclude.is_empty() {
        out.push_str(
            "\n# Directories the globs match that are not plugins (never hashed), and why.\n",
        );
        out.push_str("exclude:\n");
        for (glob, why) in &p.exclude {
            let why = escape::terminal(why).replace(['\n', '\r'], " ");
            out.push_str(&format!("  - {}   # {why}\n", quoted(glob)));
        }
    }
    out.push_str(
        "\n# The lock: one entry per plugin, keyed by its path relative to the lock's directory.\n",
    );
    out.push_str(&format!("lock: {}\n", quoted(&c.lock)));
    out.push_str(&format!(
        "\n# The manifest every plugin carries (`none`: not checked). {}\n",
        escape::terminal(&p.manifest_note).replace(['\n', '\r'], " ")
    ));
    match &c.manifest {
        Some(spec) => out.push_str(&format!("manifest: {}\n", quoted(&spec.file))),
        None => out.push_str("manifest: none\n"),
    }
    if let Some(note) = &p.owners_note {
        out.push_str(&format!(
            "\n# {}\nowners:\n  plugins_must_be_owned: false\n",
            escape::terminal(note).replace(['\n', '\r'], " ")
        ));
    }
    out
}

pub fn next_steps(lock: &str) -> Vec<String> {
    vec![
        format!("1. review .plugin-lock.yml and {lock}"),
        format!("2. git add .plugin-lock.yml {lock} && git commit -m \"plugin-lock: lock the plugins\""),
        "3. plugin-lock verify                       # passes on the commit".to_owned(),
        "4. plugin-lock hook install --merge-driver  # checks every push; merges the lock by entry".to_owned(),
        "5. in CI, a step `uses: <owner>/plugin-lock@v1` after actions/checkout (README, \"GitHub Actions\")".to_owned(),
    ]
}

//! The `.plugin-lock.yml` that `init` writes, commented, and its next steps.

use crate::commands::init::Proposal;
use crate::commands::init::pin::LineEndPin;
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

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What `init` says about line ends, when a plugin file would be converted.
pub struct LineEndReport<'a> {
    pub pin: &'a LineEndPin,
    /// `--no-gitattributes` was not given.
    pub offered: bool,
    pub written: bool,
    /// Files still converted with the pin written (an inner `.gitattributes` wins).
    pub still_converted: usize,
}

impl LineEndReport<'_> {
    pub fn human(&self, dry_run: bool) -> Option<String> {
        let pin = self.pin;
        if pin.files == 0 {
            return None;
        }
        let what = format!(
            "{} plugin file(s) would be checked out with other line ends than committed (`eol_conversion`: CRLF under git for Windows' `core.autocrlf=true`), and a loader there would hash other bytes than the lock",
            pin.files
        );
        let lines = pin
            .lines
            .iter()
            .map(|l| format!("`{}`", escape::shown(l)))
            .collect::<Vec<_>>()
            .join(", ");
        Some(if pin.lines.is_empty() {
            format!(
                "{what}; .gitattributes pins the plugin tree already, so a `.gitattributes` inside it overrides the pin (`plugin-lock verify` names each file)"
            )
        } else if !self.offered {
            format!(
                "{what}; .gitattributes left alone (--no-gitattributes): add {lines} to it (README, \"Runtime loaders and platforms\")"
            )
        } else if dry_run {
            format!(
                "{what}; would add {lines} to .gitattributes (`--no-gitattributes` leaves it alone)"
            )
        } else if self.still_converted > 0 {
            format!(
                "{what}; added {lines} to .gitattributes, yet {} file(s) are still converted: a `.gitattributes` inside the plugin tree overrides it (`plugin-lock verify` names each file)",
                self.still_converted
            )
        } else {
            format!("{what}; added {lines} to .gitattributes: checkouts keep the committed bytes")
        })
    }
}

/// The steps after `init`; `renormalize` are the plugin trees whose attributes it
/// changed (the index must store them as the new attributes say).
pub fn next_steps(lock: &str, renormalize: &[String]) -> Vec<String> {
    let mut add = String::new();
    for root in renormalize {
        add.push_str(&format!("git add --renormalize {} && ", shell_word(root)));
    }
    let attributes = if renormalize.is_empty() {
        ""
    } else {
        " .gitattributes"
    };
    vec![
        format!("1. review .plugin-lock.yml and {lock}"),
        format!(
            "2. {add}git add .plugin-lock.yml {lock}{attributes} && git commit -m \"plugin-lock: lock the plugins\""
        ),
        "3. plugin-lock verify                       # passes on the commit".to_owned(),
        "4. plugin-lock hook install --merge-driver  # checks every push; merges the lock by entry".to_owned(),
        "5. in CI, a step `uses: <owner>/plugin-lock@v1` after actions/checkout (README, \"GitHub Actions\")".to_owned(),
    ]
}

/// `word` as one POSIX shell word.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./@+".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

//! Platform drift: what a checkout on Windows or macOS does to a plugin that the
//! committed tree holds exactly. In its names (case and Unicode collisions, names
//! Windows refuses, symlinks without symlink support): only names and kinds are read,
//! one pass over the entries the digest lists anyway. In its line ends
//! (`eol_conversion`): the facts the digest gathered from the bytes it hashed
//! ([`LineEnds`]) and the file's attributes, decided as git's `convert.c` does.

use std::borrow::Cow;
use std::collections::BTreeMap;

use unicode_normalization::UnicodeNormalization;

use crate::tree::Kind;
use crate::tree::text::LineEnds;

/// One problem a checkout would have, at `path` (relative to the plugin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub kind: DriftKind,
    pub path: String,
    /// The other path of a collision.
    pub other: Option<String>,
    /// What exactly is wrong (a reserved name, a trailing dot), for the message; for
    /// `eol_conversion`, the [`EolCause`]'s name (fixed text, not copied per file).
    pub detail: Cow<'static, str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DriftKind {
    EolConversion,
    CaseCollision,
    UnicodeCollision,
    UnicodeUnnormalized,
    WindowsInvalidName,
    SymlinkCheckout,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::EolConversion => "eol_conversion",
            DriftKind::CaseCollision => "case_collision",
            DriftKind::UnicodeCollision => "unicode_collision",
            DriftKind::UnicodeUnnormalized => "unicode_unnormalized",
            DriftKind::WindowsInvalidName => "windows_invalid_name",
            DriftKind::SymlinkCheckout => "symlink_checkout",
        }
    }

    pub fn from_name(name: &str) -> Option<DriftKind> {
        [
            DriftKind::EolConversion,
            DriftKind::CaseCollision,
            DriftKind::UnicodeCollision,
            DriftKind::UnicodeUnnormalized,
            DriftKind::WindowsInvalidName,
            DriftKind::SymlinkCheckout,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Windows' MAX_PATH, counted here on the repository-relative path (a checkout adds its
/// own directory in front, so this is the least a loader needs).
pub const MAX_WINDOWS_PATH: usize = 260;

/// The drift of one plugin: `entries` are its files and links (paths relative to the
/// plugin, `/`-separated), `dir` the plugin's directory in the repository.
pub fn drift(dir: &str, entries: &[(String, Kind)]) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut by_nfc: BTreeMap<String, &str> = BTreeMap::new();
    let mut by_folded: BTreeMap<String, &str> = BTreeMap::new();
    for (path, kind) in entries {
        let ascii = path.is_ascii();
        let nfc: String = if ascii {
            path.clone()
        } else {
            path.nfc().collect()
        };
        if !ascii && nfc != *path {
            out.push(Drift {
                kind: DriftKind::UnicodeUnnormalized,
                path: path.clone(),
                other: None,
                detail: Cow::Borrowed(""),
            });
        }
        match by_nfc.get(&nfc) {
            Some(first) if *first != path.as_str() => out.push(Drift {
                kind: DriftKind::UnicodeCollision,
                path: path.clone(),
                other: Some((*first).to_owned()),
                detail: Cow::Borrowed(""),
            }),
            Some(_) => {}
            None => {
                by_nfc.insert(nfc.clone(), path);
                // Case folding on the normalized name: NTFS and APFS compare so.
                let folded: String = nfc.chars().flat_map(char::to_lowercase).collect();
                match by_folded.get(&folded) {
                    Some(first) => out.push(Drift {
                        kind: DriftKind::CaseCollision,
                        path: path.clone(),
                        other: Some((*first).to_owned()),
                        detail: Cow::Borrowed(""),
                    }),
                    None => {
                        by_folded.insert(folded, path);
                    }
                }
            }
        }
        let full_len = dir.chars().count() + 1 + path.chars().count();
        if let Some(why) = path.split('/').find_map(windows_refuses) {
            out.push(Drift {
                kind: DriftKind::WindowsInvalidName,
                path: path.clone(),
                other: None,
                detail: why.into(),
            });
        } else if full_len > MAX_WINDOWS_PATH {
            out.push(Drift {
                kind: DriftKind::WindowsInvalidName,
                path: path.clone(),
                other: None,
                detail: format!(
                    "the path is {full_len} characters long, over Windows' {MAX_WINDOWS_PATH}"
                )
                .into(),
            });
        }
        if *kind == Kind::Link {
            out.push(Drift {
                kind: DriftKind::SymlinkCheckout,
                path: path.clone(),
                other: None,
                detail: Cow::Borrowed(""),
            });
        }
    }
    out
}

/// A file's `text` attribute (or the legacy `crlf` one), as git reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextAttr {
    #[default]
    Unspecified,
    /// `text`: always text, whatever the content.
    Set,
    /// `-text` (or `binary`): never converted.
    Unset,
    /// `text=auto`: text when git's detection says so.
    Auto,
}

/// A file's `eol` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EolAttr {
    #[default]
    Unspecified,
    Lf,
    Crlf,
}

/// Why a file's line ends drift, which decides the platforms and the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EolCause {
    /// No attribute decides: git for Windows' `core.autocrlf=true` checks text out
    /// with CRLF.
    NoAttribute,
    /// `text=auto` without `eol`: native line ends, CRLF on every Windows checkout.
    TextAuto,
    /// `text` without `eol`: the same, and binary-looking content too.
    Text,
    /// `eol=crlf`: CRLF on every platform.
    EolCrlf,
    /// Text by its attributes, but the blob has CRLF: the next `git add` stores LF.
    CrlfBlob,
}

impl EolCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EolCause::NoAttribute => "no_attribute",
            EolCause::TextAuto => "text_auto",
            EolCause::Text => "text",
            EolCause::EolCrlf => "eol_crlf",
            EolCause::CrlfBlob => "crlf_blob",
        }
    }

    pub fn from_name(name: &str) -> Option<EolCause> {
        [
            EolCause::NoAttribute,
            EolCause::TextAuto,
            EolCause::Text,
            EolCause::EolCrlf,
            EolCause::CrlfBlob,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }
}

/// Whether git would check out (or, for [`EolCause::CrlfBlob`], store) the file at
/// `path` with other line ends than its blob on some platform, and why. The rules of
/// git's `convert_attrs`, `will_convert_lf_to_crlf` and `crlf_to_git`: `-text` and
/// `binary` leave a file alone; `eol=lf` pins LF; an `eol` without `text` makes a
/// file text; `text=auto` and no attribute convert only what detection calls text
/// with lone LFs and no CR (git's "safer autocrlf"); `text` converts every lone LF.
pub fn eol_drift(path: &str, ends: LineEnds, text: TextAttr, eol: EolAttr) -> Option<Drift> {
    let text = match (text, eol) {
        (TextAttr::Unspecified, EolAttr::Lf | EolAttr::Crlf) => TextAttr::Set,
        (text, _) => text,
    };
    let auto_converts = ends.lone_lf && !ends.crlf && !ends.lone_cr && !ends.binary;
    let cause = match (text, eol) {
        (TextAttr::Unset, _) => None,
        (TextAttr::Set, _) if ends.crlf => Some(EolCause::CrlfBlob),
        (TextAttr::Set | TextAttr::Auto, EolAttr::Lf) => None,
        (TextAttr::Set, EolAttr::Crlf) => ends.lone_lf.then_some(EolCause::EolCrlf),
        (TextAttr::Set, EolAttr::Unspecified) => ends.lone_lf.then_some(EolCause::Text),
        (TextAttr::Auto, EolAttr::Crlf) => auto_converts.then_some(EolCause::EolCrlf),
        (TextAttr::Auto, EolAttr::Unspecified) => auto_converts.then_some(EolCause::TextAuto),
        (TextAttr::Unspecified, _) => auto_converts.then_some(EolCause::NoAttribute),
    }?;
    Some(Drift {
        kind: DriftKind::EolConversion,
        path: path.to_owned(),
        other: None,
        detail: Cow::Borrowed(cause.as_str()),
    })
}

const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL"];

/// Why Windows (and git for Windows' `core.protectNTFS`) refuses a path component.
fn windows_refuses(component: &str) -> Option<String> {
    if let Some(c) = component
        .chars()
        .find(|c| "<>:\"|?*\\".contains(*c) || (*c as u32) < 32)
    {
        return Some(format!(
            "`{component}` contains `{}`, which Windows does not allow in a name",
            c.escape_default()
        ));
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Some(format!(
            "`{component}` ends with a {}, which Windows drops",
            if component.ends_with('.') {
                "dot"
            } else {
                "space"
            }
        ));
    }
    // A device name, with or without an extension, whatever the case.
    let stem = component
        .split('.')
        .next()
        .unwrap_or(component)
        .trim_end_matches(' ');
    let upper = stem.to_uppercase();
    let device = RESERVED.contains(&upper.as_str())
        || ["COM", "LPT"].iter().any(|p| {
            upper.strip_prefix(p).is_some_and(|n| {
                let mut chars = n.chars();
                matches!(
                    (chars.next(), chars.next()),
                    (Some('1'..='9' | '¹' | '²' | '³'), None)
                )
            })
        });
    device.then(|| format!("`{component}` is the Windows device name `{stem}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<(String, Kind)> {
        paths.iter().map(|p| (p.to_string(), Kind::File)).collect()
    }

    fn kinds(d: &[Drift]) -> Vec<(&'static str, &str)> {
        d.iter()
            .map(|d| (d.kind.as_str(), d.path.as_str()))
            .collect()
    }

    #[test]
    fn case_and_unicode_collisions_name_both_paths() {
        let d = drift("plugins/a", &files(&["Rules.md", "rules.md", "docs/x"]));
        assert_eq!(kinds(&d), [("case_collision", "rules.md")]);
        assert_eq!(d[0].other.as_deref(), Some("Rules.md"));
        // "é" composed and decomposed.
        let d = drift("plugins/a", &files(&["caf\u{e9}.txt", "cafe\u{301}.txt"]));
        assert_eq!(
            kinds(&d),
            [
                ("unicode_unnormalized", "cafe\u{301}.txt"),
                ("unicode_collision", "cafe\u{301}.txt")
            ]
        );
        let d = drift("plugins/a", &files(&["DIR/a", "dir/b", "Dir/a"]));
        assert_eq!(kinds(&d), [("case_collision", "Dir/a")]);
    }

    #[test]
    fn names_windows_refuses() {
        for (name, why) in [
            ("CON", "device name"),
            ("aux.txt", "device name"),
            ("com1.log", "device name"),
            ("LPT\u{b9}", "device name"),
            ("nul .txt", "device name"),
            ("a:b", "contains `:`"),
            ("what?", "contains `?`"),
            ("trail.", "ends with a dot"),
            ("trail ", "ends with a space"),
        ] {
            let d = drift("plugins/a", &files(&[&format!("x/{name}")]));
            assert_eq!(d.len(), 1, "{name}: {d:?}");
            assert_eq!(d[0].kind, DriftKind::WindowsInvalidName, "{name}");
            assert!(d[0].detail.contains(why), "{name}: {}", d[0].detail);
        }
        for fine in ["console.log", "com10", "lpt0", "auxiliary", "a.b.c"] {
            assert!(drift("plugins/a", &files(&[fine])).is_empty(), "{fine}");
        }
        let long = "d/".repeat(125) + "file.txt";
        let d = drift("plugins/a", &files(&[&long]));
        assert_eq!(kinds(&d), [("windows_invalid_name", long.as_str())]);
        assert!(d[0].detail.contains("over Windows' 260"), "{}", d[0].detail);
    }

    #[test]
    fn eol_conversion_as_git_decides_it() {
        use EolAttr as E;
        use TextAttr as T;
        let lf = LineEnds::of(b"a\nb\n");
        let crlf = LineEnds::of(b"a\r\nb\r\n");
        let binary = LineEnds::of(b"a\n\0b\n");
        let cause = |ends, text, eol| eol_drift("f", ends, text, eol).map(|d| d.detail);
        let cases = [
            (lf, T::Unspecified, E::Unspecified, Some("no_attribute")),
            (crlf, T::Unspecified, E::Unspecified, None),
            (binary, T::Unspecified, E::Unspecified, None),
            (lf, T::Unset, E::Crlf, None),
            (crlf, T::Unset, E::Unspecified, None),
            (lf, T::Auto, E::Unspecified, Some("text_auto")),
            (lf, T::Auto, E::Lf, None),
            (lf, T::Auto, E::Crlf, Some("eol_crlf")),
            (binary, T::Auto, E::Crlf, None),
            (crlf, T::Auto, E::Unspecified, None),
            (lf, T::Set, E::Unspecified, Some("text")),
            (lf, T::Set, E::Lf, None),
            (crlf, T::Set, E::Lf, Some("crlf_blob")),
            (crlf, T::Set, E::Unspecified, Some("crlf_blob")),
            (binary, T::Set, E::Unspecified, Some("text")),
            (lf, T::Unspecified, E::Lf, None),
            (crlf, T::Unspecified, E::Lf, Some("crlf_blob")),
            (lf, T::Unspecified, E::Crlf, Some("eol_crlf")),
        ];
        for (ends, text, eol, want) in cases {
            assert_eq!(
                cause(ends, text, eol).as_deref(),
                want,
                "{ends:?} {text:?} {eol:?}"
            );
        }
        for name in ["no_attribute", "text_auto", "text", "eol_crlf", "crlf_blob"] {
            assert_eq!(EolCause::from_name(name).map(EolCause::as_str), Some(name));
        }
    }

    #[test]
    fn a_link_is_a_checkout_risk() {
        let d = drift("plugins/a", &[("link".into(), Kind::Link)]);
        assert_eq!(kinds(&d), [("symlink_checkout", "link")]);
    }
}

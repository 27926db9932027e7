//! The line-end attributes (`text`, `eol`, the legacy `crlf`) of a plugin's files, from
//! the `.gitattributes` files of the tree being checked — every level, as git reads
//! them — matched with gix's attribute search. Only the tree's own files count: the
//! prediction is for every machine that checks the tree out, and `info/attributes` or
//! a global attributes file belongs to this one.

use std::path::{Path, PathBuf};

use gix::attrs::search::{MetadataCollection, Outcome};
use gix::attrs::{Search, StateRef};
use gix::bstr::BStr;

use crate::checks::platform::{EolAttr, TextAttr};
use crate::error::{Error, Result};
use crate::tree::git::reader::Reader;
use crate::tree::{FileRead, join};

pub const FILE_NAME: &str = ".gitattributes";

/// git ignores an attributes file larger than this (`ATTR_MAX_FILE_SIZE`).
const MAX_FILE_BYTES: usize = 100 * 1024 * 1024;

/// The `.gitattributes` files above the plugins (the root's, `plugins/`'s, …), read once
/// per run; those inside a plugin are part of its tree and read with it.
#[derive(Debug, Default)]
pub struct Ancestors {
    /// (directory, bytes), directories sorted so that a parent comes before its children.
    files: Vec<(String, Vec<u8>)>,
}

impl Ancestors {
    /// Reads the attributes file of every proper ancestor directory of `dirs`, the root
    /// included. A `.gitattributes` that is not a regular file is skipped, as git skips
    /// a symlinked one inside the tree.
    pub fn read<'d>(
        reader: &mut Reader<'_>,
        dirs: impl IntoIterator<Item = &'d str>,
    ) -> Result<Ancestors> {
        let mut wanted = std::collections::BTreeSet::new();
        for dir in dirs {
            wanted.insert(String::new());
            let mut end = 0;
            while let Some(i) = dir[end..].find('/') {
                end += i;
                wanted.insert(dir[..end].to_owned());
                end += 1;
            }
        }
        let mut files = Vec::new();
        for dir in wanted {
            if let Some(FileRead::Bytes(bytes)) =
                reader.read_file(&join(&dir, FILE_NAME), MAX_FILE_BYTES)?
            {
                files.push((dir, bytes));
            }
        }
        Ok(Ancestors { files })
    }

    /// The files that apply to the plugin directory `dir`, outermost first.
    fn above<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a (String, Vec<u8>)> + 'a {
        self.files
            .iter()
            .filter(move |(d, _)| d.is_empty() || is_below(dir, d))
    }

    /// What a cached result for the plugin at `dir` depends on besides its own tree.
    pub fn fingerprint(&self, dir: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (d, bytes) in self.above(dir) {
            out.extend_from_slice(d.as_bytes());
            out.push(0);
            out.extend_from_slice(bytes.len().to_string().as_bytes());
            out.push(0);
            out.extend_from_slice(bytes);
        }
        out
    }

    /// The matcher for the files of the plugin at `dir`, whose own attributes files are
    /// `inner` (paths relative to the plugin, parents before children).
    pub fn matcher<'i>(
        &self,
        reader: &mut Reader<'_>,
        dir: &str,
        inner: impl IntoIterator<Item = &'i str>,
    ) -> Result<Matcher> {
        let mut lists: Vec<(String, Vec<u8>)> = self
            .above(dir)
            .map(|(d, bytes)| (d.clone(), bytes.clone()))
            .collect();
        for rel in inner {
            let path = join(dir, rel);
            if let Some(FileRead::Bytes(bytes)) = reader.read_file(&path, MAX_FILE_BYTES)? {
                let parent = path.rsplit_once('/').map_or("", |(p, _)| p).to_owned();
                lists.push((parent, bytes));
            }
        }
        Matcher::new(&lists)
    }
}

/// Whether `path` is strictly inside the directory `dir`.
fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// One plugin's attribute search, reused for each of its files.
pub struct Matcher {
    search: Search,
    outcome: Outcome,
    /// No attributes file applies: everything is unspecified, nothing to match.
    empty: bool,
}

impl Matcher {
    /// `lists`: (directory, bytes of its `.gitattributes`), outermost first. Macros
    /// count only in the top-level file, as in git.
    fn new(lists: &[(String, Vec<u8>)]) -> Result<Matcher> {
        let mut collection = MetadataCollection::default();
        let mut buf = Vec::new();
        let io = |source: std::io::Error| Error::Io {
            path: PathBuf::from(FILE_NAME),
            source,
        };
        let mut search =
            Search::new_globals(std::iter::empty::<PathBuf>(), &mut buf, &mut collection)
                .map_err(io)?;
        for (dir, bytes) in lists {
            search
                .add_patterns_buffer(
                    bytes,
                    Path::new(dir).join(FILE_NAME),
                    Some(Path::new("")),
                    &mut collection,
                    dir.is_empty(),
                )
                .map_err(io)?;
        }
        let mut outcome = Outcome::default();
        outcome.initialize_with_selection(&collection, ["text", "eol", "crlf"]);
        Ok(Matcher {
            search,
            outcome,
            empty: lists.is_empty(),
        })
    }

    /// The `text` and `eol` attributes of the file at `path` (repository-relative),
    /// with `crlf` standing in for an unspecified `text` as git's `convert_attrs` does.
    pub fn eol_attributes(&mut self, path: &str) -> (TextAttr, EolAttr) {
        if self.empty {
            return (TextAttr::Unspecified, EolAttr::Unspecified);
        }
        self.outcome.reset();
        self.search.pattern_matching_relative_path(
            BStr::new(path),
            gix::glob::pattern::Case::Sensitive,
            Some(false),
            &mut self.outcome,
        );
        let unspecified = (TextAttr::Unspecified, false);
        let (mut text, mut crlf, mut eol) = (unspecified, unspecified, EolAttr::Unspecified);
        for m in self.outcome.iter_selected() {
            let state = m.assignment.state;
            match m.assignment.name.as_str() {
                "text" => text = text_state(state),
                "crlf" => crlf = text_state(state),
                "eol" => {
                    eol = match state {
                        StateRef::Value(v) if v.as_bstr() == "lf" => EolAttr::Lf,
                        StateRef::Value(v) if v.as_bstr() == "crlf" => EolAttr::Crlf,
                        _ => EolAttr::Unspecified,
                    }
                }
                _ => {}
            }
        }
        let (text, input) = if text.0 == TextAttr::Unspecified {
            crlf
        } else {
            text
        };
        // `text=input` / `crlf=input`: text with LF in the work tree, unless `eol` says.
        if input && eol == EolAttr::Unspecified {
            eol = EolAttr::Lf;
        }
        (text, eol)
    }
}

/// git's `git_path_check_crlf`: set, unset, `auto`, `input` (text with LF); any other
/// value is unspecified. The flag says `input`.
fn text_state(state: StateRef<'_>) -> (TextAttr, bool) {
    match state {
        StateRef::Set => (TextAttr::Set, false),
        StateRef::Unset => (TextAttr::Unset, false),
        StateRef::Value(v) if v.as_bstr() == "auto" => (TextAttr::Auto, false),
        StateRef::Value(v) if v.as_bstr() == "input" => (TextAttr::Set, true),
        StateRef::Value(_) | StateRef::Unspecified => (TextAttr::Unspecified, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(lists: &[(&str, &str)]) -> Matcher {
        let lists: Vec<(String, Vec<u8>)> = lists
            .iter()
            .map(|(d, b)| (d.to_string(), b.as_bytes().to_vec()))
            .collect();
        Matcher::new(&lists).unwrap()
    }

    #[test]
    fn levels_and_macros_as_git_reads_them() {
        let mut m = matcher(&[
            (
                "",
                "* text=auto\n*.png binary\nplugins/** -text\n[attr]lf text eol=lf\n",
            ),
            ("plugins/a", "*.md text eol=crlf\n*.sh lf\n"),
        ]);
        use EolAttr as E;
        use TextAttr as T;
        assert_eq!(m.eol_attributes("README"), (T::Auto, E::Unspecified));
        assert_eq!(m.eol_attributes("x.png"), (T::Unset, E::Unspecified));
        assert_eq!(
            m.eol_attributes("plugins/b/x.py"),
            (T::Unset, E::Unspecified)
        );
        assert_eq!(m.eol_attributes("plugins/a/x.md"), (T::Set, E::Crlf));
        // A macro defined in the top-level file is used below it.
        assert_eq!(m.eol_attributes("plugins/a/run.sh"), (T::Set, E::Lf));
        // The deeper file's patterns are relative to its directory.
        assert_eq!(
            m.eol_attributes("plugins/b/x.md"),
            (T::Unset, E::Unspecified)
        );
    }

    #[test]
    fn macros_below_the_top_level_are_ignored_and_crlf_is_legacy_text() {
        let mut m = matcher(&[(
            "plugins",
            "[attr]keep -text\n*.txt keep\n*.a -crlf\n*.b crlf=input\n",
        )]);
        use EolAttr as E;
        use TextAttr as T;
        assert_eq!(
            m.eol_attributes("plugins/x.txt"),
            (T::Unspecified, E::Unspecified)
        );
        assert_eq!(m.eol_attributes("plugins/x.a"), (T::Unset, E::Unspecified));
        assert_eq!(m.eol_attributes("plugins/x.b"), (T::Set, E::Lf));
        let mut none = matcher(&[]);
        assert_eq!(
            none.eol_attributes("plugins/x.b"),
            (T::Unspecified, E::Unspecified)
        );
    }
}

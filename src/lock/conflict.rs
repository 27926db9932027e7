//! A lock left with merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`, and the
//! diff3 base section `|||||||`): where the first marker is, and each side's lock as
//! the text between the markers restores it, so that `update` can resolve the conflict
//! and say, entry by entry, what it kept from each side.

use crate::lock::Lock;
use crate::lock::parser::parse;

/// A conflicted lock: the first marker's line (1-based) and, where that side's text
/// parses as a lock, each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub line: u32,
    pub ours: Option<Lock>,
    pub theirs: Option<Lock>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Common,
    Ours,
    Base,
    Theirs,
}

/// Whether `line` is the marker `marker` (seven characters, then the end of the line or
/// a space and a label), as git writes them.
fn is_marker(line: &[u8], marker: u8) -> bool {
    line.len() >= 7
        && line[..7].iter().all(|b| *b == marker)
        && matches!(line.get(7), None | Some(b' ') | Some(b'\r'))
}

/// The conflict in `bytes`, if it has any marker of an opening hunk.
pub fn find(bytes: &[u8]) -> Option<Conflict> {
    let mut first = None;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut section = Section::Common;
    let mut well_formed = true;
    for (i, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let next = match section {
            Section::Common if is_marker(line, b'<') => Some(Section::Ours),
            Section::Ours if is_marker(line, b'|') => Some(Section::Base),
            Section::Ours | Section::Base if is_marker(line, b'=') => Some(Section::Theirs),
            Section::Theirs if is_marker(line, b'>') => Some(Section::Common),
            _ if [b'<', b'|', b'=', b'>'].iter().any(|m| is_marker(line, *m)) => {
                well_formed = false;
                None
            }
            _ => None,
        };
        if let Some(next) = next {
            first.get_or_insert(u32::try_from(i + 1).unwrap_or(u32::MAX));
            section = next;
            continue;
        }
        match section {
            Section::Common => {
                ours.extend_from_slice(raw);
                theirs.extend_from_slice(raw);
            }
            Section::Ours => ours.extend_from_slice(raw),
            Section::Base => {}
            Section::Theirs => theirs.extend_from_slice(raw),
        }
    }
    let line = first?;
    let side = |text: &[u8]| {
        (well_formed && section == Section::Common)
            .then(|| parse(text).ok())
            .flatten()
    };
    Some(Conflict {
        line,
        ours: side(&ours),
        theirs: side(&theirs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn each_side_is_restored_from_a_merge_and_a_diff3_conflict() {
        for base in ["", &format!("||||||| base\n  \"alpha\": \"{C}\",\n")] {
            let text = format!(
                "{{\n<<<<<<< HEAD\n  \"alpha\": \"{A}\",\n{base}=======\n  \"alpha\": \"{B}\",\n>>>>>>> topic\n  \"beta\": \"{C}\"\n}}\n"
            );
            let c = find(text.as_bytes()).unwrap();
            assert_eq!(c.line, 2);
            let ours = c.ours.unwrap();
            let theirs = c.theirs.unwrap();
            assert_eq!(ours.get("alpha").unwrap().digest, A);
            assert_eq!(theirs.get("alpha").unwrap().digest, B);
            assert_eq!(ours.get("beta").unwrap().digest, C);
            assert_eq!(theirs.get("beta").unwrap().digest, C);
        }
    }

    #[test]
    fn no_marker_is_no_conflict_and_a_broken_one_has_no_sides() {
        assert_eq!(find(format!("{{\n  \"a\": \"{A}\"\n}}\n").as_bytes()), None);
        assert_eq!(find(b"{\n  \"<<<<<<<\": 1\n}\n"), None);
        let c = find(b"{\n<<<<<<< HEAD\n  \"a\": 1\n").unwrap();
        assert_eq!((c.line, c.ours, c.theirs), (2, None, None));
        let crlf = "{\r\n<<<<<<< HEAD\r\n=======\r\n>>>>>>> x\r\n}\r\n";
        assert_eq!(find(crlf.as_bytes()).unwrap().line, 2);
    }
}

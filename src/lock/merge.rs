//! The three-way merge of two locks (`plugin-lock merge-driver`): entry by entry, an
//! entry changed on one side only takes that side, changed alike on both takes it, and
//! changed differently on both is a conflict that gets git's markers for that entry
//! only. Each side's text between the markers is that side's lock, so `update` (see
//! [`crate::lock::conflict`]) can resolve it against both.

use std::collections::{BTreeMap, BTreeSet};

/// The merged text, canonical where nothing conflicts, and the conflicting ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub conflicts: Vec<String>,
}

type Entries = BTreeMap<String, String>;

/// One entry's line on one side, as `render` writes it, with the comma that side needs.
fn line(id: &str, digest: &str, comma: bool) -> String {
    let mut out = String::from("  ");
    crate::lock::push_json_string(&mut out, id);
    out.push_str(": ");
    crate::lock::push_json_string(&mut out, digest);
    if comma {
        out.push(',');
    }
    out.push('\n');
    out
}

/// Each entry of one side in order, with its line (`None` where the side has none).
fn side_lines(ids: &[&String], side: &Entries) -> Vec<Option<String>> {
    let present: Vec<usize> = (0..ids.len())
        .filter(|i| side.contains_key(ids[*i]))
        .collect();
    let last = present.last().copied();
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            side.get(*id)
                .map(|digest| line(id, digest, Some(i) != last))
        })
        .collect()
}

pub fn three_way(
    base: &Entries,
    ours: &Entries,
    theirs: &Entries,
    ours_label: &str,
    theirs_label: &str,
) -> Merged {
    let ids: BTreeSet<&String> = base
        .keys()
        .chain(ours.keys())
        .chain(theirs.keys())
        .collect();
    let mut left = Entries::new();
    let mut right = Entries::new();
    let mut conflicts = Vec::new();
    for id in &ids {
        let (b, o, t) = (base.get(*id), ours.get(*id), theirs.get(*id));
        let (l, r) = if o == t || t == b {
            (o, o)
        } else if o == b {
            (t, t)
        } else {
            conflicts.push((*id).clone());
            (o, t)
        };
        if let Some(d) = l {
            left.insert((*id).clone(), d.clone());
        }
        if let Some(d) = r {
            right.insert((*id).clone(), d.clone());
        }
    }
    if conflicts.is_empty() {
        return Merged {
            text: crate::lock::render(&left),
            conflicts,
        };
    }
    let ids: Vec<&String> = ids.into_iter().collect();
    let (l, r) = (side_lines(&ids, &left), side_lines(&ids, &right));
    let mut text = String::from("{\n");
    let mut hunk: Option<(String, String)> = None;
    let close = |text: &mut String, hunk: &mut Option<(String, String)>| {
        if let Some((a, b)) = hunk.take() {
            text.push_str(&format!(
                "<<<<<<< {ours_label}\n{a}=======\n{b}>>>>>>> {theirs_label}\n"
            ));
        }
    };
    for (a, b) in l.into_iter().zip(r) {
        if a == b {
            close(&mut text, &mut hunk);
            text.push_str(a.as_deref().unwrap_or_default());
        } else {
            let h = hunk.get_or_insert_with(Default::default);
            h.0.push_str(a.as_deref().unwrap_or_default());
            h.1.push_str(b.as_deref().unwrap_or_default());
        }
    }
    close(&mut text, &mut hunk);
    text.push_str("}\n");
    Merged { text, conflicts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::conflict;

    fn d(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn entries(pairs: &[(&str, char)]) -> Entries {
        pairs
            .iter()
            .map(|(id, c)| ((*id).to_owned(), d(*c)))
            .collect()
    }

    #[test]
    fn one_sided_and_equal_changes_merge_cleanly_into_canonical_form() {
        let base = entries(&[("a", '1'), ("b", '1'), ("c", '1')]);
        let ours = entries(&[("a", '2'), ("b", '1'), ("c", '3')]);
        let theirs = entries(&[("a", '1'), ("b", '4'), ("c", '3'), ("n", '5')]);
        let m = three_way(&base, &ours, &theirs, "ours", "theirs");
        assert!(m.conflicts.is_empty());
        let want = entries(&[("a", '2'), ("b", '4'), ("c", '3'), ("n", '5')]);
        assert_eq!(m.text, crate::lock::render(&want));
    }

    #[test]
    fn a_conflict_marks_that_entry_only_and_each_side_parses() {
        let base = entries(&[("a", '1'), ("b", '1'), ("z", '1')]);
        let ours = entries(&[("a", '2'), ("b", '2'), ("z", '1')]);
        let theirs = entries(&[("a", '3'), ("b", '1')]);
        let m = three_way(&base, &ours, &theirs, "HEAD", "topic");
        assert_eq!(m.conflicts, ["a"]);
        assert_eq!(m.text.matches("<<<<<<< HEAD").count(), 1, "{}", m.text);
        let c = conflict::find(m.text.as_bytes()).unwrap();
        assert_eq!(c.line, 2);
        let (o, t) = (c.ours.unwrap().to_map(), c.theirs.unwrap().to_map());
        // b changed on our side only, z was removed on theirs only: both taken.
        assert_eq!(o, entries(&[("a", '2'), ("b", '2')]));
        assert_eq!(t, entries(&[("a", '3'), ("b", '2')]));
    }

    #[test]
    fn a_removed_entry_against_a_changed_one_conflicts_and_the_commas_stay_right() {
        let base = entries(&[("a", '1'), ("b", '1')]);
        let ours = entries(&[("a", '1')]);
        let theirs = entries(&[("a", '1'), ("b", '2')]);
        let m = three_way(&base, &ours, &theirs, "ours", "theirs");
        assert_eq!(m.conflicts, ["b"]);
        let c = conflict::find(m.text.as_bytes()).unwrap();
        assert_eq!(
            c.ours.unwrap().to_map(),
            entries(&[("a", '1')]),
            "{}",
            m.text
        );
        assert_eq!(c.theirs.unwrap().to_map(), theirs, "{}", m.text);
    }
}

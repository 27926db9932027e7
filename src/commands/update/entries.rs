//! What `update` changes in the lock, entry by entry: against the lock it replaces, and,
//! for a conflicted lock, against both sides of the merge.

use std::collections::BTreeMap;

#[derive(serde::Serialize)]
pub struct Change<'a> {
    pub id: &'a str,
    /// `added`, `changed`, `removed`.
    pub change: &'static str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// The entries that differ between `old` and `new`, by id.
pub fn changes<'a>(
    old: &'a BTreeMap<String, String>,
    new: &'a BTreeMap<String, String>,
) -> Vec<Change<'a>> {
    let mut out = Vec::new();
    for (id, digest) in new {
        match old.get(id) {
            None => out.push(Change {
                id,
                change: "added",
                from: None,
                to: Some(digest),
            }),
            Some(before) if before != digest => out.push(Change {
                id,
                change: "changed",
                from: Some(before),
                to: Some(digest),
            }),
            Some(_) => {}
        }
    }
    for (id, digest) in old {
        if !new.contains_key(id) {
            out.push(Change {
                id,
                change: "removed",
                from: Some(digest),
                to: None,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(b.id));
    out
}

/// `3 entries: 1 changed, 1 added, 1 removed` (the kinds that occur); `verb` goes after
/// the count (`would change`).
pub fn counts(diff: &[Change<'_>], verb: &str) -> String {
    let n = |kind: &str| diff.iter().filter(|c| c.change == kind).count();
    let parts: Vec<String> = ["changed", "added", "removed"]
        .iter()
        .filter(|k| n(k) > 0)
        .map(|k| format!("{} {k}", n(k)))
        .collect();
    format!(
        "{} entr{}{verb}: {}",
        diff.len(),
        if diff.len() == 1 { "y" } else { "ies" },
        parts.join(", ")
    )
}

/// How `update` resolved one entry of a conflicted lock, against both sides.
#[derive(serde::Serialize)]
pub struct Resolution<'a> {
    pub id: &'a str,
    /// `kept from ours`, `taken from theirs`, `recomputed`, `added`, `removed`.
    pub resolution: &'static str,
    pub ours: Option<&'a str>,
    pub theirs: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Every entry that either side or the new lock holds, unless all three agree.
pub fn resolutions<'a>(
    ours: &'a BTreeMap<String, String>,
    theirs: &'a BTreeMap<String, String>,
    new: &'a BTreeMap<String, String>,
) -> Vec<Resolution<'a>> {
    let mut ids: Vec<&String> = ours.keys().chain(theirs.keys()).chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (o, t, n) = (ours.get(id), theirs.get(id), new.get(id));
        let resolution = match n {
            _ if o == n && t == n => continue,
            None => "removed",
            Some(_) if o == n => "kept from ours",
            Some(_) if t == n => "taken from theirs",
            Some(_) if o.is_none() && t.is_none() => "added",
            Some(_) => "recomputed",
        };
        out.push(Resolution {
            id,
            resolution,
            ours: o.map(String::as_str),
            theirs: t.map(String::as_str),
            digest: n.map(String::as_str),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn counts_name_only_the_kinds_that_occur() {
        let old = map(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let new = map(&[("a", "9"), ("c", "3"), ("d", "4")]);
        let diff = changes(&old, &new);
        assert_eq!(
            counts(&diff, ""),
            "3 entries: 1 changed, 1 added, 1 removed"
        );
        let edited = map(&[("a", "1"), ("b", "2"), ("c", "4")]);
        let one = changes(&old, &edited);
        assert_eq!(
            counts(&one, " would change"),
            "1 entry would change: 1 changed"
        );
    }

    #[test]
    fn resolutions_say_which_side_each_entry_came_from() {
        let ours = map(&[("a", "1"), ("b", "2"), ("gone", "5")]);
        let theirs = map(&[("a", "1"), ("b", "3"), ("gone", "5"), ("t", "7")]);
        let new = map(&[("a", "1"), ("b", "3"), ("n", "8"), ("t", "9")]);
        let got: Vec<(&str, &str)> = resolutions(&ours, &theirs, &new)
            .iter()
            .map(|r| (r.id, r.resolution))
            .collect();
        assert_eq!(
            got,
            [
                ("b", "taken from theirs"),
                ("gone", "removed"),
                ("n", "added"),
                ("t", "recomputed")
            ]
        );
    }
}

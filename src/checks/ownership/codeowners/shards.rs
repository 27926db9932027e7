//! The rules' globs as regex sets: one set normally, consecutive shards when a file's
//! patterns exceed the regex engine's size limit.

use globset::{GlobSet, GlobSetBuilder};

use crate::checks::ownership::codeowners::syntax::Compiled;

/// A `GlobSet` holding the globs of rules `first_rule..first_rule + set.len()`, in order:
/// glob `g` belongs to rule `first_rule + g`. Shards hold increasing, disjoint rule ranges.
#[derive(Debug, Clone)]
pub struct Shard {
    pub set: GlobSet,
    pub first_rule: usize,
}

/// Puts every rule's glob into one `GlobSet`, glob `i` being rule `i`.
///
/// A set fails to build only when it exceeds the regex engine's size limit (10 MiB of NFA
/// in globset). A file under 3 MB full of complex patterns can reach that. Then the rules are
/// cut into consecutive shards of about [`SHARD_REGEX_BUDGET`] bytes of regex. A shard that
/// still fails is halved recursively, so every rule is still matched. A single rule whose
/// glob fails on its own is reported in `failed` as `(index, message)`.
pub fn build_shards(compiled: &[Compiled], failed: &mut Vec<(usize, String)>) -> Vec<Shard> {
    if let Ok(set) = build_set(compiled) {
        return vec![Shard { set, first_rule: 0 }];
    }
    let mut shards = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, c) in compiled.iter().enumerate() {
        let len = c.glob.regex().len();
        if i > start && size + len > SHARD_REGEX_BUDGET {
            build_shards_into(
                compiled.get(start..i).unwrap_or_default(),
                start,
                &mut shards,
                failed,
            );
            (start, size) = (i, 0);
        }
        size += len;
    }
    build_shards_into(
        compiled.get(start..).unwrap_or_default(),
        start,
        &mut shards,
        failed,
    );
    shards
}

/// Regex bytes per shard in the fallback. Measured: one glob of about 300,000 regex bytes
/// fits the 10 MiB NFA limit and one of 350,000 does not, so a third of that leaves room.
/// Building a set that fails costs as much as building one that fits, so fewer failed
/// attempts matter more than fewer shards.
const SHARD_REGEX_BUDGET: usize = 100_000;

fn build_set(compiled: &[Compiled]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for c in compiled {
        builder.add(c.glob.clone());
    }
    builder.build()
}

fn build_shards_into(
    compiled: &[Compiled],
    offset: usize,
    shards: &mut Vec<Shard>,
    failed: &mut Vec<(usize, String)>,
) {
    if compiled.is_empty() {
        return;
    }
    match build_set(compiled) {
        Ok(set) => shards.push(Shard {
            set,
            first_rule: offset,
        }),
        Err(err) if compiled.len() == 1 => {
            failed.push((
                offset,
                format!("Invalid pattern: too complex to match ({err})"),
            ));
        }
        Err(_) => {
            let (low, high) = compiled.split_at(compiled.len() / 2);
            build_shards_into(low, offset, shards, failed);
            build_shards_into(high, offset + low.len(), shards, failed);
        }
    }
}

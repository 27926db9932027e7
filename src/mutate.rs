//! Deterministic byte mutations of seed inputs, for the parsers' "never a panic, every
//! problem positioned" tests: each round takes the next seed and inserts, replaces or
//! removes one to four bytes, drawn from `interesting` (and, with `random`, any byte).

/// `rounds` mutated inputs from `seeds`, reproducible from `state`.
pub fn mutations<'a>(
    seeds: &'a [&'a [u8]],
    interesting: &'a [u8],
    rounds: usize,
    mut state: u64,
    random: bool,
) -> impl Iterator<Item = Vec<u8>> + 'a {
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..rounds).map(move |round| {
        let mut bytes = seeds[round % seeds.len()].to_vec();
        for _ in 0..1 + next() % 4 {
            let pos = (next() as usize) % (bytes.len() + 1);
            let byte = if !random || next() % 2 == 0 {
                interesting[(next() as usize) % interesting.len()]
            } else {
                next() as u8
            };
            match next() % 3 {
                0 if pos < bytes.len() => bytes[pos] = byte,
                1 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                _ => bytes.insert(pos, byte),
            }
        }
        bytes
    })
}

//! What git's end-of-line conversion sees in a blob: its line ends, and whether git
//! would take it for binary. Git decides per checkout from these facts and the file's
//! attributes (`checks::platform` does that part); here are only the bytes.

use bstr::ByteSlice;

/// How much of a blob git's binary detection looks at (xdiff's `FIRST_FEW_BYTES`).
pub const DETECTION_BYTES: usize = 8000;

/// The line-end facts of one blob, as git's `convert.c` gathers them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEnds {
    /// An LF not preceded by CR: what a checkout with CRLF would change.
    pub lone_lf: bool,
    /// A CRLF pair somewhere in the blob.
    pub crlf: bool,
    /// A CR not followed by LF (git then leaves the file alone under `text=auto`).
    pub lone_cr: bool,
    /// Binary by git's rule (a NUL, a lone CR, or more than one non-printable byte in
    /// 128) applied to the first [`DETECTION_BYTES`].
    pub binary: bool,
}

impl LineEnds {
    pub fn of(content: &[u8]) -> LineEnds {
        let head = &content[..content.len().min(DETECTION_BYTES)];
        // Most text has no CR at all: memchr scans and one vectorised count settle it
        // without a byte loop (this runs on every file of every plugin).
        let (binary, lone_lf, crlf, lone_cr) = match content.find_byte(b'\r') {
            None => (
                looks_binary_without_cr(head),
                content.find_byte(b'\n').is_some(),
                false,
                false,
            ),
            Some(_) => {
                let (lone_lf, crlf, lone_cr) = scan(content);
                (
                    looks_binary(head, head.len() == content.len()),
                    lone_lf,
                    crlf,
                    lone_cr,
                )
            }
        };
        LineEnds {
            lone_lf,
            crlf,
            lone_cr,
            binary,
        }
    }

    /// Whether any conversion could touch the blob: it has a line end.
    pub fn has_line_ends(&self) -> bool {
        self.lone_lf || self.crlf
    }
}

fn scan(content: &[u8]) -> (bool, bool, bool) {
    let (mut lone_lf, mut crlf, mut lone_cr) = (false, false, false);
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                crlf = true;
                i += 1;
            }
            b'\r' => lone_cr = true,
            b'\n' => lone_lf = true,
            _ => {}
        }
        i += 1;
    }
    (lone_lf, crlf, lone_cr)
}

/// [`looks_binary`] for a `head` without CR, branch-free per byte so that it vectorises.
fn looks_binary_without_cr(head: &[u8]) -> bool {
    if head.find_byte(0).is_some() {
        return true;
    }
    // Byte-wide counters over chunks of 255 keep the loop in SIMD lanes.
    let mut nonprintable = head
        .chunks(255)
        .map(|chunk| chunk.iter().fold(0u8, |n, &b| n + is_nonprintable(b) as u8) as usize)
        .sum::<usize>();
    let printable = head.len() - nonprintable;
    if head.last() == Some(&0x1a) {
        nonprintable -= 1;
    }
    (printable >> 7) < nonprintable
}

/// git's non-printable bytes: controls other than BS, TAB, LF, FF and ESC, and DEL
/// (NUL and CR are decided before).
fn is_nonprintable(b: u8) -> bool {
    // `&`, not `&&`: no branch per byte.
    ((b < 32) & (b != b'\n') & (b != b'\x08') & (b != b'\t') & (b != b'\x1b') & (b != b'\x0c'))
        | (b == 0x7f)
}

/// git's `convert_is_binary` over `head`: a lone CR, a NUL, or printable bytes fewer
/// than 128 times the non-printable ones (a trailing ^Z, DOS's end of file, is text).
/// `whole`: `head` is the entire blob.
fn looks_binary(head: &[u8], whole: bool) -> bool {
    let (mut printable, mut nonprintable) = (0usize, 0usize);
    let mut i = 0;
    while i < head.len() {
        match head[i] {
            b'\r' => {
                // A CR that ends the head may pair with an LF just past it.
                if head.get(i + 1) != Some(&b'\n') && (i + 1 < head.len() || whole) {
                    return true;
                }
                i += 1;
            }
            0 => return true,
            b'\n' | b'\x08' | b'\t' | b'\x1b' | b'\x0c' => printable += 1,
            c if is_nonprintable(c) => nonprintable += 1,
            _ => printable += 1,
        }
        i += 1;
    }
    if head.last() == Some(&0x1a) {
        nonprintable = nonprintable.saturating_sub(1);
    }
    (printable >> 7) < nonprintable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_as_git_counts_them() {
        let e = LineEnds::of(b"a\nb\n");
        assert!(e.lone_lf && !e.crlf && !e.lone_cr && !e.binary);
        let e = LineEnds::of(b"a\r\nb\r\n");
        assert!(!e.lone_lf && e.crlf && !e.binary);
        let e = LineEnds::of(b"a\r\nb\n");
        assert!(e.lone_lf && e.crlf);
        assert!(!LineEnds::of(b"no line end").has_line_ends());
        assert!(LineEnds::of(b"old mac\rline").lone_cr);
    }

    #[test]
    fn binary_by_git_rule_in_the_first_8000_bytes() {
        assert!(LineEnds::of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").binary);
        assert!(LineEnds::of(b"text\nwith a NUL\0").binary);
        // Control bytes: binary only past one in 128.
        let mut mostly_text = vec![b'a'; 1280];
        mostly_text.push(0x01);
        assert!(!LineEnds::of(&mostly_text).binary);
        mostly_text.extend([0x01; 10]);
        assert!(LineEnds::of(&mostly_text).binary);
        // A NUL past the first 8000 bytes is not looked at.
        let mut late = b"line\n".repeat(2000);
        late.push(0);
        let e = LineEnds::of(&late);
        assert!(!e.binary && e.lone_lf);
        assert!(!LineEnds::of(b"dos text\r\n\x1a").binary);
        assert!(!LineEnds::of(b"unix text\n\x1a").binary);
    }

    #[test]
    fn the_fast_path_decides_as_the_byte_loop() {
        // Every byte value, alone and in proportions around git's 1 in 128, without CR.
        for b in (0u8..=255).filter(|&b| b != b'\r') {
            for n in [1usize, 5, 9, 20] {
                let mut text = vec![b'a'; 1270];
                text.extend(std::iter::repeat_n(b, n));
                for t in [&text[..], &text[..n], &[b][..]] {
                    assert_eq!(
                        looks_binary_without_cr(t),
                        looks_binary(t, true),
                        "byte {b:#x} x{n}"
                    );
                }
            }
        }
    }
}

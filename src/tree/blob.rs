//! Blob bytes within limits: the per-blob cap (`--max-blob-size`), the memory budget
//! that big blobs share across threads, and reads that cannot run past either.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use bstr::{BStr, BString, ByteSlice};

use crate::error::{Error, Result};

/// The largest blob read by default: a digest needs each file whole, so one file over
/// this rejects its plugin instead of growing memory without bound. The operator (not
/// the repository, which may be hostile) raises it with `--max-blob-size`.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 64 * 1024 * 1024;

/// Blobs above this share one memory budget across all threads (the cap, see
/// [`BigBlobs`]), and the buffer that held one is shrunk back after use: peak blob
/// memory is workers × this plus one cap, not workers × the largest blob.
pub const BIG_BLOB_SIZE: u64 = 8 * 1024 * 1024;

static MAX_BLOB_SIZE: AtomicU64 = AtomicU64::new(DEFAULT_MAX_BLOB_SIZE);

/// Bytes of big blobs (over [`BIG_BLOB_SIZE`]) in all threads' buffers together.
static BIG_BLOBS: BigBlobs = BigBlobs {
    in_flight: Mutex::new(0),
    released: Condvar::new(),
};

/// A byte budget for big blobs: one waits while the others would take the total over the
/// cap. A single blob is never over the cap (it is rejected first), so one always fits
/// once the others are done: no wait lasts longer than another thread's read and hash.
struct BigBlobs {
    in_flight: Mutex<u64>,
    released: Condvar,
}

/// A share of [`BIG_BLOBS`], given back on drop.
pub(crate) struct Turn(u64);

impl Drop for Turn {
    fn drop(&mut self) {
        // A poisoned lock only means a thread panicked holding it; the count is still whole.
        let mut in_flight = BIG_BLOBS
            .in_flight
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *in_flight = in_flight.saturating_sub(self.0);
        BIG_BLOBS.released.notify_all();
    }
}

/// Sets the blob cap for the whole process (`--max-blob-size`, read once in main).
pub fn set_max_blob_size(bytes: u64) {
    MAX_BLOB_SIZE.store(bytes, Ordering::Relaxed);
}

pub fn max_blob_size() -> u64 {
    MAX_BLOB_SIZE.load(Ordering::Relaxed)
}

/// `--max-blob-size`: bytes, or a number with `K`, `M` or `G` (powers of 1024).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("`{text}` is not a size: use bytes, or K, M or G")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{text}` is not a positive size: use bytes, or K, M or G"))
}

/// A blob's bytes in the caller's buffer. A big one holds its share of the big-blob
/// budget until dropped, and then gives the buffer's memory back, so keep it no longer
/// than needed (never across a wait on another thread).
pub struct Blob<'b> {
    pub(crate) buf: &'b mut Vec<u8>,
    pub(crate) len: usize,
    pub(crate) turn: Option<Turn>,
}

impl std::ops::Deref for Blob<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Blob<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Blob<'_>> for BString {
    fn from(blob: Blob<'_>) -> BString {
        BString::from(&*blob)
    }
}

impl Drop for Blob<'_> {
    fn drop(&mut self) {
        if self.turn.is_some() {
            // Free the memory before the share, so the next big blob never overlaps it.
            self.buf.clear();
            self.buf.shrink_to(BIG_BLOB_SIZE as usize);
        }
        self.turn = None;
    }
}

/// Waits until `size` more bytes of big blobs fit the budget, when `size` is big.
pub(crate) fn turn_for(size: u64) -> Option<Turn> {
    if size <= BIG_BLOB_SIZE {
        return None;
    }
    let budget = max_blob_size();
    let mut in_flight = BIG_BLOBS
        .in_flight
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    while *in_flight > 0 && in_flight.saturating_add(size) > budget {
        in_flight = BIG_BLOBS
            .released
            .wait(in_flight)
            .unwrap_or_else(|poison| poison.into_inner());
    }
    *in_flight = in_flight.saturating_add(size);
    Some(Turn(size))
}

/// Reads `reader` into `buf` up to `cap` bytes; more is [`Error::BlobTooLarge`]. The
/// size is whatever the bytes turn out to be, whatever metadata claimed.
pub(crate) fn read_capped(
    reader: impl Read,
    buf: &mut Vec<u8>,
    path: &BStr,
    cap: u64,
    io: impl Fn(std::io::Error) -> Error,
) -> Result<()> {
    let start = buf.len();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(buf)
        .map_err(io)?;
    let read = (buf.len() - start) as u64;
    if read > cap {
        buf.truncate(start);
        return Err(too_large(path, read, cap, true));
    }
    Ok(())
}

pub(crate) fn too_large(path: &BStr, size: u64, cap: u64, at_least: bool) -> Error {
    Error::BlobTooLarge {
        path: path.to_str_lossy().into_owned(),
        size,
        at_least,
        cap,
    }
}

/// A reader that fails, rather than ends, after `left` bytes: input past the cap must
/// never look like the end of the file (the work tree's filter pipeline reads through it).
#[cfg(feature = "cli")]
pub(crate) struct Capped<R> {
    pub(crate) inner: R,
    pub(crate) left: u64,
}

#[cfg(feature = "cli")]
impl<R: Read> Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "the file grew past the blob size limit",
                )),
            };
        }
        let want = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(out.get_mut(..want).unwrap_or_default())?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens a work-tree file for reading only if it is a regular file: never a FIFO (which
/// would block), a device (endless) or a link swapped in after the walk. `O_NONBLOCK`
/// keeps even the open from waiting on a FIFO writer; the type is checked on the handle.
pub(crate) fn open_regular(full: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(full)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device); git cannot store it",
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_bytes_or_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size(" 2G "), Ok(2 << 30));
        for bad in ["", "0", "-1", "1T", "M", "1.5M", "99999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[cfg(feature = "cli")]
    #[test]
    fn capped_reads_fail_past_the_cap_instead_of_ending() {
        let mut out = Vec::new();
        let mut r = Capped {
            inner: &b"abcdef"[..],
            left: 6,
        };
        assert_eq!(r.read_to_end(&mut out).map(|_| out.len()).ok(), Some(6));
        let mut r = Capped {
            inner: &b"abcdefg"[..],
            left: 6,
        };
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        let mut buf = b"keep".to_vec();
        let e = read_capped(&b"0123456789"[..], &mut buf, BStr::new("f"), 4, |e| {
            Error::Io {
                path: "f".into(),
                source: e,
            }
        });
        assert!(matches!(
            e,
            Err(Error::BlobTooLarge {
                size: 5,
                at_least: true,
                ..
            })
        ));
        assert_eq!(buf, b"keep");
    }

    #[test]
    fn big_blobs_share_the_budget_and_a_lone_one_always_fits() {
        // Smaller than the default cap: two fit together, a third waits for a release.
        let size = DEFAULT_MAX_BLOB_SIZE / 2;
        let (a, b) = (turn_for(size), turn_for(size));
        assert!(a.is_some() && b.is_some());
        assert!(turn_for(BIG_BLOB_SIZE).is_none());
        let waiter = std::thread::spawn(move || turn_for(size).map(|t| t.0));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished());
        drop(a);
        assert_eq!(waiter.join().ok().flatten(), Some(size));
        drop(b);
        assert_eq!(*BIG_BLOBS.in_flight.lock().unwrap(), 0);
    }
}

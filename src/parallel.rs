//! Work over many items on every core: a shared queue of item indices, one worker per
//! thread (each with whatever state it keeps: a gix handle, a tree, a reused buffer),
//! results in the items' order, and the first error stops the others.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// How many workers for `items` items: `PLUGIN_LOCK_THREADS` when set (benchmarks pin
/// it), else one per core; never more than the items, never none.
pub fn threads(items: usize) -> usize {
    std::env::var("PLUGIN_LOCK_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(items)
        .max(1)
}

/// The indices still to do, shared by the workers.
pub struct Queue {
    len: usize,
    next: AtomicUsize,
    failed: AtomicBool,
}

impl Queue {
    /// The next index to work on; `None` when all are taken or a worker failed.
    pub fn next(&self) -> Option<usize> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.len).then_some(i)
    }
}

/// Runs `worker` on `threads` threads (on this one when 1) over `len` indices; each
/// worker returns the `(index, result)` pairs it did. Every index is done exactly once.
pub fn map<R: Send>(
    len: usize,
    threads: usize,
    worker: impl Fn(&Queue) -> Result<Vec<(usize, R)>> + Sync,
) -> Result<Vec<R>> {
    let queue = Queue {
        len,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    };
    let work = || {
        let done = worker(&queue);
        if done.is_err() {
            queue.failed.store(true, Ordering::Relaxed);
        }
        done
    };
    let parts: Vec<Result<Vec<(usize, R)>>> = if threads <= 1 {
        vec![work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Internal("a worker thread panicked".into())))
                })
                .collect()
        })
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(len).collect();
    for part in parts {
        for (i, r) in part? {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    slots
        .into_iter()
        .map(|r| r.ok_or_else(|| Error::Internal("a work item was not done".into())))
        .collect()
}

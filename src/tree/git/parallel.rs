//! Running a job over many items on every core, each thread with its own gix handle,
//! [`Reader`] and blob buffer, under one memory budget for the delta-base caches.

use crate::error::{Error, Result};
use crate::tree::git::Snapshot;
use crate::tree::git::reader::Reader;

/// What all workers' delta-base caches may hold together, unless git's configuration
/// sizes them: memory stays bounded whatever the number of cores.
const DELTA_CACHE_BUDGET: usize = 16 * 1024 * 1024;
const DELTA_CACHE_MIN: usize = 2 * 1024 * 1024;

/// gix gives each handle a 64-slot delta-base cache capped at 96 MB; with a worker per
/// core that grows with the machine (~14 MiB a worker on the `big` benchmark). Here
/// the budget is split between the workers instead, at no cost in speed on the
/// benchmark corpora. `core.deltaBaseCacheLimit` or `gitoxide.core.deltaBaseCacheLimit`,
/// when set, is the user's choice and is left alone.
fn bound_delta_cache(repo: &mut gix::Repository, workers: usize) {
    let configured = {
        let config = repo.config_snapshot();
        [
            "core.deltaBaseCacheLimit",
            "gitoxide.core.deltaBaseCacheLimit",
        ]
        .iter()
        .any(|key| config.string(*key).is_some())
    };
    if configured {
        return;
    }
    let limit = (DELTA_CACHE_BUDGET / workers.max(1)).max(DELTA_CACHE_MIN);
    repo.objects.set_pack_cache(move || {
        Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
            limit,
        ))
    });
}

impl Snapshot {
    /// Runs `job` over `items` on every core, each thread with its own gix handle, reader
    /// and reused blob buffer. Results keep the items' order; the first error wins.
    pub fn par_map<T, R, F>(&self, items: &[T], job: F) -> Result<Vec<R>>
    where
        T: Sync,
        R: Send,
        F: Fn(&mut Reader<'_>, &T, &mut Vec<u8>) -> Result<R> + Sync,
    {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        // PLUGIN_LOCK_THREADS pins the worker count (benchmarks compare 1 and 2).
        let threads = std::env::var("PLUGIN_LOCK_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(items.len())
            .max(1);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let work = || -> Result<Vec<(usize, R)>> {
            let mut repo = self.local_repo();
            bound_delta_cache(&mut repo, threads);
            let mut reader = self.reader(&repo);
            let mut buf = Vec::new();
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() || failed.load(Ordering::Relaxed) {
                    return Ok(done);
                }
                match job(&mut reader, &items[i], &mut buf) {
                    Ok(r) => done.push((i, r)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        };
        let parts: Vec<Result<Vec<(usize, R)>>> = if threads == 1 {
            vec![work()]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Internal("a worker thread panicked".into()))
                        })
                    })
                    .collect()
            })
        };
        let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
        for part in parts {
            for (i, r) in part? {
                slots[i] = Some(r);
            }
        }
        slots
            .into_iter()
            .map(|r| r.ok_or_else(|| Error::Internal("a work item was not done".into())))
            .collect()
    }
}

//! Running a job over many items on every core, each thread with its own gix handle,
//! [`Reader`] and blob buffer, under one memory budget for the delta-base caches.

use crate::error::Result;
use crate::parallel;
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
        let threads = parallel::threads(items.len());
        parallel::map(items.len(), threads, |queue| {
            let mut repo = self.local_repo();
            bound_delta_cache(&mut repo, threads);
            let mut reader = self.reader(&repo);
            let mut buf = Vec::new();
            let mut done = Vec::new();
            while let Some(i) = queue.next() {
                done.push((i, job(&mut reader, &items[i], &mut buf)?));
            }
            Ok(done)
        })
    }
}

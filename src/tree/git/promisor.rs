//! Partial clones (`git clone --filter=blob:none`, `actions/checkout` with `filter:
//! blob:none`): blobs that are not fetched yet are asked from the promisor remote with
//! one `git fetch` per batch, the same request git itself makes for a lazy fetch. gix
//! does not fetch lazily, so without this a partial clone could not be verified.
//!
//! Nothing is fetched unless the repository names a promisor remote (that is what
//! makes it a partial clone), and never when `GIT_NO_LAZY_FETCH=1` (git's own switch).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gix::ObjectId;

/// Ids per `git fetch` (one process, one round trip): bounds the request's size.
pub const FETCH_BATCH: usize = 10_000;
/// A fetch that has not finished by then is stopped: a run never hangs on the network.
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// The remote a partial clone fetches missing objects from, if this is one.
pub fn remote(repo: &gix::Repository) -> Option<String> {
    let config = repo.config_snapshot();
    if let Some(name) = config.string("extensions.partialClone") {
        return Some(name.to_string());
    }
    let remotes = repo.remote_names();
    remotes
        .iter()
        .find(|name| {
            config
                .boolean(format!("remote.{name}.promisor").as_str())
                .unwrap_or(false)
        })
        .map(|name| name.to_string())
}

/// Whether the user switched lazy fetching off, as git understands `GIT_NO_LAZY_FETCH`.
pub fn lazy_fetch_disabled() -> bool {
    std::env::var("GIT_NO_LAZY_FETCH")
        .is_ok_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"))
}

/// Asks `remote` for `ids` (in batches of [`FETCH_BATCH`]); the error is what went wrong,
/// git's own message included.
pub fn fetch(
    git_dir: &std::path::Path,
    remote: &str,
    ids: &[ObjectId],
) -> std::result::Result<(), String> {
    for batch in ids.chunks(FETCH_BATCH) {
        fetch_batch(git_dir, remote, batch)?;
    }
    Ok(())
}

fn fetch_batch(
    git_dir: &std::path::Path,
    remote: &str,
    ids: &[ObjectId],
) -> std::result::Result<(), String> {
    // What git's promisor-remote.c runs: no negotiation, no tags, no FETCH_HEAD, and
    // the clone's own filter so that only the objects asked for come.
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args([
            "-c",
            "fetch.negotiationAlgorithm=noop",
            "fetch",
            remote,
            "--no-tags",
            "--no-write-fetch-head",
            "--recurse-submodules=no",
            "--filter=blob:none",
            "--stdin",
        ])
        // Never a prompt: a run in CI or a hook must fail, not wait for a password.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run `git fetch` ({e}); is git on PATH?"))?;
    let mut input = String::with_capacity(ids.len() * 41);
    for id in ids {
        input.push_str(&id.to_string());
        input.push('\n');
    }
    if let Some(mut stdin) = child.stdin.take() {
        // A git that exits early closes the pipe; its status and stderr say why.
        let _ = stdin.write_all(input.as_bytes());
    }
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stderr {
            let _ = s.read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + FETCH_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`git fetch {remote}` did not finish within {} s and was stopped",
                    FETCH_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for `git fetch`: {e}")),
        }
    };
    let text = reader.join().unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        let said = text.trim().lines().last().unwrap_or("").trim().to_owned();
        Err(format!(
            "`git fetch {remote}` failed ({status}){}",
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ))
    }
}

//! What the GitHub Actions runner tells a step: whether it runs there, and the pull
//! request of the triggering event (`GITHUB_EVENT_PATH`).

/// Whether this process runs as an Actions step.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// The triggering event's JSON, when there is one and it parses.
fn event() -> Option<serde_json::Value> {
    let path = std::env::var_os("GITHUB_EVENT_PATH").filter(|p| !p.is_empty())?;
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The pull request's `base` or `head` commit id, when the event is a pull request.
pub fn pull_request_sha(side: &str) -> Option<String> {
    pull_request_sha_in(&event()?, side)
}

fn pull_request_sha_in(event: &serde_json::Value, side: &str) -> Option<String> {
    event
        .get("pull_request")?
        .get(side)?
        .get("sha")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The base commit of an event that proposes a change to a branch: a pull request's
/// `pull_request.base.sha`, or a merge queue's `merge_group.base_sha`. A merge group is
/// the pull request on its last step before the branch moves, checked out as shallowly,
/// so it has the same claim to fail closed when that base is absent.
pub fn change_base_sha() -> Option<String> {
    let event = event()?;
    pull_request_sha_in(&event, "base").or_else(|| {
        event
            .get("merge_group")?
            .get("base_sha")?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

/// The pull request's number (`pull_request.number`), when the event is a pull request.
pub fn pull_request_number() -> Option<u64> {
    event()?.get("pull_request")?.get("number")?.as_u64()
}

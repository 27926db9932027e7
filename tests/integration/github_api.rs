//! What the GitHub API tests share: a runtime for the mock server (wiremock, on
//! 127.0.0.1), the requests it recorded, and the check that no token reaches the output.

use serde_json::Value;
use wiremock::MockServer;

use crate::util::{stderr, stdout};

/// A current-thread runtime to start and query the mock server with.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Requests the server received with `verb`, as (path, JSON body).
pub fn requests(
    rt: &tokio::runtime::Runtime,
    server: &MockServer,
    verb: &str,
) -> Vec<(String, Value)> {
    rt.block_on(server.received_requests())
        .expect("recording is on")
        .into_iter()
        .filter(|r| r.method.as_str() == verb)
        .map(|r| {
            let body = if r.body.is_empty() {
                Value::Null
            } else {
                r.body_json().expect("JSON body")
            };
            (r.url.path().to_owned(), body)
        })
        .collect()
}

/// Neither stream of a run carries `token`.
pub fn assert_no_token(out: &std::process::Output, token: &str) {
    assert!(
        !stdout(out).contains(token) && !stderr(out).contains(token),
        "the token leaked:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
}

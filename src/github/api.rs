//! What both GitHub clients share (check runs and approvals): the environment they read,
//! the octocrab client they build, their error type, and how text from outside is made
//! safe to show.

use std::fmt;
use std::time::Duration;

use octocrab::Octocrab;

/// Connect and read timeout of one request, unless `PLUGIN_LOCK_HTTP_TIMEOUT_SECS` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// What the publication needs from the environment. Built by [`GithubEnv::from_env`] in
/// the binary; tests build one directly.
#[derive(Clone)]
pub struct GithubEnv {
    /// `GITHUB_TOKEN`.
    pub token: Option<String>,
    /// `GITHUB_API_URL` (default `https://api.github.com`).
    pub api_url: String,
    /// `GITHUB_REPOSITORY`: `owner/repo`.
    pub repository: Option<String>,
    /// The pull request's head (`pull_request.head.sha` in `GITHUB_EVENT_PATH`), else
    /// `GITHUB_SHA`.
    pub head_sha: Option<String>,
    /// Connect and read timeout of one request (`PLUGIN_LOCK_HTTP_TIMEOUT_SECS`).
    pub timeout: Duration,
}

impl fmt::Debug for GithubEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubEnv")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("head_sha", &self.head_sha)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GithubEnv {
    /// Reads `GITHUB_TOKEN`, `GITHUB_API_URL`, `GITHUB_REPOSITORY`, `GITHUB_EVENT_PATH`,
    /// `GITHUB_SHA` and `PLUGIN_LOCK_HTTP_TIMEOUT_SECS`; empty values count as unset.
    pub fn from_env() -> GithubEnv {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let pr_head = var("GITHUB_EVENT_PATH")
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| pull_request_head(&bytes));
        GithubEnv {
            token: var("GITHUB_TOKEN").map(|t| t.trim().to_owned()),
            api_url: var("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned()),
            repository: var("GITHUB_REPOSITORY"),
            head_sha: pr_head.or_else(|| var("GITHUB_SHA")),
            timeout: var("PLUGIN_LOCK_HTTP_TIMEOUT_SECS")
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64),
        }
    }
}

/// `pull_request.head.sha` of a webhook event payload, when it has one.
pub(crate) fn pull_request_head(event: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(event).ok()?;
    let sha = value.pointer("/pull_request/head/sha")?.as_str()?;
    Some(sha.to_owned())
}

/// An octocrab client for `api_url` with `token` and per-request timeouts (shared with
/// `approvals`); the error is a message for a note.
pub(crate) fn client(api_url: &str, token: &str, timeout: Duration) -> Result<Octocrab, String> {
    Octocrab::builder()
        .base_uri(api_url)
        .map_err(|_| format!("GITHUB_API_URL is not a URL: {:?}", sanitize(api_url, 200)))?
        .personal_token(token.to_owned())
        .set_connect_timeout(Some(timeout))
        .set_read_timeout(Some(timeout))
        .set_write_timeout(Some(timeout))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", describe(&e)))
}

/// An API failure, in the terms the retry policy needs.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// GitHub answered with a non-success status.
    Status { code: u16, message: String },
    /// No answer: connection refused or cut, timeout. May or may not have reached GitHub.
    Transport(String),
    /// A success status with a body we cannot read.
    Decode(String),
    /// The budget ran out before the request could be (re)sent.
    OutOfTime(String),
}

impl ApiError {
    pub(crate) fn from_octocrab(e: octocrab::Error) -> ApiError {
        match e {
            octocrab::Error::GitHub { source, .. } => ApiError::Status {
                code: source.status_code.as_u16(),
                message: sanitize(&source.message, 500),
            },
            octocrab::Error::Json { .. } | octocrab::Error::Serde { .. } => {
                ApiError::Decode(describe(&e))
            }
            other => ApiError::Transport(describe(&other)),
        }
    }

    /// Worth another attempt: the server failed or did not answer.
    pub(crate) fn transient(&self) -> bool {
        match self {
            ApiError::Status { code, .. } => *code >= 500 || *code == 429,
            ApiError::Transport(_) => true,
            ApiError::Decode(_) | ApiError::OutOfTime(_) => false,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Status { code, message } => write!(f, "HTTP {code}: {message}"),
            ApiError::Transport(m) => write!(f, "no answer: {m}"),
            ApiError::Decode(m) => write!(f, "unreadable answer: {m}"),
            ApiError::OutOfTime(m) => f.write_str(m),
        }
    }
}

/// An error and its causes on one line (octocrab's `Display` shows only the top).
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let msg = err.to_string();
        // octocrab appends backtraces and documentation URLs on further lines.
        let msg = msg.lines().next().unwrap_or_default().trim().to_owned();
        if !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    sanitize(&parts.join(": "), 500)
}

/// At most `max` bytes, cut on a char boundary, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// A message from outside (GitHub, the environment) made safe for one stderr line:
/// no control characters (no workflow command can start a line), bounded length.
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(flat.trim(), max)
}

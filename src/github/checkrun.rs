//! `verify --check-run`: one GitHub check run, named `plugin-lock`, carrying every
//! finding as an annotation (DESIGN.md "Output"; research/github-integration.md §2-3).
//!
//! The only module with async code and the only one that talks to the Checks API. Its
//! surface is synchronous: [`publish`] builds a current-thread tokio runtime, does its
//! requests, and returns an [`Outcome`]. It never panics and never changes the verdict.
//!
//! The protocol: create the run (`in_progress`, first batch of at most 50 annotations),
//! then PATCH the further batches; the last request completes the run with `success`
//! (no error finding) or `failure`. A single batch is created completed.
//!
//! Retries are bounded: at most [`ATTEMPTS`] per request, short backoff, and a total
//! [`BUDGET`] for the whole publication. A failed creation that may have reached the
//! server (a 5xx, a timeout, a cut connection) is never retried blindly: the runs named
//! `plugin-lock` on the head commit are looked up first, and one carrying this
//! invocation's `external_id` is the run, so there is never a second one. Likewise a
//! PATCH is retried only after the run's `annotations_count` shows it was not applied.
//!
//! The token goes to octocrab (which keeps it in a `SecretString`) and nowhere else:
//! [`GithubEnv`]'s `Debug` redacts it, and every message is scrubbed of it.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use octocrab::Octocrab;
use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};
use serde::{Deserialize, Serialize};

use crate::checks::findings::{Finding, Severity, count};
use crate::escape::{shown, terminal};

/// The check run's name (and the `check_name` of the lookup).
pub const NAME: &str = "plugin-lock";
/// The Checks API takes at most 50 annotations per request.
pub const BATCH: usize = 50;
/// Attempts per request (the first and two retries).
pub const ATTEMPTS: u32 = 3;
/// The whole publication gives up after this long (requests, lookups and backoff).
pub const BUDGET: Duration = Duration::from_secs(40);
/// Connect and read timeout of one request, unless `PLUGIN_LOCK_HTTP_TIMEOUT_SECS` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `output.summary` and `output.text` limit (characters; we count bytes, which is stricter).
pub const MAX_SUMMARY: usize = 65535;
/// An annotation's `message` and `raw_details` limit (64 KB).
pub const MAX_MESSAGE: usize = 64 * 1024 - 1;
/// An annotation's `title` limit.
pub const MAX_TITLE: usize = 255;

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
fn pull_request_head(event: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(event).ok()?;
    let sha = value.pointer("/pull_request/head/sha")?.as_str()?;
    Some(sha.to_owned())
}

/// What became of the check run. Whatever it is, the verdict stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The run exists and is completed, with every annotation.
    Created {
        id: u64,
        /// Write requests that carried the run (creation and updates).
        batches: usize,
        annotations: usize,
        url: Option<String>,
    },
    /// GitHub refused with 403 (a fork's read-only token, no `checks: write`).
    Forbidden { message: String },
    /// Nothing was sent: the environment lacks what a check run needs.
    Skipped { reason: String },
    /// Anything else: the API failed, or did not answer in time.
    Failed { message: String },
}

impl Outcome {
    /// The line for stderr, `None` when there is nothing to say. `annotations_printed`:
    /// the workflow-command annotations went to stdout (`--format github`), so they
    /// stand in for a run that could not be created.
    pub fn note(&self, annotations_printed: bool) -> Option<String> {
        Some(match self {
            Outcome::Created {
                id,
                batches,
                annotations,
                url,
            } => format!(
                "plugin-lock: check run {id} created with {annotations} annotation(s) in {batches} request(s){}",
                url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
            ),
            Outcome::Forbidden { message } if annotations_printed => format!(
                "plugin-lock: check run not created (403: {message}); the annotations above stand in for it"
            ),
            Outcome::Forbidden { message } => format!(
                "plugin-lock: note: check run not created (403: {message}): the token cannot write checks; \
                 give the job `permissions: checks: write` (pull requests from forks only ever get a read-only token)"
            ),
            Outcome::Skipped { reason } => {
                format!("plugin-lock: note: check run skipped: {reason}")
            }
            Outcome::Failed { message } => {
                format!("plugin-lock: note: check run failed: {message}")
            }
        })
    }
}

/// Publishes `findings` as the `plugin-lock` check run, with `summary_md` (the job
/// summary) as its summary. Never panics; the outcome is for a note on stderr.
pub fn publish(findings: &[Finding], summary_md: &str, env: &GithubEnv) -> Outcome {
    let target = match Target::from_env(env) {
        Ok(target) => target,
        Err(reason) => return Outcome::Skipped { reason },
    };
    let token = target.token.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Outcome::Failed {
                message: format!("cannot start the HTTP runtime: {e}"),
            })?;
        runtime.block_on(run(findings, summary_md, &target))
    }));
    let outcome = match result {
        Ok(Ok(outcome) | Err(outcome)) => outcome,
        Err(_) => Outcome::Failed {
            message: "internal error while talking to the GitHub API".into(),
        },
    };
    scrub_outcome(outcome, &token)
}

/// A validated environment: where and as whom to write.
struct Target {
    token: String,
    api_url: String,
    owner: String,
    repo: String,
    head_sha: String,
    timeout: Duration,
}

impl Target {
    fn from_env(env: &GithubEnv) -> Result<Target, String> {
        let Some(token) = env.token.clone() else {
            return Err(
                "GITHUB_TOKEN is not set (give the step `env: GITHUB_TOKEN: ${{ github.token }}`)"
                    .into(),
            );
        };
        let Some(repository) = &env.repository else {
            return Err("GITHUB_REPOSITORY (owner/repo) is not set".into());
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        let (owner, repo) = match repository.split_once('/') {
            Some((o, r)) if name_ok(o) && name_ok(r) => (o.to_owned(), r.to_owned()),
            _ => {
                return Err(format!(
                    "GITHUB_REPOSITORY is not `owner/repo`: {:?}",
                    sanitize(repository, 100)
                ));
            }
        };
        let Some(head_sha) = &env.head_sha else {
            return Err("no commit to attach the run to: neither a pull request head in GITHUB_EVENT_PATH nor GITHUB_SHA".into());
        };
        let sha_ok =
            matches!(head_sha.len(), 40 | 64) && head_sha.bytes().all(|b| b.is_ascii_hexdigit());
        if !sha_ok {
            return Err(format!(
                "the head commit is not a full commit id: {:?}",
                sanitize(head_sha, 100)
            ));
        }
        Ok(Target {
            token,
            api_url: env.api_url.trim_end_matches('/').to_owned(),
            owner,
            repo,
            head_sha: head_sha.to_ascii_lowercase(),
            timeout: env.timeout,
        })
    }

    fn runs_route(&self) -> String {
        format!("/repos/{}/{}/check-runs", self.owner, self.repo)
    }

    fn run_route(&self, id: u64) -> String {
        format!("/repos/{}/{}/check-runs/{id}", self.owner, self.repo)
    }

    fn lookup_route(&self) -> String {
        format!(
            "/repos/{}/{}/commits/{}/check-runs",
            self.owner, self.repo, self.head_sha
        )
    }
}

/// The publication; `Err` carries an early outcome (it is the same type either way).
async fn run(findings: &[Finding], summary_md: &str, target: &Target) -> Result<Outcome, Outcome> {
    let started = Instant::now();
    let failed = |message: String| Outcome::Failed { message };
    let crab = client(&target.api_url, &target.token, target.timeout).map_err(failed)?;
    let client = Client {
        crab,
        target,
        started,
    };

    let annotations: Vec<Annotation> = findings.iter().map(Annotation::from_finding).collect();
    let errors = count(findings, Severity::Error);
    let warnings = count(findings, Severity::Warning);
    let output = Output {
        title: format!(
            "plugin-lock: {} {}, {} {}",
            errors,
            if errors == 1 { "error" } else { "errors" },
            warnings,
            if warnings == 1 { "warning" } else { "warnings" }
        ),
        summary: truncate_summary(summary_md),
    };
    let conclusion = if errors == 0 {
        CheckRunConclusion::Success
    } else {
        CheckRunConclusion::Failure
    };
    // A random reference for this invocation: the lookup recognises our run by it.
    let external_id = format!(
        "plugin-lock/{}",
        crate::report::github::random_token()
            .trim_start_matches("ghadelim_")
            .to_owned()
    );

    // Creation, with the first batch; completed at once when that is every annotation.
    let first = annotations.len().min(BATCH);
    let final_at_creation = first == annotations.len();
    let body = CreateBody {
        name: NAME,
        head_sha: &target.head_sha,
        external_id: &external_id,
        status: if final_at_creation {
            CheckRunStatus::Completed
        } else {
            CheckRunStatus::InProgress
        },
        conclusion: final_at_creation.then_some(conclusion),
        output: output.with(&annotations[..first]),
    };
    let (created, mut done) = match client.create(&body, &external_id).await {
        Ok(Created::New(run)) => (run, first),
        // The earlier attempt reached GitHub: the run has what its output says.
        Ok(Created::Found(run)) => {
            let done = run
                .output
                .as_ref()
                .and_then(|o| o.annotations_count)
                .map_or(first, |n| usize::try_from(n).unwrap_or(first).min(first));
            (run, done)
        }
        Err(ApiError::Status { code: 403, message }) => {
            return Ok(Outcome::Forbidden { message });
        }
        Err(e) => return Ok(failed(format!("creating the check run: {e}"))),
    };
    let id = created.id;
    let mut batches = 1;
    let mut completed = final_at_creation && done == annotations.len();

    // The further batches; the last one completes the run.
    while !completed {
        let end = (done + BATCH).min(annotations.len());
        let last = end == annotations.len();
        let body = UpdateBody {
            status: last.then_some(CheckRunStatus::Completed),
            conclusion: last.then_some(conclusion),
            output: output.with(&annotations[done..end]),
        };
        match client.update(id, &body, end, last).await {
            Ok(()) => {}
            Err(ApiError::Status { code: 403, message }) => {
                return Ok(Outcome::Forbidden { message });
            }
            Err(e) => {
                return Ok(failed(format!(
                    "check run {id} was created but not completed ({done} of {} annotations posted): {e}",
                    annotations.len()
                )));
            }
        }
        batches += 1;
        done = end;
        completed = last;
    }
    Ok(Outcome::Created {
        id,
        batches,
        annotations: annotations.len(),
        url: created.html_url.map(|u| sanitize(&u, 300)),
    })
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

/// The title and summary every request carries (a run left in progress still has them).
struct Output {
    title: String,
    summary: String,
}

impl Output {
    fn with(&self, batch: &[Annotation]) -> CheckRunOutput {
        CheckRunOutput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            text: None,
            annotations: batch.iter().map(Annotation::to_param).collect(),
            images: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct CreateBody<'a> {
    name: &'a str,
    head_sha: &'a str,
    external_id: &'a str,
    status: CheckRunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    conclusion: Option<CheckRunConclusion>,
    output: CheckRunOutput,
}

#[derive(Serialize)]
struct UpdateBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<CheckRunStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conclusion: Option<CheckRunConclusion>,
    output: CheckRunOutput,
}

#[derive(Serialize)]
struct LookupQuery<'a> {
    check_name: &'a str,
    filter: &'a str,
    per_page: u8,
}

/// The fields of a check run we read; the rest of GitHub's answer is ignored, so a
/// sparse or newer response still parses.
#[derive(Debug, Deserialize)]
struct RunRef {
    id: u64,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    output: Option<RunOutputRef>,
}

#[derive(Debug, Deserialize)]
struct RunOutputRef {
    #[serde(default)]
    annotations_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct RunList {
    #[serde(default)]
    check_runs: Vec<RunRef>,
}

/// One finding as an annotation (owned, so batches can be built repeatedly).
struct Annotation {
    path: String,
    line: u32,
    column: Option<u32>,
    level: Severity,
    title: String,
    message: String,
    raw_details: Option<String>,
}

impl Annotation {
    fn from_finding(f: &Finding) -> Annotation {
        // Shown as on a terminal (capped, control characters escaped): GitHub displays
        // these as text, and a 50 MB value would not fit the API's limits anyway.
        let title = match &f.plugin {
            Some(id) => format!("{} ({})", f.kind.as_str(), shown(id)),
            None => f.kind.as_str().to_owned(),
        };
        let details: Vec<String> = f
            .notes
            .iter()
            .map(|(label, value)| format!("{label}: {}", shown(value)))
            .collect();
        Annotation {
            path: f.path.clone(),
            line: f.line.max(1),
            column: f.column,
            level: f.severity,
            title: truncate(&title, MAX_TITLE),
            message: truncate(&terminal(&crate::report::message(f)), MAX_MESSAGE),
            raw_details: (!details.is_empty()).then(|| truncate(&details.join("\n"), MAX_MESSAGE)),
        }
    }

    fn to_param(&self) -> CheckRunOutputAnnotation {
        CheckRunOutputAnnotation {
            path: self.path.clone(),
            start_line: self.line,
            end_line: self.line,
            start_column: self.column,
            end_column: self.column,
            annotation_level: match self.level {
                Severity::Error => CheckRunOutputAnnotationLevel::Failure,
                Severity::Warning => CheckRunOutputAnnotationLevel::Warning,
            },
            message: self.message.clone(),
            title: Some(self.title.clone()),
            raw_details: self.raw_details.clone(),
        }
    }
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
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
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

enum Created {
    New(RunRef),
    /// An earlier attempt that looked failed had created it.
    Found(RunRef),
}

struct Client<'a> {
    crab: Octocrab,
    target: &'a Target,
    started: Instant,
}

impl Client<'_> {
    /// One request within the budget: octocrab's connect/read timeouts, plus a hard
    /// limit so a trickling server cannot hold us past the budget.
    async fn call<T>(
        &self,
        request: impl Future<Output = octocrab::Result<T>>,
    ) -> Result<T, ApiError> {
        let left = BUDGET.saturating_sub(self.started.elapsed());
        if left.is_zero() {
            return Err(self.out_of_time());
        }
        let limit = left.min(self.target.timeout * 2 + Duration::from_secs(1));
        match tokio::time::timeout(limit, request).await {
            Ok(result) => result.map_err(ApiError::from_octocrab),
            Err(_) => Err(ApiError::Transport(format!(
                "no complete answer within {:.1} s",
                limit.as_secs_f64()
            ))),
        }
    }

    fn out_of_time(&self) -> ApiError {
        ApiError::OutOfTime(format!(
            "gave up after {} s (the limit for the whole check run)",
            BUDGET.as_secs()
        ))
    }

    /// Waits before retry `attempt` (1, 2, …): 0.5 s, 1 s, …, within the budget.
    async fn backoff(&self, attempt: u32) -> Result<(), ApiError> {
        let wait = Duration::from_millis(500) * 2u32.pow(attempt.saturating_sub(1));
        if self.started.elapsed() + wait >= BUDGET {
            return Err(self.out_of_time());
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Creates the run. Before any retry, looks the run up by name, head and our
    /// `external_id`: an attempt that failed on our side may have succeeded on GitHub's.
    async fn create(&self, body: &CreateBody<'_>, external_id: &str) -> Result<Created, ApiError> {
        let mut last: Option<ApiError> = None;
        for attempt in 0..ATTEMPTS {
            if let Some(err) = last.take() {
                self.backoff(attempt).await.map_err(|_| err)?;
                match self.lookup(external_id).await {
                    Ok(Some(run)) => return Ok(Created::Found(run)),
                    Ok(None) => {}
                    // Unknown whether it exists: never POST blind; try again later.
                    Err(e) if e.transient() => {
                        last = Some(e);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let route = self.target.runs_route();
            match self
                .call(self.crab.post::<_, RunRef>(route, Some(body)))
                .await
            {
                Ok(run) => return Ok(Created::New(run)),
                // A 2xx we cannot read also means the run may exist: look it up.
                Err(e) if e.transient() || matches!(e, ApiError::Decode(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| self.out_of_time()))
    }

    /// `GET /repos/{o}/{r}/commits/{sha}/check-runs?check_name=plugin-lock`: the run
    /// this invocation created, if any.
    async fn lookup(&self, external_id: &str) -> Result<Option<RunRef>, ApiError> {
        let query = LookupQuery {
            check_name: NAME,
            filter: "all",
            per_page: 100,
        };
        let list: RunList = self
            .call(self.crab.get(self.target.lookup_route(), Some(&query)))
            .await?;
        Ok(list
            .check_runs
            .into_iter()
            .find(|run| run.external_id.as_deref() == Some(external_id)))
    }

    /// PATCHes one batch. Before a retry, reads the run back: when it already holds
    /// `expected` annotations (and is completed, for the last batch), the earlier
    /// attempt was applied and is not repeated (PATCHed annotations are appended).
    async fn update(
        &self,
        id: u64,
        body: &UpdateBody,
        expected: usize,
        last_batch: bool,
    ) -> Result<(), ApiError> {
        let mut last: Option<ApiError> = None;
        for attempt in 0..ATTEMPTS {
            if let Some(err) = last.take() {
                self.backoff(attempt).await.map_err(|_| err)?;
                let route = self.target.run_route(id);
                if let Ok(run) = self.call(self.crab.get::<RunRef, _, ()>(route, None)).await {
                    let count = run.output.as_ref().and_then(|o| o.annotations_count);
                    let has_all = count.is_some_and(|n| n >= expected as u64);
                    let done = !last_batch || run.status.as_deref() == Some("completed");
                    if has_all && done {
                        return Ok(());
                    }
                }
            }
            let route = self.target.run_route(id);
            match self
                .call(self.crab.patch::<RunRef, _, _>(route, Some(body)))
                .await
            {
                Ok(_) => return Ok(()),
                // The update was applied: an unreadable answer is not worth a retry.
                Err(ApiError::Decode(_)) => return Ok(()),
                Err(e) if e.transient() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| self.out_of_time()))
    }
}

/// At most `max` bytes, cut on a char boundary, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// The summary within the Checks API's limit, cut at a line with a visible note.
fn truncate_summary(md: &str) -> String {
    if md.len() <= MAX_SUMMARY {
        return md.to_owned();
    }
    let note = "\n\n**… truncated: a check run's summary is limited to 65535 characters; the job summary and the JSON report have everything.**\n";
    let mut cut = MAX_SUMMARY - note.len();
    while !md.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = md[..cut].rfind('\n').map_or(cut, |i| i + 1);
    format!("{}{note}", &md[..cut])
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

/// Removes the token from whatever an outcome says (belt and braces: nothing we build
/// includes it, but error texts come from libraries and servers).
fn scrub_outcome(outcome: Outcome, token: &str) -> Outcome {
    let scrub = |s: String| {
        if token.is_empty() {
            s
        } else {
            s.replace(token, "***")
        }
    };
    match outcome {
        Outcome::Created {
            id,
            batches,
            annotations,
            url,
        } => Outcome::Created {
            id,
            batches,
            annotations,
            url: url.map(scrub),
        },
        Outcome::Forbidden { message } => Outcome::Forbidden {
            message: scrub(message),
        },
        Outcome::Skipped { reason } => Outcome::Skipped {
            reason: scrub(reason),
        },
        Outcome::Failed { message } => Outcome::Failed {
            message: scrub(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::findings::Kind;

    fn env() -> GithubEnv {
        GithubEnv {
            token: Some("ghs_secret".into()),
            api_url: "http://127.0.0.1:1".into(),
            repository: Some("owner/repo".into()),
            head_sha: Some("a".repeat(40)),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let text = format!("{:?}", env());
        assert!(!text.contains("ghs_secret"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn skipped_without_token_repository_or_commit() {
        type Change = fn(&mut GithubEnv);
        let cases: [(Change, &str); 4] = [
            (|e| e.token = None, "GITHUB_TOKEN"),
            (|e| e.repository = None, "GITHUB_REPOSITORY"),
            (|e| e.repository = Some("no-slash".into()), "owner/repo"),
            (|e| e.head_sha = None, "GITHUB_SHA"),
        ];
        for (change, needle) in cases {
            let mut e = env();
            change(&mut e);
            match publish(&[], "", &e) {
                Outcome::Skipped { reason } => assert!(reason.contains(needle), "{reason}"),
                other => panic!("expected Skipped, got {other:?}"),
            }
        }
        let mut e = env();
        e.head_sha = Some("HEAD".into());
        assert!(matches!(publish(&[], "", &e), Outcome::Skipped { .. }));
    }

    #[test]
    fn pull_request_head_wins_when_present() {
        let event = br#"{"pull_request": {"head": {"sha": "abc"}, "base": {"sha": "def"}}}"#;
        assert_eq!(pull_request_head(event).as_deref(), Some("abc"));
        assert_eq!(pull_request_head(br#"{"ref": "refs/heads/main"}"#), None);
        assert_eq!(pull_request_head(b"not json"), None);
    }

    #[test]
    fn truncation_respects_char_boundaries_and_limits() {
        let s = "é".repeat(40_000); // 80,000 bytes
        let t = truncate(&s, MAX_MESSAGE);
        assert!(t.len() <= MAX_MESSAGE);
        assert!(t.ends_with('…'));
        let md = "| a | é |\n".repeat(10_000);
        let t = truncate_summary(&md);
        assert!(t.len() <= MAX_SUMMARY, "{}", t.len());
        assert!(t.contains("truncated"));
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn annotations_carry_columns_only_when_known() {
        let f = Finding::new(Kind::SchemaViolation, "plugins/a/plugin.yaml", 3, "bad")
            .plugin("a")
            .column(7);
        let a = serde_json::to_value(Annotation::from_finding(&f).to_param()).unwrap();
        assert_eq!(a["start_line"], 3);
        assert_eq!(a["end_line"], 3);
        assert_eq!(a["start_column"], 7);
        assert_eq!(a["end_column"], 7);
        assert_eq!(a["annotation_level"], "failure");
        assert_eq!(a["title"], "schema_violation (a)");
        let g = Finding::new(Kind::LockNotCanonical, "plugins/PLUGINS.lock", 1, "x");
        let b = serde_json::to_value(Annotation::from_finding(&g).to_param()).unwrap();
        assert!(b.get("start_column").is_none());
        assert_eq!(b["annotation_level"], "warning");
    }

    #[test]
    fn messages_from_outside_cannot_start_a_workflow_command() {
        let s = sanitize("denied\n::error::injected\r\n", 100);
        assert!(!s.contains('\n') && !s.contains('\r'), "{s:?}");
        let o = scrub_outcome(
            Outcome::Failed {
                message: "token ghs_secret leaked".into(),
            },
            "ghs_secret",
        );
        assert_eq!(
            o,
            Outcome::Failed {
                message: "token *** leaked".into()
            }
        );
    }

    #[test]
    fn a_server_that_is_down_fails_quickly() {
        let started = Instant::now();
        let f = Finding::new(Kind::LockMissing, "plugins/a/plugin.yaml", 1, "x");
        match publish(&[f], "summary", &env()) {
            Outcome::Failed { message } => {
                assert!(message.contains("creating the check run"), "{message}");
                assert!(!message.contains("ghs_secret"));
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

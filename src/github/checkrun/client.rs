//! The requests of a publication, each within the retry and time budget: create (with
//! a lookup before any retry that could duplicate the run), update.

use std::future::Future;
use std::time::{Duration, Instant};

use octocrab::Octocrab;

use crate::github::api::{ApiError, GithubEnv, sanitize};
use crate::github::checkrun::wire::{CreateBody, LookupQuery, NAME, RunList, RunRef, UpdateBody};

/// Attempts per request (the first and two retries).
pub const ATTEMPTS: u32 = 3;
/// The whole publication gives up after this long (requests, lookups and backoff).
pub const BUDGET: Duration = Duration::from_secs(40);

/// A validated environment: where and as whom to write.
pub(crate) struct Target {
    pub(crate) token: String,
    pub(crate) api_url: String,
    pub(crate) owner: String,
    pub(crate) repo: String,
    pub(crate) head_sha: String,
    pub(crate) timeout: Duration,
}

impl Target {
    pub(crate) fn from_env(env: &GithubEnv) -> Result<Target, String> {
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

    pub(crate) fn runs_route(&self) -> String {
        format!("/repos/{}/{}/check-runs", self.owner, self.repo)
    }

    pub(crate) fn run_route(&self, id: u64) -> String {
        format!("/repos/{}/{}/check-runs/{id}", self.owner, self.repo)
    }

    pub(crate) fn lookup_route(&self) -> String {
        format!(
            "/repos/{}/{}/commits/{}/check-runs",
            self.owner, self.repo, self.head_sha
        )
    }
}

pub(crate) enum Created {
    New(RunRef),
    /// An earlier attempt that looked failed had created it.
    Found(RunRef),
}

pub(crate) struct Client<'a> {
    pub(crate) crab: Octocrab,
    pub(crate) target: &'a Target,
    pub(crate) started: Instant,
}

impl Client<'_> {
    /// One request within the budget: octocrab's connect/read timeouts, plus a hard
    /// limit so a trickling server cannot hold us past the budget.
    pub(crate) async fn call<T>(
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

    pub(crate) fn out_of_time(&self) -> ApiError {
        ApiError::OutOfTime(format!(
            "gave up after {} s (the limit for the whole check run)",
            BUDGET.as_secs()
        ))
    }

    /// Waits before retry `attempt` (1, 2, …): 0.5 s, 1 s, …, within the budget.
    pub(crate) async fn backoff(&self, attempt: u32) -> Result<(), ApiError> {
        let wait = Duration::from_millis(500) * 2u32.pow(attempt.saturating_sub(1));
        if self.started.elapsed() + wait >= BUDGET {
            return Err(self.out_of_time());
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Creates the run. Before any retry, looks the run up by name, head and our
    /// `external_id`: an attempt that failed on our side may have succeeded on GitHub's.
    pub(crate) async fn create(
        &self,
        body: &CreateBody<'_>,
        external_id: &str,
    ) -> Result<Created, ApiError> {
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
    pub(crate) async fn lookup(&self, external_id: &str) -> Result<Option<RunRef>, ApiError> {
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
    pub(crate) async fn update(
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

//! `verify --check-approvals`: in a pull request that changes the lock or
//! `.plugin-lock.yml`, an approving review on the current head must come from a required
//! owner (DESIGN.md "Findings": `approval_missing`, `approval_unverifiable`).
//!
//! Who is required comes from the base tree, as GitHub reads CODEOWNERS from the pull
//! request's base: `owners.required` of the base configuration, else the owners on the
//! CODEOWNERS line that decides the lock there. An owner `@login` qualifies a reviewer
//! by name (case-insensitive); `@org/team` through the team membership API (200 and
//! `state: active`). A lookup the API refuses (403, 404) or that fails is never a pass.
//!
//! Like `checkrun`, the surface is synchronous: a current-thread tokio runtime is built
//! for the requests, and the octocrab client, error mapping and scrubbing are shared.

use std::collections::BTreeMap;
use std::time::Duration;

use octocrab::Octocrab;
use serde::{Deserialize, Serialize};

use crate::checks::findings::{Finding, Kind};
use crate::checks::integrity::{CONFIG_FILE, Settings};
use crate::checks::ownership;
use crate::checks::pipeline::Base;
use crate::error::Result;
use crate::github::actions_env;
use crate::github::api::{self, ApiError, GithubEnv, sanitize};
use crate::lock::MAX_LOCK_BYTES;
use crate::tree::FileRead;
use crate::tree::git::Snapshot;

/// Reviews per page (the API's maximum) and the most pages read.
const PER_PAGE: u8 = 100;
const MAX_PAGES: u32 = 30;

/// What the check needs from the environment: the API (token, URL, repository,
/// timeout, as for check runs) and the pull request of `GITHUB_EVENT_PATH`.
#[derive(Debug, Clone)]
pub struct PrEnv {
    pub github: GithubEnv,
    pub number: Option<u64>,
    /// `pull_request.head.sha`: only reviews of this commit count.
    pub head_sha: Option<String>,
}

impl PrEnv {
    pub fn from_env() -> PrEnv {
        PrEnv {
            github: GithubEnv::from_env(),
            number: actions_env::pull_request_number(),
            head_sha: actions_env::pull_request_sha("head"),
        }
    }
}

/// The findings (severities not yet applied) and a line for stderr.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub note: Option<String>,
}

fn note(text: impl Into<String>) -> Outcome {
    Outcome {
        findings: Vec::new(),
        note: Some(format!("plugin-lock: note: approvals {}", text.into())),
    }
}

/// A file's content in a tree, for comparing base and head.
#[derive(PartialEq, Eq)]
enum Content {
    Absent,
    Bytes(Vec<u8>),
    TooLarge(u64),
    NotAFile,
}

fn content(snap: &Snapshot, path: &str) -> Result<Content> {
    let repo = snap.local_repo();
    let mut reader = snap.reader(&repo);
    Ok(match reader.read_file(path, MAX_LOCK_BYTES)? {
        None => Content::Absent,
        Some(FileRead::Bytes(b)) => Content::Bytes(b),
        Some(FileRead::TooLarge(n)) => Content::TooLarge(n),
        Some(FileRead::NotAFile(_)) => Content::NotAFile,
    })
}

/// Checks the approvals of the pull request in `env` for the tree `snap` against `base`.
pub fn check(snap: &Snapshot, settings: &Settings, base: &Base, env: &PrEnv) -> Result<Outcome> {
    let gh = &env.github;
    let Some(token) = gh.token.clone() else {
        return Ok(note("not checked: GITHUB_TOKEN is not set"));
    };
    let Some((owner, repo)) = gh.repository.as_deref().and_then(|r| r.split_once('/')) else {
        return Ok(note(
            "not checked: GITHUB_REPOSITORY (owner/repo) is not set",
        ));
    };
    if !name_ok(owner) || !name_ok(repo) {
        return Ok(note("not checked: GITHUB_REPOSITORY is not `owner/repo`"));
    }
    let (Some(number), Some(head)) = (env.number, env.head_sha.as_deref()) else {
        return Ok(note(
            "not checked: not a pull request (no pull_request.number and head.sha in GITHUB_EVENT_PATH)",
        ));
    };
    let lock = settings.config.lock.as_str();

    // What the pull request changes, and who must approve: both from the base.
    let (changed, required) = match base {
        Base::Present(b) => {
            let (base_snap, base_settings) = (&b.0, &b.1);
            let mut changed = Vec::new();
            for path in [lock, CONFIG_FILE] {
                if content(base_snap, path)? != content(snap, path)? {
                    changed.push(path.to_owned());
                }
            }
            let mut required = base_settings.config.required_owners.clone();
            if required.is_empty() {
                let repo = base_snap.local_repo();
                let mut reader = base_snap.reader(&repo);
                if let Some(file) = ownership::load(&mut reader)? {
                    required = ownership::answer(Some(&file), lock).owners;
                }
            }
            (changed, required)
        }
        // Without the base nothing can be compared: the approval is required.
        Base::None | Base::Unavailable(_) | Base::Inferred(..) => {
            let mut required = settings.config.required_owners.clone();
            if required.is_empty() {
                let repo = snap.local_repo();
                let mut reader = snap.reader(&repo);
                if let Some(file) = ownership::load(&mut reader)? {
                    required = ownership::answer(Some(&file), lock).owners;
                }
            }
            (vec![lock.to_owned(), CONFIG_FILE.to_owned()], required)
        }
    };
    if changed.is_empty() {
        return Ok(Outcome::default());
    }
    let what = changed
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    let missing = |why: String| {
        Finding::new(
            Kind::ApprovalMissing,
            lock,
            1,
            format!("pull request #{number} changes {what} without {why}"),
        )
        .field("required", required.clone())
        .help(Kind::ApprovalMissing.fix())
    };
    if required.is_empty() {
        return Ok(Outcome {
            findings: vec![missing(
                "a required owner to approve it: neither `owners.required` nor CODEOWNERS names one on the base"
                    .into(),
            )],
            note: None,
        });
    }

    let request = Request {
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        number,
        head: head.to_ascii_lowercase(),
        required: required.clone(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        // The client needs the runtime (its buffer service spawns a task).
        runtime.block_on(async {
            let crab = api::client(&gh.api_url, &token, gh.timeout)?;
            Ok::<_, String>(request.run(&crab, gh.timeout).await)
        })
    }));
    let scrub = |s: String| {
        if token.is_empty() {
            s
        } else {
            s.replace(&token, "***")
        }
    };
    let verdict = match result {
        Ok(Ok(v)) => v,
        Ok(Err(message)) => Verdict {
            refused: vec![message],
            ..Verdict::default()
        },
        Err(_) => Verdict {
            refused: vec!["internal error while talking to the GitHub API".into()],
            ..Verdict::default()
        },
    };
    let mut out = Outcome::default();
    if let Some(by) = verdict.approved_by {
        out.note = Some(format!(
            "plugin-lock: approvals: pull request #{number} is approved on {} by {by}, a required owner",
            short(head)
        ));
        return Ok(out);
    }
    for message in verdict.refused {
        out.findings.push(
            Finding::new(
                Kind::ApprovalUnverifiable,
                lock,
                1,
                format!(
                    "an approval of pull request #{number} could not be verified: {}",
                    scrub(message)
                ),
            )
            .help(Kind::ApprovalUnverifiable.fix()),
        );
    }
    let approvers = if verdict.approvers.is_empty() {
        "no approving review".to_owned()
    } else {
        format!("approvals by {}", verdict.approvers.join(" "))
    };
    out.findings.push(
        missing(format!(
            "an approving review on its head {} from a required owner ({}); {approvers} on that commit",
            short(head),
            required.join(" ")
        ))
        .field("approvers", verdict.approvers),
    );
    Ok(out)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A GitHub owner, repository, organization, team slug or login we put into a route.
fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

struct Request {
    owner: String,
    repo: String,
    number: u64,
    head: String,
    required: Vec<String>,
}

/// What the API said.
#[derive(Debug, Default)]
struct Verdict {
    /// The first approver found to be a required owner.
    approved_by: Option<String>,
    /// Reviewers whose latest review approves the head.
    approvers: Vec<String>,
    /// Lookups that were refused or failed.
    refused: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Review {
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    commit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Membership {
    #[serde(default)]
    state: String,
}

#[derive(Serialize)]
struct Page {
    per_page: u8,
    page: u32,
}

impl Request {
    async fn call<T>(
        &self,
        timeout: Duration,
        request: impl std::future::Future<Output = octocrab::Result<T>>,
    ) -> std::result::Result<T, ApiError> {
        match tokio::time::timeout(timeout * 2 + Duration::from_secs(1), request).await {
            Ok(r) => r.map_err(ApiError::from_octocrab),
            Err(_) => Err(ApiError::Transport("no complete answer in time".into())),
        }
    }

    async fn run(&self, crab: &Octocrab, timeout: Duration) -> Verdict {
        let mut verdict = Verdict::default();
        // Every review, oldest first; the latest that approves, requests changes or is
        // dismissed decides per user (comments do not change a verdict, as on GitHub).
        let route = format!(
            "/repos/{}/{}/pulls/{}/reviews",
            self.owner, self.repo, self.number
        );
        let mut latest: BTreeMap<String, (String, Review)> = BTreeMap::new();
        for page in 1..=MAX_PAGES {
            let query = Page {
                per_page: PER_PAGE,
                page,
            };
            let reviews: Vec<Review> = match self
                .call(timeout, crab.get(route.as_str(), Some(&query)))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    verdict
                        .refused
                        .push(format!("listing the reviews of #{}: {e}", self.number));
                    return verdict;
                }
            };
            let n = reviews.len();
            for review in reviews {
                let Some(user) = &review.user else { continue };
                if matches!(
                    review.state.as_str(),
                    "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED"
                ) {
                    latest.insert(
                        user.login.to_ascii_lowercase(),
                        (user.login.clone(), review),
                    );
                }
            }
            if n < usize::from(PER_PAGE) {
                break;
            }
        }
        verdict.approvers = latest
            .into_values()
            .filter(|(_, r)| {
                r.state == "APPROVED"
                    && r.commit_id
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(&self.head))
            })
            .map(|(login, _)| format!("@{}", sanitize(&login, 100)))
            .collect();

        // Users named directly first (no request), then team memberships.
        for approver in &verdict.approvers {
            if self
                .required
                .iter()
                .any(|r| !r.contains('/') && r.eq_ignore_ascii_case(approver))
            {
                verdict.approved_by = Some(approver.clone());
                return verdict;
            }
        }
        for required in &self.required {
            let Some((org, slug)) = required.strip_prefix('@').and_then(|t| t.split_once('/'))
            else {
                continue;
            };
            if !name_ok(org) || !name_ok(slug) {
                continue;
            }
            for approver in &verdict.approvers {
                let login = &approver[1..];
                if !name_ok(login) {
                    continue;
                }
                let route = format!("/orgs/{org}/teams/{slug}/memberships/{login}");
                match self
                    .call(timeout, crab.get::<Membership, _, ()>(route, None))
                    .await
                {
                    Ok(m) if m.state == "active" => {
                        verdict.approved_by = Some(format!("{approver} (member of {required})"));
                        return verdict;
                    }
                    Ok(_) => {}
                    Err(e) => verdict.refused.push(format!(
                        "membership of {approver} in {required}: {e}{}",
                        match &e {
                            ApiError::Status {
                                code: 403 | 404, ..
                            } => " (the token needs `members: read` on the organization)",
                            _ => "",
                        }
                    )),
                }
            }
        }
        verdict.refused = verdict
            .refused
            .into_iter()
            .map(|m| sanitize(&m, 500))
            .collect();
        verdict
    }
}

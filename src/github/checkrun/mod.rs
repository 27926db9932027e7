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
//! Retries are bounded: at most [`ATTEMPTS`](client::ATTEMPTS) per request, short backoff, and a total
//! [`BUDGET`](client::BUDGET) for the whole publication. A failed creation that may have reached the
//! server (a 5xx, a timeout, a cut connection) is never retried blindly: the runs named
//! `plugin-lock` on the head commit are looked up first, and one carrying this
//! invocation's `external_id` is the run, so there is never a second one. Likewise a
//! PATCH is retried only after the run's `annotations_count` shows it was not applied.
//!
//! The token goes to octocrab (which keeps it in a `SecretString`) and nowhere else:
//! [`GithubEnv`]'s `Debug` redacts it, and every message is scrubbed of it.

pub mod client;
pub mod wire;

use std::time::Instant;

use octocrab::params::checks::{CheckRunConclusion, CheckRunStatus};

use crate::checks::findings::{Finding, Severity, count};
use crate::github::api::{ApiError, GithubEnv, client, sanitize};
use crate::github::checkrun::client::{Client, Created, Target};
use crate::github::checkrun::wire::MAX_SUMMARY;
use crate::github::checkrun::wire::{Annotation, CreateBody, NAME, Output, UpdateBody};

/// The Checks API takes at most 50 annotations per request.
pub const BATCH: usize = 50;

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
    use crate::github::api::*;
    use crate::github::checkrun::wire::*;
    use std::time::Duration;

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

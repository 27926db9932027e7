//! `verify --check-approvals` against a mock GitHub API on 127.0.0.1 (wiremock): an
//! approval on the pull request's head from a member of the required team passes; an
//! outsider's, an older commit's or an unverifiable one does not; a pull request that
//! leaves the lock and the configuration alone asks the API nothing.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::github_api::{assert_no_token, runtime};
use crate::util::*;

const TOKEN: &str = "ghs_approvalsTestToken0123456789";
const REVIEWS: &str = "/repos/octo/widgets/pulls/7/reviews";
const TEAM: &str = "/orgs/acme/teams/platform/memberships";

/// A pull request: the base has one plugin, owned by `@acme/platform` (required); the
/// head adds a plugin and its lock entry when `touch_lock`, else only edits README.md.
/// Returns the repository, the base and the head commit.
fn pull_request(touch_lock: bool) -> (Repo, String, String) {
    pull_request_owned_by("@acme/platform", touch_lock)
}

/// [`pull_request`] with `owner` as the CODEOWNERS owner and the required owner.
fn pull_request_owned_by(owner: &str, touch_lock: bool) -> (Repo, String, String) {
    let repo = Repo::bare_of_owners();
    repo.write(".github/CODEOWNERS", format!("* {owner}\n"))
        .write(
            ".plugin-lock.yml",
            format!("owners:\n  required: [\"{owner}\"]\n"),
        )
        .write("README.md", "fixture\n")
        .write("plugins/alpha/plugin.yaml", "name: alpha\nversion: 1.0.0\n");
    repo.update_lock();
    let base = repo.commit("base");
    if touch_lock {
        repo.write("plugins/beta/plugin.yaml", "name: beta\nversion: 1.0.0\n");
        repo.update_lock();
    } else {
        repo.write("README.md", "edited\n");
    }
    let head = repo.commit("head");
    (repo, base, head)
}

/// `verify --check-approvals --format json` as the pull request #7 of octo/widgets.
fn verify_approvals(repo: &Repo, api: &str, base: &str, head: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp");
    let event = dir.path().join("event.json");
    let body = json!({"pull_request": {"number": 7, "head": {"sha": head}, "base": {"sha": base}}});
    std::fs::write(&event, body.to_string()).expect("event");
    let event = event.to_string_lossy().into_owned();
    let out = run_env(
        repo.path(),
        &["verify", "--check-approvals", "--format", "json"],
        &[
            ("GITHUB_TOKEN", TOKEN),
            ("GITHUB_API_URL", api),
            ("GITHUB_REPOSITORY", "octo/widgets"),
            ("GITHUB_EVENT_PATH", &event),
            ("PLUGIN_LOCK_HTTP_TIMEOUT_SECS", "5"),
        ],
    );
    assert_no_token(&out, TOKEN);
    out
}

fn review(login: &str, state: &str, commit: &str) -> Value {
    json!({"id": 1, "user": {"login": login}, "state": state, "commit_id": commit})
}

async fn mount_reviews(server: &MockServer, reviews: Value) {
    Mock::given(method("GET"))
        .and(path(REVIEWS))
        .respond_with(ResponseTemplate::new(200).set_body_json(reviews))
        .mount(server)
        .await;
}

async fn mount_member(server: &MockServer, login: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{TEAM}/{login}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn kinds(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or("").to_owned(),
                f["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn has(out: &std::process::Output, kind: &str) -> bool {
    kinds(out).iter().any(|(k, _)| k == kind)
}

#[test]
fn an_approval_by_a_team_member_on_the_head_passes() {
    let (repo, base, head) = pull_request(true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        mount_reviews(
            &server,
            json!([
                review("alice", "COMMENTED", &head),
                review("alice", "APPROVED", &head)
            ]),
        )
        .await;
        mount_member(
            &server,
            "alice",
            200,
            json!({"state": "active", "role": "member"}),
        )
        .await;
    });
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(!has(&out, "approval_missing"), "{}", stdout(&out));
    assert!(stderr(&out).contains("approved"), "{}", stderr(&out));
    let all = rt.block_on(server.received_requests()).expect("recorded");
    assert!(all.iter().all(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap_or("").contains(TOKEN))
    }));
}

#[test]
fn an_approval_by_an_outsider_fails() {
    let (repo, base, head) = pull_request(true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        mount_reviews(&server, json!([review("mallory", "APPROVED", &head)])).await;
        // GitHub answers a membership that does not exist with 404.
        mount_member(&server, "mallory", 404, json!({"message": "Not Found"})).await;
    });
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let doc = json(&out);
    let missing: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "approval_missing")
        .collect();
    assert_eq!(missing.len(), 1, "{doc:#}");
    assert_eq!(missing[0]["severity"], "error");
    assert_eq!(missing[0]["path"], "plugins/PLUGINS.lock");
    assert_eq!(missing[0]["approvers"], json!(["@mallory"]));
}

#[test]
fn a_forbidden_membership_lookup_warns_and_fails() {
    let (repo, base, head) = pull_request(true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        mount_reviews(&server, json!([review("alice", "APPROVED", &head)])).await;
        mount_member(
            &server,
            "alice",
            403,
            json!({"message": "Resource not accessible by integration"}),
        )
        .await;
    });
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let k = kinds(&out);
    assert!(
        k.contains(&("approval_unverifiable".into(), "warning".into())),
        "{k:?}"
    );
    assert!(
        k.contains(&("approval_missing".into(), "error".into())),
        "{k:?}"
    );
}

#[test]
fn an_approval_of_an_older_commit_does_not_count() {
    let (repo, base, head) = pull_request(true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        mount_reviews(&server, json!([review("alice", "APPROVED", &base)])).await;
        mount_member(&server, "alice", 200, json!({"state": "active"})).await;
    });
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(has(&out, "approval_missing"), "{}", stdout(&out));
    // Nobody approved the head: no membership was looked up.
    let all = rt.block_on(server.received_requests()).expect("recorded");
    assert!(
        all.iter().all(|r| !r.url.path().starts_with("/orgs/")),
        "{all:?}"
    );
}

#[test]
fn a_pull_request_that_leaves_the_lock_alone_asks_nothing() {
    let (repo, base, head) = pull_request(false);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(!has(&out, "approval_missing"));
    let all = rt.block_on(server.received_requests()).expect("recorded");
    assert!(all.is_empty(), "{all:?}");
}

#[test]
fn without_a_pull_request_event_there_is_a_note_and_no_finding() {
    let (repo, _, _) = pull_request(true);
    let out = run_env(
        repo.path(),
        &["verify", "--check-approvals", "--format", "json"],
        &[
            ("GITHUB_TOKEN", TOKEN),
            ("GITHUB_REPOSITORY", "octo/widgets"),
        ],
    );
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(!has(&out, "approval_missing"));
    assert!(
        stderr(&out).contains("approvals not checked"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_user_owner_is_matched_by_login_without_a_membership_lookup() {
    let (repo, base, head) = pull_request_owned_by("@Alice", true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(mount_reviews(
        &server,
        json!([review("alice", "APPROVED", &head)]),
    ));
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let all = rt.block_on(server.received_requests()).expect("recorded");
    assert!(all.iter().all(|r| r.url.path() == REVIEWS), "{all:?}");
}

#[test]
fn the_latest_review_per_user_wins() {
    let (repo, base, head) = pull_request(true);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        mount_reviews(
            &server,
            json!([
                review("alice", "APPROVED", &head),
                review("alice", "CHANGES_REQUESTED", &head)
            ]),
        )
        .await;
        mount_member(&server, "alice", 200, json!({"state": "active"})).await;
    });
    let out = verify_approvals(&repo, &server.uri(), &base, &head);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(has(&out, "approval_missing"), "{}", stdout(&out));
}

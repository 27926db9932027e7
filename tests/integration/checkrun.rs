//! `verify --check-run` against a real HTTP server on 127.0.0.1 (wiremock): batches of
//! 50, the head commit, 403 fallback, retries that never create a second run, a server
//! that is down. The binary runs as a child process; the mock server runs on its own
//! thread, so the test drives it from a current-thread runtime.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::github_api::{assert_no_token, requests, runtime};
use crate::util::*;

const TOKEN: &str = "ghs_checkrunTestToken0123456789";
const OWNER_REPO: &str = "octo/widgets";
const RUNS: &str = "/repos/octo/widgets/check-runs";

/// A committed repository whose `n` plugins were all edited after the lock was written:
/// `n` `integrity_mismatch` errors.
fn tampered(n: usize) -> Repo {
    let repo = Repo::new();
    for i in 0..n {
        repo.write(
            &format!("plugins/p{i:03}/plugin.yaml"),
            format!("name: p{i:03}\nversion: 1.0.0\n"),
        )
        .write(&format!("plugins/p{i:03}/main.py"), "print('ok')\n");
    }
    repo.update_lock();
    repo.commit("plugins");
    for i in 0..n {
        repo.write(&format!("plugins/p{i:03}/main.py"), "print('tampered')\n");
    }
    repo.commit("tamper");
    repo
}

/// The environment of a run in Actions, pointed at the mock server.
fn gh_env<'a>(api: &'a str, sha: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_API_URL", api),
        ("GITHUB_REPOSITORY", OWNER_REPO),
        ("GITHUB_SHA", sha),
    ];
    env.extend_from_slice(extra);
    env
}

/// `verify --check-run` with the report kept in the repository's temp dir.
fn verify_check_run(repo: &Repo, format: &str, env: &[(&str, &str)]) -> std::process::Output {
    let runner_temp = tempfile::tempdir().expect("temp");
    let mut env = env.to_vec();
    let temp = runner_temp.path().to_string_lossy().into_owned();
    env.push(("RUNNER_TEMP", &temp));
    let out = run_env(
        repo.path(),
        &["verify", "--check-run", "--format", format],
        &env,
    );
    assert_no_token(&out, TOKEN);
    out
}

fn annotations(body: &Value) -> &[Value] {
    body["output"]["annotations"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// Number of findings `verify --format json` reports for the repository.
fn finding_count(repo: &Repo) -> usize {
    json(&repo.run(&["verify", "--format", "json"]))["findings"]
        .as_array()
        .expect("findings")
        .len()
}

async fn mount_basics(server: &MockServer, id: u64) {
    Mock::given(method("POST"))
        .and(path(RUNS))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": id, "html_url": format!("https://github.example/runs/{id}")
        })))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{RUNS}/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id})))
        .mount(server)
        .await;
}

#[test]
fn every_finding_is_posted_in_batches_of_fifty_on_one_run() {
    let repo = tampered(120);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let total = finding_count(&repo);
    assert!(total >= 120, "{total}");
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 42})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("{RUNS}/42")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 42})))
            .mount(&server)
            .await;
    });
    let uri = server.uri();
    let out = verify_check_run(&repo, "human", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("check run 42 created"),
        "{}",
        stderr(&out)
    );

    let all = rt.block_on(server.received_requests()).expect("recorded");
    for r in &all {
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(auth.contains(TOKEN), "{} without the token", r.url);
    }
    let posts = requests(&rt, &server, "POST");
    let patches = requests(&rt, &server, "PATCH");
    assert_eq!(posts.len(), 1);
    let create = &posts[0].1;
    assert_eq!(create["name"], "plugin-lock");
    assert_eq!(create["head_sha"], sha.as_str());
    assert_eq!(create["status"], "in_progress");
    assert!(create.get("conclusion").is_none());
    assert!(
        create["output"]["title"]
            .as_str()
            .unwrap()
            .starts_with("plugin-lock: 120 errors"),
        "{}",
        create["output"]["title"]
    );
    let summary = create["output"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("## plugin-lock verify"), "{summary}");
    assert!(summary.len() <= 65535);

    assert!(patches.len() >= 2, "{}", patches.len());
    let mut sizes = vec![annotations(create).len()];
    sizes.extend(patches.iter().map(|(_, b)| annotations(b).len()));
    assert!(sizes.iter().all(|&n| n <= 50), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), total, "{sizes:?}");
    let failures = std::iter::once(create)
        .chain(patches.iter().map(|(_, b)| b))
        .flat_map(annotations)
        .filter(|a| a["annotation_level"] == "failure")
        .count();
    assert_eq!(failures, 120);
    let first = &annotations(create)[0];
    assert_eq!(first["path"], "plugins/PLUGINS.lock");
    assert_eq!(first["start_line"], first["end_line"]);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("plugin-lock update")
    );

    let (last_path, last) = patches.last().unwrap();
    assert_eq!(last_path, &format!("{RUNS}/42"));
    assert_eq!(last["status"], "completed");
    assert_eq!(last["conclusion"], "failure");
    for (_, earlier) in &patches[..patches.len() - 1] {
        assert!(earlier.get("conclusion").is_none());
    }
    rt.block_on(server.verify());
}

#[test]
fn a_clean_repository_concludes_success() {
    let repo = two_plugins();
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(mount_basics(&server, 7));
    let uri = server.uri();
    let out = verify_check_run(&repo, "human", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let writes: Vec<Value> = requests(&rt, &server, "POST")
        .into_iter()
        .chain(requests(&rt, &server, "PATCH"))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(requests(&rt, &server, "POST").len(), 1);
    let last = writes.last().expect("a request");
    assert_eq!(last["status"], "completed");
    assert_eq!(last["conclusion"], "success");
    assert_eq!(
        last["output"]["title"], "plugin-lock: 0 errors, 0 warnings",
        "{last:#}"
    );
}

#[test]
fn the_pull_request_head_wins_over_github_sha() {
    let repo = two_plugins();
    let merge_sha = repo.git(&["rev-parse", "HEAD"]);
    let head_sha = "0123456789abcdef0123456789abcdef01234567";
    let event = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        event.path(),
        json!({
            "pull_request": {
                "number": 5,
                "head": {"sha": head_sha},
                "base": {"sha": "fedcba9876543210fedcba9876543210fedcba98"}
            }
        })
        .to_string(),
    )
    .expect("write event");
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(mount_basics(&server, 9));
    let uri = server.uri();
    let event_path = event.path().to_string_lossy().into_owned();
    let out = verify_check_run(
        &repo,
        "human",
        &gh_env(&uri, &merge_sha, &[("GITHUB_EVENT_PATH", &event_path)]),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let posts = requests(&rt, &server, "POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].1["head_sha"], head_sha);
}

#[test]
fn forbidden_falls_back_to_workflow_commands_or_a_note() {
    let repo = tampered(3);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"
            })))
            .expect(2)
            .mount(&server)
            .await;
    });
    let uri = server.uri();

    let out = verify_check_run(&repo, "github", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(stdout(&out).contains("::error file=plugins/PLUGINS.lock"));
    let err = stderr(&out);
    assert!(
        err.contains("403: Resource not accessible by integration")
            && err.contains("the annotations above stand in for it"),
        "{err}"
    );

    let out = verify_check_run(&repo, "human", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("403: Resource not accessible by integration")
            && err.contains("checks: write")
            && err.contains("fork"),
        "{err}"
    );
    assert!(requests(&rt, &server, "PATCH").is_empty());
    rt.block_on(server.verify());
}

#[test]
fn server_errors_are_retried_after_a_lookup_and_make_one_run() {
    let repo = tampered(3);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
            .up_to_n_times(2)
            .with_priority(1)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 31})))
            .expect(1)
            .mount(&server)
            .await;
        // The lookup finds only another invocation's run (an earlier workflow run on
        // the same commit): not ours, so it is neither adopted nor a reason to stop.
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/octo/widgets/commits/{sha}/check-runs"
            )))
            .and(query_param("check_name", "plugin-lock"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1,
                "check_runs": [{"id": 999, "external_id": "plugin-lock/someone-else",
                                "status": "completed", "output": {"annotations_count": 3}}]
            })))
            .expect(2)
            .mount(&server)
            .await;
    });
    let uri = server.uri();
    let out = verify_check_run(&repo, "human", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("check run 31 created"),
        "{}",
        stderr(&out)
    );
    let posts = requests(&rt, &server, "POST");
    assert_eq!(posts.len(), 3);
    // Every attempt is the same request, with the same reference.
    assert!(posts.iter().all(|(_, b)| b == &posts[0].1));
    assert_eq!(posts[2].1["conclusion"], "failure");
    assert!(requests(&rt, &server, "PATCH").is_empty());
    rt.block_on(server.verify());
}

/// Answers the (slow) creation and remembers its `external_id`, so the lookup can
/// return the run that the timed-out request created.
#[derive(Clone)]
struct SlowCreate(Arc<Mutex<Option<String>>>);

impl Respond for SlowCreate {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().expect("JSON");
        *self.0.lock().unwrap() = body["external_id"].as_str().map(str::to_owned);
        ResponseTemplate::new(201)
            .set_body_json(json!({"id": 77}))
            .set_delay(Duration::from_secs(4))
    }
}

struct Lookup(Arc<Mutex<Option<String>>>);

impl Respond for Lookup {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let external_id = self.0.lock().unwrap().clone();
        ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "check_runs": [
                {"id": 5, "external_id": "plugin-lock/older", "status": "completed"},
                {"id": 77, "external_id": external_id, "status": "in_progress",
                 "output": {"annotations_count": 50}}
            ]
        }))
    }
}

#[test]
fn a_timed_out_creation_is_found_not_repeated() {
    let repo = tampered(60);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let total = finding_count(&repo);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let seen = Arc::new(Mutex::new(None));
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(SlowCreate(seen.clone()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/octo/widgets/commits/{sha}/check-runs"
            )))
            .and(query_param("check_name", "plugin-lock"))
            .respond_with(Lookup(seen.clone()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path(format!("{RUNS}/77")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77})))
            .mount(&server)
            .await;
    });
    let uri = server.uri();
    let started = Instant::now();
    let out = verify_check_run(
        &repo,
        "human",
        &gh_env(&uri, &sha, &[("PLUGIN_LOCK_HTTP_TIMEOUT_SECS", "1")]),
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("check run 77 created"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(seen.lock().unwrap().is_some());
    // The run found holds the first 50; the rest follow, and complete it.
    let patches = requests(&rt, &server, "PATCH");
    let sum: usize = patches.iter().map(|(_, b)| annotations(b).len()).sum();
    assert_eq!(sum, total - 50);
    let last = &patches.last().expect("a PATCH").1;
    assert_eq!(last["conclusion"], "failure");
    rt.block_on(server.verify());
}

#[test]
fn a_server_that_is_down_leaves_the_verdict_alone() {
    let repo = tampered(2);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    // A port with nothing listening: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = verify_check_run(
        &repo,
        "human",
        &gh_env(&uri, &sha, &[("PLUGIN_LOCK_HTTP_TIMEOUT_SECS", "2")]),
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        stderr(&out).contains("check run failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_a_token_nothing_is_sent_and_a_note_says_why() {
    let repo = tampered(1);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    let uri = server.uri();
    let env: Vec<(&str, &str)> = gh_env(&uri, &sha, &[])
        .into_iter()
        .filter(|(k, _)| *k != "GITHUB_TOKEN")
        .collect();
    let out = verify_check_run(&repo, "human", &env);
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("check run skipped: GITHUB_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
    assert!(
        rt.block_on(server.received_requests())
            .unwrap_or_default()
            .is_empty()
    );
}

#[test]
fn an_api_url_with_a_path_is_kept_as_enterprise_servers_need() {
    let repo = two_plugins();
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(format!("/api/v3{RUNS}")))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 3})))
            .expect(1)
            .mount(&server)
            .await;
    });
    let api = format!("{}/api/v3/", server.uri());
    let out = verify_check_run(&repo, "json", &gh_env(&api, &sha, &[]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("check run 3 created"),
        "{}",
        stderr(&out)
    );
    json(&out); // stdout is still exactly the JSON document
    rt.block_on(server.verify());
}

#[test]
fn an_update_that_failed_but_was_applied_is_not_repeated() {
    let repo = tampered(60);
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let total = finding_count(&repo) as u64;
    let rt = runtime();
    let server = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path(RUNS))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 8})))
            .expect(1)
            .mount(&server)
            .await;
        // The last batch lands, but the answer is a 502 (a proxy timing out).
        Mock::given(method("PATCH"))
            .and(path(format!("{RUNS}/8")))
            .respond_with(ResponseTemplate::new(502))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{RUNS}/8")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": 8, "status": "completed", "output": {"annotations_count": total}
            })))
            .expect(1)
            .mount(&server)
            .await;
    });
    let uri = server.uri();
    let out = verify_check_run(&repo, "human", &gh_env(&uri, &sha, &[]));
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("check run 8 created"),
        "{}",
        stderr(&out)
    );
    rt.block_on(server.verify());
}

//! Output injection (issue 16): a repository whose plugin names, globs, manifest fields,
//! CODEOWNERS, link targets and lock path carry newlines, workflow commands (`::error::`,
//! `::add-mask::`, `::stop-commands::`, `##[add-mask]`), terminal control sequences (ESC,
//! OSC, C1) and Markdown (backticks, images, links, HTML), built with git plumbing. Every
//! command runs as an Actions step; every stdout and stderr line is read back with the
//! runner's rules, every byte is checked for raw control characters, and the job summary
//! is rendered with a CommonMark renderer.

use std::path::Path;
use std::process::Output;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::util::*;

const FILE: &str = "100644";
const LINK: &str = "120000";

/// Plugin names (one path component each) that try every trick.
const NAMES: &[&str] = &[
    "::add-mask::secret",
    "##[add-mask]v1",
    "  ::warning file=forged.py,line=9::forged",
    "nl\n::error file=forged.txt,line=1::forged",
    "cr\r::set-output name=x::y",
    "esc\x1b]0;pwned\x07\x1b[2J\x1b[Hverify: ok",
    "c1\u{9b}2J\u{85}next",
    "tick``` ![t](x.png) [l](y.html) <img src=z.png> **B** `|`",
];

/// A link target that breaks out of code spans and renders a tracking pixel.
const TARGET: &str = "``` ![px](http://track.invalid/p.png) [a](http://phish.invalid/) <img src=http://track.invalid/i.png> ```/../../../outside";

/// The hostile repository: every plugin above (manifest, a file), one escaping link, a
/// configuration with hostile globs, CODEOWNERS with hostile lines, and a lock that
/// matches none of them.
fn hostile() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", "hostile fixture\n");
    repo.git(&["add", "-A"]);
    for name in NAMES {
        let dir = format!("plugins/{name}");
        repo.stage_bytes(
            format!("{dir}/plugin.yaml").as_bytes(),
            FILE,
            format!("name: {name:?}\nversion: 1.0.0\ndescription: \"\\e[2J::error::desc\"\n")
                .as_bytes(),
        );
        repo.stage_bytes(format!("{dir}/main.py").as_bytes(), FILE, b"print(1)\n");
    }
    // A plugin whose manifest fields are hostile, and one escaping link.
    repo.stage_bytes(
        b"plugins/manifest/plugin.yaml",
        FILE,
        b"name: \"::error::name\\e[2J\\n::add-mask::n `![m](http://track.invalid/m.png)`\"\nversion: \"1.0\\n::error::version\\e]8;;http://x\\e\\\\\"\n",
    );
    repo.stage_bytes(
        b"plugins/linky/plugin.yaml",
        FILE,
        b"name: linky\nversion: 1.0.0\n",
    );
    repo.stage_bytes(b"plugins/linky/loader.py", LINK, TARGET.as_bytes());
    // First a configuration whose glob does not compile (a fatal error quoting it)…
    repo.stage_bytes(
        b".plugin-lock.yml",
        FILE,
        b"plugins:\n  - \"plugins/*\"\n  - \"extra/[\\n::error::glob\\e[2J\"\n",
    );
    repo.stage_bytes(
        b".github/CODEOWNERS",
        FILE,
        b"* @fixture/owners\n/plugins/::add-mask::co @fixture/owners\n/plugins/x\x1b[2J @fixture/owners\n![i](http://track.invalid/c.png) @evil\x1b]0;t\x07\n",
    );
    repo.stage_bytes(
        b"plugins/PLUGINS.lock",
        FILE,
        format!(
            "{{\n  \"::add-mask::secret\": \"{zero}\",\n  \"gone ::error::lock ``![l](l.png)`` ##[add-mask]x\": \"{zero}\"\n}}\n",
            zero = "0".repeat(64)
        )
        .as_bytes(),
    );
    repo.commit_index("hostile, with a bad glob");
    repo.git(&["tag", "badglob"]);
    // … then one whose globs compile but carry commands and control characters.
    repo.stage_bytes(
        b".plugin-lock.yml",
        FILE,
        b"plugins:\n  - \"plugins/*\"\n  - \"extra/::error::glob\\e]0;t\\a\\x9b2J\\n::add-mask::g/*\"\n",
    );
    repo.commit_index("hostile");
    // A second commit, so `diff` has two sides that differ.
    repo.stage_bytes(
        "plugins/::add-mask::secret/main.py".as_bytes(),
        FILE,
        b"print(2)\n",
    );
    repo.commit_index("change");
    repo
}

// ---------------------------------------------------------------------------------------
// The runner's reading of a step's output

/// `TryParse`, the older syntax the runner still reads: `##[name props]message`
/// anywhere in the line.
fn parse_v1(line: &str) -> Option<WorkflowCommand> {
    let start = line.find("##[")? + 3;
    let end = start + line[start..].find(']')?;
    let info = &line[start..end];
    let name = info.split(' ').next().unwrap_or("");
    Some(WorkflowCommand {
        name: name.to_owned(),
        props: Vec::new(),
        message: line[end + 1..].to_owned(),
    })
}

/// Every command the runner would run from `text` (one stream), honouring
/// `::stop-commands::TOKEN` … `::TOKEN::`. Lines end at `\n` or `\r` (`ReadLine`).
fn runner_view(text: &str) -> Vec<WorkflowCommand> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    for line in text.split(['\n', '\r']) {
        let Some(command) = parse_command(line).or_else(|| parse_v1(line)) else {
            continue;
        };
        if let Some(token) = &stopped {
            if command.name.eq_ignore_ascii_case(token) {
                stopped = None;
                commands.push(command);
            }
            continue;
        }
        if command.name.eq_ignore_ascii_case("stop-commands") {
            stopped = Some(command.message.clone());
        }
        commands.push(command);
    }
    commands
}

const KINDS_PREFIX: &[&str] = &[
    "integrity_",
    "unlocked_",
    "missing_",
    "schema_",
    "symlink_",
    "dangling_",
    "unsupported_",
    "lock_",
    "codeowners_",
    "plugin_",
    "plugins_",
    "nested_",
    "approval_",
    "base_",
    "eol_",
    "bytecode_",
];

/// The title of the one annotation of a `verify` that could not run.
const RUN_ERROR: &str = "plugin-lock verify could not run";

/// Asserts that the only commands in one stream are the annotations plugin-lock means
/// (with its own properties only) and its own stop-commands blocks.
fn assert_only_meant_commands(what: &str, stream: &str, text: &str) {
    let mut token: Option<String> = None;
    for c in runner_view(text) {
        let context = || format!("{what} ({stream}): {c:?}\n{text}");
        match c.name.as_str() {
            "error" | "warning" => {
                for (key, value) in &c.props {
                    assert!(
                        ["file", "line", "col", "title"].contains(&key.as_str()),
                        "a forged property: {}",
                        context()
                    );
                    if key == "line" || key == "col" {
                        assert!(
                            value.parse::<u32>().is_ok(),
                            "a forged number: {}",
                            context()
                        );
                    }
                    if key == "title" {
                        assert!(
                            KINDS_PREFIX.iter().any(|k| value.starts_with(k)) || value == RUN_ERROR,
                            "a forged title: {}",
                            context()
                        );
                    }
                }
                // A run that stops (exit 2) may have no file to point at.
                if c.prop("title") != Some(RUN_ERROR) {
                    assert_eq!(
                        c.props.first().map(|(k, _)| k.as_str()),
                        Some("file"),
                        "{}",
                        context()
                    );
                }
            }
            "notice" => assert_eq!(
                c.props,
                vec![("title".to_owned(), "plugin-lock".to_owned())],
                "{}",
                context()
            ),
            "group" | "endgroup" => {}
            "stop-commands" => {
                assert!(
                    c.message.starts_with("ghadelim_") && c.message.len() >= 32,
                    "an unguessable token of ours: {}",
                    context()
                );
                token = Some(c.message.clone());
            }
            name if token.as_deref() == Some(name) => token = None,
            _ => panic!("a command plugin-lock did not mean: {}", context()),
        }
        // `file=` carries a path exactly (a newline in it travels as `%0A`); the rest
        // is text, shown on one line.
        let text = c.props.iter().filter(|(k, _)| k != "file").map(|(_, v)| v);
        for value in text.chain([&c.message]) {
            assert!(
                !value.contains(['\n', '\r']),
                "a line break reaches an annotation: {}",
                context()
            );
        }
    }
    assert!(
        token.is_none(),
        "{what} ({stream}): an unclosed block\n{text}"
    );
}

/// No raw control character: only `\n`, `\t` and, with `colour`, SGR sequences
/// (`ESC [ digits ; m`) of plugin-lock's own styling.
fn assert_no_raw_controls(what: &str, bytes: &[u8], colour: bool) {
    let text = String::from_utf8_lossy(bytes);
    let mut rest: &str = &text;
    while let Some(c) = rest.chars().next() {
        if colour && let Some(body) = rest.strip_prefix("\x1b[") {
            let params = body
                .bytes()
                .take_while(|b| b.is_ascii_digit() || *b == b';')
                .count();
            if body.as_bytes().get(params) == Some(&b'm') {
                rest = &body[params + 1..];
                continue;
            }
        }
        assert!(
            !(c.is_control() && c != '\n' && c != '\t'),
            "{what}: a raw {c:?} reaches the output: {:?}",
            &text[text.len() - rest.len()..]
                .chars()
                .take(60)
                .collect::<String>()
        );
        rest = &rest[c.len_utf8()..];
    }
}

/// An Actions step: the runner's files in a temp dir.
struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    fn new() -> Step {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("tmp")).expect("mkdir");
        std::fs::write(dir.path().join("summary.md"), "").expect("write");
        std::fs::write(dir.path().join("output.txt"), "").expect("write");
        Step { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("UTF-8")
            .to_owned()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_STEP_SUMMARY", self.file("summary.md")),
            ("GITHUB_OUTPUT", self.file("output.txt")),
            ("RUNNER_TEMP", self.file("tmp")),
        ]
    }

    fn run(&self, dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_stdin(dir, args, stdin, &env)
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.file("summary.md")).expect("summary")
    }
}

/// Runs one command as a step and checks both streams.
fn check(step: &Step, repo: &Repo, args: &[&str], stdin: &[u8]) -> Output {
    let out = step.run(repo.path(), args, stdin);
    let what = format!("plugin-lock {args:?}");
    assert!(
        [0, 2, 4].contains(&code(&out)),
        "{what}: exit {} (not 0, 2 or 4): {}",
        code(&out),
        stderr(&out)
    );
    let colour = args.contains(&"always");
    assert_no_raw_controls(&format!("{what} stdout"), &out.stdout, colour);
    assert_no_raw_controls(&format!("{what} stderr"), &out.stderr, colour);
    assert_only_meant_commands(&what, "stdout", &stdout(&out));
    assert_only_meant_commands(&what, "stderr", &stderr(&out));
    out
}

/// Links, images and HTML in rendered Markdown, and the cell count of every table row.
struct Rendered {
    links: Vec<String>,
    html: Vec<String>,
    /// Each row's cells and its table's columns.
    rows: Vec<(usize, usize)>,
    headers: Vec<(usize, usize)>,
}

fn render(md: &str) -> Rendered {
    let mut r = Rendered {
        links: Vec::new(),
        html: Vec::new(),
        rows: Vec::new(),
        headers: Vec::new(),
    };
    let (mut cells, mut columns) = (0, 0);
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => r.links.push(dest_url.to_string()),
            Event::Html(h) | Event::InlineHtml(h) => r.html.push(h.to_string()),
            Event::Start(Tag::Table(alignments)) => columns = alignments.len(),
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableHead) => r.headers.push((cells, columns)),
            Event::End(TagEnd::TableRow) => r.rows.push((cells, columns)),
            _ => {}
        }
    }
    r
}

/// What plugin-lock itself writes into a summary: links to its findings' pages, and the
/// `<details>` block of the plugins that pass (a count, no repository data).
fn ours(link: &str) -> bool {
    link.starts_with(concat!(
        env!("CARGO_PKG_REPOSITORY"),
        "/blob/main/docs/findings.md#"
    ))
}

fn our_html(html: &str) -> bool {
    let h = html.trim_end();
    h == "</details>"
        || h.strip_prefix("<details><summary>")
            .and_then(|r| r.strip_suffix(" plugin(s) match their lock entries</summary>"))
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

fn assert_summary_is_inert(what: &str, md: &str) {
    assert_no_raw_controls(&format!("{what}: summary"), md.as_bytes(), false);
    let r = render(md);
    assert!(
        r.links.iter().all(|l| ours(l)),
        "{what}: links or images render: {:?}\n{md}",
        r.links
    );
    assert!(
        r.html.iter().all(|h| our_html(h)),
        "{what}: HTML renders: {:?}\n{md}",
        r.html
    );
    assert!(
        r.rows
            .iter()
            .chain(&r.headers)
            .all(|(n, columns)| n == columns),
        "{what}: a table row lost or gained cells: {:?} {:?}\n{md}",
        r.headers,
        r.rows
    );
}

#[test]
fn repository_strings_inject_no_workflow_command_control_character_or_markdown() {
    let repo = hostile();
    let step = Step::new();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let push = format!(
        "refs/heads/main {head} refs/heads/main {}\n",
        "0".repeat(40)
    );
    let lock = "plugins/x\n::add-mask::lock\x1b[2J.lock";
    let plugin_dir = "plugins/::add-mask::secret";
    let runs: &[&[&str]] = &[
        &["verify"],
        &["verify", "--format", "github", "--color", "always"],
        &["verify", "--format", "human", "--color", "never"],
        &["verify", "--format", "human", "--color", "always"],
        &["verify", "--format", "json"],
        &["verify", "--format", "sarif"],
        &["verify", "--lock", lock],
        &[
            "verify",
            "--lock",
            "plugins/::stop-commands::ghadelim_0000000000000000",
        ],
        &["update", "--check"],
        &["update", "--check", "--rev", "HEAD"],
        &["update", "--check", "--rev", "HEAD", "--format", "json"],
        &[
            "update",
            "--check",
            "--index",
            "--lock",
            "plugins/::add-mask::L.lock",
        ],
        &[
            "update",
            "--check",
            "--index",
            "--lock",
            "::add-mask::top.lock",
        ],
        &["update", "--stdout", "--rev", "HEAD"],
        &["list"],
        &["list", "-v"],
        &["list", "--format", "json"],
        &["owners"],
        &["owners", "--lock", "::add-mask::top.lock"],
        &["owners", plugin_dir, "plugins/nl\n::error::p"],
        &["owners", "--format", "json"],
        &["digest", plugin_dir, "plugins/linky"],
        &["digest", "--explain", plugin_dir],
        &["digest", "plugins/\n::error::nodir"],
        &["diff", "HEAD~1", "HEAD"],
        &["diff", "-v", "HEAD~1", "HEAD", "--format", "json"],
        &["hook", "pre-push", "origin", "url"],
        &["hook", "pre-push", "origin", "url", "--format", "human"],
        // Fatal errors: a bad glob, a bad lock path, a bad revision, bad arguments.
        &["verify", "--plugins", "plugins/[\n::error::glob\x1b[2J"],
        &["verify", "--rev", "badglob"],
        &["list", "--rev", "badglob"],
        &["verify", "--lock", "/abs\n::add-mask::lock"],
        &["verify", "--lock", "../\n::error::up"],
        &["verify", "--rev", "nope\n::error::rev\x1b[2J"],
        &["\n::error::argv\x1b[2J"],
        &["verify", "--format", "\n::add-mask::fmt\u{9b}"],
        &["-C", "/nonexistent\n::error::chdir", "list"],
    ];
    for args in runs {
        let stdin = if args.first() == Some(&"hook") {
            push.as_bytes()
        } else {
            b""
        };
        std::fs::write(step.file("summary.md"), "").expect("reset summary");
        let out = check(&step, &repo, args, stdin);
        if (args.contains(&"json") || args.contains(&"sarif")) && code(&out) != 2 {
            // Records stay JSON, and exact, under the escaping.
            let _ = json_of(&out);
        }
        let summary = step.summary();
        assert_summary_is_inert(&format!("{args:?}"), &summary);
    }
    // The hook's stdin, quoted back in its error.
    check(
        &step,
        &repo,
        &["hook", "pre-push", "origin", "url"],
        b"refs/heads/x\x1b[2J ::add-mask::stdin\r::error::cr x y\n",
    );
    // JSON keeps every name exact.
    let list = check(&step, &repo, &["list", "--format", "json"], b"");
    let ids: Vec<String> = json_of(&list)["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    for name in NAMES {
        assert!(ids.iter().any(|id| id == name), "{name:?} exact in {ids:?}");
    }
    // The summary of the default run lists every finding, none lost to the data.
    std::fs::write(step.file("summary.md"), "").expect("reset summary");
    let json = check(&step, &repo, &["verify", "--format", "json"], b"");
    let findings = json_of(&json)["findings"].as_array().map_or(0, Vec::len);
    check(&step, &repo, &["verify"], b"");
    let summary = step.summary();
    let r = render(&summary);
    let doc = json_of(&json);
    let plugins = doc["plugins"].as_array().map_or(0, Vec::len);
    let mut kinds: Vec<String> = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{} {}", f["kind"], f["severity"]))
        .collect();
    kinds.sort();
    kinds.dedup();
    // A row per kind and severity, a row per plugin, a list item per finding.
    assert_eq!(r.rows.len(), kinds.len() + plugins, "every row:\n{summary}");
    let items = summary.lines().filter(|l| l.starts_with("- ")).count();
    assert_eq!(items, findings, "every finding:\n{summary}");
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A 50 MB link target, hashed by `git hash-object` from a shell pipe: built in this
/// process, its pages would count in the children's measured peak.
fn stage_long_link(repo: &Repo, path: &str) {
    let hashed = std::process::Command::new("sh")
        .current_dir(repo.path())
        .args([
            "-c",
            "head -c 52428800 /dev/zero | tr '\\0' t | git hash-object -w --stdin",
        ])
        .output()
        .expect("sh runs");
    assert!(hashed.status.success(), "{}", stderr(&hashed));
    let id = stdout(&hashed).trim().to_owned();
    assert_eq!(git_in(repo.path(), &["cat-file", "-s", &id]), "52428800");
    let line = format!("{LINK} {id}\t{path}\0");
    git_stdin(
        repo.path(),
        &["update-index", "--add", "-z", "--index-info"],
        Some(line.as_bytes()),
    );
}

#[test]
fn a_long_link_target_is_shown_capped_and_no_summary_row_is_dropped() {
    let repo = Repo::new();
    for i in 0..30 {
        let dir = format!("plugins/p{i:02}");
        repo.stage(
            &format!("{dir}/plugin.yaml"),
            FILE,
            format!("name: p{i:02}\nversion: 1.0.0\n").as_bytes(),
        );
        if i == 0 {
            stage_long_link(&repo, &format!("{dir}/link.py"));
        }
    }
    repo.stage("plugins/PLUGINS.lock", FILE, b"{}\n");
    repo.commit_index("long targets");
    let step = Step::new();
    let env = step.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for args in [
        &["verify"][..],
        &["verify", "--format", "human"],
        &["verify", "--format", "json"],
        &["verify", "--format", "sarif"],
        &["list"],
    ] {
        let bounded = run_bounded(repo.path(), args, &env);
        bounded.assert_within_bounds(&format!("{args:?} over a 50 MB link target"));
        let out = check(&step, &repo, args, b"");
        let total = out.stdout.len() + out.stderr.len();
        assert!(total < 1024 * 1024, "{args:?}: {total} bytes of output");
    }
    std::fs::write(step.file("summary.md"), "").expect("reset summary");
    check(&step, &repo, &["verify"], b"");
    let summary = step.summary();
    assert!(
        summary.len() < 1024 * 1024,
        "{} bytes of summary",
        summary.len()
    );
    assert!(
        !summary.contains("truncated"),
        "{}",
        &summary[summary.len().saturating_sub(300)..]
    );
    let r = render(&summary);
    // A finding per plugin at least, and all 30 plugin rows.
    let items = summary.lines().filter(|l| l.starts_with("- ")).count();
    assert!(items >= 30, "{items} findings listed");
    assert!(r.rows.len() >= 30, "{} rows", r.rows.len());
    for i in 0..30 {
        assert!(
            summary.contains(&format!("`p{i:02}`")),
            "p{i:02} in the summary"
        );
    }
}

#[test]
fn terminal_control_sequences_in_repository_strings_are_shown_escaped_whatever_the_colour() {
    let repo = hostile();
    let runs: &[&[&str]] = &[
        &["verify", "--format", "human"],
        &["list"],
        &["owners"],
        &["diff", "-v", "HEAD~1", "HEAD"],
        &["digest", "plugins/linky"],
        &["verify", "--rev", "nope\x1b[2J\u{9b}H"],
    ];
    for args in runs {
        for colour in ["never", "always", "auto"] {
            let mut all: Vec<&str> = args.to_vec();
            all.extend(["--color", colour]);
            let out = run_env(repo.path(), &all, &[]);
            assert!([0, 2, 4].contains(&code(&out)), "{all:?}: {}", stderr(&out));
            let what = format!("{all:?}");
            assert_no_raw_controls(&what, &out.stdout, colour == "always");
            assert_no_raw_controls(&what, &out.stderr, colour == "always");
            // The escaped name is there to read.
            if args == &["list"] {
                assert!(
                    stdout(&out).contains("esc\\u{1b}]0;pwned"),
                    "{}",
                    stdout(&out)
                );
            }
        }
        // On a terminal (colour on by default), too.
        if let Some(out) = run_on_tty(repo.path(), args, &[]) {
            let text = stdout(&out).replace("\r\n", "\n");
            assert_no_raw_controls(&format!("{args:?} on a tty"), text.as_bytes(), true);
        }
    }
}

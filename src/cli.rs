//! The command line, as data (clap derive). No behaviour lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "plugin-lock",
    version,
    about = "Checks plugin directories against plugins/PLUGINS.lock, from committed git blobs",
    after_help = "Exit codes: 0 success, 4 a check failed, 2 could not run as asked, 1 internal error."
)]
pub struct Cli {
    /// Run as if started in PATH (as `git -C`).
    #[arg(short = 'C', value_name = "PATH", global = true)]
    pub chdir: Option<PathBuf>,

    /// Output format [default: human; github for verify when GITHUB_ACTIONS=true]
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,

    /// When to colour human output (honours NO_COLOR).
    #[arg(long, value_enum, default_value = "auto", global = true)]
    pub color: ColorChoice,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail (full digests, every plugin).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Explain changes against REV (in GitHub Actions: the pull request's base).
    #[arg(long, value_name = "REV", global = true)]
    pub base: Option<String>,

    /// Ignore the per-plugin result cache: neither read nor write it (wins over --cache).
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Use the result cache under CI too (CI or GITHUB_ACTIONS set), where it is off by
    /// default: trust the runner's .git and home not to be shared with other jobs.
    #[arg(
        long,
        global = true,
        env = "PLUGIN_LOCK_CACHE",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub cache: bool,

    /// Largest file to read, in bytes or with K, M or G; a plugin with a larger file is
    /// rejected (its digest cannot be computed) [default: 64M]
    #[arg(
        long,
        value_name = "SIZE",
        env = "PLUGIN_LOCK_MAX_BLOB_SIZE",
        global = true,
        value_parser = crate::tree::blob::parse_size
    )]
    pub max_blob_size: Option<u64>,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// Workflow-command annotations, job summary and step outputs (verify only).
    Github,
    /// SARIF 2.1.0 for code scanning (verify only).
    Sarif,
    /// One line per finding, `path:line:col: severity[kind] message` (verify only).
    Concise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Which tree to read (one of them; the default depends on the command).
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct SourceArgs {
    /// Read the tree of REV (branch, tag, HEAD~N, commit id) [default for most commands: HEAD]
    #[arg(long, value_name = "REV", global = true)]
    pub rev: Option<String>,
    /// Read the staged blobs of the index.
    #[arg(long, global = true)]
    pub index: bool,
    /// Read the work tree as `git add -A` would store it [default for update].
    #[arg(long, global = true)]
    pub worktree: bool,
    /// Read the files as they are on this disk, byte for byte (no git filters, ignored
    /// files included): what a runtime loader hashes.
    #[arg(long, global = true)]
    pub checkout: bool,
}

/// Flags that win over `.plugin-lock.yml`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Glob selecting plugin directories (repeatable) [default: plugins/*]
    #[arg(long = "plugins", value_name = "GLOB", global = true)]
    pub plugins: Vec<String>,
    /// Path of the lock file in the tree [default: plugins/PLUGINS.lock]
    #[arg(long, value_name = "PATH", global = true)]
    pub lock: Option<String>,
    /// Manifest path in each plugin (.yaml/.yml, .md/.markdown or .json), or `none` [default: plugin.yaml]
    #[arg(long, value_name = "PATH|none", global = true)]
    pub manifest: Option<String>,
    /// Symlink policy: follow or as-link [default: follow]
    #[arg(long, value_name = "POLICY", global = true)]
    pub symlinks: Option<String>,
    /// A required owner of the lock (repeatable).
    #[arg(long = "required-owner", value_name = "OWNER", global = true)]
    pub required_owners: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every plugin against the lock; exit 4 on any error finding.
    Verify {
        /// Also write the JSON report to PATH (with --format github: default under RUNNER_TEMP).
        #[arg(long, value_name = "PATH")]
        report: Option<std::path::PathBuf>,
        /// Benchmarking only: read every blob but hash nothing (the verdict is meaningless).
        #[arg(long, hide = true)]
        bench_read_only: bool,
        /// Also publish a `plugin-lock` check run with every finding through the GitHub API
        /// (needs GITHUB_TOKEN with `checks: write`, GITHUB_REPOSITORY, GITHUB_SHA or a pull
        /// request event); the exit code never depends on it.
        #[arg(long)]
        check_run: bool,
        /// In a pull request that changes the lock or .plugin-lock.yml, require an
        /// approving review on its head from a required owner, through the GitHub API
        /// (needs GITHUB_TOKEN with `pull-requests: read` and `members: read`,
        /// GITHUB_REPOSITORY and a pull request event in GITHUB_EVENT_PATH).
        #[arg(long)]
        check_approvals: bool,
        /// Print how many findings there are of each kind and severity instead of each
        /// finding (human or json), as `ruff --statistics` does.
        #[arg(long)]
        statistics: bool,
    },
    /// Recompute the lock and write it canonically and atomically (default source: the work tree).
    Update {
        /// Write nothing; exit 4 if any entry would change.
        #[arg(long, conflicts_with = "stdout")]
        check: bool,
        /// Print the lock instead of writing it.
        #[arg(long)]
        stdout: bool,
        /// Hash only tracked files, with their work-tree content: the lock that
        /// `git commit -a` would need (untracked files are left out).
        #[arg(long)]
        tracked: bool,
    },
    /// Print the digest of each directory (tree paths, relative to the current directory).
    Digest {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<String>,
        /// Before each digest, print every record: `<sha256 of content>  <size>  <path>`.
        #[arg(long)]
        explain: bool,
    },
    /// The inventory: every plugin with its version, digest, lock entry and status.
    List,
    /// The owners of each path per CODEOWNERS; without paths, the lock's, the
    /// configuration's and each plugin's (exit 4 on CODEOWNERS syntax errors).
    Owners {
        /// Tree paths, relative to the current directory.
        #[arg(value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Per plugin between two revisions: added, removed, unchanged, hot or cold.
    Diff {
        /// `A B`, or `A..B`.
        #[arg(required = true, num_args = 1..=2, value_name = "REV")]
        revs: Vec<String>,
        /// Exit 4 when a plugin changed while its lock entry did not (`lock not updated`).
        #[arg(long)]
        check: bool,
    },
    /// Git hooks: the pre-push check, and installing it.
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
    /// Git merge driver for the lock: a three-way merge by entry (git runs it as
    /// `plugin-lock merge-driver %O %A %B %P`); exit 1 when an entry conflicts.
    MergeDriver {
        /// The common ancestor's lock (%O).
        #[arg(value_name = "BASE")]
        ancestor: std::path::PathBuf,
        /// Our lock (%A): the merge result is written here.
        #[arg(value_name = "OURS")]
        current: std::path::PathBuf,
        /// Their lock (%B).
        #[arg(value_name = "THEIRS")]
        other: std::path::PathBuf,
        /// The lock's path in the repository (%P), for messages.
        #[arg(value_name = "PATH")]
        lock_path: Option<String>,
    },
    /// Set plugin-lock up in this repository: recognise the plugin layout and manifest in
    /// the work tree, write a commented .plugin-lock.yml and the first lock, and say what
    /// was found and what to do next.
    Init {
        /// Print what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace an existing .plugin-lock.yml and lock.
        #[arg(long)]
        force: bool,
        /// Leave .gitattributes alone: do not add the line that keeps plugin files'
        /// line ends as committed.
        #[arg(long)]
        no_gitattributes: bool,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `plugin-lock hook ...`.
#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// The git pre-push hook: verify the tree of every pushed branch and tag (git's stdin
    /// lines); exit 4 stops the push.
    PrePush {
        /// The remote's name (git passes it).
        remote: String,
        /// The remote's URL (git passes it).
        url: String,
    },
    /// For the pre-commit framework's pre-push stage: verify PRE_COMMIT_TO_REF (explained
    /// against PRE_COMMIT_FROM_REF); without it, PRE_COMMIT_LOCAL_BRANCH, else HEAD.
    PreCommitFramework,
    /// Write the pre-push hook into the hooks directory (core.hooksPath, else the common
    /// git directory's hooks/).
    Install {
        /// Replace a pre-push hook that plugin-lock did not write.
        #[arg(long)]
        force: bool,
        /// Also set up `plugin-lock merge-driver` for the lock: a line in
        /// `.gitattributes` (commit it) and the driver in `.git/config`.
        #[arg(long)]
        merge_driver: bool,
    },
    /// Remove the pre-push hook that `hook install` wrote.
    Uninstall {
        /// Also remove a pre-push hook that plugin-lock did not write.
        #[arg(long)]
        force: bool,
    },
}

/// The global flags each subcommand does not use: parsed anywhere (as before), but kept
/// out of that subcommand's `--help`, so its help lists only what applies to it.
const NOT_FOR: &[(&str, &[&str])] = &[
    ("update", &["base", "required_owners", "checkout"]),
    (
        "digest",
        &[
            "base",
            "required_owners",
            "plugins",
            "lock",
            "manifest",
            "no_cache",
            "cache",
        ],
    ),
    ("list", &["base"]),
    (
        "owners",
        &["symlinks", "manifest", "no_cache", "cache", "max_blob_size"],
    ),
    (
        "diff",
        &["rev", "index", "worktree", "base", "required_owners"],
    ),
    ("hook", &["rev", "index", "worktree"]),
    (
        "merge-driver",
        &[
            "format",
            "color",
            "verbose",
            "base",
            "no_cache",
            "cache",
            "max_blob_size",
            "rev",
            "index",
            "worktree",
            "plugins",
            "lock",
            "manifest",
            "symlinks",
            "required_owners",
        ],
    ),
    (
        "init",
        &[
            "base",
            "no_cache",
            "cache",
            "rev",
            "index",
            "worktree",
            "plugins",
            "lock",
            "manifest",
            "symlinks",
            "required_owners",
        ],
    ),
    (
        "completions",
        &[
            "format",
            "color",
            "quiet",
            "verbose",
            "base",
            "no_cache",
            "cache",
            "max_blob_size",
            "rev",
            "index",
            "worktree",
            "plugins",
            "lock",
            "manifest",
            "symlinks",
            "required_owners",
            "chdir",
        ],
    ),
];

/// The command line with each subcommand's help trimmed to the flags it uses. clap copies
/// a global flag into a subcommand only when the subcommand has no flag of that id, so a
/// hidden copy put there first keeps the flag working and out of the help.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    for (sub, hidden) in NOT_FOR {
        cmd = cmd.mut_subcommand(*sub, |mut s| {
            for id in *hidden {
                if let Some(arg) = globals.iter().find(|a| a.get_id() == id) {
                    s = s.arg(arg.clone().hide(true));
                }
            }
            s
        });
    }
    cmd
}

/// Parses `args` (the program name first) with [`command`].
pub fn parse(args: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches_from(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

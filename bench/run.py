#!/usr/bin/env python3
"""Benchmark `plugin-lock verify` against the hand-scripted git-plumbing baseline.

usage: bench/run.py [--shared DIR] [--work DIR] [--rounds N] [--corpus wide|big|all]
                    [--binary PATH] [--threads]

For each synthetic corpus (built once by ../shared/bench/make_corpus.py and cached in
--work), it first checks that the baseline's digests equal `plugin-lock list`'s, then
times these commands, interleaved round-robin within each round (A B C D, A B C D, ...)
so that machine noise falls on all of them alike:

  A  plugin-lock -C REPO verify                      (default threads)
  B  python3 baseline_plumbing.py REPO               (the peer to beat)
  C  git -C REPO cat-file --batch-all-objects --batch (git's own reader, for reference)
  D  plugin-lock -C REPO verify --bench-read-only    (reads every blob, hashes nothing)
  E  A with PLUGIN_LOCK_THREADS=1                    (with --threads)
  F  A with PLUGIN_LOCK_THREADS=2                    (with --threads)

Each command runs once untimed first, so the page cache is warm: "cold" in the report
means "without any plugin-lock digest cache", not a cold page cache. Wall time is
time.perf_counter() around the process; peak RSS is ru_maxrss from os.wait4(), which on
Linux is the largest single process of the tree (the command or a child it waited for).

Prints Markdown to stdout (progress goes to stderr). Exits 0 whether or not the targets
are met; non-zero only when something could not be run or the digests disagree.
Standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> make_corpus.py arguments: plugins, files per plugin, mean file bytes
CORPORA = {
    "wide": (5000, 12, 2000),
    "big": (300, 20, 50000),
}
MARKER_SUFFIX = ".complete"  # written beside a corpus once make_corpus.py succeeded

RSS_LIMIT_MIB = 128
MANY_WORKERS = 8  # a larger machine's worker count, for the memory bound


class BenchError(Exception):
    """Something could not be run or disagreed; main() prints it and exits 2."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- arguments, tools


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "bench",
                    help="folder holding make_corpus.py and baseline_plumbing.py "
                         "(default: ../shared/bench beside the repository)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "plugin-lock-bench",
                    help="where corpora are built and kept (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (default: %(default)s)")
    ap.add_argument("--corpus", choices=("wide", "big", "all"), default="all")
    ap.add_argument("--binary", type=Path,
                    help="plugin-lock to measure (default: `cargo build --release` here)")
    ap.add_argument("--threads", action="store_true",
                    help="also time verify with PLUGIN_LOCK_THREADS=1 and =2")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    return args


def require_tool(name):
    path = shutil.which(name)
    if not path:
        raise BenchError(f"`{name}` is not on PATH; the benchmark needs it")
    return path


def shared_scripts(shared):
    scripts = {name: shared / f"{name}.py" for name in ("make_corpus", "baseline_plumbing")}
    for path in scripts.values():
        if not path.is_file():
            raise BenchError(f"{path} not found; point --shared at the folder holding "
                             "make_corpus.py and baseline_plumbing.py")
    return scripts


def build_binary():
    """`cargo build --release` in the repository; the path of the plugin-lock it built."""
    require_tool("cargo")
    log("building: cargo build --release")
    proc = subprocess.run(
        ["cargo", "build", "--release", "--bin", "plugin-lock",
         "--message-format=json-render-diagnostics"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise BenchError("cargo build --release failed (see its output above)")
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") \
                and msg["target"]["name"] == "plugin-lock":
            return Path(msg["executable"])
    raise BenchError("cargo build reported no plugin-lock executable")


def check_binary(binary):
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise BenchError(f"{binary} is not an executable file")
    return binary.resolve()


def cache_flags(binary):
    """`--no-cache` when the binary has a digest cache to switch off, else nothing."""
    proc = subprocess.run([str(binary), "--help"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"{binary} --help failed:\n{proc.stderr}")
    return ["--no-cache"] if "--no-cache" in proc.stdout else []


# ---------------------------------------------------------------- corpora


def ensure_corpus(name, work, python, make_corpus):
    """The corpus repository, built by make_corpus.py unless a complete one is cached."""
    params = [str(n) for n in CORPORA[name]]
    repo = work / name
    marker = work / (name + MARKER_SUFFIX)
    if marker.is_file() and marker.read_text().split() == params and repo.is_dir():
        log(f"corpus {name}: reusing {repo}")
        return repo
    partial = work / (name + ".partial")
    for stale in (marker, repo, partial):
        remove(stale)
    work.mkdir(parents=True, exist_ok=True)
    log(f"corpus {name}: building {repo} (make_corpus.py {' '.join(params)}; takes a while)")
    started = time.perf_counter()
    proc = subprocess.run([python, str(make_corpus), str(partial), *params],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        remove(partial)
        raise BenchError(f"make_corpus.py failed for {name} (exit {proc.returncode}):\n{proc.stderr}")
    partial.rename(repo)  # a git repository does not mind being moved
    marker.write_text(" ".join(params) + "\n")
    log(f"corpus {name}: built in {time.perf_counter() - started:.0f} s")
    return repo


def remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


OWNED_RULE_EVERY = 10  # one CODEOWNERS rule of its own for every 10th plugin


def ensure_owned_corpus(work, wide):
    """`wide` with a CODEOWNERS file and `owners.required`, for the incremental run that
    includes the ownership checks: the corpus commit, then a commit adding
    .github/CODEOWNERS (a catch-all, `/plugins/`, one rule per 10th plugin, the lock,
    the configuration and CODEOWNERS itself) and .plugin-lock.yml, then wide's own last
    commit (one plugin changed) replayed on top. Fixed dates: the same bytes every time."""
    repo = work / "wide-owned"
    marker = work / ("wide-owned" + MARKER_SUFFIX)
    plugins = CORPORA["wide"][0]
    stamp = f"from wide, rule every {OWNED_RULE_EVERY}"
    if marker.is_file() and marker.read_text().strip() == stamp and repo.is_dir():
        log(f"corpus wide-owned: reusing {repo}")
        return repo
    for stale in (marker, repo):
        remove(stale)
    log("corpus wide-owned: building from wide")
    env = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.invalid",
               GIT_AUTHOR_DATE="1700000100 +0000", GIT_COMMITTER_DATE="1700000100 +0000")

    def git(*a, cwd=repo):
        proc = subprocess.run(["git", "-C", str(cwd), *a], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"git {' '.join(a)} failed:\n{proc.stderr}")
        return proc.stdout.strip()

    git("clone", "-q", "--no-local", str(wide), str(repo), cwd=work)
    change = git("rev-parse", "HEAD")
    git("reset", "-q", "--hard", "HEAD~1")
    rules = ["* @acme/all", "/plugins/ @acme/plugins"]
    rules += [f"/plugins/plugin-{i:05d}/ @acme/team-{i}" for i in range(0, plugins, OWNED_RULE_EVERY)]
    rules += ["/plugins/PLUGINS.lock @acme/platform", "/.plugin-lock.yml @acme/platform",
              "/.github/CODEOWNERS @acme/platform"]
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text("\n".join(rules) + "\n")
    (repo / ".plugin-lock.yml").write_text(
        'plugins: ["plugins/*"]\nlock: plugins/PLUGINS.lock\nmanifest: plugin.yaml\n'
        'owners:\n  required: ["@acme/platform"]\n')
    git("add", "-A")
    git("commit", "-q", "-m", "owners")
    git("cherry-pick", change)
    git("gc", "-q")
    marker.write_text(stamp + "\n")
    return repo


# ---------------------------------------------------------------- correctness guard


def baseline_digests(python, baseline, repo):
    out = checked_output([python, str(baseline), str(repo)], "baseline_plumbing.py")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def plugin_lock_digests(binary, flags, repo):
    out = checked_output([str(binary), "-C", str(repo), *flags, "list", "--format", "json"],
                         "plugin-lock list")
    return {p["id"]: p["digest"] for p in json.loads(out)["plugins"]}


def checked_output(argv, what):
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{proc.stderr}")
    return proc.stdout


def guard(name, repo, binary, flags, python, baseline):
    """Abort unless plugin-lock and the baseline agree on every plugin's digest at HEAD."""
    ours = plugin_lock_digests(binary, flags, repo)
    theirs = baseline_digests(python, baseline, repo)
    diffs = [f"  {pid}: plugin-lock {ours.get(pid)}, baseline {theirs.get(pid)}"
             for pid in sorted(set(ours) | set(theirs)) if ours.get(pid) != theirs.get(pid)]
    if diffs or not ours:
        shown = "\n".join(diffs[:20]) + (f"\n  ... and {len(diffs) - 20} more" if len(diffs) > 20 else "")
        raise BenchError(f"DIGESTS DISAGREE on corpus {name} ({len(diffs)} of "
                         f"{len(set(ours) | set(theirs))} plugins); not timing a wrong answer:\n{shown}")
    log(f"corpus {name}: digests agree for {len(ours)} plugins")


# ---------------------------------------------------------------- timing


def commands(repo, binary, flags, python, baseline, threads):
    """(key, label, argv, extra env, accepted exit codes) for each timed command."""
    verify = [str(binary), "-C", str(repo), *flags, "verify"]
    cmds = [
        ("A", "plugin-lock verify", verify, {}, {0}),
        ("B", "baseline_plumbing.py", [python, str(baseline), str(repo)], {}, {0}),
        ("C", "git cat-file --batch-all-objects --batch",
         ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"], {}, {0}),
        ("D", "plugin-lock verify --bench-read-only", verify + ["--bench-read-only"], {}, {0, 4}),
    ]
    if threads:
        cmds += [
            ("E", "plugin-lock verify, 1 thread", verify, {"PLUGIN_LOCK_THREADS": "1"}, {0}),
            ("F", "plugin-lock verify, 2 threads", verify, {"PLUGIN_LOCK_THREADS": "2"}, {0}),
        ]
    return cmds


def child_env(extra_env):
    """This environment without what would skew a run (a pinned worker count, Actions
    mode), plus `extra_env`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGIN_LOCK_THREADS", "GITHUB_ACTIONS")}
    # The cache is off under CI unless asked for; the warm runs measure it on.
    env["PLUGIN_LOCK_CACHE"] = "1"
    env.update(extra_env)
    return env


def run_once(argv, extra_env, ok_codes):
    """Wall seconds and peak RSS (KiB) of one run, stdout to /dev/null."""
    env = child_env(extra_env)
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok_codes:
            err.seek(0)
            stderr = err.read().decode(errors="replace")
            raise BenchError(f"exit {code} from: {' '.join(argv)}\n{stderr}")
    return elapsed, usage.ru_maxrss


def peak_anon_rss(argv, extra_env=None):
    """Peak anonymous RSS (MiB) of one run, sampled from /proc every millisecond: the
    process's own memory, without the pages of pack files it maps (which ru_maxrss
    counts). None where /proc is not there. Untimed: the sampling costs CPU."""
    if not Path("/proc/self/status").is_file():
        return None
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=child_env(extra_env or {}))
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("RssAnon:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.001)
    return peak / 1024


def measure(cmds, rounds):
    """One untimed warm-up each, then `rounds` interleaved rounds; key -> [(s, KiB)]."""
    for key, label, argv, env, ok in cmds:
        log(f"  warm-up {key}: {label}")
        run_once(argv, env, ok)
    samples = {key: [] for key, *_ in cmds}
    for r in range(1, rounds + 1):
        log(f"  round {r}/{rounds}: " + " ".join(key for key, *_ in cmds))
        for key, _, argv, env, ok in cmds:
            samples[key].append(run_once(argv, env, ok))
    return samples


def run_cpu(argv, stdin=b""):
    """User+sys CPU seconds of one run (stdout to /dev/null); exit 0 required."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    proc.stdin.write(stdin)
    proc.stdin.close()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise BenchError(f"exit {code} from: {' '.join(argv)}\n{stderr.decode(errors='replace')}")
    return usage.ru_utime + usage.ru_stime


def measure_incremental(repo, binary, flags, rounds):
    """Cold verify (no cache) vs the pre-push hook for HEAD over HEAD~1 with the cache
    warmed at HEAD~1 (one plugin changed), in user+sys CPU seconds, interleaved."""
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True,
                                    capture_output=True, text=True).stdout.strip()
    head, parent = git("rev-parse", "HEAD"), git("rev-parse", "HEAD~1")
    common = Path(git("rev-parse", "--path-format=absolute", "--git-common-dir"))
    cache = common / "plugin-lock" / "cache-v1"
    cold = [str(binary), "-C", str(repo), *flags, "verify"]
    hook = [str(binary), "-C", str(repo), "hook", "pre-push", "origin", "url"]
    line = f"refs/heads/main {head} refs/heads/main {parent}\n".encode()
    samples = {"cold": [], "hook": []}
    for r in range(rounds + 1):  # round 0 is an untimed warm-up
        c = run_cpu(cold)
        remove(cache)
        run_cpu([str(binary), "-C", str(repo), "verify", "--rev", "HEAD~1"])
        h = run_cpu(hook, line)
        if r:
            samples["cold"].append(c)
            samples["hook"].append(h)
    return {k: statistics.median(v) for k, v in samples.items()}


# ---------------------------------------------------------------- report


def summarize(runs):
    times = [t for t, _ in runs]
    rss = [kib / 1024 for _, kib in runs]
    return {"median": statistics.median(times), "min": min(times),
            "rss": statistics.median(rss), "rss_max": max(rss)}


def corpus_table(name, cmds, stats, rounds):
    plugins, files, mean = CORPORA[name]
    lines = [f"### Corpus `{name}`: {plugins} plugins x {files} files, mean {mean} B "
             f"({rounds} rounds)", "",
             "| | command | median wall (s) | min wall (s) | median peak RSS (MiB) |",
             "|---|---|---:|---:|---:|"]
    for key, label, *_ in cmds:
        s = stats[key]
        lines.append(f"| {key} | {label} | {s['median']:.3f} | {s['min']:.3f} | {s['rss']:.1f} |")
    lines.append("")
    lines.append(f"- speed-up, baseline / verify (B/A): **{ratio(stats, 'B', 'A'):.2f}x**")
    lines.append(f"- verify / read-only floor (A/D): **{ratio(stats, 'A', 'D'):.2f}x**")
    lines.append(f"- verify / git cat-file (A/C): {ratio(stats, 'A', 'C'):.2f}x")
    if "E" in stats:
        lines.append(f"- 1 thread / 2 threads (E/F): {ratio(stats, 'E', 'F'):.2f}x; "
                     f"1 thread / default (E/A): {ratio(stats, 'E', 'A'):.2f}x")
    return "\n".join(lines) + "\n"


def ratio(stats, a, b):
    return stats[a]["median"] / stats[b]["median"]


def targets(results):
    """Rows (target, measured, PASS/MISS/not measured) for the performance targets."""
    rows = []

    def speed(name, want):
        if name not in results:
            return f"{name}: verify >= {want}x faster than baseline", "-", "not measured"
        got = ratio(results[name], "B", "A")
        return (f"{name}: verify >= {want}x faster than baseline", f"{got:.2f}x",
                "PASS" if got >= want else "MISS")

    rows.append(speed("wide", 5.0))
    rows.append(speed("big", 3.5))
    if "big" in results:
        got = ratio(results["big"], "A", "D")
        rows.append(("big: verify within 1.25x of read-only", f"{got:.2f}x",
                     "PASS" if got <= 1.25 else "MISS"))
    else:
        rows.append(("big: verify within 1.25x of read-only", "-", "not measured"))
    for key, what in (("incremental", ""), ("incremental_owned", ", with CODEOWNERS")):
        inc = results.get("wide", {}).get(key)
        if inc:
            got = inc["hook"] / inc["cold"]
            rows.append((f"wide{what}: warm pre-push (one plugin changed) <= 10% of cold verify, CPU",
                         f"{100 * got:.1f}%", "PASS" if got <= 0.10 else "MISS"))
    for name, stats in results.items():
        worst = max(s["rss_max"] for key, s in stats.items() if key in ("A", "D", "E", "F", "many"))
        if "anon" in stats:
            rows.append((f"{name}: plugin-lock peak anonymous RSS (own memory, sampled)",
                         f"{stats['anon']:.1f} MiB", "info"))
        rows.append((f"{name}: plugin-lock peak RSS < {RSS_LIMIT_MIB} MiB (max of any run, {MANY_WORKERS} workers included)",
                     f"{worst:.1f} MiB", "PASS" if worst < RSS_LIMIT_MIB else "MISS"))
    return rows


def targets_table(rows):
    lines = ["### Targets", "", "| target | measured | result |", "|---|---:|---|"]
    lines += [f"| {t} | {m} | {r} |" for t, m, r in rows]
    return "\n".join(lines) + "\n"


def rss_floor():
    """Peak RSS (MiB) that wait4 reports for a trivial command launched from here.

    A child inherits the launching Python's high-water mark through fork/vfork and exec, so
    no figure below this can show; a command reported at the floor used at most this much.
    """
    return run_once(["git", "--version"], {}, {0})[1] / 1024


def machine_line(binary, flags, rounds, load):
    model, sha_ni = "unknown CPU", "unknown"
    try:
        info = Path("/proc/cpuinfo").read_text()
        models = [l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")]
        model = models[0] if models else model
        flag_lines = [l for l in info.splitlines() if l.startswith("flags")]
        sha_ni = "yes" if flag_lines and "sha_ni" in flag_lines[0].split() else "no"
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    cache = ("plugin-lock run with --no-cache" if flags
             else "this plugin-lock has no digest cache")
    return (f"Machine: nproc {nproc}, {model}, sha_ni: {sha_ni}; {git}; "
            f"Python {sys.version.split()[0]}; binary {Path(binary).name}; "
            f"1-minute load average before timing {load:.2f} (other work skews the figures).\n\n"
            f"Method: {rounds} timed rounds, commands interleaved round-robin; one untimed "
            f"warm-up per command, so the page cache is warm. \"Cold\" means no plugin-lock "
            f"cache ({cache}), not a cold page cache. Output to /dev/null; peak RSS is "
            f"ru_maxrss of the largest single process (wait4); its floor here, a trivial "
            f"`git --version` measured the same way, is {rss_floor():.1f} MiB.\n")


# ---------------------------------------------------------------- main


def run(args):
    require_tool("git")
    python = require_tool("python3")
    scripts = shared_scripts(args.shared.resolve())
    binary = check_binary(args.binary if args.binary else build_binary())
    flags = cache_flags(binary)
    work = args.work.resolve()
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]

    repos = {name: ensure_corpus(name, work, python, scripts["make_corpus"]) for name in names}
    for name, repo in repos.items():
        guard(name, repo, binary, flags, python, scripts["baseline_plumbing"])
    owned = ensure_owned_corpus(work, repos["wide"]) if "wide" in repos and flags else None

    load = os.getloadavg()[0]
    results, tables = {}, []
    for name, repo in repos.items():
        log(f"corpus {name}: timing")
        cmds = commands(repo, binary, flags, python, scripts["baseline_plumbing"], args.threads)
        stats = {key: summarize(runs) for key, runs in measure(cmds, args.rounds).items()}
        results[name] = stats
        tables.append(corpus_table(name, cmds, stats, args.rounds))
        verify = [str(binary), "-C", str(repo), *flags, "verify"]
        many = {"PLUGIN_LOCK_THREADS": str(MANY_WORKERS)}
        rss_many = run_once(verify, many, {0})[1] / 1024
        results[name]["many"] = {"rss": rss_many, "rss_max": rss_many}
        anon = peak_anon_rss(verify)
        if anon is None:
            tables.append(f"Peak RSS of `verify` with {MANY_WORKERS} workers: {rss_many:.1f} MiB.\n")
        else:
            results[name]["anon"] = anon
            anon_many = peak_anon_rss(verify, many)
            tables.append(f"Peak anonymous RSS of `verify` (sampled every ms, untimed runs): "
                          f"**{anon:.1f} MiB**, and {anon_many:.1f} MiB with "
                          f"{MANY_WORKERS} workers (peak RSS then {rss_many:.1f} MiB); the rest "
                          f"of its peak RSS is pages of the pack files it maps (page cache, "
                          f"shared and reclaimable).\n")
        if flags:
            log(f"corpus {name}: incremental (warm cache, pre-push of HEAD over HEAD~1)")
            inc = measure_incremental(repo, binary, flags, args.rounds)
            results[name]["incremental"] = inc
            tables.append(
                f"Incremental, `{name}` (user+sys CPU, median of {args.rounds}): cold `verify "
                f"--no-cache` {inc['cold']:.3f} s; `hook pre-push` for HEAD over HEAD~1 with the "
                f"cache warmed at HEAD~1 (one plugin changed) {inc['hook']:.3f} s = "
                f"**{100 * inc['hook'] / inc['cold']:.1f}%** of cold (target <= 10%).\n")
        if name == "wide" and owned is not None:
            log("corpus wide-owned: incremental, with CODEOWNERS and owners.required")
            inc = measure_incremental(owned, binary, flags, args.rounds)
            results[name]["incremental_owned"] = inc
            rules = 5 + CORPORA["wide"][0] // OWNED_RULE_EVERY
            tables.append(
                f"Incremental, `wide` with CODEOWNERS ({rules} rules) and `owners.required` "
                f"(user+sys CPU, median of {args.rounds}): cold `verify --no-cache` "
                f"{inc['cold']:.3f} s; `hook pre-push` for HEAD over HEAD~1, cache warmed at "
                f"HEAD~1: {inc['hook']:.3f} s = **{100 * inc['hook'] / inc['cold']:.1f}%** "
                f"of cold (target <= 10%).\n")

    print("## plugin-lock benchmark\n")
    print(machine_line(binary, flags, args.rounds, load))
    print("\n".join(tables))
    print(targets_table(targets(results)))


def main(argv=None):
    try:
        run(parse_args(argv))
    except (BenchError, OSError) as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

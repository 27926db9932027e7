#!/usr/bin/env python3
"""Differential run: two plugin-lock binaries must answer alike, byte for byte.

usage: bench/differential.py OLD NEW [--work DIR] [--shared DIR] [--corpus wide|big|all|none]

Runs both binaries (each copied to its own directory under the same file name,
`plugin-lock`) with the same cleaned environment on the same repositories, and compares
stdout, stderr and the exit code of every run. Repositories:

  self     a clone of this repository's HEAD (its own plugins/, the embedded example)
  failing  that clone with a plugin file changed and a new plugin directory, committed,
           so verify fails (integrity_mismatch, unlocked_plugin) and diff has changes
  wide     the benchmark corpora of bench/run.py (built there once, reused)
  big

Commands, each in human output and with --format json: `verify`, `list`, `owners`,
`diff HEAD~1 HEAD` (where there is a HEAD~1), `digest --explain <first plugin dir>`.
Each binary runs every command twice with `--cache`: cold (no cache file in the
repository and a fresh key directory: XDG_CACHE_HOME / LOCALAPPDATA of its own), then
warm (the cache the cold run wrote). The cache file is removed before the other binary
starts, so neither reads what the other wrote.

Prints a Markdown table to stdout; exits 0 when every run matched, 1 on any
difference (the first differing lines are shown), 2 when something could not be run.
Standard library only.
"""
import argparse
import difflib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", REPO_ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(repo, *args, env=None):
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def git_out(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "differential", "GIT_AUTHOR_EMAIL": "d@example.invalid",
    "GIT_COMMITTER_NAME": "differential", "GIT_COMMITTER_EMAIL": "d@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def self_clone(work):
    repo = work / "self"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(repo)],
                   check=True)
    return repo


def failing_fixture(work):
    repo = work / "failing"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(repo)],
                   check=True)
    plugins = sorted(p for p in (repo / "plugins").iterdir() if p.is_dir())
    if not plugins:
        raise SystemExit("differential: this repository's plugins/ has no plugin")
    victim = next(p for p in sorted(plugins[0].rglob("*")) if p.is_file())
    with open(victim, "ab") as f:
        f.write(b"\n# tampered\n")
    new = repo / "plugins" / "zz-unlocked"
    new.mkdir()
    (new / "plugin.yaml").write_text("name: zz-unlocked\nversion: 0.1.0\n")
    (new / "main.py").write_text("print('unlocked')\n")
    env = {**os.environ, **COMMIT_ENV}
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "tamper", env=env)
    return repo


def first_plugin_dir(repo):
    names = git_out(repo, "ls-tree", "-d", "--name-only", "HEAD", "plugins/").split("\n")
    names = [n for n in names if n]
    return names[0] if names else None


def command_list(repo):
    cmds = [["verify"], ["list"], ["owners"]]
    has_parent = subprocess.run(["git", "-C", str(repo), "rev-parse", "-q", "--verify",
                                 "HEAD~1"], capture_output=True).returncode == 0
    if has_parent:
        cmds.append(["diff", "HEAD~1", "HEAD"])
    plugin = first_plugin_dir(repo)
    if plugin:
        cmds.append(["digest", "--explain", plugin])
    out = []
    for c in cmds:
        out.append(c)
        out.append([*c, "--format", "json"])
    return out


def clean_env(home):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LOCALAPPDATA": str(home / "cache"),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "NO_COLOR": "1",
    }
    return env


def run(binary, repo, args, env):
    started = time.perf_counter()
    proc = subprocess.run([str(binary), "--cache", *args], cwd=repo, env=env,
                          capture_output=True, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started


def drop_cache(repo):
    shutil.rmtree(repo / ".git" / "plugin-lock", ignore_errors=True)


def first_difference(a, b, label):
    lines = list(difflib.unified_diff(
        a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines(),
        f"old {label}", f"new {label}", lineterm="", n=1))
    return "\n".join(lines[:20])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "plugin-lock-bench")
    ap.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "bench")
    ap.add_argument("--corpus", choices=("wide", "big", "all", "none"), default="all")
    args = ap.parse_args(argv)
    bench = load_bench()

    scratch = Path(tempfile.mkdtemp(prefix="plugin-lock-differential-"))
    try:
        binaries = {}
        for name, path in (("old", args.old), ("new", args.new)):
            if not (path.is_file() and os.access(path, os.X_OK)):
                print(f"differential: {path} is not an executable file", file=sys.stderr)
                return 2
            folder = scratch / f"bin-{name}"
            folder.mkdir()
            shutil.copy2(path, folder / "plugin-lock")
            binaries[name] = folder / "plugin-lock"

        repos = [("self", self_clone(scratch)), ("failing", failing_fixture(scratch))]
        corpora = {"all": ["wide", "big"], "none": []}.get(args.corpus, [args.corpus])
        if corpora:
            make_corpus = args.shared / "make_corpus.py"
            if not make_corpus.is_file():
                print(f"differential: {make_corpus} not found (--shared)", file=sys.stderr)
                return 2
            for name in corpora:
                repos.append((name, bench.ensure_corpus(name, args.work, sys.executable,
                                                        make_corpus)))

        rows, differences, total = [], [], 0
        for repo_name, repo in repos:
            cmds = command_list(repo)
            results = {}
            timing = {}
            for bin_name, binary in binaries.items():
                drop_cache(repo)
                home = scratch / f"home-{bin_name}-{repo_name}"
                home.mkdir()
                env = clean_env(home)
                for phase in ("cold", "warm"):
                    for c in cmds:
                        code, out, err, secs = run(binary, repo, c, env)
                        results[(bin_name, phase, tuple(c))] = (code, out, err)
                        timing[(bin_name, phase)] = timing.get((bin_name, phase), 0) + secs
                drop_cache(repo)
            same = 0
            codes = set()
            for phase in ("cold", "warm"):
                for c in cmds:
                    total += 1
                    old = results[("old", phase, tuple(c))]
                    new = results[("new", phase, tuple(c))]
                    codes.add(old[0])
                    if old == new:
                        same += 1
                        continue
                    label = f"{repo_name} {phase} `{' '.join(c)}`"
                    parts = [f"### {label}"]
                    if old[0] != new[0]:
                        parts.append(f"exit code: old {old[0]}, new {new[0]}")
                    for what, i in (("stdout", 1), ("stderr", 2)):
                        if old[i] != new[i]:
                            parts.append(first_difference(old[i], new[i], what))
                    differences.append("\n".join(parts))
            runs = 2 * len(cmds)
            rows.append(f"| {repo_name} | {len(cmds)} | {runs} | {same}/{runs} | "
                        f"{', '.join(str(c) for c in sorted(codes))} | "
                        f"{timing[('old', 'cold')]:.2f} / {timing[('new', 'cold')]:.2f} | "
                        f"{timing[('old', 'warm')]:.2f} / {timing[('new', 'warm')]:.2f} |")

        print("| repository | commands | runs per binary | identical | exit codes | "
              "cold s (old / new) | warm s (old / new) |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        print()
        if differences:
            print(f"**{len(differences)} of {total} runs differ**\n")
            print("\n\n".join(differences))
            return 1
        print(f"All {total} runs identical (stdout, stderr, exit code).")
        return 0
    except subprocess.CalledProcessError as e:
        print(f"differential: {e}: {e.stderr}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Start-up cost of verifying at runtime: `plugin_lock.verify` against `sha256sum` over
the same files and against a plain Python `hashlib` walk (what hand-written loaders do).

usage: python bench/runtime.py [--plugins 500] [--files 10] [--bytes 4096] [--rounds 7]

Run it with the interpreter that has the `plugin-lock` wheel installed (a release build:
`maturin build --release`, then `pip install` the wheel). It writes a deployed tree of
PLUGINS plugins x FILES files of about BYTES bytes each (deterministic content) and its
lock into a temporary directory, checks that the three agree on nothing less than every
digest, then times, interleaved in each round (page cache warm after one untimed run):

  A  plugin_lock.verify(root)                         (discovery, digest, lock, report)
  B  sha256sum over every file, one process           (hashing alone, no digest format)
  C  the Python walk: sorted(rglob) + read_bytes + hashlib per spec/DIGEST.md

Prints a Markdown table (median and minimum wall time) and the ratios A/B and C/A.
Standard library only, besides plugin_lock.
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import plugin_lock


def make_tree(root, plugins, files, size):
    lock = {}
    for p in range(plugins):
        pid = f"p{p:04d}"
        for f in range(files):
            rel = f"src/m{f:02d}.py" if f else "plugin.yaml"
            seed = hashlib.sha256(f"{pid}/{rel}".encode()).digest()
            body = (seed * (size // len(seed) + 1))[:size]
            path = root / "plugins" / pid / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        lock[pid] = python_walk_digest(root / "plugins" / pid)
    (root / ".plugin-lock.yml").write_text("manifest: none\n")
    (root / "plugins" / "PLUGINS.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return lock


def python_walk_digest(plugin_dir):
    """spec/DIGEST.md for regular files, as a hand-written loader computes it."""
    files = sorted((p for p in plugin_dir.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(plugin_dir).as_posix().encode().replace(b"/", b"\0"))
    h = hashlib.sha256()
    for i, path in enumerate(files):
        data = path.read_bytes()
        rel = path.relative_to(plugin_dir).as_posix().encode()
        if i:
            h.update(b"\x1e")
        h.update(rel + b"\x1f" + str(len(data)).encode() + b"\x1f" + data)
    return h.hexdigest()


def python_walk(root):
    return {d.name: python_walk_digest(d) for d in sorted((root / "plugins").iterdir()) if d.is_dir()}


def file_list(root):
    return sorted(str(p) for p in (root / "plugins").rglob("*") if p.is_file()
                  and p.name != "PLUGINS.lock")


def sha256sum(files):
    # One process for all files, as fast as coreutils goes (arguments fit: 5,000 paths).
    subprocess.run(["sha256sum", *files], check=True, stdout=subprocess.DEVNULL)


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugins", type=int, default=500)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--bytes", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    if not shutil.which("sha256sum"):
        print("runtime.py: sha256sum not found", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="plugin-lock-runtime-bench-"))
    try:
        root = tmp / "app"
        lock = make_tree(root, args.plugins, args.files, args.bytes)
        report = plugin_lock.verify(root)
        got = {p.id: p.actual for p in report.plugins}
        if not report.ok or got != lock or python_walk(root) != lock:
            print("runtime.py: plugin_lock and the Python walk disagree", file=sys.stderr)
            return 2
        files = file_list(root)
        commands = {
            "A plugin_lock.verify": lambda: plugin_lock.verify(root),
            "B sha256sum": lambda: sha256sum(files),
            "C Python hashlib walk": lambda: python_walk(root),
        }
        for fn in commands.values():
            fn()  # warm the page cache
        times = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, fn in commands.items():
                times[name].append(timed(fn))
        med = {n: statistics.median(t) for n, t in times.items()}
        total = sum(os.path.getsize(f) for f in files)
        print(f"{args.plugins} plugins x {args.files} files, {total / 1e6:.1f} MB, "
              f"{args.rounds} rounds, {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
        print("| command | median s | min s |")
        print("|---|---|---|")
        for name, t in times.items():
            print(f"| {name} | {med[name]:.3f} | {min(t):.3f} |")
        a, b, c = (med[n] for n in commands)
        print(f"\nA/B (plugin_lock vs sha256sum): {a / b:.2f}x (target <= 1.5x)")
        print(f"C/A (Python walk vs plugin_lock): {c / a:.2f}x (target > 1x)")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""The wheel's `plugin-lock` command and the library agree, on this repository's own
plugins/ and on a fixture repository."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import plugin_lock

from conftest import REPO_ROOT


def cli():
    found = shutil.which("plugin-lock", path=os.path.dirname(sys.executable))
    assert found, "the wheel installs the plugin-lock command beside the interpreter"
    return found


def env():
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GIT_"))}
    keep.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, NO_COLOR="1")
    keep.pop("CI", None)
    return keep


def run(*args, cwd):
    return subprocess.run([cli(), *args], cwd=cwd, env=env(), capture_output=True, text=True)


def listed(cwd, *extra):
    out = run("list", "--format", "json", *extra, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return {p["id"]: p["digest"] for p in json.loads(out.stdout)["plugins"]}


def test_the_command_runs_from_the_wheel():
    out = run("--version", cwd=REPO_ROOT)
    assert out.returncode == 0 and out.stdout.startswith("plugin-lock ")
    bad = run("no-such-command", cwd=REPO_ROOT)
    assert bad.returncode == 2 and "unrecognized subcommand" in bad.stderr


def test_cli_and_library_agree_on_this_repositorys_plugins():
    from_git = listed(REPO_ROOT, "--rev", "HEAD")
    report = plugin_lock.verify(REPO_ROOT)
    assert from_git and {p.id: p.actual for p in report.plugins} == from_git


def test_cli_and_library_agree_on_a_fixture(tmp_path):
    repo = tmp_path / "repo"
    files = {"plugins/a/plugin.yaml": "name: a\nversion: 1.0.0\n",
             "plugins/a/src/main.py": "print('a')\n",
             "plugins/b/plugin.yaml": "name: b\nversion: 2.0.0\n",
             "plugins/b/data/blob.bin": "\x00\x01binary\n"}
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
           "-c", "core.autocrlf=false", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env())
    assert run("update", cwd=repo).returncode == 0
    subprocess.run([*git, "add", "-A"], check=True, env=env())
    subprocess.run([*git, "commit", "-q", "-m", "fixture"], check=True, env=env())
    assert run("verify", cwd=repo).returncode == 0
    report = plugin_lock.verify(repo)
    assert report.ok
    assert {p.id: p.actual for p in report.plugins} == listed(repo)

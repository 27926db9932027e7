"""Fixtures for the Python package's tests: plugin trees on disk and their lock, with
digests computed here from spec/DIGEST.md (regular files only), not by plugin_lock."""

import hashlib
import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors" / "digest-v1.json"


def spec_digest(files):
    """spec/DIGEST.md for regular files: `path 0x1F size 0x1F content`, joined by 0x1E,
    in component order (`/` sorts before every other byte)."""
    records = sorted(files.items(), key=lambda kv: kv[0].encode().replace(b"/", b"\0"))
    h = hashlib.sha256()
    for i, (path, content) in enumerate(records):
        if i:
            h.update(b"\x1e")
        h.update(path.encode() + b"\x1f" + str(len(content)).encode() + b"\x1f" + content)
    return h.hexdigest()


def write_lock(root, entries, lock="plugins/PLUGINS.lock"):
    """The lock in canonical form (what `plugin-lock update` writes)."""
    text = json.dumps(dict(sorted(entries.items())), indent=2, ensure_ascii=False) + "\n"
    path = Path(root, lock)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if entries else "{}\n", encoding="utf-8")


class Tree:
    """A deployed application: plugins under `plugins/`, locked as they were written."""

    def __init__(self, root):
        self.root = Path(root)
        self.plugins = {}

    def plugin(self, plugin_id, files):
        self.plugins[plugin_id] = {k: v.encode() if isinstance(v, str) else v
                                   for k, v in files.items()}
        for rel, content in self.plugins[plugin_id].items():
            path = self.root / "plugins" / plugin_id / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return self

    def lock(self):
        write_lock(self.root, {pid: spec_digest(files) for pid, files in self.plugins.items()})
        return self

    def write(self, rel, content):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path / "app")


@pytest.fixture
def vectors():
    return json.loads(VECTORS.read_text(encoding="utf-8"))

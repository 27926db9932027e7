"""Every digest vector through the Python API: each case written to a temporary
directory (symlinks included), verified against a lock holding the expected digest."""

import base64
import os
import sys

import pytest

import plugin_lock

from conftest import VECTORS, write_lock


def content(entry):
    if "text" in entry:
        return entry["text"].encode()
    if "base64" in entry:
        return base64.b64decode(entry["base64"])
    return b""


def write_entry(root, path, entry):
    full = os.path.join(root, *path.split("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if entry["mode"] == "120000":
        os.symlink(entry["target"], full)
        return
    with open(full, "wb") as f:
        f.write(content(entry))
    if entry["mode"] == "100755":
        os.chmod(full, 0o755)


def cases():
    import json
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    return doc["plugin_dir"], doc["cases"]


PLUGIN_DIR, CASES = cases()


def test_the_vectors_are_all_here():
    assert len(CASES) >= 30


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and control characters in names")
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_digest_vector(tmp_path, case):
    entries = case["entries"] + case.get("outside", [])
    if any(e["mode"] == "160000" for e in entries):
        pytest.skip("a file system holds no submodule")
    root = tmp_path / "app"
    (root / PLUGIN_DIR).mkdir(parents=True)
    for e in case["entries"]:
        write_entry(root, f"{PLUGIN_DIR}/{e['path']}", e)
    for e in case.get("outside", []):
        write_entry(root, e["path"], e)
    policy = case.get("policy", "follow")
    (root / ".plugin-lock.yml").write_text(f"symlinks: {policy}\nmanifest: none\n")
    plugin_id = PLUGIN_DIR.split("/", 1)[1]
    expect = case["expect"]
    write_lock(root, {plugin_id: expect.get("digest", "0" * 64)})

    report = plugin_lock.verify(root)
    status = report.plugin(plugin_id)
    if "digest" in expect:
        assert status.status == "ok", status
        assert status.actual == expect["digest"]
        verified = plugin_lock.load_verified(root, plugin_id)
        assert verified.digest == expect["digest"]
    else:
        assert status.status == "rejected", status
        assert status.kind == expect["rejection"]
        with pytest.raises(plugin_lock.PluginRejected) as raised:
            plugin_lock.load_verified(root, plugin_id)
        assert raised.value.finding.kind == expect["rejection"]

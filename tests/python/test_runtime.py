"""The runtime API as a plugin host uses it: reports, typed exceptions, verified bytes,
and imports that run only what was verified."""

import os
import sys
import threading
import time

import pytest

import plugin_lock

ALPHA = {"plugin.yaml": "name: alpha\nversion: 1.0.0\n",
         "main.py": "from . import helper\n\ndef greet():\n    return helper.word()\n",
         "helper.py": "def word():\n    return 'verified'\n"}
BETA = {"plugin.yaml": "name: beta\nversion: 1.0.0\n", "__init__.py": "VALUE = 2\n"}


@pytest.fixture
def app(tree):
    return tree.plugin("alpha", ALPHA).plugin("beta", BETA).lock()


def test_a_matching_tree_is_ok(app):
    report = plugin_lock.verify(app.root)
    assert report.ok
    assert [(p.id, p.status) for p in report.plugins] == [("alpha", "ok"), ("beta", "ok")]
    assert report.findings == ()
    assert report.lock_path == "plugins/PLUGINS.lock"
    report.raise_for_findings()


def test_findings_carry_the_cli_kinds_and_messages(app):
    app.write("plugins/alpha/payload.py", "import os\n")
    app.write("plugins/gamma/plugin.yaml", "name: gamma\n")
    report = plugin_lock.verify(app.root)
    assert not report.ok
    kinds = [(f.kind, f.plugin, f.message) for f in report.findings]
    assert kinds == [
        ("integrity_mismatch", "alpha", "plugin `alpha` does not match its lock entry"),
        ("unlocked_plugin", "gamma", "plugin `gamma` has no entry in plugins/PLUGINS.lock"),
    ]
    mismatch = report.findings[0]
    assert mismatch.path == "plugins/PLUGINS.lock" and mismatch.line == 2
    assert mismatch.expected == report.plugin("alpha").expected
    assert mismatch.actual == report.plugin("alpha").actual != mismatch.expected
    with pytest.raises(plugin_lock.IntegrityMismatch) as raised:
        report.raise_for_findings()
    assert isinstance(raised.value, plugin_lock.IntegrityError)
    assert raised.value.plugin == "alpha"


def test_a_missing_directory_and_an_unknown_id(app):
    import shutil
    shutil.rmtree(app.root / "plugins" / "beta")
    assert plugin_lock.verify(app.root).plugin("beta").status == "missing"
    with pytest.raises(plugin_lock.MissingPluginDirectory):
        plugin_lock.load_verified(app.root, "beta")
    with pytest.raises(plugin_lock.UnknownPlugin) as raised:
        plugin_lock.load_verified(app.root, "../../etc")
    assert isinstance(raised.value, LookupError)


def test_no_lock_or_a_broken_configuration_raises_config_error(app):
    os.remove(app.root / "plugins" / "PLUGINS.lock")
    with pytest.raises(plugin_lock.ConfigError, match="does not exist"):
        plugin_lock.verify(app.root)
    app.write("plugins/PLUGINS.lock", '{\n  "alpha": 12\n}\n')
    with pytest.raises(plugin_lock.ConfigError) as raised:
        plugin_lock.verify(app.root)
    assert (raised.value.path, raised.value.line) == ("plugins/PLUGINS.lock", 2)


def test_an_explicit_lock(app, tmp_path):
    other = tmp_path / "pinned.lock"
    other.write_text("{}\n")
    report = plugin_lock.verify(app.root, lock=other)
    assert [p.status for p in report.plugins] == ["unlocked", "unlocked"]


def test_load_verified_returns_the_bytes_that_were_hashed(app):
    plugin = plugin_lock.load_verified(app.root, "alpha")
    assert list(plugin.files) == ["helper.py", "main.py", "plugin.yaml"]
    app.write("plugins/alpha/helper.py", "def word():\n    return 'swapped'\n")
    assert plugin["helper.py"] == ALPHA["helper.py"].encode()


def test_a_file_swapped_after_the_import_changes_nothing_that_runs(app):
    main = plugin_lock.import_plugin(app.root, "alpha", "main", package="swap_test_alpha")
    # helper.py changes on disk after the check; main imported it from the verified bytes.
    app.write("plugins/alpha/helper.py", "def word():\n    return 'swapped'\n")
    assert main.greet() == "verified"
    assert main.__name__ == "swap_test_alpha.main"
    assert sys.modules["swap_test_alpha.helper"].word() == "verified"


def test_a_lazy_import_inside_the_plugin_still_reads_the_verified_bytes(tree):
    tree.plugin("lazy", {"run.py": "def later():\n    from . import late\n    return late.X\n",
                         "late.py": "X = 'verified'\n"}).lock()
    run = plugin_lock.import_plugin(tree.root, "lazy", "run", package="lazy_test")
    tree.write("plugins/lazy/late.py", "X = 'swapped'\n")
    assert run.later() == "verified"


def test_a_tampered_plugin_raises_before_any_of_its_code_runs(tree):
    witness = tree.root.parent / "witness"
    body = f"open({str(witness)!r}, 'w').write('ran')\n"
    tree.plugin("evil", {"main.py": "X = 1\n"}).lock()
    tree.write("plugins/evil/main.py", body)
    with pytest.raises(plugin_lock.IntegrityMismatch):
        plugin_lock.import_plugin(tree.root, "evil", "main", package="evil_test")
    assert not witness.exists()
    assert not [m for m in sys.modules if m.startswith("evil_test")]


def test_verify_all_then_import_all_never_imports_a_failing_plugin(tree):
    witness = tree.root.parent / "witness"
    tree.plugin("good", {"main.py": "OK = True\n"})
    tree.plugin("bad", {"main.py": f"open({str(witness)!r}, 'w').write('ran')\n"}).lock()
    tree.write("plugins/bad/extra.py", "")
    report = plugin_lock.verify(tree.root)
    loaded = {p.id: plugin_lock.import_plugin(tree.root, p.id, "main",
                                              package=f"host_test_{p.id}")
              for p in report.plugins if p.ok}
    assert list(loaded) == ["good"] and loaded["good"].OK
    assert not witness.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_link_out_of_the_plugin_is_refused_before_its_target_is_read(tree):
    tree.plugin("p", {"main.py": "X = 1\n"}).lock()
    fifo = tree.root / "fifo"
    os.mkfifo(fifo)  # reading it would block: the check must refuse the link first
    os.symlink("../../fifo", tree.root / "plugins" / "p" / "leak")
    result = {}

    def run():
        result["report"] = plugin_lock.verify(tree.root)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "verify blocked on the link's target"
    status = result["report"].plugin("p")
    assert (status.status, status.kind, status.path) == ("rejected", "symlink_escape",
                                                          "plugins/p/leak")
    with pytest.raises(plugin_lock.SymlinkEscape):
        plugin_lock.load_verified(tree.root, "p")


def test_a_package_plugin_and_a_hot_reload(tree):
    tree.plugin("pkg", {"__init__.py": "from .sub import deep\nNAME = deep.N\n",
                        "sub/__init__.py": "", "sub/deep.py": "N = 'one'\n"}).lock()
    pkg = plugin_lock.import_plugin(tree.root, "pkg", "", package="reload_test")
    assert pkg.NAME == "one"
    tree.plugin("pkg", {"__init__.py": "from .sub import deep\nNAME = deep.N\n",
                        "sub/__init__.py": "", "sub/deep.py": "N = 'two'\n"}).lock()
    again = plugin_lock.import_plugin(tree.root, "pkg", "", package="reload_test")
    assert again.NAME == "two" and again is not pkg


def test_the_types_ship_with_the_package():
    here = os.path.dirname(plugin_lock.__file__)
    assert os.path.isfile(os.path.join(here, "py.typed"))
    assert os.path.isfile(os.path.join(here, "_native.pyi"))

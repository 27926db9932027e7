"""Verify plugins against their lock before they run, and load exactly what was verified.

The checks are plugin-lock's own (the Rust library the ``plugin-lock`` command is built
on): the same digest (spec/DIGEST.md), the same finding kinds and messages. They read
the deployed files from disk; no ``.git`` is needed.

    report = plugin_lock.verify("/srv/app")           # every plugin, never raises on a finding
    plugin = plugin_lock.load_verified("/srv/app", "alpha")   # raises IntegrityError
    module = plugin_lock.import_plugin("/srv/app", "alpha", "main")

``load_verified`` reads each file of the plugin once, hashes those bytes, and returns
them only when the digest matches the lock; ``import_plugin`` executes modules from
those bytes, so a file changed on disk after the check never runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native

__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]

__all__ = [
    "ConfigError",
    "DanglingSymlink",
    "Error",
    "Finding",
    "IntegrityError",
    "IntegrityMismatch",
    "MissingPluginDirectory",
    "PluginRejected",
    "PluginStatus",
    "Report",
    "SymlinkEscape",
    "SymlinkLoop",
    "UnknownPlugin",
    "UnlockedPlugin",
    "UnsupportedEntry",
    "UnsupportedPath",
    "VerifiedPlugin",
    "import_plugin",
    "load_verified",
    "verify",
]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One finding, as ``plugin-lock verify --format json`` reports it."""

    kind: str
    severity: str
    plugin: Optional[str]
    path: str
    line: int
    message: str
    help: Optional[str] = None
    expected: Optional[str] = None
    actual: Optional[str] = None


@dataclass(frozen=True)
class PluginStatus:
    """One plugin's verdict: ``ok``, ``mismatch``, ``unlocked``, ``missing`` or ``rejected``.

    ``expected`` is the lock's digest, ``actual`` the one computed from disk; for a
    rejected plugin, ``kind`` (``symlink_escape``, ...), ``path`` and ``message`` say why.
    """

    id: str
    dir: str
    status: str
    expected: Optional[str] = None
    actual: Optional[str] = None
    kind: Optional[str] = None
    path: Optional[str] = None
    message: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Report:
    """Every plugin of the tree and every lock entry, and the findings."""

    lock_path: str
    plugins: Tuple[PluginStatus, ...]
    findings: Tuple[Finding, ...]
    ok: bool

    def plugin(self, plugin_id: str) -> PluginStatus:
        for p in self.plugins:
            if p.id == plugin_id:
                return p
        raise KeyError(plugin_id)

    def raise_for_findings(self) -> None:
        """Raises the first error finding as its :class:`IntegrityError` subclass."""
        for f in self.findings:
            if f.severity == "error":
                raise _integrity_error(f)


@dataclass(frozen=True)
class VerifiedPlugin:
    """A plugin's files as they were hashed, in the digest's record order."""

    id: str
    dir: str
    digest: str
    files: Mapping[str, bytes] = field(repr=False)

    def __getitem__(self, path: str) -> bytes:
        return self.files[path]

    def __contains__(self, path: object) -> bool:
        return path in self.files


# --------------------------------------------------------------------------- errors


class Error(Exception):
    """Anything that stopped plugin-lock from giving an answer."""


class ConfigError(Error):
    """The configuration or the lock cannot be read or parsed (``path:line:column``)."""

    def __init__(self, message: str, path: Optional[str] = None,
                 line: Optional[int] = None, column: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class UnknownPlugin(Error, LookupError):
    """The id names neither a plugin directory nor a lock entry."""

    def __init__(self, message: str, plugin: str) -> None:
        super().__init__(message)
        self.plugin = plugin


class IntegrityError(Error):
    """A plugin failed the check; nothing of it was returned or run."""

    kind = "integrity"

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding
        self.plugin = finding.plugin
        self.path = finding.path
        self.message = finding.message
        self.expected = finding.expected
        self.actual = finding.actual


class IntegrityMismatch(IntegrityError):
    kind = "integrity_mismatch"


class UnlockedPlugin(IntegrityError):
    kind = "unlocked_plugin"


class MissingPluginDirectory(IntegrityError):
    kind = "missing_plugin_directory"


class PluginRejected(IntegrityError):
    """The plugin has no digest: a link out of it, a loop, an entry no loader can hold."""

    kind = "rejected"


class SymlinkEscape(PluginRejected):
    kind = "symlink_escape"


class SymlinkLoop(PluginRejected):
    kind = "symlink_loop"


class DanglingSymlink(PluginRejected):
    kind = "dangling_symlink"


class UnsupportedEntry(PluginRejected):
    kind = "unsupported_entry"


class UnsupportedPath(PluginRejected):
    kind = "unsupported_path"


_BY_KIND = {c.kind: c for c in (IntegrityMismatch, UnlockedPlugin, MissingPluginDirectory,
                                SymlinkEscape, SymlinkLoop, DanglingSymlink,
                                UnsupportedEntry, UnsupportedPath)}


def _integrity_error(f: Finding) -> IntegrityError:
    return _BY_KIND.get(f.kind, IntegrityError)(f)


def _failure(d: dict) -> Error:
    kind = d.get("error")
    if kind == "integrity":
        return _integrity_error(Finding(**d["finding"]))
    if kind == "unknown_plugin":
        return UnknownPlugin(d["message"], d["plugin"])
    if kind == "config":
        return ConfigError(d["message"], d.get("path"), d.get("line"), d.get("column"))
    if kind == "io":
        return ConfigError(d["message"], d.get("path"))
    return Error(d["message"])


def _lock(lock: Optional[PathLike]) -> Optional[str]:
    return None if lock is None else os.fspath(lock)


# --------------------------------------------------------------------------- the API


def verify(root: PathLike, lock: Optional[PathLike] = None) -> Report:
    """Checks every plugin under ``root`` against the lock.

    ``lock`` is the lock file; by default the one ``.plugin-lock.yml`` names under
    ``root`` (``plugins/PLUGINS.lock``). Findings are in the report (``report.ok``,
    ``report.raise_for_findings()``); :class:`ConfigError` when there is no lock or it
    cannot be read.
    """
    ok, d = _native.verify(os.fspath(root), _lock(lock))
    if not ok:
        raise _failure(d)
    return Report(
        lock_path=d["lock_path"],
        plugins=tuple(PluginStatus(**p) for p in d["plugins"]),
        findings=tuple(Finding(**f) for f in d["findings"]),
        ok=d["ok"],
    )


def load_verified(root: PathLike, plugin_id: str,
                  lock: Optional[PathLike] = None) -> VerifiedPlugin:
    """Reads plugin ``plugin_id`` once and returns its files if they match the lock.

    Raises the :class:`IntegrityError` subclass of the finding (``IntegrityMismatch``,
    ``SymlinkEscape``, ...) otherwise; nothing of a failing plugin is returned.
    """
    ok, d = _native.load_verified(os.fspath(root), plugin_id, _lock(lock))
    if not ok:
        raise _failure(d)
    files: Dict[str, bytes] = dict(d["files"])
    return VerifiedPlugin(id=d["id"], dir=d["dir"], digest=d["digest"], files=files)


# --------------------------------------------------------------------------- imports


class _VerifiedLoader(importlib.abc.Loader):
    """Executes modules from a verified plugin's bytes; never reads the disk."""

    def __init__(self, plugin: VerifiedPlugin, origin_root: str) -> None:
        self.plugin = plugin
        self.origin_root = origin_root

    def _source_path(self, rel: str) -> str:
        return os.path.join(self.origin_root, *rel.split("/"))

    def create_module(self, spec):  # noqa: D401 - the default module
        return None

    def exec_module(self, module: ModuleType) -> None:
        rel = module.__spec__.loader_state
        if rel is None:  # a directory without __init__.py: an empty package
            return
        code = compile(self.plugin.files[rel], self._source_path(rel), "exec",
                       dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> Optional[str]:
        spec = _FINDER.spec_for(fullname)
        if spec is None or spec.loader_state is None:
            return None
        return self.plugin.files[spec.loader_state].decode("utf-8", "replace")


class _VerifiedFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of verified plugins, each under its own package name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._packages: Dict[str, _VerifiedLoader] = {}

    def add(self, package: str, loader: _VerifiedLoader) -> None:
        with self._lock:
            self._packages[package] = loader

    def spec_for(self, fullname: str):
        with self._lock:
            packages = list(self._packages.items())
        for package, loader in packages:
            if fullname != package and not fullname.startswith(package + "."):
                continue
            rel = fullname[len(package) + 1:].replace(".", "/") if fullname != package else ""
            files = loader.plugin.files
            init = f"{rel}/__init__.py" if rel else "__init__.py"
            if init in files:
                spec = importlib.machinery.ModuleSpec(fullname, loader, is_package=True,
                                                      origin=loader._source_path(init))
                spec.loader_state = init
                spec.submodule_search_locations = []
                spec.has_location = True
                return spec
            if rel and f"{rel}.py" in files:
                spec = importlib.machinery.ModuleSpec(fullname, loader,
                                                      origin=loader._source_path(f"{rel}.py"))
                spec.loader_state = f"{rel}.py"
                spec.has_location = True
                return spec
            prefix = f"{rel}/" if rel else ""
            if any(p.startswith(prefix) for p in files):
                # A directory of the plugin without __init__.py: a package with no code.
                spec = importlib.machinery.ModuleSpec(fullname, loader, is_package=True)
                spec.loader_state = None
                spec.submodule_search_locations = []
                return spec
            return None
        return None

    def find_spec(self, fullname, path=None, target=None):
        return self.spec_for(fullname)


_FINDER = _VerifiedFinder()
_INSTALL = threading.Lock()


def _package_name(plugin_id: str) -> str:
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in plugin_id)
    return f"plugin_lock_plugins.{safe}"


def import_plugin(root: PathLike, plugin_id: str, module: str,
                  lock: Optional[PathLike] = None, package: Optional[str] = None) -> ModuleType:
    """Verifies plugin ``plugin_id`` and imports ``module`` from the verified bytes.

    ``module`` is a dotted name relative to the plugin directory (``"main"`` is
    ``main.py`` or ``main/__init__.py``). The plugin is imported as the package
    ``package`` (default ``plugin_lock_plugins.<id>``), so relative imports inside it
    (``from . import util``) resolve to its own verified files and nothing on
    ``sys.path``. A plugin that fails the check raises before any of its code runs.
    """
    plugin = load_verified(root, plugin_id, lock)
    package = package or _package_name(plugin_id)
    loader = _VerifiedLoader(plugin, os.path.join(os.fspath(root), *plugin.dir.split("/")))
    with _INSTALL:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
        if package.startswith("plugin_lock_plugins.") and "plugin_lock_plugins" not in sys.modules:
            parent = ModuleType("plugin_lock_plugins")
            parent.__path__ = []  # type: ignore[attr-defined]
            sys.modules["plugin_lock_plugins"] = parent
        # A fresh verification replaces what an earlier one loaded (hot reload).
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        _FINDER.add(package, loader)
    importlib.invalidate_caches()
    return importlib.import_module(f"{package}.{module}" if module else package)

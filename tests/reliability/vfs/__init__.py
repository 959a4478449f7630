"""The fault/power-loss SQLite VFS of the reliability suites (``faultvfs.c`` beside this file).

Python's stdlib ``sqlite3`` links the system ``libsqlite3``; a VFS registered
through APSW (which bundles its own SQLite) would never see memoryd's
connections. So the VFS is a small C library linked against that same
``libsqlite3``, loaded with :mod:`ctypes`: :meth:`FaultVfs.register` calls
``sqlite3_vfs_register`` on the very library instance the ``sqlite3`` module
uses, and with ``default=True`` every connection opened afterwards (memoryd's
included, no URI needed) goes through it.

Build: :func:`build_library` compiles ``faultvfs.c`` with ``cc`` into a
folder (the session's pytest tmp dir), named by the source's SHA-256, so it
is compiled once per session and again only when the source changes.
No compiler: the caller skips with the reason (``make unit`` installs ``gcc``
and ``libsqlite3-dev``).

Configuration strings (see the C file's header): ``buffer=1`` (power loss:
writes reach the file only at its ``xSync``), ``writeback=P``, ``seed=N``,
``fail=sync|write|none``, ``after=N``, ``drop=1``, ``control=PATH``,
``log=PATH``. Child processes load it with :func:`load_in_child`.

This module imports nothing of memoryd or pytest at import time: the
worker scripts under ``_workers/`` import it too.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import shutil
import sqlite3
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SOURCE", "BuildError", "FaultVfs", "build_library", "compiler", "load_in_child"]

SOURCE = Path(__file__).resolve().parent / "faultvfs.c"


class BuildError(RuntimeError):
    """``faultvfs.c`` did not compile or link (the compiler's output is attached)."""


def compiler() -> str | None:
    """Path of the C compiler (``cc``, else ``gcc``), or ``None`` when there is none."""
    return shutil.which("cc") or shutil.which("gcc")


def build_library(out_dir: Path) -> Path:
    """Compile ``faultvfs.c`` into ``out_dir`` (cached by source hash); returns the ``.so`` path.

    Raises:
        BuildError: no compiler, or it failed (e.g. ``sqlite3.h`` missing:
            ``apt-get install libsqlite3-dev``).
    """
    cc = compiler()
    if cc is None:
        raise BuildError("no C compiler (cc/gcc) on PATH")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    target = out_dir / f"faultvfs-{digest}.so"
    if target.exists():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".so.tmp")
    cmd = [cc, "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o", str(tmp)]
    cmd += [str(SOURCE), "-lsqlite3", "-lpthread"]  # the libsqlite3 that _sqlite3 links
    include = sysconfig.get_config_var("INCLUDEDIR")
    if include:
        cmd.insert(1, f"-I{include}")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    tmp.replace(target)
    return target


class FaultVfs:
    """The loaded library.

    Args:
        library: path of the built ``.so`` (:func:`build_library`).
    """

    def __init__(self, library: Path) -> None:
        import _sqlite3  # noqa: F401  (libsqlite3 is loaded first: the VFS binds to it)

        self.library = library
        self._lib = ctypes.CDLL(str(library))
        self._lib.faultvfs_register.argtypes = [ctypes.c_char_p, ctypes.c_int]
        self._lib.faultvfs_register.restype = ctypes.c_int
        self._lib.faultvfs_configure.argtypes = [ctypes.c_char_p]
        self._lib.faultvfs_configure.restype = None
        self._lib.faultvfs_make_default.argtypes = [ctypes.c_int]
        self._lib.faultvfs_make_default.restype = ctypes.c_int
        self._lib.faultvfs_default_name.argtypes = []
        self._lib.faultvfs_default_name.restype = ctypes.c_char_p
        self._lib.faultvfs_stat.argtypes = [ctypes.c_char_p]
        self._lib.faultvfs_stat.restype = ctypes.c_longlong

    def register(self, config: str = "", *, default: bool = True) -> None:
        """Register ``faultvfs`` with ``config`` (the default VFS when ``default``).

        Raises:
            RuntimeError: SQLite refused, or the stdlib ``sqlite3`` module does
                not go through it afterwards (another libsqlite3 instance).
        """
        rc = self._lib.faultvfs_register(config.encode(), int(default))
        if rc != 0:
            raise RuntimeError(f"sqlite3_vfs_register failed with code {rc}")
        if default and self.default_name() != "faultvfs":
            raise RuntimeError("faultvfs is registered but is not the default VFS")

    def configure(self, config: str) -> None:
        """Change settings at run time, e.g. ``"fail=sync"`` or ``"fail=none"``."""
        self._lib.faultvfs_configure(config.encode())

    def make_default(self, on: bool) -> None:
        """Make ``faultvfs`` (``on``) or ``unix`` the default VFS for new connections."""
        rc = self._lib.faultvfs_make_default(int(on))
        if rc != 0:
            raise RuntimeError(f"sqlite3_vfs_register failed with code {rc}")

    @contextlib.contextmanager
    def as_default(self) -> Iterator[None]:
        """Connections opened inside the block go through ``faultvfs``; ``unix`` after it."""
        self.make_default(True)
        try:
            yield
        finally:
            self.make_default(False)

    def default_name(self) -> str:
        """The name of the current default VFS."""
        return str(self._lib.faultvfs_default_name().decode())

    def stat(self, name: str) -> int:
        """A counter: ``syncs``, ``wal_syncs``, ``faults``, ``buffered_writes``,
        ``early_writebacks``, ``dropped_chunks`` or ``dirty_chunks``."""
        value = int(self._lib.faultvfs_stat(name.encode()))
        if value < 0:
            raise KeyError(name)
        return value

    def check_bound(self, probe: Path) -> None:
        """Prove the stdlib ``sqlite3`` module goes through the VFS (write + sync a probe db).

        Raises:
            RuntimeError: a committed write to ``probe`` synced nothing through it.
        """
        before = self.stat("syncs")
        conn = sqlite3.connect(str(probe), isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE IF NOT EXISTS probe(x)")
            conn.execute("INSERT INTO probe VALUES (1)")
        finally:
            conn.close()
        if self.stat("syncs") <= before:
            raise RuntimeError("stdlib sqlite3 connections do not go through faultvfs")


def load_in_child(library: str, config: str) -> FaultVfs:
    """Load and register the VFS as the default in a worker process (before any connection)."""
    vfs = FaultVfs(Path(library))
    vfs.register(config, default=True)
    return vfs

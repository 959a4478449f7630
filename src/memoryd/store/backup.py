"""A consistent copy of the database file: valid or absent, never partial (RELIABILITY.md R4).

:func:`backup_database` runs ``VACUUM INTO`` (https://sqlite.org/lang_vacuum.html#vacuuminto)
to a temporary name beside the target, fsyncs it, renames it over the target
and fsyncs the directory. ``VACUUM INTO`` reads one snapshot (the last commit
when it starts) and does not block the store's writers; the copy is compacted
and its ``journal_mode`` is the rollback journal (``delete``), so the file
alone is the whole backup. A crash at any point leaves the previous file at
the target (or none) and at most the temporary file, which the next backup
to the same target removes first. Only the SQLite file is copied: the vector
index and the keyword index are rebuilt from it when a backup is opened.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from memoryd.errors import StorageError, StorageFull
from memoryd.paths import check_output_file, fsync_dir
from memoryd.store.connection import translate_sqlite_error

__all__ = ["backup_database", "temporary_name"]


def temporary_name(target: Path) -> Path:
    """Where :func:`backup_database` writes before the rename: ``<target>.tmp``."""
    return target.with_name(target.name + ".tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_database(source: Path, target: Path, *, busy_timeout_s: float) -> Path:
    """Copy the database ``source`` to ``target`` atomically; returns ``target``.

    Args:
        source: the store's database file.
        target: the backup file (replaced if it exists; its folder must exist).
        busy_timeout_s: how long to wait for a lock, in seconds.

    Raises:
        InvalidPath: ``target`` is a folder, a FIFO/device, a symlink, in a
            missing folder, or malformed (:func:`memoryd.paths.check_output_file`).
        StorageFull: the target's disk is full (no file is left at ``target``
            beyond the previous one).
        StorageError: any other failure (the message names the target).
    """
    target = check_output_file(target, purpose="backup").resolve()
    tmp = temporary_name(target)
    tmp.unlink(missing_ok=True)  # from a backup killed before its rename
    conn = sqlite3.connect(str(source), timeout=busy_timeout_s, isolation_level=None)
    try:
        conn.execute("VACUUM INTO ?", (str(tmp),))
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        error = translate_sqlite_error(exc, source)
        if isinstance(error, StorageFull):
            raise StorageFull(f"no space for the backup {target}", path=str(target)) from exc
        raise StorageError(f"backup to {target} failed: {exc}", path=str(target)) from exc
    finally:
        conn.close()
    try:
        _fsync(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)  # the rename itself must survive a power loss
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"backup to {target} failed: {exc}", path=str(target)) from exc
    return target

"""Which store a database file holds: its store id and the file itself.

The store id is a random UUID kept in ``meta.store_id`` (migration 7,
:mod:`memoryd.store.migrations`). :func:`read_store_id` reads it without
writing anything and without running migrations, so a CLI can ask "which
store is in my data dir?" while a daemon owns the file. A byte copy of the
database keeps the id, so :func:`file_id` also names the file (device and
inode, as ``os.path.samestat`` compares files): the same store seen through
another path (a symlink, a bind mount) has the same file id, a copy has not.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pydantic import BaseModel

from memoryd.store.connection import translate_sqlite_error
from memoryd.store.rows import meta_value

__all__ = ["StoreIdentity", "file_id", "local_identity", "read_store_id"]


class StoreIdentity(BaseModel):
    """Which store a daemon serves, or which store a data dir holds.

    ``store_id`` is the UUID in ``meta.store_id``; ``file_id`` is
    ``"<st_dev>:<st_ino>"`` of the database file (see :func:`file_id`). Two
    identities name the same store only when both are equal.
    """

    store_id: str
    file_id: str


def read_store_id(db_path: Path, *, busy_timeout_s: float) -> str | None:
    """The store id in ``db_path``, read through a read-only connection.

    Args:
        db_path: the database file (``Settings.db_path``).
        busy_timeout_s: longest wait for a lock held by another process
            (WAL recovery), in seconds.

    Returns:
        the id (lowercase UUID text), or ``None`` when there is no such file
        yet, it has no schema yet, or no migration 7 has run on it.

    Raises:
        StorageError: the file exists but SQLite cannot read it (not a
            database, unreadable).
    """
    if not db_path.is_file():
        return None
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, db_path) from exc
    try:
        store_id = meta_value(conn, "store_id")
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None  # a file still being created: no schema yet
        raise translate_sqlite_error(exc, db_path) from exc
    except sqlite3.Error as exc:
        raise translate_sqlite_error(exc, db_path) from exc
    finally:
        conn.close()
    return store_id


def file_id(path: Path) -> str | None:
    """``"<st_dev>:<st_ino>"`` of ``path`` (symlinks followed), or ``None`` if it does not exist."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{stat.st_dev}:{stat.st_ino}"


def local_identity(db_path: Path, *, busy_timeout_s: float) -> StoreIdentity | None:
    """The identity of the store in ``db_path`` (read-only), or ``None`` if it has none yet.

    Raises:
        StorageError: the file exists but SQLite cannot read it.
    """
    store_id = read_store_id(db_path, busy_timeout_s=busy_timeout_s)
    file = file_id(db_path)
    if store_id is None or file is None:
        return None
    return StoreIdentity(store_id=store_id, file_id=file)

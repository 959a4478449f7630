"""SQLite connections: one writer, one reader per thread, verified PRAGMAs.

* The writer connection is shared by all threads of a process behind a lock,
  and every write transaction starts with ``BEGIN IMMEDIATE`` so that a
  second process waits on ``busy_timeout`` instead of failing with
  "database is locked" (a deferred read-then-write transaction fails at once).
* Each reading thread gets its own connection with ``query_only=ON``.
* After opening, the effective PRAGMAs are read back; a mismatch (for example
  a filesystem that cannot do WAL) refuses to start (RELIABILITY.md R3).
* Every connection is a :class:`~memoryd.store.health.GuardedConnection`: a
  statement or fetch that meets a damaged page raises ``StoreCorrupted`` and
  trips the pool's :class:`~memoryd.store.health.StoreHealth` latch; from then
  on :meth:`ConnectionPool.write` refuses every write (RELIABILITY.md R7).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from memoryd.errors import ConfigError, StorageError, StorageFull
from memoryd.store.checksums import register_functions
from memoryd.store.health import GuardedConnection, StoreHealth, describe, is_corruption

__all__ = ["SQL_CHUNK", "ConnectionPool", "Pragmas", "translate_sqlite_error", "verify_pragmas"]

#: Most values bound into one ``IN (...)`` list: below SQLite's host-parameter
#: limit (999 before SQLite 3.32, https://sqlite.org/limits.html#max_variable_number).
SQL_CHUNK = 500

_SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


@dataclass(frozen=True)
class Pragmas:
    """The PRAGMAs memoryd requires on every connection.

    ``busy_timeout_ms`` is in milliseconds. ``synchronous`` is ``FULL``
    (durable on power loss) or ``NORMAL`` (durable on process kill only).
    """

    synchronous: str = "FULL"
    busy_timeout_ms: int = 10_000
    journal_mode: str = "wal"
    foreign_keys: bool = True

    def apply(self, conn: sqlite3.Connection) -> None:
        """Set the PRAGMAs on ``conn`` (journal mode first: it needs no open transaction)."""
        conn.execute(f"PRAGMA journal_mode={self.journal_mode}")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        conn.execute(f"PRAGMA foreign_keys={'ON' if self.foreign_keys else 'OFF'}")
        conn.execute("PRAGMA journal_size_limit=67108864")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-32768")
        conn.execute("PRAGMA mmap_size=268435456")


def verify_pragmas(conn: sqlite3.Connection, expected: Pragmas) -> dict[str, object]:
    """Read the effective PRAGMAs back and compare them with ``expected``.

    Returns:
        The effective values, e.g. ``{"journal_mode": "wal", "synchronous": "FULL", ...}``.

    Raises:
        ConfigError: any value differs (the store must not start).
    """
    effective: dict[str, object] = {
        "journal_mode": str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower(),
        "synchronous": _SYNC_NAMES.get(conn.execute("PRAGMA synchronous").fetchone()[0], "?"),
        "busy_timeout": int(conn.execute("PRAGMA busy_timeout").fetchone()[0]),
        "foreign_keys": bool(conn.execute("PRAGMA foreign_keys").fetchone()[0]),
    }
    wanted: dict[str, object] = {
        "journal_mode": expected.journal_mode.lower(),
        "synchronous": expected.synchronous.upper(),
        "busy_timeout": expected.busy_timeout_ms,
        "foreign_keys": expected.foreign_keys,
    }
    wrong = {k: (effective[k], wanted[k]) for k in wanted if effective[k] != wanted[k]}
    if wrong:
        detail = ", ".join(f"{k}={got!r} (wanted {want!r})" for k, (got, want) in wrong.items())
        raise ConfigError(f"SQLite refused the required settings: {detail}", **effective)
    return effective


def translate_sqlite_error(
    exc: sqlite3.Error, path: Path, health: StoreHealth | None = None
) -> Exception:
    """Map a sqlite3 error to the memoryd tree.

    A damaged file (:func:`~memoryd.store.health.is_corruption`) becomes
    ``StoreCorrupted`` (tripping ``health`` when given), a full disk
    ``StorageFull``, anything else ``StorageError``.
    """
    if is_corruption(exc):
        health = health or StoreHealth(path)
        return health.mark_corrupted("sqlite", describe(exc))
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and (
        "database or disk is full" in text or "disk i/o" in text and "full" in text
    ):
        return StorageFull("the store is full; free disk space", path=str(path))
    return StorageError(f"SQLite error: {exc}", path=str(path))


class ConnectionPool:
    """Owns the writer connection and the per-thread reader connections.

    Args:
        path: database file.
        pragmas: required settings, verified on the writer at open.
        health: the store's corruption latch (a new one if omitted).
        readonly: open every connection read-only (``mode=ro``): nothing,
            not even the checkpoint SQLite runs when the last connection
            closes, writes to the files. Used for a store found damaged
            before it was opened, and by ``memoryd storage verify``.

    Raises:
        ConfigError: SQLite refused the required settings.
        StoreCorrupted: the file is not a database or is damaged.
    """

    def __init__(
        self,
        path: Path,
        pragmas: Pragmas,
        *,
        health: StoreHealth | None = None,
        readonly: bool = False,
    ) -> None:
        self.path = path
        self.pragmas = pragmas
        self.health = health or StoreHealth(path)
        self.readonly = readonly
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.writer = self._connect(readonly=False)
        try:
            self.effective = verify_pragmas(self.writer, pragmas)
        except ConfigError:
            self.writer.close()
            raise

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        target = f"file:{quote(str(self.path))}?mode=ro" if self.readonly else str(self.path)
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            check_same_thread=False,
            timeout=self.pragmas.busy_timeout_ms / 1000,
            factory=GuardedConnection,
            uri=self.readonly,
        )
        conn.row_factory = sqlite3.Row
        register_functions(conn)
        try:
            self.pragmas.apply(conn)
            if readonly:
                conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            # e.g. "database is locked": switching a new file to WAL needs an
            # exclusive lock, which another process's open transaction blocks.
            conn.close()
            if readonly or is_corruption(exc):
                raise translate_sqlite_error(exc, self.path, self.health) from exc
            raise ConfigError(
                f"SQLite refused the required settings on {self.path}: {exc}",
                path=str(self.path),
            ) from exc
        conn.health = self.health
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (created on first use)."""
        if self._closed:
            raise StorageError("store is closed", path=str(self.path))
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on the writer, committed on exit.

        Rolls back and re-raises (translated) on any error.

        Raises:
            StoreCorrupted: the store was found damaged (nothing is written then).
        """
        if self._closed:
            raise StorageError("store is closed", path=str(self.path))
        if self.health.corrupted:
            raise self.health.error()
        with self._write_lock:
            conn = self.writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path, self.health) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate_sqlite_error(exc, self.path, self.health) from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def rolled_back(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the writer that is always rolled back.

        For checks that SQLite runs as a write statement but that change
        nothing (FTS5's ``integrity-check``); allowed on a damaged store.
        Other writes of this process wait for it.

        Raises:
            StorageError: the pool is read-only or closed, or the lock was not granted.
        """
        if self._closed or self.readonly:
            raise StorageError("no write transaction on a read-only store", path=str(self.path))
        with self._write_lock:
            conn = self.writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path, self.health) from exc
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self.writer.close()

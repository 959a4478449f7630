"""SQLite connections: one writer, one reader per thread, verified PRAGMAs.

* The writer connection is shared by all threads of a process behind a lock,
  and every write transaction starts with ``BEGIN IMMEDIATE`` so that a
  second process waits on ``busy_timeout`` instead of failing with
  "database is locked" (a deferred read-then-write transaction fails at once).
* Each reading thread gets its own connection with ``query_only=ON``.
* After opening, the effective PRAGMAs are read back; a mismatch (for example
  a filesystem that cannot do WAL) refuses to start (RELIABILITY.md R3).
* A full disk (RELIABILITY.md R5) is ``StorageFull``, told apart from other
  failures by :func:`memoryd.store.space.out_of_space`. A failed transaction
  (``COMMIT`` included) is rolled back, and the writer replaced if even the
  ``ROLLBACK`` fails, so the next write finds a usable connection and nothing
  half-written. While the :class:`~memoryd.store.space.SpaceReserve` is
  released, writes are refused before they start.
* Fail-stop (RELIABILITY.md R6): a write that meets a disk I/O error
  (:data:`FAIL_STOP_CODES`) turns the pool read-only for the life of the
  process: that write and every later one raise
  :class:`~memoryd.errors.StorageReadOnly` without touching the disk again,
  reads go on, and a restart recovers (SQLite's WAL recovery keeps every
  commit that reached the disk whole, or drops it whole). A full disk is
  told apart first and is not a fail-stop: it recovers without a restart.
* Every connection is a :class:`~memoryd.store.health.GuardedConnection`: a
  statement or fetch that meets a damaged page raises ``StoreCorrupted`` and
  trips the pool's :class:`~memoryd.store.health.StoreHealth` latch; from then
  on :meth:`ConnectionPool.write` refuses every write (RELIABILITY.md R7).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from memoryd.errors import (
    ConfigError,
    Conflict,
    IdConflict,
    StorageError,
    StorageFull,
    StorageReadOnly,
)
from memoryd.store.checksums import register_functions
from memoryd.store.health import GuardedConnection, StoreHealth, describe, is_corruption
from memoryd.store.space import SpaceReserve, out_of_space, storage_full

__all__ = [
    "FAIL_STOP_CODES",
    "SQL_CHUNK",
    "ConnectionPool",
    "Pragmas",
    "is_io_failure",
    "translate_sqlite_error",
    "verify_pragmas",
]

#: Most values bound into one ``IN (...)`` list: below SQLite's host-parameter
#: limit (999 before SQLite 3.32, https://sqlite.org/limits.html#max_variable_number).
SQL_CHUNK = 500

_SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

#: Extended SQLite result codes (https://sqlite.org/rescode.html) after which
#: what reached the disk is unknown: a failed ``write(2)``, ``fsync(2)`` (EIO,
#: or ENOSPC met at writeback), directory fsync, ``ftruncate(2)``, a failed
#: atomic commit, or a bare ``SQLITE_IOERR``. After a failed fsync the kernel
#: may have dropped the dirty pages and report the next fsync as a success
#: (PostgreSQL, "PANIC on fsync() failure", 2018), so the store stops writing.
#: ENOSPC on ``write(2)`` is ``SQLITE_FULL`` (:class:`StorageFull`, recovers
#: without a restart), and a failed ``-shm`` allocation (``SQLITE_IOERR_SHMSIZE``,
#: also a full disk) wrote nothing: neither is here.
FAIL_STOP_CODES = frozenset(
    {
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_IOERR_WRITE,
        sqlite3.SQLITE_IOERR_FSYNC,
        sqlite3.SQLITE_IOERR_DIR_FSYNC,
        sqlite3.SQLITE_IOERR_TRUNCATE,
        sqlite3.SQLITE_IOERR_COMMIT_ATOMIC,
    }
)
log = logging.getLogger("memoryd.store")


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
        # Deleted cells and freed pages are overwritten with zeros, so a deleted
        # text leaves no copy in the database file (store/erasure.py).
        conn.execute("PRAGMA secure_delete=ON")
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


def is_io_failure(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` carries one of the :data:`FAIL_STOP_CODES` (disk state unknown)."""
    return getattr(exc, "sqlite_errorcode", None) in FAIL_STOP_CODES


def translate_sqlite_error(
    exc: sqlite3.Error, path: Path, health: StoreHealth | None = None
) -> Exception:
    """Map a sqlite3 error to the memoryd tree.

    A damaged file (:func:`~memoryd.store.health.is_corruption`) becomes
    ``StoreCorrupted`` (tripping ``health`` when given).
    A constraint failure is the caller's conflict, never a server error: a
    UNIQUE/PRIMARY KEY failure on an ``id`` column is ``IdConflict``
    (``id_conflict``), any other ``Conflict`` (``conflict``), both 409 and
    without the file's path. The write path checks ids inside its
    transaction (``store/writes.py``), so this is a last line of defence.
    ``SQLITE_FULL``, and the I/O errors a full disk causes while the disk is
    full (:func:`~memoryd.store.space.out_of_space`), become ``StorageFull``
    (HTTP 507); another disk I/O error of :data:`FAIL_STOP_CODES` becomes
    ``StorageReadOnly`` (the pool latches it, see :class:`ConnectionPool`);
    anything else ``StorageError``.
    """
    if is_corruption(exc):
        health = health or StoreHealth(path)
        return health.mark_corrupted("sqlite", describe(exc))
    if isinstance(exc, sqlite3.IntegrityError):
        text = str(exc).lower()
        constraint = str(exc)  # e.g. "UNIQUE constraint failed: memories.namespace, memories.id"
        columns = constraint.partition(":")[2].replace(" ", "").split(",")
        if ("unique" in text or "primary key" in text) and any(c.endswith(".id") for c in columns):
            return IdConflict(f"the id is taken: {constraint}", constraint=constraint)
        return Conflict(
            f"the write conflicts with stored data: {constraint}", constraint=constraint
        )
    if out_of_space(exc, path):
        return storage_full(path)
    if is_io_failure(exc):
        name = str(getattr(exc, "sqlite_errorname", "SQLITE_IOERR"))
        return StorageReadOnly(
            f"the disk failed under the store ({name}): it is read-only now and what the "
            "failed write left on disk is unknown; check the disk, then restart memoryd",
            path=str(path),
            sqlite_error=name,
        )
    return StorageError(f"SQLite error: {exc}", path=str(path))


class ConnectionPool:
    """Owns the writer connection and the per-thread reader connections.

    Args:
        path: database file.
        pragmas: required settings, verified on the writer at open.
        reserve: the data dir's space reserve; while it is released, writes
            raise ``StorageFull`` before they begin.
        health: the store's corruption latch (a new one if omitted).
        read_only_file: open every connection read-only (``mode=ro``): nothing,
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
        reserve: SpaceReserve | None = None,
        health: StoreHealth | None = None,
        read_only_file: bool = False,
    ) -> None:
        self.path = path
        self.pragmas = pragmas
        self.reserve = reserve
        #: ``time.monotonic()`` of the first write refused for space since the
        #: last recovery (:meth:`SpaceUpkeep.upkeep` clears it), else ``None``.
        self.full_since: float | None = None
        self.health = health or StoreHealth(path)
        self.read_only_file = read_only_file
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.read_only: StorageReadOnly | None = None
        """The I/O failure that made this pool read-only (fail-stop), or ``None``."""
        self.writer = self._connect(readonly=False)
        try:
            self.effective = verify_pragmas(self.writer, pragmas)
        except ConfigError:
            self.writer.close()
            raise

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        target = f"file:{quote(str(self.path))}?mode=ro" if self.read_only_file else str(self.path)
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            check_same_thread=False,
            timeout=self.pragmas.busy_timeout_ms / 1000,
            factory=GuardedConnection,
            uri=self.read_only_file,
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
            if readonly or out_of_space(exc, self.path) or is_corruption(exc):
                # A full disk (the -shm file cannot grow) is not a refused setting.
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

    @property
    def write_lock(self) -> threading.RLock:
        """Hold it to use :attr:`writer` outside :meth:`write` (e.g. a WAL checkpoint)."""
        return self._write_lock

    def refuse_if_read_only(self) -> None:
        """Raise the latched :class:`StorageReadOnly` (a fresh copy) if the pool failed."""
        failed = self.read_only
        if failed is not None:
            raise StorageReadOnly(failed.message, **failed.details)

    def writer_failed(self, exc: sqlite3.Error) -> Exception:
        """Translate an error of the writer connection; an I/O failure latches read-only.

        Every use of :attr:`writer` outside :meth:`write` passes its errors
        through here, so no write path misses the fail-stop.
        """
        error = translate_sqlite_error(exc, self.path, self.health)
        if isinstance(error, StorageReadOnly) and self.read_only is None:
            self.read_only = error
            log.critical(
                "disk I/O error: the store is read-only until restart",
                extra={"code": error.code, "sqlite_error": error.details["sqlite_error"]},
            )
        return error

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on the writer, committed on exit.

        Rolls back and re-raises (translated) on any error.

        Raises:
            StorageFull: the disk is full (or the space reserve is released).
            StorageReadOnly: this write met a disk I/O error, or an earlier one
                did (then nothing is sent to SQLite at all).
            StoreCorrupted: the store was found damaged (nothing is written then).
            StorageError: any other SQLite failure.
        """
        if self._closed:
            raise StorageError("store is closed", path=str(self.path))
        if self.health.corrupted:
            raise self.health.error()
        with self._write_lock:
            self.refuse_if_read_only()
            try:
                if self.reserve is not None:
                    self.reserve.check_writable()
                yield from self._transaction(self.writer)
            except StorageFull:
                self._note_full()
                raise

    def _transaction(self, conn: sqlite3.Connection) -> Generator[sqlite3.Connection, None, None]:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.writer_failed(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            error = self.writer_failed(exc)
            self._rollback(conn, error)
            raise error from exc
        except BaseException as exc:
            self._rollback(conn, exc)
            raise

    def _rollback(self, conn: sqlite3.Connection, cause: BaseException) -> None:
        """Undo the open transaction; replace the writer if even that fails.

        SQLite may already have rolled back after ``SQLITE_FULL``/``SQLITE_IOERR``
        (https://sqlite.org/lang_transaction.html), hence the ``in_transaction``
        check. A failing rollback is noted on ``cause``; after a disk I/O
        error (fail-stop) the writer is left as it is, since nothing is written any more.
        """
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            cause.add_note(f"the rollback failed too: {exc}")
            self.writer_failed(exc)
            if self.read_only is None:
                log.warning("ROLLBACK failed (%s); reopening the writer connection", exc)
                conn.close()  # closing a connection rolls its transaction back
                self.writer = self._connect(readonly=False)

    def _note_full(self) -> None:
        if self.full_since is None:
            self.full_since = time.monotonic()
            log.warning(
                "the disk is full: writes are refused (507 storage_full) until space is freed; "
                "reads go on",
                extra={"path": str(self.path)},
            )

    @contextmanager
    def durable_point(self) -> Iterator[None]:
        """Every commit of this process so far survives a power loss inside the block.

        Under ``synchronous=FULL`` every commit already does: nothing to do.
        Under ``NORMAL`` a commit is durable only once the WAL is synced, so
        this holds off the process's writers, commits one ``meta`` row
        (``wal_synced_at``, unix seconds) with ``synchronous=FULL`` (which
        fsyncs the whole WAL, earlier commits included) and keeps writers out
        until the block ends. Used around vector-index checkpoints, which
        must never hold a commit that a power loss can take back (R2).
        Commits of other processes after the sync are not covered.

        Raises:
            StorageReadOnly: the sync met a disk I/O error (fail-stop).
        """
        if self.pragmas.synchronous.upper() == "FULL":
            yield
            return
        with self._write_lock:
            self.writer.execute("PRAGMA synchronous=FULL")
            try:
                with self.write() as conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('wal_synced_at', ?)",
                        (repr(time.time()),),
                    )
            finally:
                self.writer.execute(f"PRAGMA synchronous={self.pragmas.synchronous}")
            yield

    def checkpoint_wal(
        self, mode: Literal["PASSIVE", "RESTART", "TRUNCATE"] = "TRUNCATE", *, wait_ms: int = 0
    ) -> bool:
        """``PRAGMA wal_checkpoint(mode)`` on the writer (https://sqlite.org/pragma.html#pragma_wal_checkpoint).

        Args:
            mode: ``TRUNCATE`` also truncates the ``-wal`` file to 0 bytes.
            wait_ms: how long to wait for readers of other connections, in
                milliseconds (the writer's ``busy_timeout`` meanwhile; 0 = not at all).

        Returns:
            ``True`` when every frame was copied into the database (not blocked by a reader).

        Raises:
            StorageFull: the database file could not grow. StorageReadOnly: the
            store failed (fail-stop; nothing is written). StorageError otherwise.
        """
        with self._write_lock:
            self.refuse_if_read_only()
            conn = self.writer
            conn.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
            try:
                busy, frames, copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            except sqlite3.Error as exc:
                raise self.writer_failed(exc) from exc
            finally:
                conn.execute(f"PRAGMA busy_timeout={int(self.pragmas.busy_timeout_ms)}")
        return bool(busy == 0 and frames == copied)

    @contextmanager
    def rolled_back(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the writer that is always rolled back.

        For checks that SQLite runs as a write statement but that change
        nothing (FTS5's ``integrity-check``); allowed on a damaged store.
        Other writes of this process wait for it.

        Raises:
            StorageError: the pool is read-only or closed, or the lock was not granted.
        """
        if self._closed or self.read_only_file:
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
        """Close every connection (idempotent).

        The last connection to close checkpoints the WAL into the database
        (SQLite does it inside ``sqlite3_close``). After a fail-stop that is
        turned off where Python allows it (``Connection.setconfig``, 3.12+);
        elsewhere the checkpoint copies only frames committed before the
        failure and, like any checkpoint, leaves the WAL in place if it fails.
        """
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            connections = [*self._readers, self.writer]
            self._readers.clear()
        no_checkpoint = getattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None)
        with self._write_lock:
            for conn in connections:
                setconfig = getattr(conn, "setconfig", None)
                if self.read_only is not None and setconfig and no_checkpoint is not None:
                    setconfig(no_checkpoint, True)
                conn.close()

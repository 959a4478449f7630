"""The store's corruption latch, and connections that report what SQLite finds damaged.

SQLite reports a damaged file as ``SQLITE_CORRUPT`` ("database disk image is
malformed", FTS5's ``SQLITE_CORRUPT_VTAB`` too) or ``SQLITE_NOTADB`` ("file is
not a database"); a few damaged states come as other errors with their own
text (FTS5's "invalid fts5 file format", the schema format byte's
"unsupported file format", and Python's "Could not decode to UTF-8" for a text
value whose bytes were flipped). :func:`is_corruption` recognises them all.

Every connection of a :class:`~memoryd.store.connection.ConnectionPool` is a
:class:`GuardedConnection`: any statement, or any row fetched, that meets
such an error raises :class:`~memoryd.errors.StoreCorrupted` (503, with the
restore hint) instead of a raw ``sqlite3.DatabaseError`` (which the faces
render as a 500), and trips the store's :class:`StoreHealth` latch. Once
tripped, the latch stays tripped for the life of the process: writes are
refused, ``/readyz`` answers 503 ``storage_corrupted``, and reads that do not
touch the damage keep working.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from memoryd.errors import StoreCorrupted
from memoryd.reports import IntegrityReport, IntegrityStatus

__all__ = ["GuardedConnection", "GuardedCursor", "StoreHealth", "describe", "is_corruption"]

log = logging.getLogger("memoryd.store")

#: Primary result codes of a damaged file: SQLITE_CORRUPT (11; extended codes such
#: as SQLITE_CORRUPT_VTAB = 267 keep it in the low byte) and SQLITE_NOTADB (26).
#: https://www.sqlite.org/rescode.html
_CORRUPT_CODES = frozenset({11, 26})
#: Texts of damaged states reported with other codes (or by Python's sqlite3 module).
_CORRUPT_TEXTS = (
    "database disk image is malformed",
    "file is not a database",
    "malformed database schema",
    "invalid fts5 file format",
    "fts5: corruption",
    "unsupported file format",
    "could not decode to utf-8",
)
#: Python's decode error quotes the stored text; the message must not carry user data.
_QUOTED_TEXT = re.compile(r" with text .*$", re.DOTALL)


def is_corruption(exc: BaseException) -> bool:
    """Whether a sqlite3 error means the database file is damaged (see the module doc)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _CORRUPT_CODES:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _CORRUPT_TEXTS)


def describe(exc: BaseException) -> str:
    """A one-line description of a sqlite3 error, without any stored text it quotes."""
    return _QUOTED_TEXT.sub("", str(exc)).strip() or type(exc).__name__


def restore_hint(path: Path) -> str:
    """What to do about a damaged store at ``path`` (the sentence every error carries)."""
    return (
        f"memoryd refuses writes to {path} so that nothing is written over the damage. "
        f"Restore {path.name} from a backup, or import an earlier export "
        "(`memoryd import FILE`) into a fresh data dir; "
        "`memoryd storage verify` lists what is damaged."
    )


class StoreHealth:
    """The corruption latch of one store file, and its last verification.

    Args:
        path: the database file (named in every error).

    Thread-safe. :meth:`mark_corrupted` may be called from any thread (a
    request, the background check); the first call logs an error, later ones
    only add to :attr:`problems`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._source: str | None = None
        self._detail: str | None = None
        self._since: float | None = None
        self.last_report: IntegrityReport | None = None
        """The last verification (quick check at open, or a full check)."""
        self.checking = False
        """True while a check runs."""

    @property
    def corrupted(self) -> bool:
        """Whether damage was found (the latch is tripped)."""
        return self._source is not None

    def mark_corrupted(self, source: str, detail: str) -> StoreCorrupted:
        """Trip the latch; returns the error to raise.

        Args:
            source: what found it: ``sqlite`` (an error of any statement),
                ``checksum`` (a row read), ``wal_header``, ``quick_check``,
                ``integrity_check``, ``fts_integrity_check``, ``consistency``.
            detail: one line saying what is damaged (no stored content).
        """
        with self._lock:
            first = self._source is None
            if first:
                self._source, self._detail, self._since = source, detail, time.time()
        if first:
            log.error(
                "storage corrupted: %s; writes are refused from now on",
                detail,
                extra={"code": StoreCorrupted.code, "source": source, "db_path": str(self.path)},
            )
        return self._error(source, detail)

    def error(self) -> StoreCorrupted:
        """The error a refused write raises (the first damage found, with the restore hint)."""
        return self._error(self._source or "unknown", self._detail or "damage found earlier")

    def _error(self, source: str, detail: str) -> StoreCorrupted:
        return StoreCorrupted(
            f"the store is damaged ({detail}). {restore_hint(self.path)}",
            path=str(self.path),
            source=source,
            detail=detail,
        )

    def status(self) -> IntegrityStatus:
        """The latch and the last verification, for ``stats`` and health surfaces."""
        report = self.last_report
        if self.corrupted:
            state = "corrupted"
        elif self.checking:
            state = "checking"
        elif report is None:
            state = "unchecked"
        else:
            state = "ok"
        since = None if self._since is None else datetime.fromtimestamp(self._since, UTC)
        return IntegrityStatus(
            status=state,
            checked_at=None if report is None else report.checked_at,
            check=None if report is None else report.mode,
            source=self._source,
            detail=self._detail,
            corrupted_since=since,
        )


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose statements and fetches raise ``StoreCorrupted`` on a damaged file."""

    def _raise(self, exc: sqlite3.DatabaseError) -> NoReturn:
        health = getattr(self.connection, "health", None)
        if health is None or not is_corruption(exc):
            raise exc
        raise health.mark_corrupted("sqlite", describe(exc)) from exc

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            self._raise(exc)
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> GuardedCursor:
        try:
            super().executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            self._raise(exc)
        return self

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            self._raise(exc)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.DatabaseError as exc:
            self._raise(exc)

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            self._raise(exc)

    def __iter__(self) -> GuardedCursor:
        return self

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            self._raise(exc)


class GuardedConnection(sqlite3.Connection):
    """A connection whose cursors are :class:`GuardedCursor` (``sqlite3.connect(factory=...)``).

    :attr:`health` is set by the pool right after connecting; until then
    errors pass through unchanged.
    """

    health: StoreHealth | None = None

    def cursor(self, factory: Any = None) -> GuardedCursor:  # type: ignore[override]
        cursor: GuardedCursor = super().cursor(factory or GuardedCursor)
        return cursor

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> GuardedCursor:
        return self.cursor().executemany(sql, parameters)

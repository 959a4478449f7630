"""Verifying a store file: the ``-wal`` header, SQLite's checks, checksums, id sets.

Two depths (:class:`~memoryd.types.IntegrityReport` ``mode``):

* ``quick`` (at open): the ``-wal`` header (:func:`wal_header_damage`) and
  ``PRAGMA quick_check``, which walks every B-tree page (structure, cell
  order, free-space accounting) but does not compare indexes with tables;
* ``full`` (the periodic background check, ``memoryd storage verify``):
  also ``PRAGMA integrity_check`` (indexes against tables), FTS5's
  ``integrity-check`` command (the full-text index against its content and
  sizes), every checksum of ``store/checksums.py`` (row payloads, which no
  SQLite check can see into) and the id sets of ``memories``, ``memories_fts``,
  ``vectors`` and ``embedding_queue`` (every row has an FTS row and a vector
  or a queue entry, nothing else has a row).

The reads of one verification run in one read transaction, so a store being
written meanwhile is checked as one consistent snapshot. FTS5 runs its
``integrity-check`` as a write statement: it is given its own connection in a
write transaction that is always rolled back (:data:`FtsCheckConnection`).
"""

from __future__ import annotations

import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from memoryd.errors import BackendUnavailable, NotFound, StoreCorrupted
from memoryd.reports import IntegrityProblem, IntegrityReport
from memoryd.store.checksums import (
    CACHE_COLUMNS,
    FTS_COLUMNS,
    MEMORY_COLUMNS,
    VECTOR_COLUMNS,
    checksum,
    select_list,
)
from memoryd.store.health import describe

__all__ = [
    "MAX_PROBLEMS",
    "FtsCheckConnection",
    "Verification",
    "open_check_connection",
    "run_verification",
    "verify_path",
    "wal_header_damage",
]

#: Most problems kept in a report (a badly damaged file would list thousands).
MAX_PROBLEMS = 100
#: Rows read per checksum query (bounded memory on any store size).
_CHUNK = 2_000
#: WAL header (https://www.sqlite.org/fileformat2.html#the_write_ahead_log):
#: magic (0x377f0682 little-endian checksums, 0x377f0683 big-endian), format 3007000.
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_FORMAT = 3_007_000
_WAL_HEADER = struct.Struct(">8I")

#: Opens a connection for FTS5's ``integrity-check`` inside a write transaction
#: that is rolled back on exit.
FtsCheckConnection = Callable[[], AbstractContextManager[sqlite3.Connection]]


def _wal_checksum(data: bytes, big_endian: bool) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes), from fileformat2.html."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    s0 = s1 = 0
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _wal_problem(header: bytes) -> str | None:
    magic, version, page_size, _, _, _, ck0, ck1 = _WAL_HEADER.unpack(header)
    if magic not in _WAL_MAGIC:
        return f"bad magic number {magic:#010x}"
    if version != _WAL_FORMAT:
        return f"unknown format version {version}"
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return f"invalid page size {page_size}"
    if _wal_checksum(header[:24], big_endian=bool(magic & 1)) != (ck0, ck1):
        return "header checksum mismatch"
    return None


def wal_header_damage(db_path: Path) -> str | None:
    """What is wrong with the ``-wal`` file's 32-byte header, or ``None`` when it is sound.

    SQLite silently ignores a WAL whose header is damaged, losing every
    commit not yet copied into the database file, so this is checked before
    SQLite opens the store. A missing or shorter-than-header WAL (truncated
    after a checkpoint, or being created) is sound. A damaged header is read a
    second time to rule out a read racing another process that rewrites it.
    """
    wal = db_path.with_name(db_path.name + "-wal")
    for attempt in range(2):
        try:
            with wal.open("rb") as handle:
                header = handle.read(_WAL_HEADER.size)
        except FileNotFoundError:
            return None
        if len(header) < _WAL_HEADER.size:
            return None
        problem = _wal_problem(header)
        if problem is None:
            return None
        if attempt == 0:
            time.sleep(0.05)
    return f"the -wal header is damaged ({problem}); commits in it would be lost"


def open_check_connection(path: Path, *, busy_timeout_s: float) -> sqlite3.Connection:
    """A read-only (``mode=ro``) connection for verifying ``path``.

    Text whose UTF-8 bytes were damaged is decoded with ``surrogateescape``,
    so it reaches the checksum (and fails it) instead of aborting the scan.
    """
    from urllib.parse import quote

    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=ro",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        timeout=busy_timeout_s,
    )
    conn.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
    return conn


@dataclass
class Verification:
    """One verification of a store file; :meth:`run` returns the report.

    Args:
        path: the database file.
        conn: a read connection (:func:`open_check_connection`), used for every read.
        fts_connection: gives the connection FTS5's ``integrity-check`` runs on
            (``None``: that check is skipped, e.g. on a read-only store).
    """

    path: Path
    conn: sqlite3.Connection
    fts_connection: FtsCheckConnection | None = None
    problems: list[IntegrityProblem] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def problem(
        self, check: str, detail: str, *, table: str | None = None, rowid: int | None = None
    ) -> None:
        """Record one finding (at most :data:`MAX_PROBLEMS` are kept)."""
        self.checks[check] = "failed"
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                IntegrityProblem(check=check, detail=detail, table=table, rowid=rowid)
            )

    def _passed(self, check: str) -> None:
        self.checks.setdefault(check, "ok")

    def run(self, mode: str = "full") -> IntegrityReport:
        """Run the checks of ``mode`` (``quick`` or ``full``); never raises on damage.

        Raises:
            sqlite3.OperationalError: interrupted (``conn.interrupt()``) or the
                store is locked beyond the busy timeout.
        """
        started = time.perf_counter()
        damage = wal_header_damage(self.path)
        if damage is not None:
            self.problem("wal_header", damage, table="-wal")
        self._passed("wal_header")
        self.conn.execute("BEGIN")  # one snapshot for every read below
        try:
            self._pragma("quick_check" if mode == "quick" else "integrity_check")
            if mode == "full":
                self._checksums()
                self._consistency()
        finally:
            self.conn.execute("ROLLBACK")
        if mode == "full":
            self._fts_integrity()
        return IntegrityReport(
            ok=not self.problems,
            mode="quick" if mode == "quick" else "full",
            path=str(self.path),
            checked_at=datetime.now(UTC),
            duration_s=round(time.perf_counter() - started, 6),
            checks=self.checks,
            rows=self.rows,
            problems=self.problems,
        )

    # --- SQLite's own checks ------------------------------------------------
    def _pragma(self, name: str) -> None:
        try:
            lines = [str(r[0]) for r in self.conn.execute(f"PRAGMA {name}({MAX_PROBLEMS})")]
        except sqlite3.DatabaseError as exc:
            if _interrupted(exc):
                raise
            self.problem(name, describe(exc))
            return
        for line in lines:
            for part in line.splitlines():  # "*** in database main ***\n<finding>..."
                if part != "ok" and not part.startswith("***"):
                    self.problem(name, part)
        self._passed(name)

    def _fts_integrity(self) -> None:
        check = "fts_integrity_check"
        if self.fts_connection is None:
            self.checks[check] = "skipped"
            return
        try:
            with self.fts_connection() as conn:
                conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            if _interrupted(exc) or "locked" in str(exc):
                raise
            self.problem(check, describe(exc), table="memories_fts")
            return
        except StoreCorrupted as exc:  # met by a pool's guarded connection
            self.problem(check, str(exc.details.get("detail", exc)), table="memories_fts")
            return
        self._passed(check)

    # --- checksums ----------------------------------------------------------
    def _scan(self, select: str, key: tuple[str, ...], table: str) -> Iterator[tuple[object, ...]]:
        """Rows of ``select`` (its first ``len(key)`` columns are ``key``), in key order, chunked.

        Keyset pagination: each chunk is ``WHERE (key) > (last key) ORDER BY
        key LIMIT n``, so every chunk is one index range, whatever the size.
        A chunk SQLite cannot read is recorded as damage and ends the scan.
        """
        order = ", ".join(key)
        after = f"({order}) > ({', '.join('?' * len(key))})"
        last: tuple[object, ...] | None = None
        while True:
            where = "" if last is None else f" WHERE {after}"
            sql = f"{select}{where} ORDER BY {order} LIMIT ?"
            try:
                rows = self.conn.execute(sql, (*(last or ()), _CHUNK)).fetchall()
            except sqlite3.DatabaseError as exc:
                if _interrupted(exc):
                    raise
                self.problem("checksum", f"{table} after {last}: {describe(exc)}", table=table)
                return
            if not rows:
                return
            self.rows[table] = self.rows.get(table, 0) + len(rows)
            yield from rows
            last = tuple(rows[-1][: len(key)])

    def _checksums(self) -> None:
        n = len(MEMORY_COLUMNS)
        memories = f"SELECT rowid, {select_list(MEMORY_COLUMNS)}, checksum FROM memories"  # nosec B608 # our table and column names only
        for row in self._scan(memories, ("rowid",), "memories"):
            self._compare("memories", row[0], row[1 : n + 1], row[n + 1])
        vectors = f"SELECT {select_list(VECTOR_COLUMNS)}, checksum FROM vectors"  # nosec B608 # our table and column names only
        for row in self._scan(vectors, ("rowid",), "vectors"):
            self._compare("vectors", row[0], row[:2], row[2])
        # CROSS JOIN keeps memories as the outer loop (one FTS5 rowid lookup per row).
        fts = (
            f"SELECT m.rowid, {select_list(FTS_COLUMNS, 'f.')}, m.fts_checksum FROM memories m "  # nosec B608 # our table and column names only
            "CROSS JOIN memories_fts f ON f.rowid = m.rowid"
        )
        for row in self._scan(fts, ("m.rowid",), "memories_fts"):
            self._compare("memories_fts", row[0], row[1:4], row[4])
        cache = f"SELECT {select_list(CACHE_COLUMNS)}, checksum FROM embedding_cache"  # nosec B608 # our table and column names only
        for row in self._scan(cache, ("model", "text_hash"), "embedding_cache"):
            self._compare("embedding_cache", None, row[:3], row[3])
        self._passed("checksum")

    def _compare(
        self, table: str, rowid: object, values: tuple[object, ...], stored: object
    ) -> None:
        try:
            intact = stored is not None and checksum(*values) == stored
        except TypeError:  # a value of a type this column never holds
            intact = False
        if not intact:
            where = f"rowid {rowid}" if rowid is not None else f"text_hash {values[1]!r}"
            self.problem(
                "checksum",
                f"{table} {where} does not match its checksum",
                table=table,
                rowid=rowid if isinstance(rowid, int) else None,
            )

    # --- id sets ------------------------------------------------------------
    def _consistency(self) -> None:
        for detail, sql, table in _ID_SET_CHECKS:
            try:
                rowids = [int(r[0]) for r in self.conn.execute(sql, (MAX_PROBLEMS,))]
            except sqlite3.DatabaseError as exc:
                if _interrupted(exc):
                    raise
                self.problem("consistency", f"{detail}: {describe(exc)}", table=table)
                continue
            for rowid in rowids:
                self.problem("consistency", f"rowid {rowid}: {detail}", table=table, rowid=rowid)
        self._passed("consistency")


#: ``(what is wrong, query listing the rowids, table)``; each query takes a LIMIT.
_ID_SET_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "memories row without its full-text row",
        "SELECT m.rowid FROM memories m WHERE NOT EXISTS "
        "(SELECT 1 FROM memories_fts f WHERE f.rowid = m.rowid) LIMIT ?",
        "memories_fts",
    ),
    (
        "full-text row without its memories row",
        "SELECT f.rowid FROM memories_fts f WHERE NOT EXISTS "
        "(SELECT 1 FROM memories m WHERE m.rowid = f.rowid) LIMIT ?",
        "memories_fts",
    ),
    (
        "memories row with neither a vector nor a queued embedding",
        "SELECT m.rowid FROM memories m WHERE NOT EXISTS "
        "(SELECT 1 FROM vectors v WHERE v.rowid = m.rowid) AND NOT EXISTS "
        "(SELECT 1 FROM embedding_queue q WHERE q.rowid = m.rowid) LIMIT ?",
        "vectors",
    ),
    (
        "vector without its memories row",
        "SELECT v.rowid FROM vectors v WHERE NOT EXISTS "
        "(SELECT 1 FROM memories m WHERE m.rowid = v.rowid) LIMIT ?",
        "vectors",
    ),
    (
        "queued embedding without its memories row",
        "SELECT q.rowid FROM embedding_queue q WHERE NOT EXISTS "
        "(SELECT 1 FROM memories m WHERE m.rowid = q.rowid) LIMIT ?",
        "embedding_queue",
    ),
    (
        "row with both a vector and a queued embedding",
        "SELECT q.rowid FROM embedding_queue q JOIN vectors v ON v.rowid = q.rowid LIMIT ?",
        "embedding_queue",
    ),
)


def verify_path(path: Path, *, busy_timeout_s: float = 10.0) -> IntegrityReport:
    """Run the full check on the store file ``path`` without an engine (``storage verify``).

    Works whether or not a daemon serves the store, and changes nothing: the
    reads use a read-only connection that stays open until the end, so the
    short-lived connection FTS5's ``integrity-check`` needs (a write
    transaction, always rolled back; it waits up to ``busy_timeout_s``
    seconds for other writers) never is the last to close, and SQLite's
    checkpoint at close never runs. Like any reader it may leave SQLite's
    shared-memory index (``-shm``) and an empty ``-wal`` behind.

    Raises:
        NotFound: there is no store file at ``path``.
        BackendUnavailable: the store stayed locked beyond ``busy_timeout_s``.
    """
    if not path.is_file():
        raise NotFound(f"no store at {path}", path=str(path))
    conn = open_check_connection(path, busy_timeout_s=busy_timeout_s)

    @contextmanager
    def fts_connection() -> Iterator[sqlite3.Connection]:
        rw = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_s)
        try:
            rw.execute("BEGIN IMMEDIATE")
            yield rw
        finally:
            if rw.in_transaction:
                rw.execute("ROLLBACK")
            rw.close()  # before ``conn``: never the last connection

    try:
        return run_verification(Verification(path, conn, fts_connection), "full")
    finally:
        conn.close()


def run_verification(verification: Verification, mode: str) -> IntegrityReport:
    """:meth:`Verification.run`, with SQLite's busy and interrupt errors as memoryd errors.

    Raises:
        BackendUnavailable: the store stayed locked beyond the busy timeout,
            or the check was interrupted (the store is closing).
    """
    try:
        return verification.run(mode)
    except sqlite3.OperationalError as exc:
        raise BackendUnavailable(
            f"cannot verify {verification.path} now: {exc}", path=str(verification.path)
        ) from exc


def _interrupted(exc: BaseException) -> bool:
    return "interrupted" in str(exc).lower()

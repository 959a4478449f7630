"""Erasure: removing what deleted rows leave behind, and forgetting a subject.

A deleted row leaves copies beyond its own row: its vector in
``embedding_cache``, its text in the FTS ``context`` column of the next turn
of its conversation, its postings in older FTS5 segments, its float16 vector
in the vector-index checkpoint and its pages in the WAL. memoryd removes them
in two steps:

1. In the deleting transaction (:func:`purge_cache`, the ``contexts`` of
   :meth:`Writes.delete_rows`): cached vectors no other row uses, and the
   successors' FTS context. The writer runs with ``PRAGMA secure_delete=ON``,
   so SQLite overwrites deleted cells and freed pages with zeros
   (https://sqlite.org/pragma.html#pragma_secure_delete). The transaction
   also sets ``meta.erase_pending``.
2. The erasure pass (:meth:`Erasure.erase_traces`, run by ``forget`` at once
   and by the background worker within ``Settings.erase_interval_s`` of any
   delete): FTS5 ``optimize`` (merges every segment, dropping deleted
   postings; https://sqlite.org/fts5.html#the_optimize_command), a vector-index
   checkpoint whose free slots are scrubbed
   (:meth:`~memoryd.store.vector_index.VectorIndex.scrub`) and
   ``PRAGMA wal_checkpoint(TRUNCATE)``, which empties the WAL file.

:func:`scope_memory_rows` and :func:`delete_memory_rows` (with the learning
store's ``EpisodeStore.forget``) delete everything of a subject (a namespace,
a user, an agent) inside one write transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from memoryd.reports import ForgetScope
from memoryd.store.checksums import fts_checksum
from memoryd.store.connection import SQL_CHUNK, ConnectionPool
from memoryd.store.rows import meta_value

__all__ = [
    "DeletedRows",
    "Erasure",
    "delete_memory_rows",
    "delete_where_in",
    "mark_erase_pending",
    "purge_cache",
    "scope_memory_rows",
]

_ERASE_PENDING = "erase_pending"
#: How long the WAL truncation waits for readers of other connections, in milliseconds.
_WAL_WAIT_MS = 2_000


@dataclass
class DeletedRows:
    """What :func:`delete_memory_rows` removed: rows by kind, cache and queue entries."""

    by_kind: Counter[str] = field(default_factory=Counter)
    embedding_cache: int = 0
    embedding_queue: int = 0

    @property
    def rows(self) -> int:
        """Entries removed."""
        return sum(self.by_kind.values())


def _chunks(values: Sequence[object]) -> Iterable[list[object]]:
    for start in range(0, len(values), SQL_CHUNK):
        yield list(values[start : start + SQL_CHUNK])


def delete_where_in(
    conn: sqlite3.Connection, table: str, column: str, values: Sequence[str]
) -> int:
    """``DELETE FROM table WHERE column IN values`` in chunks; returns rows deleted.

    ``table`` and ``column`` are our own identifiers, never caller input.
    """
    removed = 0
    for chunk in _chunks(values):
        marks = ",".join("?" * len(chunk))
        removed += conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk).rowcount  # nosec B608 # our identifiers and '?' marks; values bound
    return removed


def mark_erase_pending(conn: sqlite3.Connection) -> None:
    """Record (in the caller's transaction) that deleted data awaits the erasure pass."""
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_ERASE_PENDING, repr(time.time())))


def purge_cache(conn: sqlite3.Connection, model: str, text_hashes: Iterable[str]) -> int:
    """Delete ``model``'s cached vectors of these text hashes that no entry uses; returns how many.

    Runs inside the caller's write transaction, after the rows are deleted.
    The cache holds the current model's vectors only (a model change clears
    it, ``SQLiteStore._record_model``). It is only a cache: a text saved
    again later is embedded again.
    """
    hashes = sorted(set(text_hashes))
    removed = 0
    for chunk in _chunks(hashes):
        marks = ",".join("?" * len(chunk))
        cur = conn.execute(
            f"DELETE FROM embedding_cache WHERE model = ? AND text_hash IN ({marks}) "  # nosec B608 # our identifiers and '?' marks; values bound
            "AND NOT EXISTS "
            "(SELECT 1 FROM memories m WHERE m.text_hash = embedding_cache.text_hash)",
            [model, *chunk],
        )
        removed += cur.rowcount
    return removed


def delete_memory_rows(
    conn: sqlite3.Connection,
    model: str,
    rowids: Sequence[int],
    contexts: dict[int, str] | None = None,
) -> DeletedRows:
    """Hard-delete ``memories`` rows and everything that only they used, in ``conn``'s transaction.

    Removes the rows, their FTS rows, vectors and queue entries, logs an
    index ``delete`` per row, makes entries they superseded current again,
    purges ``model``'s cached vectors no other row uses and rewrites the FTS ``context``
    of the rows in ``contexts`` (rowid → new context text, already prepared
    with :func:`~memoryd.store.fts.index_text`), logging them for the keyword
    index. Sets ``meta.erase_pending``.
    """
    out = DeletedRows()
    hashes: list[str] = []
    superseding: dict[str, list[str]] = {}
    for chunk in _chunks(rowids):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT rowid, id, namespace, kind, text_hash FROM memories WHERE rowid IN ({marks})",  # nosec B608 # our identifiers and '?' marks; values bound
            chunk,
        ).fetchall()
        conn.executemany(
            "INSERT INTO index_log(rowid, namespace, op) VALUES (?,?,'delete')",
            [(row["rowid"], row["namespace"]) for row in rows],
        )
        for row in rows:
            superseding.setdefault(str(row["namespace"]), []).append(str(row["id"]))
            out.by_kind[str(row["kind"])] += 1
            hashes.append(str(row["text_hash"]))
        queued = f"DELETE FROM embedding_queue WHERE rowid IN ({marks})"  # nosec B608 # '?' marks
        out.embedding_queue += conn.execute(queued, chunk).rowcount
        for table in ("memories_fts", "vectors", "memories"):
            conn.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", chunk)  # nosec B608 # our identifiers and '?' marks; values bound
    for namespace, ids in superseding.items():  # what they superseded is current again
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            conn.execute(
                "UPDATE memories SET superseded_by = NULL "  # nosec B608 # our identifiers and '?' marks; values bound
                f"WHERE namespace = ? AND superseded_by IN ({marks})",
                [namespace, *chunk],
            )
    for rowid, context in (contexts or {}).items():
        row = conn.execute("SELECT body, ns FROM memories_fts WHERE rowid = ?", (rowid,)).fetchone()
        if row is None:
            continue  # deleted meanwhile, or in this very call
        conn.execute("UPDATE memories_fts SET context = ? WHERE rowid = ?", (context, rowid))
        conn.execute(  # the row's FTS checksum follows (store/checksums.py)
            "UPDATE memories SET fts_checksum = ? WHERE rowid = ?",
            (fts_checksum(str(row["body"]), context, str(row["ns"])), rowid),
        )
        conn.execute("INSERT INTO keyword_log(rowid) VALUES (?)", (rowid,))
    out.embedding_cache = purge_cache(conn, model, hashes)
    if out.rows:
        mark_erase_pending(conn)
    return out


def scope_memory_rows(conn: sqlite3.Connection, scope: ForgetScope) -> list[sqlite3.Row]:
    """Every ``memories`` row of ``scope`` (expired ones too): rowid, id, namespace, kind,
    session_id, created_at, in insertion order."""
    clauses: list[str] = []
    params: list[str] = []
    for column in ("namespace", "user_id", "agent_id"):
        value = getattr(scope, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows: list[sqlite3.Row] = conn.execute(
        "SELECT rowid, id, namespace, kind, session_id, created_at FROM memories "  # nosec B608 # our identifiers and '?' marks; values bound
        f"WHERE {' AND '.join(clauses)} ORDER BY rowid",
        params,
    ).fetchall()
    return rows


class Erasure:
    """The erasure pass over one store (see the module docstring).

    Args:
        pool: the store's connections; the pass runs on the writer.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def pending(self) -> bool:
        """True when a delete committed since the last completed erasure pass (any process)."""
        return meta_value(self.pool.reader(), _ERASE_PENDING) is not None

    def optimize_fts(self) -> None:
        """Merge every FTS5 segment into one, dropping the postings of deleted rows."""
        with self.pool.write() as conn:
            conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('optimize')")

    def truncate_wal(self) -> bool:
        """``PRAGMA wal_checkpoint(TRUNCATE)`` on the writer; True if the WAL is empty.

        False when a reader (of any process) kept the checkpoint from
        finishing within 2 s; the next pass tries again.
        """
        return self.pool.checkpoint_wal("TRUNCATE", wait_ms=_WAL_WAIT_MS)

    def finish(self, since: float) -> None:
        """Clear ``meta.erase_pending`` unless a delete committed after ``since`` (unix s)."""
        with self.pool.write() as conn:
            value = meta_value(conn, _ERASE_PENDING)
            if value is not None and float(value) <= since:
                conn.execute("DELETE FROM meta WHERE key = ?", (_ERASE_PENDING,))

"""Keeping the in-memory BM25 index in step with ``memories_fts``, in every process.

Triggers on ``memories`` (migration 4) append the rowid of every inserted,
deleted or re-written row to ``keyword_log`` in the writing transaction, so
a change committed by any process (the daemon, a CLI, an in-process
fallback engine) is in the log. Before each keyword search,
:meth:`KeywordUpkeepMixin.sync_keywords` compares the log's newest ``seq``
with the index's (one indexed ``MAX`` lookup when nothing changed) and
re-reads the FTS rows of the logged rowids: present rows are (re)indexed,
missing ones dropped. Replaying is idempotent, so a row read newer than the
``seq`` it was logged under does no harm.

The index is built in a background thread at start-up
(:meth:`KeywordUpkeepMixin.start_keyword_index`); until it is ready, and for
a process that fell behind a log compaction until it is rebuilt, keyword
search uses FTS5's own ranking (same BM25 formula, slower).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator

from memoryd.store.connection import ConnectionPool
from memoryd.store.keyword_index import KeywordIndex, TextRow
from memoryd.types import KeywordBackend

__all__ = ["KEYWORD_LOG_KEEP", "KeywordUpkeepMixin"]

log = logging.getLogger("memoryd.store")

#: ``keyword_log`` entries kept at compaction for other processes to replay.
KEYWORD_LOG_KEEP = 20_000
_CHUNK = 500
_BUILD_BATCH = 10_000
_NEWEST = "SELECT COALESCE(MAX(seq), 0) FROM keyword_log"
_ROWS = "SELECT rowid, body, context, ns FROM memories_fts"


class KeywordUpkeepMixin:
    """Build, catch-up and log compaction of :class:`KeywordIndex` for the SQLite store."""

    pool: ConnectionPool
    keywords: KeywordIndex | None
    _keyword_sync: threading.Lock
    _keyword_thread: threading.Thread | None
    _keyword_wanted: bool

    def _init_keywords(self) -> None:
        self.keywords = None
        self._keyword_sync = threading.Lock()
        self._keyword_thread = None
        self._keyword_wanted = False

    def start_keyword_index(self, *, background: bool = True) -> None:
        """Build the in-memory BM25 index (in a daemon thread unless ``background`` is false).

        Keyword searches use FTS5 until the build finishes. Safe to call again
        (a no-op while a build runs or once built).
        """
        self._keyword_wanted = True
        if self.keywords is not None or (
            self._keyword_thread is not None and self._keyword_thread.is_alive()
        ):
            return
        if not background:
            self._build_keywords()
            return
        self._keyword_thread = threading.Thread(
            target=self._build_keywords, name="memoryd-keyword-index", daemon=True
        )
        self._keyword_thread.start()

    @property
    def keyword_backend(self) -> KeywordBackend:
        """Which ranks keyword searches now: ``"memory"`` (the in-memory BM25 index),
        ``"building"`` (FTS5 while the in-memory index is built) or ``"fts5"``."""
        if self.keywords is not None:
            return "memory"
        thread = self._keyword_thread
        return "building" if thread is not None and thread.is_alive() else "fts5"

    def wait_keyword_index(self, timeout: float | None = None) -> bool:
        """Wait for a background build; returns whether the index is ready."""
        thread = self._keyword_thread
        if thread is not None:
            thread.join(timeout)
        return self.keywords is not None

    def _build_keywords(self) -> None:
        try:
            conn = self.pool.reader()
            # The seq first, then the rows: rows newer than seq are replayed again (idempotent).
            seq = int(conn.execute(_NEWEST).fetchone()[0])
            compacted = int(self._meta_value(conn, "keyword_log_compacted") or 0)
            index = KeywordIndex.build(self._row_batches(conn), max(seq, compacted))
            if not self._keyword_wanted:
                return  # the store is closing
            with self._keyword_sync:
                if not self._keyword_wanted:
                    return
                self.keywords = index
            self.sync_keywords()
        except Exception:  # a failed build leaves FTS5 in charge; searches stay correct
            log.exception("building the in-memory keyword index failed; using FTS5")

    def _row_batches(self, conn: sqlite3.Connection) -> Iterator[list[TextRow]]:
        cursor = conn.execute(_ROWS)
        while self._keyword_wanted:
            rows = cursor.fetchmany(_BUILD_BATCH)
            if not rows:
                return
            yield [TextRow(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3])) for r in rows]

    @staticmethod
    def _meta_value(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def sync_keywords(self) -> KeywordIndex | None:
        """Replay ``keyword_log`` into the index; returns it, or ``None`` if not usable.

        ``None`` means: not built (yet), or this process fell behind a log
        compaction (a rebuild is started in the background).
        """
        if self.keywords is None:
            return None
        with self._keyword_sync:
            index = self.keywords
            if index is None:
                return None
            conn = self.pool.reader()
            newest = int(conn.execute(_NEWEST).fetchone()[0])
            if newest <= index.applied_seq:
                return index
            compacted = int(self._meta_value(conn, "keyword_log_compacted") or 0)
            if index.applied_seq < compacted:
                self.keywords = None
                if self._keyword_wanted:
                    self._keyword_thread = None
                    self.start_keyword_index()
                return None
            changed = sorted(
                {
                    int(r[0])
                    for r in conn.execute(
                        "SELECT rowid FROM keyword_log WHERE seq > ? AND seq <= ?",
                        (index.applied_seq, newest),
                    )
                }
            )
            upserts: list[TextRow] = []
            for start in range(0, len(changed), _CHUNK):
                chunk = changed[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                upserts.extend(
                    TextRow(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]))
                    for r in conn.execute(
                        f"{_ROWS} WHERE rowid IN ({marks})",
                        chunk,
                    )
                )
            present = {row.rowid for row in upserts}
            index.apply(upserts, [r for r in changed if r not in present], newest)
            return index

    def compact_keyword_log(self, conn: sqlite3.Connection) -> None:
        """Drop all but the newest :data:`KEYWORD_LOG_KEEP` log entries (in a write transaction)."""
        newest = int(conn.execute(_NEWEST).fetchone()[0])
        upto = newest - KEYWORD_LOG_KEEP
        compacted = int(self._meta_value(conn, "keyword_log_compacted") or 0)
        if upto > compacted:
            conn.execute("DELETE FROM keyword_log WHERE seq <= ?", (upto,))
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('keyword_log_compacted', ?)", (str(upto),)
            )

    def stop_keyword_index(self) -> None:
        """Wait for a running build (before the connections close)."""
        self._keyword_wanted = False
        thread = self._keyword_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

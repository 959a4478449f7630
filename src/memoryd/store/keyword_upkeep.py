"""The store's in-memory BM25 index (``store.keywords``), in step with ``memories_fts``.

Triggers on ``memories`` (migration 4) append the rowid of every inserted,
deleted or re-written row to ``keyword_log`` in the writing transaction, so
a change committed by any process (the daemon, a CLI, an in-process
fallback engine) is in the log. Before each keyword search,
:meth:`KeywordUpkeep.sync` compares the log's newest ``seq``
with the index's (one indexed ``MAX`` lookup when nothing changed) and
re-reads the FTS rows of the logged rowids: present rows are (re)indexed,
missing ones dropped. Replaying is idempotent, so a row read newer than the
``seq`` it was logged under does no harm.

The index is built in a background thread at start-up
(:meth:`KeywordUpkeep.start`); until it is ready, and for
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
from memoryd.store.rows import meta_value
from memoryd.types import KeywordBackend

__all__ = ["KEYWORD_LOG_KEEP", "KeywordUpkeep"]

log = logging.getLogger("memoryd.store")

#: ``keyword_log`` entries kept at compaction for other processes to replay.
KEYWORD_LOG_KEEP = 20_000
_CHUNK = 500
_BUILD_BATCH = 10_000
_NEWEST = "SELECT COALESCE(MAX(seq), 0) FROM keyword_log"
_ROWS = "SELECT rowid, body, context, ns FROM memories_fts"


class KeywordUpkeep:
    """Build (in its own thread), catch-up and log compaction of a store's :class:`KeywordIndex`.

    Args:
        pool: the store's connections.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.index: KeywordIndex | None = None
        """The in-memory index once built (``None``: keyword searches use FTS5)."""
        self._sync = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wanted = False

    def start(self, *, background: bool = True) -> None:
        """Build the in-memory BM25 index (in a daemon thread unless ``background`` is false).

        Keyword searches use FTS5 until the build finishes. Safe to call again
        (a no-op while a build runs or once built).
        """
        self._wanted = True
        if self.index is not None or (self._thread is not None and self._thread.is_alive()):
            return
        if not background:
            self._build()
            return
        self._thread = threading.Thread(
            target=self._build, name="memoryd-keyword-index", daemon=True
        )
        self._thread.start()

    @property
    def backend(self) -> KeywordBackend:
        """Which ranks keyword searches now: ``"memory"`` (the in-memory BM25 index),
        ``"building"`` (FTS5 while the in-memory index is built) or ``"fts5"``."""
        if self.index is not None:
            return "memory"
        thread = self._thread
        return "building" if thread is not None and thread.is_alive() else "fts5"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background build; returns whether the index is ready."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.index is not None

    def _build(self) -> None:
        try:
            conn = self.pool.reader()
            # The seq first, then the rows: rows newer than seq are replayed again (idempotent).
            seq = int(conn.execute(_NEWEST).fetchone()[0])
            compacted = int(meta_value(conn, "keyword_log_compacted") or 0)
            index = KeywordIndex.build(self._row_batches(conn), max(seq, compacted))
            if not self._wanted:
                return  # the store is closing
            with self._sync:
                if not self._wanted:
                    return
                self.index = index
            self.sync()
        except Exception:  # a failed build leaves FTS5 in charge; searches stay correct
            log.exception("building the in-memory keyword index failed; using FTS5")

    def _row_batches(self, conn: sqlite3.Connection) -> Iterator[list[TextRow]]:
        cursor = conn.execute(_ROWS)
        while self._wanted:
            rows = cursor.fetchmany(_BUILD_BATCH)
            if not rows:
                return
            yield [TextRow(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3])) for r in rows]

    def sync(self) -> KeywordIndex | None:
        """Replay ``keyword_log`` into the index; returns it, or ``None`` if not usable.

        ``None`` means: not built (yet), or this process fell behind a log
        compaction (a rebuild is started in the background).
        """
        if self.index is None:
            return None
        with self._sync:
            index = self.index
            if index is None:
                return None
            conn = self.pool.reader()
            newest = int(conn.execute(_NEWEST).fetchone()[0])
            if newest <= index.applied_seq:
                return index
            compacted = int(meta_value(conn, "keyword_log_compacted") or 0)
            if index.applied_seq < compacted:
                self.index = None
                if self._wanted:
                    self._thread = None
                    self.start()
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

    def compact_log(self, conn: sqlite3.Connection) -> None:
        """Drop all but the newest :data:`KEYWORD_LOG_KEEP` log entries (in a write transaction)."""
        newest = int(conn.execute(_NEWEST).fetchone()[0])
        upto = newest - KEYWORD_LOG_KEEP
        compacted = int(meta_value(conn, "keyword_log_compacted") or 0)
        if upto > compacted:
            conn.execute("DELETE FROM keyword_log WHERE seq <= ?", (upto,))
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('keyword_log_compacted', ?)", (str(upto),)
            )

    def stop(self) -> None:
        """Wait for a running build (before the connections close)."""
        self._wanted = False
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

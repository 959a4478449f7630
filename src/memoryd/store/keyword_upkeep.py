"""The store's in-memory BM25 index (``store.keywords``), in step with ``memories_fts``.

Triggers on ``memories`` (migration 4) append the rowid of every inserted,
deleted or re-written row to ``keyword_log`` in the writing transaction, so
a change committed by any process (the daemon, a CLI, an in-process
fallback engine) is in the log. :meth:`KeywordUpkeep.sync` compares the
log's newest ``seq`` with the index's (one indexed ``MAX`` lookup when
nothing changed) and re-reads the FTS rows of the logged rowids: present
rows are (re)indexed, missing ones dropped. Replaying is idempotent, so a
row read newer than the ``seq`` it was logged under does no harm.

The index is built in a background thread at start-up
(:meth:`KeywordUpkeep.start`); until it is ready, and for a process that
fell behind a log compaction until it is rebuilt, keyword search uses
FTS5's own ranking (same BM25 formula, slower). Once built, the same thread
*follows* the log: every committed write of this process wakes it
(:meth:`KeywordUpkeep.written`) and it replays the new entries
:data:`FOLLOW_CHUNK` at a time, so index upkeep stays out of the search
path (and it rests for :data:`FOLLOW_PAUSE_S` after a search began, so the
two do not share the GIL). A search (:meth:`KeywordUpkeep.current`) takes the index as it is and
the rowids logged since (the *tail*, at most :data:`TAIL_MAX` entries),
which the caller ranks through FTS5: an acknowledged write is found by the
next search even before the follower has indexed it. Without a follower (a
foreground build) a search replays the log itself, as before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from memoryd.store.connection import ConnectionPool
from memoryd.store.keyword_index import KeywordIndex, TextRow
from memoryd.store.rows import meta_value
from memoryd.types import KeywordBackend

__all__ = [
    "FOLLOW_CHUNK",
    "FOLLOW_DELAY_S",
    "FOLLOW_PAUSE_S",
    "KEYWORD_LOG_KEEP",
    "TAIL_MAX",
    "KeywordUpkeep",
    "KeywordView",
]

log = logging.getLogger("memoryd.store")

#: ``keyword_log`` entries kept at compaction for other processes to replay.
KEYWORD_LOG_KEEP = 20_000
#: ``keyword_log`` entries the follower replays per hold of the index lock: a
#: search waits for at most one such chunk (a few ms of long turns).
FOLLOW_CHUNK = 16
#: Seconds the follower waits after a write woke it, so that the writes of a
#: burst or of concurrent writers are replayed together (its cost per replay,
#: a few SQL statements, is then shared); searches meanwhile rank them as tail.
FOLLOW_DELAY_S = 0.01
#: Seconds the follower rests after a search began before its next chunk: its
#: Python work would otherwise slow the search down (both need the GIL). It
#: rests at most this long per chunk, so searches in a row cannot stop it.
FOLLOW_PAUSE_S = 0.03
#: Log entries behind the index beyond which a search ranks with FTS5 alone
#: (the tail's FTS5 ranking grows with its size; FTS5's whole ranking does not).
TAIL_MAX = 2_000
_CHUNK = 500
_BUILD_BATCH = 10_000
_NEWEST = "SELECT COALESCE(MAX(seq), 0) FROM keyword_log"
_ROWS = "SELECT rowid, body, context, ns FROM memories_fts"


@dataclass(frozen=True)
class KeywordView:
    """What a keyword search ranks with: the index and the rowids logged since it was applied.

    ``tail`` (sorted, distinct rowids) lists every row written, re-written or
    deleted after ``index.applied_seq``: the index's hits of those rowids are
    stale, and their current rows must be ranked from ``memories_fts``.
    """

    index: KeywordIndex
    tail: list[int]


class KeywordUpkeep:
    """Build and follow (in its own thread), catch-up and log compaction of a :class:`KeywordIndex`.

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
        self._following = False
        self._wake = threading.Event()
        self._settled = threading.Event()
        self._settled.set()
        self._searched = 0.0  # time.monotonic() of the last search's :meth:`current`

    def start(self, *, background: bool = True) -> None:
        """Build the in-memory BM25 index (in a daemon thread unless ``background`` is false).

        Keyword searches use FTS5 until the build finishes. In the background
        the thread then follows ``keyword_log`` (module docstring) until
        :meth:`stop`. Safe to call again (a no-op while a build runs or once built).
        """
        self._wanted = True
        if self.index is not None or (self._thread is not None and self._thread.is_alive()):
            return
        self._settled.clear()
        if not background:
            self._build()
            return
        self._thread = threading.Thread(target=self._run, name="memoryd-keyword-index", daemon=True)
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
        """Wait for a running build (or rebuild); returns whether the index is ready."""
        self._settled.wait(timeout)
        return self.index is not None

    def written(self) -> None:
        """After a committed write of this process: wake the follower (a no-op without one)."""
        if self._following:
            self._wake.set()

    def _run(self) -> None:
        """The build thread: build, then follow the log until :meth:`stop`, rebuilding if behind."""
        self._build()
        if self.index is None:
            return  # the build failed or the store is closing: searches use FTS5
        self._following = True
        self._wake.set()  # a write committed before the follower started
        try:
            while self._wanted:
                self._wake.wait()
                time.sleep(FOLLOW_DELAY_S)
                self._wake.clear()
                while self._wanted:
                    if self.index is None:  # fell behind a compaction (:meth:`current`)
                        self._build()
                        if self.index is None:
                            return
                    rest = self._searched + FOLLOW_PAUSE_S - time.monotonic()
                    if rest > 0:
                        time.sleep(min(rest, FOLLOW_PAUSE_S))
                    left = self._replay(FOLLOW_CHUNK)
                    if left == 0:
                        break
        except Exception as exc:  # searches replay the log themselves again
            log.error("following keyword_log failed; searches catch the index up", exc_info=exc)
        finally:
            self._following = False

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
        finally:
            self._settled.set()

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
        if self.index is None or self._replay(None) is None:
            return None
        return self.index

    def current(self) -> KeywordView | None:
        """The index and its tail for one search, without replaying; ``None``: rank with FTS5.

        Without a follower this replays the log first (:meth:`sync`; the tail
        is empty). ``None`` when the index is not built, fell behind a log
        compaction (the follower rebuilds it) or is more than
        :data:`TAIL_MAX` entries behind.
        """
        if not self._following:
            index = self.sync()
            return None if index is None else KeywordView(index, [])
        self._searched = time.monotonic()
        index = self.index
        if index is None:
            return None
        applied = index.applied_seq  # before the log: a row applied meanwhile is in both
        conn = self.pool.reader()
        newest = int(conn.execute(_NEWEST).fetchone()[0])
        if newest <= applied:
            return KeywordView(index, [])
        self._wake.set()  # a write of another process: the follower catches up too
        if applied < int(meta_value(conn, "keyword_log_compacted") or 0):
            self._drop(index)
            return None
        if newest - applied > TAIL_MAX:
            return None
        tail = conn.execute(
            "SELECT DISTINCT rowid FROM keyword_log WHERE seq > ? AND seq <= ? ORDER BY rowid",
            (applied, newest),
        ).fetchall()
        return KeywordView(index, [int(r[0]) for r in tail])

    def _drop(self, index: KeywordIndex) -> None:
        """Give up ``index`` (behind a compaction): the follower rebuilds, FTS5 ranks meanwhile."""
        with self._sync:
            if self.index is index:
                self.index = None
                self._settled.clear()
                self._wake.set()

    def _replay(self, limit: int | None) -> int | None:
        """Replay up to ``limit`` log entries (all with ``None``); entries still behind after.

        ``None``: the index fell behind a log compaction and was dropped
        (rebuilt by the follower, or by a new build thread without one).
        """
        with self._sync:
            index = self.index
            if index is None:
                return 0
            conn = self.pool.reader()
            newest = int(conn.execute(_NEWEST).fetchone()[0])
            if newest <= index.applied_seq:
                return 0
            compacted = int(meta_value(conn, "keyword_log_compacted") or 0)
            if index.applied_seq < compacted:
                self.index = None
                self._settled.clear()
                if self._following:
                    self._wake.set()
                elif self._wanted:
                    self._thread = None
                    self.start()
                return None
            logged = conn.execute(
                "SELECT seq, rowid FROM keyword_log WHERE seq > ? AND seq <= ? "
                "ORDER BY seq LIMIT ?",
                (index.applied_seq, newest, -1 if limit is None else limit),
            ).fetchall()
            upto = newest if limit is None or len(logged) < limit else int(logged[-1][0])
            changed = sorted({int(r[1]) for r in logged})
            upserts: list[TextRow] = []
            for start in range(0, len(changed), _CHUNK):
                chunk = changed[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                upserts.extend(
                    TextRow(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]))
                    for r in conn.execute(
                        f"{_ROWS} WHERE rowid IN ({marks})",  # nosec B608 # '?' marks; values bound
                        chunk,
                    )
                )
            present = {row.rowid for row in upserts}
            index.apply(upserts, [r for r in changed if r not in present], upto)
            return newest - upto

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
        """Stop the follower and wait for a running build (before the connections close)."""
        self._wanted = False
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

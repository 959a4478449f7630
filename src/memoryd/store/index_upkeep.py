"""Keeping the in-memory HNSW index in step with the ``vectors`` table.

``index_log`` orders every vector upsert/delete; :meth:`IndexUpkeepMixin.sync_index`
replays what the index has not applied yet, :meth:`open_index` loads the last
checkpoint (or rebuilds from the table), and :meth:`checkpoint_index` saves
the index and compacts the log, keeping the newest :data:`INDEX_LOG_KEEP`
operations so other processes sharing the store can still replay them.

A long-lived store (the daemon) stages the tail it replays at open instead
of inserting it into the HNSW graphs before it can serve (a few ms per vector
at 100k): :meth:`IndexUpkeepMixin.start_index_drain` inserts it afterwards in
a background thread, :data:`DRAIN_CHUNK` vectors per hold of the index lock
(``store/index_pending.py``).
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from memoryd.store.connection import ConnectionPool
from memoryd.store.rows import decode_vector
from memoryd.store.vector_index import IndexOp, VectorIndex

__all__ = ["DRAIN_CHUNK", "INDEX_LOG_KEEP", "IndexUpkeepMixin"]

log = logging.getLogger("memoryd.store")

#: Checkpointed ``index_log`` operations kept for other processes to replay.
INDEX_LOG_KEEP = 20_000
#: Staged vectors inserted per hold of the index lock by the drain thread: at a
#: few ms per HNSW insert at 100k vectors, a search waits for at most tens of ms.
DRAIN_CHUNK = 16


class IndexUpkeepMixin:
    """Index replay, rebuild, load and checkpoint for :class:`~memoryd.store.sqlite.SQLiteStore`."""

    pool: ConnectionPool
    index: VectorIndex
    index_ready: bool
    index_replayed: int
    long_lived: bool
    _drain_thread: threading.Thread | None = None
    _drain_stop: threading.Event | None = None

    def meta(self, key: str) -> str | None:
        """A value of the ``meta`` table."""
        row = self.pool.reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- index upkeep -------------------------------------------------------
    def sync_index(self, *, stage: bool = False) -> int:
        """Replay ``index_log`` entries newer than the index; returns how many.

        With ``stage`` upserts are staged (:meth:`VectorIndex.stage`): searched
        exactly at once, inserted into the graphs by :meth:`start_index_drain`.
        """
        conn = self.pool.reader()
        applied = self.index.applied_seq
        compacted = int(self.meta("index_log_compacted") or 0)
        if applied < compacted and (
            not self.index.load_checkpoint() or self.index.applied_seq < compacted
        ):
            self.rebuild_index()
            return 0
        rows = conn.execute(
            "SELECT l.seq, l.rowid, l.namespace, l.op, v.vector FROM index_log l "
            "LEFT JOIN vectors v ON v.rowid = l.rowid AND l.op = 'upsert' "
            "WHERE l.seq > ? ORDER BY l.seq",
            (self.index.applied_seq,),
        ).fetchall()
        ops = [
            IndexOp(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                decode_vector(r[4]) if r[3] == "upsert" and r[4] is not None else None,
            )
            for r in rows
        ]
        return self.index.stage(ops) if stage else self.index.apply(ops)

    def rebuild_index(self) -> int:
        """Rebuild every namespace index from the ``vectors`` table; returns vectors loaded."""
        conn = self.pool.reader()
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_log").fetchone()[0]
        compacted = int(self.meta("index_log_compacted") or 0)
        self.index.reset(max(int(seq), compacted))
        total = 0
        namespaces = [r[0] for r in conn.execute("SELECT DISTINCT namespace FROM memories")]
        for namespace in namespaces:
            rows = conn.execute(
                "SELECT v.rowid, v.vector FROM vectors v JOIN memories m ON m.rowid = v.rowid "
                "WHERE m.namespace = ?",
                (namespace,),
            ).fetchall()
            if not rows:
                continue
            keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
            self.index.bulk_load(namespace, keys, matrix.astype(np.float32))
            total += len(rows)
        return total

    def open_index(self) -> str:
        """Make the vector index ready: load the checkpoint and replay, or rebuild.

        A checkpoint that is missing, for another model or dimension, or
        damaged (:meth:`VectorIndex.load_checkpoint`) is rebuilt from the
        table; :attr:`index_replayed` counts the ``index_log`` operations
        replayed on top (the tail since the checkpoint). A long-lived store
        stages that tail's upserts (:meth:`sync_index`) rather than waiting
        for their HNSW inserts: call :meth:`start_index_drain` once started.

        Returns:
            ``"checkpoint"`` or ``"rebuilt"``.
        """
        how = "checkpoint" if self.index.load_checkpoint() else "rebuilt"
        if how == "rebuilt":
            self.rebuild_index()
        self.index_replayed = self.sync_index(stage=self.long_lived)
        self.index_ready = True
        return how

    def start_index_drain(self) -> None:
        """Insert the staged tail (:meth:`open_index`) into the graphs in a daemon thread.

        A no-op when nothing is staged or a drain runs; :meth:`stop_index_drain`
        stops it (a checkpoint inserts what is left before it saves).
        """
        if self.index.staged == 0 or (
            self._drain_thread is not None and self._drain_thread.is_alive()
        ):
            return
        self._drain_stop = threading.Event()
        self._drain_thread = threading.Thread(
            target=self._drain, args=(self._drain_stop,), name="memoryd-index-drain", daemon=True
        )
        self._drain_thread.start()

    def _drain(self, stop: threading.Event) -> None:
        started = time.monotonic()
        total = left = self.index.staged
        try:
            while left > 0 and not stop.is_set():
                left = self.index.drain(DRAIN_CHUNK)
        except Exception as exc:  # what stays staged is still searched; the checkpoint retries
            log.error("inserting the replayed tail into the vector index failed", exc_info=exc)
            return
        if left == 0:
            log.info(
                "replayed tail inserted into the vector index",
                extra={"vectors": total, "took_s": round(time.monotonic() - started, 3)},
            )

    def stop_index_drain(self) -> None:
        """Stop a running drain and wait for it (before a close checkpoints the index)."""
        if self._drain_stop is not None:
            self._drain_stop.set()
        thread = self._drain_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def checkpoint_index(self) -> int:
        """Save the vector index and compact ``index_log`` behind the saved point.

        The newest :data:`INDEX_LOG_KEEP` operations stay in the log even when
        checkpointed, so another process sharing the store catches up by
        replaying them instead of reloading every index file.
        """
        self.sync_index()
        seq = self.index.checkpoint()
        with self.pool.write() as conn:
            newest = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_log").fetchone()[0])
            upto = min(seq, newest - INDEX_LOG_KEEP)
            compacted = int(self.meta("index_log_compacted") or 0)
            if upto > compacted:
                conn.execute("DELETE FROM index_log WHERE seq <= ?", (upto,))
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('index_log_compacted', ?)", (str(upto),)
                )
        return seq

"""The store's vector index (``store.vectors``): in step with the ``vectors`` table.

``index_log`` orders every vector upsert/delete; :meth:`VectorUpkeep.sync`
replays what the index has not applied yet, :meth:`VectorUpkeep.open` loads
the last checkpoint (or rebuilds from the table), and
:meth:`VectorUpkeep.checkpoint` saves the index and compacts the log, keeping
the newest :data:`INDEX_LOG_KEEP` operations so other processes sharing the
store can still replay them.

A long-lived store (the daemon) stages the tail it replays at open instead
of inserting it into the HNSW graphs before it can serve (a few ms per vector
at 100k): :meth:`VectorUpkeep.start_drain` inserts it afterwards in a
background thread, :data:`DRAIN_CHUNK` vectors per hold of the index lock
(``store/index_pending.py``).
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from memoryd.errors import StorageError, StorageFull
from memoryd.store.connection import ConnectionPool
from memoryd.store.index_pending import IndexOp
from memoryd.store.keyword_upkeep import KeywordUpkeep
from memoryd.store.rows import decode_vector, meta_value
from memoryd.store.space import NEARLY_FULL_BYTES, free_bytes, storage_full
from memoryd.store.vector_index import VectorIndex

__all__ = ["DRAIN_CHUNK", "INDEX_LOG_KEEP", "VectorUpkeep"]

log = logging.getLogger("memoryd.store")

#: Checkpointed ``index_log`` operations kept for other processes to replay.
INDEX_LOG_KEEP = 20_000
#: Staged vectors inserted per hold of the index lock by the drain thread: at a
#: few ms per HNSW insert at 100k vectors, a search waits for at most tens of ms.
DRAIN_CHUNK = 16


class VectorUpkeep:
    """Replay, rebuild, load, drain and checkpoint of a store's :class:`VectorIndex`.

    Args:
        pool: the store's connections.
        index: the in-memory index (:attr:`index`).
        keywords: the keyword index; its ``keyword_log`` is compacted with each checkpoint,
            and its follower is woken by each write (:meth:`written`).
        long_lived: a daemon or long-lived engine: it stages the tail replayed at
            open and saves an index it rebuilt at open (see :meth:`open`).
    """

    def __init__(
        self, pool: ConnectionPool, index: VectorIndex, keywords: KeywordUpkeep, *, long_lived: bool
    ) -> None:
        self.pool = pool
        self.index = index
        self._keywords = keywords
        self.long_lived = long_lived
        self.ready = False
        """:meth:`open` made the index ready."""
        self.replayed = 0
        """``index_log`` operations replayed on top of the checkpoint at open."""
        self.unsaved = False
        """The index holds what no checkpoint on disk holds (a rebuild or a replayed
        tail at open, or a save at open that failed): the workers and the store's
        ``close`` save it even if this process never writes."""
        self.wrote = False
        """True once this process has written (:meth:`written`): only writers checkpoint."""
        self._drain_thread: threading.Thread | None = None
        self._drain_stop: threading.Event | None = None

    def written(self) -> None:
        """After a committed write: note that this process wrote, replay ``index_log``
        and wake the keyword index's follower (:meth:`KeywordUpkeep.written`)."""
        self.wrote = True
        self._keywords.written()
        self.sync()

    def sync(self, *, stage: bool = False) -> int:
        """Replay ``index_log`` entries newer than the index; returns how many.

        With ``stage`` upserts are staged (:meth:`VectorIndex.stage`): searched
        exactly at once, inserted into the graphs by :meth:`start_drain`.
        """
        conn = self.pool.reader()
        applied = self.index.applied_seq
        compacted = int(meta_value(conn, "index_log_compacted") or 0)
        if applied < compacted and (
            not self.index.load_checkpoint() or self.index.applied_seq < compacted
        ):
            self.rebuild()
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

    def rebuild(self) -> int:
        """Rebuild every namespace index from the ``vectors`` table; returns vectors loaded."""
        conn = self.pool.reader()
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_log").fetchone()[0]
        compacted = int(meta_value(conn, "index_log_compacted") or 0)
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

    def open(self) -> str:
        """Make the index ready: load the checkpoint and replay, or rebuild.

        A checkpoint that is missing, for another model or dimension, or
        damaged (:meth:`VectorIndex.load_checkpoint`) is rebuilt from the
        table; :attr:`replayed` counts the ``index_log`` operations replayed
        on top (the tail since the checkpoint). A long-lived store stages that
        tail's upserts (:meth:`sync`) rather than waiting for their HNSW
        inserts: call :meth:`start_drain` once started.

        A checkpoint ahead of the database is refused: under
        ``synchronous=NORMAL`` a commit is durable only once the WAL is synced,
        so a power loss can take back commits that a checkpoint already saved
        (RELIABILITY.md R2). Such a checkpoint's ``applied_seq`` is above the
        highest ``index_log`` seq the database ever handed out
        (``sqlite_sequence``, which survives compaction), and it would keep the
        vectors of lost rows and skip the new operations that reuse those seqs.
        It is rebuilt from ``vectors`` and saved at once: left on disk, it would
        pass this check again as soon as new writes pushed the seq past it.

        Returns:
            ``"checkpoint"`` or ``"rebuilt"``.
        """
        how = "checkpoint" if self.index.load_checkpoint() else "rebuilt"
        if how == "rebuilt":
            self.rebuild()
        self.replayed = self.sync(stage=self.long_lived)
        self.ready = True
        row = (
            self.pool.reader()
            .execute("SELECT seq FROM sqlite_sequence WHERE name = 'index_log'")
            .fetchone()
        )
        high_water = int(row[0]) if row is not None else 0
        ahead = how == "checkpoint" and self.index.applied_seq > high_water
        if ahead:
            log.warning(
                "vector-index checkpoint is ahead of the database (seq %d > %d): rebuilding",
                self.index.applied_seq,
                high_water,
            )
            self.index.distrust_saved()
            self.rebuild()
            self.sync()
            how = "rebuilt"
        pool = self.pool
        if pool.read_only is not None or pool.health.corrupted or pool.read_only_file:
            return how  # a failed or damaged store writes nothing
        if ahead or self.index.damage is not None:
            self._save_at_open()  # any process: left on disk, it is wrong for everyone
        elif self.long_lived and how == "rebuilt" and self.index.size() > 0:
            self._save_at_open()  # the next start loads it instead of rebuilding
        elif self.long_lived and self.replayed:
            self.unsaved = True  # a tail after a crash: the checkpoint worker saves it
        return how

    def _save_at_open(self) -> None:
        """Checkpoint an index rebuilt at open; on a full or read-only disk, warn and go on.

        The store serves either way: the index in memory is complete, only the
        next start will rebuild again. :attr:`unsaved` stays set then, so the
        checkpoint worker retries at its interval.
        """
        self.unsaved = True
        try:
            self.checkpoint()
        except (StorageFull, StorageError) as exc:  # StorageReadOnly included
            log.warning(
                "cannot save the rebuilt vector index (%s); serving, the worker retries",
                exc.message,
                extra={"code": exc.code},
            )

    def start_drain(self) -> None:
        """Insert the staged tail (:meth:`open`) into the graphs in a daemon thread.

        A no-op when nothing is staged or a drain runs; :meth:`stop_drain`
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

    def stop_drain(self) -> None:
        """Stop a running drain and wait for it (before a close checkpoints the index)."""
        if self._drain_stop is not None:
            self._drain_stop.set()
        thread = self._drain_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def checkpoint(self) -> int:
        """Save the index, compact ``index_log`` and ``keyword_log``; returns the saved seq.

        The newest :data:`INDEX_LOG_KEEP` operations stay in the log even when
        checkpointed, so another process sharing the store catches up by
        replaying them instead of reloading every index file. Under
        ``synchronous=NORMAL`` the WAL is synced first and this process's
        writers wait until the index is saved
        (:meth:`ConnectionPool.durable_point`), so the checkpoint never holds
        a commit that a power loss takes back (R2).

        Raises:
            StorageFull: the disk is full (the index files or the log could not be written).
            StorageReadOnly: the store failed (fail-stop): nothing is written.
            StorageError: the index files could not be written for another reason.
        """
        self.pool.refuse_if_read_only()
        directory = self.index.directory
        try:
            with self.pool.durable_point():
                seq = self._save_and_compact()
        except (OSError, RuntimeError) as exc:  # usearch: "Failed to serialize into stream"
            if free_bytes(directory) < NEARLY_FULL_BYTES:
                raise storage_full(directory, "the vector index checkpoint") from exc
            raise StorageError(f"cannot save the vector index checkpoint: {exc}") from exc
        with self.pool.write() as conn:
            self._keywords.compact_log(conn)
        if not self.index.dirty:
            self.unsaved = False
        return seq

    def _save_and_compact(self) -> int:
        self.sync()
        seq = self.index.checkpoint()
        with self.pool.write() as conn:
            newest = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM index_log").fetchone()[0])
            upto = min(seq, newest - INDEX_LOG_KEEP)
            compacted = int(meta_value(conn, "index_log_compacted") or 0)
            if upto > compacted:
                conn.execute("DELETE FROM index_log WHERE seq <= ?", (upto,))
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('index_log_compacted', ?)", (str(upto),)
                )
        return seq

    @property
    def needs_save(self) -> bool:
        """Whether the workers and the store's ``close`` should checkpoint the index now.

        When it changed since the last checkpoint and this process wrote, or
        holds what no checkpoint holds (:attr:`unsaved`). A process that only
        read leaves checkpoints to the writers.
        """
        return self.ready and self.index.dirty and (self.wrote or self.unsaved)

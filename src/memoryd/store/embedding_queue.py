"""The store's embedding queue and cache (``store.queue``).

``embedding_queue`` holds rows acknowledged without a vector (provider down
at write time, or deferred by the write latency budget); the backfill worker
(``memoryd/workers.py``) leases batches of it, embeds them and fills their
vectors. ``embedding_cache`` maps ``(model, text_hash)`` to a vector so that a
text is embedded once.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from memoryd.store.checksums import checksum
from memoryd.store.connection import SQL_CHUNK, ConnectionPool
from memoryd.store.index_upkeep import VectorUpkeep
from memoryd.store.lease_holders import LEASES_DIR, LeaseHolder, holder_alive
from memoryd.store.rows import decode_vector, encode_vector

__all__ = ["CACHE_INSERT", "VECTOR_UPSERT", "EmbeddingQueue", "cache_row", "vector_row"]

#: Adds a computed vector to ``embedding_cache``; parameters: :func:`cache_row`.
CACHE_INSERT = (
    "INSERT OR IGNORE INTO embedding_cache(model, text_hash, vector, checksum) VALUES (?,?,?,?)"
)
#: Stores a row's vector; parameters: :func:`vector_row`.
VECTOR_UPSERT = "INSERT OR REPLACE INTO vectors(rowid, vector, checksum) VALUES (?,?,?)"


def cache_row(model: str, text_hash: str, blob: bytes) -> tuple[str, str, bytes, int]:
    """Parameters of :data:`CACHE_INSERT`, checksum included (``store/checksums.py``)."""
    return model, text_hash, blob, checksum(model, text_hash, blob)


def vector_row(rowid: int, blob: bytes) -> tuple[int, bytes, int]:
    """Parameters of :data:`VECTOR_UPSERT`, checksum included."""
    return rowid, blob, checksum(rowid, blob)


@dataclass(eq=False)
class EmbeddingQueue:
    """Queue leases, fills and failures, pending counts and cached vectors.

    A filled vector is replayed into ``vectors`` (the store's index); ``model``
    and ``dim`` are those of the vectors filled and cached.
    """

    pool: ConnectionPool
    vectors: VectorUpkeep
    model: str
    dim: int
    _lease_holder: LeaseHolder | None = field(default=None, init=False)

    @property
    def lease_holder(self) -> LeaseHolder:
        """This store object's lease-holder id (``store/lease_holders.py``), made on first use."""
        if self._lease_holder is None:
            self._lease_holder = LeaseHolder(self.pool.path.parent / LEASES_DIR)
        return self._lease_holder

    def close(self) -> None:
        """Release the lease-holder id (at close; leases it still holds become free)."""
        if self._lease_holder is not None:
            self._lease_holder.close()

    def _dead_holders(self, now: float) -> list[str]:
        """Holders of unexpired leases whose process has died (their lock is free)."""
        me = self.lease_holder.id
        rows = self.pool.reader().execute(
            "SELECT DISTINCT leased_by FROM embedding_queue "
            "WHERE leased_until > ? AND leased_by IS NOT NULL",
            (now,),
        )
        directory = self.lease_holder.directory
        return [h for (h,) in rows if h != me and not holder_alive(directory, h)]

    def lease(
        self, limit: int, lease_s: float, *, exclude: Collection[int] = ()
    ) -> list[tuple[int, str]]:
        """Lease up to ``limit`` ``(rowid, text)`` pairs waiting for a vector.

        Only rows no other worker holds are taken (``leased_until`` in the
        past), fewest failed attempts first, then oldest first, so rows the
        provider keeps rejecting do not block the rows queued behind them.
        They are held for ``lease_s`` seconds: the backfill of another process
        on the same store skips them meanwhile. Filling a row
        (:meth:`fill`) or recording a failure
        (:meth:`mark_failure`) ends its lease. Each lease names its
        holder (``leased_by``), so the rows of a holder that died (kill -9) are
        taken at once instead of after ``lease_s`` (``store/lease_holders.py``).
        The lease only saves work: a row embedded twice is still filled once,
        with its current text.

        Args:
            limit: most rows to lease.
            lease_s: how long the lease holds, in seconds.
            exclude: rowids not to lease (e.g. rejected earlier in this pass).
        """
        now = time.time()
        dead = self._dead_holders(now)
        skip = sorted(exclude)
        not_in = f"AND rowid NOT IN ({','.join('?' * len(skip))}) " if skip else ""
        orphaned = f"OR leased_by IN ({','.join('?' * len(dead))}) " if dead else ""
        with self.pool.write() as conn:
            rows = conn.execute(
                f"SELECT rowid, text FROM embedding_queue WHERE (leased_until <= ? {orphaned}) "  # nosec B608 # constant SQL, '?' marks; values bound
                f"{not_in}ORDER BY attempts, enqueued_at LIMIT ?",
                (now, *dead, *skip, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE embedding_queue SET leased_until = ?, leased_by = ? WHERE rowid = ?",
                [(now + lease_s, self.lease_holder.id, r[0]) for r in rows],
            )
        return [(int(r[0]), str(r[1])) for r in rows]

    def pending(self, namespace: str | None = None, *, limit: int = -1) -> int:
        """How many rows (of ``namespace``, or of all) wait in the embedding queue.

        With ``limit`` ≥ 0 counting stops there (a search only says "at least").
        """
        sql = "SELECT rowid FROM embedding_queue LIMIT ?"
        params: tuple[object, ...] = (limit,)
        if namespace is not None:
            # CROSS JOIN keeps the (usually empty) queue as the outer loop.
            sql = (
                "SELECT q.rowid FROM embedding_queue q CROSS JOIN memories m "
                "ON m.rowid = q.rowid WHERE m.namespace = ? LIMIT ?"
            )
            params = (namespace, limit)
        row = self.pool.reader().execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()  # nosec B608 # constant SQL, '?' marks; values bound
        return int(row[0])

    def fill(self, items: Sequence[tuple[int, npt.NDArray[np.float32], str, str]]) -> int:
        """Store backfilled vectors ``(rowid, vector, text_hash, text)``; returns rows filled.

        A row is filled only if its queue entry still holds ``text``, the text
        that was embedded: a row updated (re-queued with a new text, or given
        its vector by the update) or filled meanwhile by another process is
        left as it is; the queue entry of a deleted row is dropped.
        """
        filled = 0
        with self.pool.write() as conn:
            for rowid, vector, text_hash, text in items:
                row = conn.execute(
                    "SELECT m.namespace FROM embedding_queue q JOIN memories m "
                    "ON m.rowid = q.rowid WHERE q.rowid = ? AND q.text = ?",
                    (rowid, text),
                ).fetchone()
                if row is None:
                    # The row is gone (deleted): drop its queue entry, if any.
                    conn.execute(
                        "DELETE FROM embedding_queue WHERE rowid = ? AND rowid NOT IN "
                        "(SELECT rowid FROM memories)",
                        (rowid,),
                    )
                    continue
                blob = encode_vector(vector)
                conn.execute(VECTOR_UPSERT, vector_row(rowid, blob))
                conn.execute(
                    "INSERT INTO index_log(rowid, namespace, op) VALUES (?,?,'upsert')",
                    (rowid, row[0]),
                )
                conn.execute(CACHE_INSERT, cache_row(self.model, text_hash, blob))
                conn.execute(
                    "UPDATE memories SET embedding_model = ?, dim = ? WHERE rowid = ?",
                    (self.model, self.dim, rowid),
                )
                conn.execute("DELETE FROM embedding_queue WHERE rowid = ?", (rowid,))
                filled += 1
        self.vectors.written()
        return filled

    def mark_failure(self, rowids: Sequence[int], error: str) -> None:
        """Record a failed backfill attempt: the rows stay queued, their lease ends."""
        with self.pool.write() as conn:
            conn.executemany(
                "UPDATE embedding_queue SET attempts = attempts + 1, last_error = ?, "
                "leased_until = 0, leased_by = NULL WHERE rowid = ?",
                [(error[:500], rowid) for rowid in rowids],
            )

    def cached_vectors(self, text_hashes: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Vectors already computed by this model for these text hashes.

        Raises:
            StoreCorrupted: a cached vector does not match its checksum (it
                would otherwise be copied into new rows).
        """
        out: dict[str, npt.NDArray[np.float32]] = {}
        conn = self.pool.reader()
        for start in range(0, len(text_hashes), SQL_CHUNK):
            chunk = list(text_hashes[start : start + SQL_CHUNK])
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT text_hash, vector, checksum FROM embedding_cache WHERE model = ? "  # nosec B608 # constant SQL, '?' marks; values bound
                f"AND text_hash IN ({marks})",
                (self.model, *chunk),
            ):
                if checksum(self.model, row[0], row[1]) != row[2]:
                    raise self.pool.health.mark_corrupted(
                        "checksum",
                        f"embedding_cache text_hash {row[0]} does not match its checksum",
                    )
                out[row[0]] = decode_vector(row[1])
        return out

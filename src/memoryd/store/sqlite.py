"""The embedded SQLite store: rows, FTS5 (BM25) and vectors in one file.

A write is acknowledged only after one ``BEGIN IMMEDIATE`` transaction has
committed the row, its FTS entry and either its vector (plus an
``index_log`` entry for the in-memory HNSW index) or a durable
``embedding_queue`` entry that the backfill worker drains later; dedup and
id checks run inside that transaction (``store/writes.py``).

Every read query carries the namespace (and expiry, history and filter)
conditions inside SQL; vector search runs in the namespace's own index.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memoryd.errors import DimensionMismatch
from memoryd.store.candidates import CandidatesMixin
from memoryd.store.connection import SQL_CHUNK, ConnectionPool, Pragmas
from memoryd.store.embedding_queue import EmbeddingQueueMixin
from memoryd.store.filters import SqlWhere
from memoryd.store.migrations import migrate
from memoryd.store.rows import ENTRY_COLUMNS, decode_vector, row_to_entry
from memoryd.store.vector_index import VectorIndex
from memoryd.store.writes import NewRecord, Placement, WritesMixin
from memoryd.types import MemoryEntry

__all__ = ["NewRecord", "Placement", "SQLiteStore"]

log = logging.getLogger("memoryd.store")


class SQLiteStore(WritesMixin, EmbeddingQueueMixin, CandidatesMixin):
    """SQLite + FTS5 + HNSW store for one data directory.

    Args:
        path: the database file (created with its directory if missing).
        index_dir: folder for vector-index checkpoints.
        pragmas: required SQLite settings (verified; ``ConfigError`` on mismatch).
        model: embedding model name of the configured provider.
        dim: its dimension.
    """

    def __init__(
        self, path: Path, index_dir: Path, pragmas: Pragmas, *, model: str, dim: int
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.pool = ConnectionPool(path, pragmas)
        self.schema_version = migrate(self.pool.writer)
        self.model = model
        self.dim = dim
        self.reembed_started = self._record_model(model, dim)
        self.index = VectorIndex(index_dir, dim, model)
        self.index_ready = False
        self._init_keywords()
        self.wrote = False
        """True once this process has written; only writers checkpoint at close."""

    # --- model bookkeeping --------------------------------------------------
    def _record_model(self, model: str, dim: int) -> bool:
        """Record model/dim; on a change, queue every row for re-embedding.

        Opening a store whose model is unchanged writes nothing (a CLI call
        that only reads must not contend with the daemon's writer).
        """
        known = dict(self.pool.reader().execute("SELECT key, value FROM meta").fetchall())
        if known.get("embedding_model") == model and known.get("dim") == str(dim):
            return False
        with self.pool.write() as conn:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            old_model, old_dim = rows.get("embedding_model"), rows.get("dim")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_model', ?)", (model,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('dim', ?)", (str(dim),))
            if old_model is None or (old_model == model and old_dim == str(dim)):
                return False
            log.warning(
                "embedding model changed from %s/%s to %s/%s: re-embedding all rows",
                old_model,
                old_dim,
                model,
                dim,
            )
            conn.execute("DELETE FROM vectors")
            conn.execute("DELETE FROM index_log")
            conn.execute(
                "INSERT OR REPLACE INTO embedding_queue(rowid, text, enqueued_at) "
                "SELECT m.rowid, m.content, ? FROM memories m",
                (time.time(),),
            )
            conn.execute("UPDATE memories SET embedding_model = NULL, dim = NULL")
            return True

    def check_vector(
        self, vector: Sequence[float] | npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Validate and L2-normalise a caller's vector.

        Raises:
            DimensionMismatch: its length is not the store's ``dim``.
        """
        arr = np.asarray(vector, dtype=np.float32).reshape(-1)
        if arr.shape[0] != self.dim:
            raise DimensionMismatch(
                f"vector has {arr.shape[0]} dimensions, the store uses {self.dim}",
                expected=self.dim,
                got=int(arr.shape[0]),
                model=self.model,
            )
        norm = float(np.linalg.norm(arr))
        if not np.isfinite(norm) or norm == 0.0:
            raise DimensionMismatch("vector must be finite and non-zero", expected=self.dim)
        if abs(norm - 1.0) <= 1e-6:
            return arr  # already unit length: keep its exact bits (lossless export/import)
        return arr / norm

    # --- reads ------------------------------------------------------------
    def get_row(self, id: str, namespace: str, now: float) -> sqlite3.Row | None:
        """The row of entry ``id`` in ``namespace`` unless expired."""
        row: sqlite3.Row | None = (
            self.pool.reader()
            .execute(
                f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE m.id = ? AND m.namespace = ? "
                "AND (m.expires_at IS NULL OR m.expires_at > ?)",
                (id, namespace, now),
            )
            .fetchone()
        )
        return row

    def select(
        self, where: SqlWhere, *, order: str = "", limit: int | None = None
    ) -> list[sqlite3.Row]:
        """Rows matching ``where`` (with :data:`ENTRY_COLUMNS`), ordered and limited."""
        sql = f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE {where.sql()} {order}"
        params = list(where.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self.pool.reader().execute(sql, params).fetchall()

    def fetch(self, rowids: Sequence[int], *, with_vectors: bool = False) -> dict[int, MemoryEntry]:
        """Entries by rowid (missing rowids are absent from the result)."""
        out: dict[int, MemoryEntry] = {}
        conn = self.pool.reader()
        for start in range(0, len(rowids), SQL_CHUNK):
            chunk = list(rowids[start : start + SQL_CHUNK])
            marks = ",".join("?" * len(chunk))
            extra = ", v.vector AS vec" if with_vectors else ""
            join = " LEFT JOIN vectors v ON v.rowid = m.rowid" if with_vectors else ""
            for row in conn.execute(
                f"SELECT {ENTRY_COLUMNS}{extra} FROM memories m{join} WHERE m.rowid IN ({marks})",
                chunk,
            ):
                vec = None
                if with_vectors and row["vec"] is not None:
                    vec = decode_vector(row["vec"]).tolist()
                out[int(row["rowid"])] = row_to_entry(row, vec)
        return out

    def checkpoint_index(self) -> int:
        """Save the vector index and compact ``index_log`` and ``keyword_log``."""
        seq = super().checkpoint_index()
        with self.pool.write() as conn:
            self.compact_keyword_log(conn)
        return seq

    def close(self) -> None:
        """Checkpoint the index if this process wrote and it changed; close connections.

        A process that only read (a CLI search) leaves checkpoints to the
        writers: saving the index costs I/O proportional to its size.
        """
        self.stop_keyword_index()
        if self.index_ready and self.index.dirty and self.wrote:
            self.checkpoint_index()
        if self.wrote:
            self.pool.writer.execute("PRAGMA optimize")  # refresh planner statistics
        self.pool.close()

"""The embedded SQLite store: rows, FTS5 (BM25) and vectors in one file.

A write is acknowledged only after one ``BEGIN IMMEDIATE`` transaction has
committed the row, its FTS entry and either its vector (plus an
``index_log`` entry for the in-memory HNSW index) or a durable
``embedding_queue`` entry that the backfill worker drains later.

Every read query carries the namespace (and expiry, history and filter)
conditions inside SQL; vector search runs in the namespace's own index.
Every entry row read is checked against its checksum before it is returned,
and a damaged store refuses writes (``store/integrity_upkeep.py``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memoryd.errors import DimensionMismatch, StorageError
from memoryd.store.candidates import CandidatesMixin
from memoryd.store.checksums import (
    MEMORY_COLUMNS,
    checksum,
    fts_checksum,
    memory_checksum,
    select_list,
)
from memoryd.store.connection import SQL_CHUNK, ConnectionPool, Pragmas
from memoryd.store.embedding_queue import (
    CACHE_INSERT,
    VECTOR_UPSERT,
    EmbeddingQueueMixin,
    cache_row,
    vector_row,
)
from memoryd.store.filters import SqlWhere
from memoryd.store.fts import namespace_token
from memoryd.store.health import StoreHealth
from memoryd.store.integrity import wal_header_damage
from memoryd.store.integrity_upkeep import IntegrityUpkeepMixin
from memoryd.store.migrations import migrate, pending
from memoryd.store.rows import ENTRY_COLUMNS, decode_vector, encode_vector, row_to_entry
from memoryd.store.vector_index import VectorIndex
from memoryd.types import MemoryEntry

__all__ = ["NewRecord", "SQLiteStore"]

log = logging.getLogger("memoryd.store")


@dataclass
class NewRecord:
    """A row to insert. Times are unix seconds; ``metadata``/``tags`` JSON text.

    ``body``/``context`` are the FTS columns; ``embed_text`` is what the
    vector was (or will be) computed from, ``text_hash`` its SHA-256.
    """

    id: str
    namespace: str
    kind: str
    content: str
    content_hash: str
    session_id: str | None
    agent_id: str | None
    user_id: str | None
    metadata: str
    tags: str
    importance: float
    created_at: float
    updated_at: float
    expires_at: float | None
    supersedes: str | None
    body: str
    context: str
    embed_text: str
    text_hash: str
    vector: npt.NDArray[np.float32] | None = None


_INSERT = (
    f"INSERT INTO memories({select_list(MEMORY_COLUMNS)}, checksum) "
    f"VALUES ({', '.join('?' * (len(MEMORY_COLUMNS) + 1))})"
)


def _fts_values(rec: NewRecord) -> tuple[str, str, str]:
    return rec.body, rec.context, namespace_token(rec.namespace)


class SQLiteStore(IntegrityUpkeepMixin, EmbeddingQueueMixin, CandidatesMixin):
    """SQLite + FTS5 + HNSW store for one data directory.

    Args:
        path: the database file (created with its directory if missing).
        index_dir: folder for vector-index checkpoints.
        pragmas: required SQLite settings (verified; ``ConfigError`` on mismatch).
        model: embedding model name of the configured provider.
        dim: its dimension.

    Raises:
        ConfigError: SQLite refused the required settings.
        StoreCorrupted: the file is not a database, or it is damaged beyond
            opening (a store damaged in a way that still opens is opened with
            the latch tripped: reads work, writes are refused).
    """

    def __init__(
        self, path: Path, index_dir: Path, pragmas: Pragmas, *, model: str, dim: int
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.health = StoreHealth(path)
        damage = wal_header_damage(path)
        if damage is not None:
            self.health.mark_corrupted("wal_header", damage)
        self._init_integrity()
        self.pool = ConnectionPool(
            path, pragmas, health=self.health, readonly=self.health.corrupted
        )
        try:
            self.schema_version = self._migrate()
        except BaseException:
            self.pool.close()
            raise
        self.model = model
        self.dim = dim
        self.reembed_started = self._record_model(model, dim)
        self.index = VectorIndex(index_dir, dim, model)
        self.index_ready = False
        self._init_keywords()
        self.wrote = False
        """True once this process has written; only writers checkpoint at close."""

    def _migrate(self) -> int:
        if self.pool.readonly and pending(self.pool.writer):
            raise self.health.error()  # a damaged store is not migrated
        return migrate(self.pool.writer)

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

    # --- writes -----------------------------------------------------------
    def _write_vector_parts(self, conn: sqlite3.Connection, rowid: int, rec: NewRecord) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO memories_fts(rowid, body, context, ns) VALUES (?,?,?,?)",
            (rowid, *_fts_values(rec)),
        )
        if rec.vector is not None:
            blob = encode_vector(rec.vector)
            conn.execute(VECTOR_UPSERT, vector_row(rowid, blob))
            conn.execute(
                "INSERT INTO index_log(rowid, namespace, op) VALUES (?,?, 'upsert')",
                (rowid, rec.namespace),
            )
            conn.execute(CACHE_INSERT, cache_row(self.model, rec.text_hash, blob))
            conn.execute("DELETE FROM embedding_queue WHERE rowid = ?", (rowid,))
        else:
            conn.execute("DELETE FROM vectors WHERE rowid = ?", (rowid,))
            conn.execute(
                "INSERT INTO index_log(rowid, namespace, op) VALUES (?,?, 'delete')",
                (rowid, rec.namespace),
            )
            conn.execute(
                "INSERT OR REPLACE INTO embedding_queue(rowid, text, enqueued_at) VALUES (?,?,?)",
                (rowid, rec.embed_text, time.time()),
            )

    def _insert_one(self, conn: sqlite3.Connection, rec: NewRecord) -> int:
        has_vec = rec.vector is not None
        row: dict[str, object] = {
            "id": rec.id,
            "namespace": rec.namespace,
            "kind": rec.kind,
            "content": rec.content,
            "content_hash": rec.content_hash,
            "session_id": rec.session_id,
            "agent_id": rec.agent_id,
            "user_id": rec.user_id,
            "metadata": rec.metadata,
            "tags": rec.tags,
            "importance": rec.importance,
            "created_at": rec.created_at,
            "updated_at": rec.updated_at,
            "expires_at": rec.expires_at,
            "embedding_model": self.model if has_vec else None,
            "dim": self.dim if has_vec else None,
            "supersedes": rec.supersedes,
            "superseded_by": None,
            "text_hash": rec.text_hash,
            "fts_checksum": fts_checksum(*_fts_values(rec)),
        }
        cur = conn.execute(_INSERT, (*(row[name] for name in MEMORY_COLUMNS), memory_checksum(row)))
        rowid = int(cur.lastrowid or 0)
        self._write_vector_parts(conn, rowid, rec)
        return rowid

    def insert(self, records: Sequence[NewRecord], *, supersede_id: str | None = None) -> list[int]:
        """Insert records in one transaction; returns their rowids.

        With ``supersede_id``, the (single) new record replaces that entry,
        which is kept as history (``superseded_by`` set) in the same transaction.
        """
        with self.pool.write() as conn:
            rowids = [self._insert_one(conn, rec) for rec in records]
            if supersede_id is not None:
                conn.execute(
                    "UPDATE memories SET superseded_by = ?, updated_at = ? WHERE id = ?",
                    (records[0].id, time.time(), supersede_id),
                )
        self.wrote = True
        self.sync_index()
        return rowids

    def replace(self, rowid: int, rec: NewRecord) -> None:
        """Overwrite row ``rowid`` in place (same id), re-indexing FTS and vector."""
        has_vec = rec.vector is not None
        with self.pool.write() as conn:
            conn.execute(
                "UPDATE memories SET content=?, content_hash=?, metadata=?, tags=?, importance=?, "
                "updated_at=?, expires_at=?, embedding_model=?, dim=?, text_hash=?, session_id=?, "
                "agent_id=?, user_id=?, fts_checksum=? WHERE rowid=?",
                (
                    rec.content,
                    rec.content_hash,
                    rec.metadata,
                    rec.tags,
                    rec.importance,
                    rec.updated_at,
                    rec.expires_at,
                    self.model if has_vec else None,
                    self.dim if has_vec else None,
                    rec.text_hash,
                    rec.session_id,
                    rec.agent_id,
                    rec.user_id,
                    fts_checksum(*_fts_values(rec)),
                    rowid,
                ),
            )
            self._write_vector_parts(conn, rowid, rec)
        self.wrote = True
        self.sync_index()

    def update_fields(self, rowid: int, **columns: object) -> None:
        """Set plain columns (metadata, tags, importance, expires_at...) of one row."""
        allowed = {"metadata", "tags", "importance", "expires_at", "updated_at"}
        if not columns or set(columns) - allowed:
            raise StorageError(f"cannot update columns {sorted(set(columns) - allowed)}")
        sets = ", ".join(f"{name} = ?" for name in columns)
        with self.pool.write() as conn:
            conn.execute(f"UPDATE memories SET {sets} WHERE rowid = ?", (*columns.values(), rowid))

    def delete_rows(self, rowids: Sequence[int]) -> int:
        """Hard-delete rows (and their FTS, vector, queue entries); returns rows deleted.

        An entry that superseded another makes that one current again.
        """
        deleted = 0
        with self.pool.write() as conn:
            for start in range(0, len(rowids), SQL_CHUNK):
                chunk = list(rowids[start : start + SQL_CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT rowid, id, namespace FROM memories WHERE rowid IN ({marks})", chunk
                ).fetchall()
                for row in rows:
                    conn.execute(
                        "UPDATE memories SET superseded_by = NULL WHERE superseded_by = ?",
                        (row["id"],),
                    )
                    conn.execute(
                        "INSERT INTO index_log(rowid, namespace, op) VALUES (?,?,'delete')",
                        (row["rowid"], row["namespace"]),
                    )
                for table in ("memories_fts", "vectors", "embedding_queue", "memories"):
                    conn.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", chunk)
                deleted += len(rows)
        self.wrote = True
        self.sync_index()
        return deleted

    def purge_expired(self, now: float) -> int:
        """Delete every row whose ``expires_at`` is at or before ``now`` (unix seconds)."""
        rows = (
            self.pool.reader()
            .execute(
                "SELECT rowid FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (now,),
            )
            .fetchall()
        )
        return self.delete_rows([r[0] for r in rows]) if rows else 0

    # --- reads ------------------------------------------------------------
    def get_row(self, id: str, namespace: str, now: float) -> sqlite3.Row | None:
        """The row of entry ``id`` in ``namespace`` unless expired.

        Raises:
            StoreCorrupted: the row does not match its checksum.
        """
        row: sqlite3.Row | None = (
            self.pool.reader()
            .execute(
                f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE m.id = ? AND m.namespace = ? "
                "AND (m.expires_at IS NULL OR m.expires_at > ?)",
                (id, namespace, now),
            )
            .fetchone()
        )
        if row is not None:
            self.intact_rows((row,))
        return row

    def select(
        self, where: SqlWhere, *, order: str = "", limit: int | None = None
    ) -> list[sqlite3.Row]:
        """Rows matching ``where`` (with :data:`ENTRY_COLUMNS`), ordered and limited.

        Raises:
            StoreCorrupted: a row does not match its checksum.
        """
        sql = f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE {where.sql()} {order}"
        params = list(where.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows: list[sqlite3.Row] = self.pool.reader().execute(sql, params).fetchall()
        self.intact_rows(rows)
        return rows

    def fetch(self, rowids: Sequence[int], *, with_vectors: bool = False) -> dict[int, MemoryEntry]:
        """Entries by rowid (missing rowids are absent from the result).

        With ``with_vectors`` each entry carries its stored vector; an entry
        without one must have a queued embedding.

        Raises:
            StoreCorrupted: a row or a vector does not match its checksum, or
                an entry has neither a vector nor a queued embedding.
        """
        out: dict[int, MemoryEntry] = {}
        conn = self.pool.reader()
        extra = join = ""
        if with_vectors:
            extra = ", v.vector AS vec, v.checksum AS vec_checksum, q.rowid AS queued"
            join = (
                " LEFT JOIN vectors v ON v.rowid = m.rowid"
                " LEFT JOIN embedding_queue q ON q.rowid = m.rowid"
            )
        for start in range(0, len(rowids), SQL_CHUNK):
            chunk = list(rowids[start : start + SQL_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {ENTRY_COLUMNS}{extra} FROM memories m{join} WHERE m.rowid IN ({marks})",
                chunk,
            ).fetchall()
            self.intact_rows(rows)
            for row in rows:
                vec = self._stored_vector(row) if with_vectors else None
                out[int(row["rowid"])] = row_to_entry(row, vec)
        return out

    def _stored_vector(self, row: sqlite3.Row) -> list[float] | None:
        rowid = int(row["rowid"])
        if row["vec"] is None:
            if row["queued"] is None:
                raise self.health.mark_corrupted(
                    "consistency", f"memories rowid {rowid} has no vector and none is queued"
                )
            return None
        if checksum(rowid, row["vec"]) != row["vec_checksum"]:
            raise self.health.mark_corrupted(
                "checksum", f"vectors rowid {rowid} does not match its checksum"
            )
        vector: list[float] = decode_vector(row["vec"]).tolist()
        return vector

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
        A damaged store is left as it is: no index checkpoint, no statistics.
        """
        self.stop_checks()
        self.stop_keyword_index()
        if not self.health.corrupted:
            if self.index_ready and self.index.dirty and self.wrote:
                self.checkpoint_index()
            if self.wrote:
                self.pool.writer.execute("PRAGMA optimize")  # refresh planner statistics
        self.pool.close()

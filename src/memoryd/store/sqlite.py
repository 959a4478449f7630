"""The embedded SQLite store: rows, FTS5 (BM25) and vectors in one file.

A write is acknowledged only after one ``BEGIN IMMEDIATE`` transaction has
committed the row, its FTS entry and either its vector (plus an
``index_log`` entry for the in-memory HNSW index) or a durable
``embedding_queue`` entry that the backfill worker drains later; dedup and
id checks run inside that transaction (``store/writes.py``).

Every read query carries the namespace (and expiry, history and filter)
conditions inside SQL; vector search runs in the namespace's own index.
Every entry row read is checked against its checksum before it is returned,
and a damaged store refuses writes (``store/integrity_upkeep.py``).

The store holds its components (``writes``, ``vectors``, ``keywords``, ``queue``,
``candidates``, ``integrity``, ``space``: ``docs/ARCHITECTURE.md``, "The store").
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memoryd.errors import DimensionMismatch, StorageReadOnly
from memoryd.store.backup import backup_database
from memoryd.store.candidates import Candidates
from memoryd.store.checksums import checksum
from memoryd.store.connection import SQL_CHUNK, ConnectionPool, Pragmas, translate_sqlite_error
from memoryd.store.embedding_queue import EmbeddingQueue
from memoryd.store.erasure import Erasure
from memoryd.store.filters import SqlWhere
from memoryd.store.health import StoreHealth
from memoryd.store.index_upkeep import VectorUpkeep
from memoryd.store.integrity import wal_header_damage
from memoryd.store.integrity_upkeep import IntegrityUpkeep
from memoryd.store.keyword_upkeep import KeywordUpkeep
from memoryd.store.migrations import migrate, pending
from memoryd.store.rows import ENTRY_COLUMNS, decode_vector, meta_value, row_to_entry
from memoryd.store.space import SpaceReserve
from memoryd.store.space_upkeep import SpaceUpkeep
from memoryd.store.vector_index import VectorIndex
from memoryd.store.writes import NewRecord, Placement, Writes
from memoryd.types import MemoryEntry

__all__ = ["NewRecord", "Placement", "SQLiteStore"]

log = logging.getLogger("memoryd.store")


class SQLiteStore:
    """SQLite + FTS5 + HNSW store for one data directory, composed of its components.

    Args:
        path: the database file (created with its directory if missing).
        index_dir: folder for vector-index checkpoints.
        pragmas: required SQLite settings (verified; ``ConfigError`` on mismatch).
        model: embedding model name of the configured provider.
        dim: its dimension.
        reserve: the data dir's space reserve: released (and the open retried)
            when the disk is too full to open the store, and checked before writes.
        long_lived: a daemon or long-lived engine (not a one-shot CLI): it saves
            an index it rebuilt or caught up at open (:meth:`VectorUpkeep.open`).

    Raises:
        StorageFull: the disk is too full to open the store (or to migrate it).
        ConfigError: SQLite refused the required settings.
        StoreCorrupted: the file is not a database, or it is damaged beyond
            opening (a store damaged in a way that still opens is opened with
            the latch tripped: reads work, writes are refused).
    """

    def __init__(
        self,
        path: Path,
        index_dir: Path,
        pragmas: Pragmas,
        *,
        model: str,
        dim: int,
        reserve: SpaceReserve | None = None,
        long_lived: bool = False,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.reserve = reserve
        self.health = StoreHealth(path)
        damage = wal_header_damage(path)
        if damage is not None:
            self.health.mark_corrupted("wal_header", damage)
        self.pool, self.schema_version = (
            reserve.call(lambda: self._open(pragmas), path) if reserve else self._open(pragmas)
        )
        self.integrity = IntegrityUpkeep(self.pool)
        self.store_id: str = meta_value(self.pool.writer, "store_id") or ""
        """This store's id (``meta.store_id``, a UUID set once by migration 7); empty
        for a damaged store of an older schema, which is opened without migrating."""
        self.model = model
        self.dim = dim
        self.reembed_started = self._record_model(model, dim)
        self.keywords = KeywordUpkeep(self.pool)
        self.vectors = VectorUpkeep(
            self.pool, VectorIndex(index_dir, dim, model), self.keywords, long_lived=long_lived
        )
        self.writes = Writes(self.pool, self.vectors, model, dim)
        self.queue = EmbeddingQueue(self.pool, self.vectors, model, dim)
        self.candidates = Candidates(self.pool, self.vectors, self.keywords)
        self.space = SpaceUpkeep(self.pool)
        self.erasure = Erasure(self.pool)

    def _open(self, pragmas: Pragmas) -> tuple[ConnectionPool, int]:
        """Open the connections and apply pending migrations; ``(pool, schema version)``.

        A store found damaged before it opened (the ``-wal`` header) is opened
        read-only and not migrated.
        """
        pool = ConnectionPool(
            self.path,
            pragmas,
            reserve=self.reserve,
            health=self.health,
            read_only_file=self.health.corrupted,
        )
        try:
            if pool.read_only_file and pending(pool.writer):
                raise self.health.error()  # a damaged store is not migrated
            return pool, migrate(pool.writer)
        except sqlite3.Error as exc:
            pool.close()
            raise translate_sqlite_error(exc, self.path, self.health) from exc
        except BaseException:
            pool.close()
            raise

    @property
    def read_only(self) -> StorageReadOnly | None:
        """The disk I/O error that made the store read-only (fail-stop, R6), or ``None``."""
        return self.pool.read_only

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
            conn.execute("DELETE FROM embedding_cache")  # vectors of another model or dim
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
            DimensionMismatch: its length is not the store's ``dim``, or it is zero or
                not finite as float32 (components beyond ±3.4e38 included).
        """
        with np.errstate(over="ignore"):  # beyond float32's range → inf, refused below
            arr = np.asarray(vector, dtype=np.float32).reshape(-1)
        if arr.shape[0] != self.dim:
            raise DimensionMismatch(
                f"vector has {arr.shape[0]} dimensions, the store uses {self.dim}",
                expected=self.dim,
                got=int(arr.shape[0]),
                model=self.model,
            )
        norm = float(np.linalg.norm(arr.astype(np.float64)))  # float64: no overflow near 3e38
        if not np.isfinite(norm) or norm == 0.0:
            raise DimensionMismatch("vector must be finite and non-zero", expected=self.dim)
        if abs(norm - 1.0) <= 1e-6:
            return arr  # already unit length: keep its exact bits (lossless export/import)
        return (arr.astype(np.float64) / norm).astype(np.float32)

    # --- reads ------------------------------------------------------------
    def get_row(self, id: str, namespace: str, now: float) -> sqlite3.Row | None:
        """The row of entry ``id`` in ``namespace`` unless expired.

        Raises:
            StoreCorrupted: the row does not match its checksum.
        """
        row: sqlite3.Row | None = (
            self.pool.reader()
            .execute(
                f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE m.id = ? AND m.namespace = ? "  # nosec B608 # constant SQL, '?' marks; values bound
                "AND (m.expires_at IS NULL OR m.expires_at > ?)",
                (id, namespace, now),
            )
            .fetchone()
        )
        if row is not None:
            self.integrity.intact_rows((row,))
        return row

    def select(
        self, where: SqlWhere, *, order: str = "", limit: int | None = None
    ) -> list[sqlite3.Row]:
        """Rows matching ``where`` (with :data:`ENTRY_COLUMNS`), ordered and limited.

        Raises:
            StoreCorrupted: a row does not match its checksum.
        """
        sql = f"SELECT {ENTRY_COLUMNS} FROM memories m WHERE {where.sql()} {order}"  # nosec B608 # constant SQL, '?' marks; values bound
        params = list(where.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows: list[sqlite3.Row] = self.pool.reader().execute(sql, params).fetchall()
        self.integrity.intact_rows(rows)
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
                f"SELECT {ENTRY_COLUMNS}{extra} FROM memories m{join} WHERE m.rowid IN ({marks})",  # nosec B608 # constant SQL, '?' marks; values bound
                chunk,
            ).fetchall()
            self.integrity.intact_rows(rows)
            for row in rows:
                vec = self._stored_vector(row) if with_vectors else None
                out[int(row["rowid"])] = row_to_entry(row, vec)
        return out

    def erase_traces(self) -> bool:
        """The erasure pass: FTS5 optimize, a scrubbed index checkpoint, WAL truncation.

        Afterwards no deleted row has a copy in the FTS segments, the vector
        checkpoint or the WAL (``memoryd/store/erasure.py``). Returns True when
        the WAL was truncated (``meta.erase_pending`` is cleared then), False
        when a reader kept it (the next pass retries).
        """
        started = time.time()
        self.erasure.optimize_fts()
        if self.vectors.ready:
            self.vectors.checkpoint()
        done = self.erasure.truncate_wal()
        if done:
            self.erasure.finish(started)
        return done

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

    def backup_to(self, target: Path) -> Path:
        """Write a consistent copy of the database to ``target``: valid or absent, never partial.

        ``VACUUM INTO`` a temporary name, fsync, rename, fsync the folder
        (:func:`memoryd.store.backup.backup_database`); writers are not blocked.

        Raises:
            StorageFull: no space for the copy. StorageError: any other failure.
        """
        return backup_database(
            self.path, target, busy_timeout_s=self.pool.pragmas.busy_timeout_ms / 1000
        )

    def close(self) -> None:
        """Checkpoint the index (:attr:`VectorUpkeep.needs_save`) and the WAL if this process wrote;
        close connections.

        A process that only read (a CLI search) leaves checkpoints to the
        writers: saving the index costs I/O proportional to its size. On a
        full disk the checkpoints fail (logged) and the connections still close;
        the ``-wal`` file then stays for the next start to replay. A store that
        failed (fail-stop, :attr:`read_only`) writes nothing more.
        A damaged store is left as it is: no index checkpoint, no statistics.
        """
        self.integrity.stop()
        self.keywords.stop()
        self.vectors.stop_drain()
        space = self.space
        try:
            if self.read_only is None and not self.health.corrupted:
                if self.vectors.needs_save:
                    space.at_close("vector index checkpoint", self.vectors.checkpoint)
                if self.vectors.wrote:
                    space.at_close("PRAGMA optimize", space.optimize)
                    space.at_close("WAL checkpoint", space.checkpoint_wal_at_close)
        finally:
            self.queue.close()
            self.pool.close()

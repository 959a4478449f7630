"""The store's write path (``store.writes``): insert, replace, delete.

A write is acknowledged only after one ``BEGIN IMMEDIATE`` transaction has
committed the row, its FTS entry and either its vector (plus an
``index_log`` entry for the in-memory HNSW index) or a durable
``embedding_queue`` entry that the backfill worker drains later.

Everything that decides *whether* a row is written happens inside that
transaction, so two engines on one file (the daemon and ``memoryd
--local``, or a client's in-process fallback) cannot both decide to write:

* **dedup** of kinds ``memory``/``chunk``: a current entry (not superseded,
  not expired) of the same namespace, kind and content hash answers for
  the new record;
* **ids** are unique per namespace (migration 6): an id taken in the
  record's namespace is :class:`~memoryd.errors.IdConflict` (or, for an
  import, a skip); the same id in another namespace is another entry. An
  expired row still holding the id is deleted first: every read already
  treats it as gone;
* **supersede**: the old entry must still be current.

Every statement that addresses a row by ``id`` carries its namespace too.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from memoryd.errors import Conflict, IdConflict, NotFound, StorageError
from memoryd.store.checksums import MEMORY_COLUMNS, fts_checksum, memory_checksum, select_list
from memoryd.store.connection import ConnectionPool
from memoryd.store.embedding_queue import CACHE_INSERT, VECTOR_UPSERT, cache_row, vector_row
from memoryd.store.erasure import delete_memory_rows, purge_cache
from memoryd.store.fts import namespace_token
from memoryd.store.index_upkeep import VectorUpkeep
from memoryd.store.rows import encode_vector

__all__ = ["NewRecord", "Placement", "Writes", "fts_values"]


@dataclass
class NewRecord:
    """A row to insert. Times are unix seconds; ``metadata``/``tags`` JSON text.

    ``body``/``context`` are the FTS columns; ``embed_text`` is what the
    vector was (or will be) computed from, ``text_hash`` its SHA-256.
    ``superseded_by`` is set only when restoring an export.
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
    superseded_by: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where one record of :meth:`Writes.insert` landed.

    Attributes:
        rowid: the row now holding the record: the new row, or the existing
            entry that answered for it (a duplicate, or a skipped id).
        inserted: whether this call wrote that row.
    """

    rowid: int
    inserted: bool


#: Inserts a row with its checksums (``store/checksums.py``), computed here: no second write.
_INSERT = (
    f"INSERT INTO memories({select_list(MEMORY_COLUMNS)}, checksum) "  # nosec B608 # our table and column names only
    f"VALUES ({', '.join('?' * (len(MEMORY_COLUMNS) + 1))})"
)


def fts_values(rec: NewRecord) -> tuple[str, str, str]:
    """The FTS5 columns ``(body, context, ns)`` of a record, as written to ``memories_fts``."""
    return rec.body, rec.context, namespace_token(rec.namespace)


_DUPLICATE = (
    "SELECT rowid FROM memories WHERE namespace = ? AND kind = ? AND content_hash = ? "
    "AND superseded_by IS NULL AND (expires_at IS NULL OR expires_at > ?) "
    "ORDER BY rowid LIMIT 1"
)
_ID_HOLDER = "SELECT rowid, expires_at FROM memories WHERE namespace = ? AND id = ?"


def duplicate_rowid(
    conn: sqlite3.Connection, namespace: str, kind: str, content_hash: str, now: float
) -> int | None:
    """The current entry of ``namespace`` with this kind and content hash, or ``None``.

    Current: not superseded, not expired at ``now`` (unix seconds).
    """
    row = conn.execute(_DUPLICATE, (namespace, kind, content_hash, now)).fetchone()
    return None if row is None else int(row[0])


@dataclass(eq=False)
class Writes:
    """Inserts, in-place rewrites and deletes (module docstring: what is decided in the txn).

    ``vectors`` (the store's index) replays each committed write; ``model`` and
    ``dim`` are recorded with the vectors written.
    """

    pool: ConnectionPool
    vectors: VectorUpkeep
    model: str
    dim: int

    # --- rows -------------------------------------------------------------
    def _write_vector_parts(self, conn: sqlite3.Connection, rowid: int, rec: NewRecord) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO memories_fts(rowid, body, context, ns) VALUES (?,?,?,?)",
            (rowid, *fts_values(rec)),
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
            "superseded_by": rec.superseded_by,
            "text_hash": rec.text_hash,
            "fts_checksum": fts_checksum(*fts_values(rec)),
        }
        cur = conn.execute(_INSERT, (*(row[name] for name in MEMORY_COLUMNS), memory_checksum(row)))
        rowid = int(cur.lastrowid or 0)
        self._write_vector_parts(conn, rowid, rec)
        return rowid

    def _id_holder(self, conn: sqlite3.Connection, rec: NewRecord, now: float) -> int | None:
        """The live row holding ``rec.id`` in its namespace; an expired holder is deleted."""
        row = conn.execute(_ID_HOLDER, (rec.namespace, rec.id)).fetchone()
        if row is None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= now:
            self._delete_in(conn, [int(row["rowid"])])
            return None
        return int(row["rowid"])

    def _place(
        self,
        conn: sqlite3.Connection,
        rec: NewRecord,
        now: float,
        dedup_kinds: Collection[str],
        existing_ids: Literal["conflict", "skip"],
    ) -> Placement:
        if rec.kind in dedup_kinds:
            found = duplicate_rowid(conn, rec.namespace, rec.kind, rec.content_hash, now)
            if found is not None:
                return Placement(found, inserted=False)
        holder = self._id_holder(conn, rec, now)
        if holder is not None:
            if existing_ids == "skip":
                return Placement(holder, inserted=False)
            raise IdConflict(
                f"an entry with id {rec.id} already exists in namespace {rec.namespace!r}",
                id=rec.id,
                namespace=rec.namespace,
            )
        return Placement(self._insert_one(conn, rec), inserted=True)

    def _mark_superseded(self, conn: sqlite3.Connection, old_id: str, new: NewRecord) -> None:
        row = conn.execute(
            "SELECT superseded_by FROM memories WHERE namespace = ? AND id = ?",
            (new.namespace, old_id),
        ).fetchone()
        if row is None:
            raise NotFound.entry(old_id, new.namespace)
        if row["superseded_by"] is not None:
            raise Conflict(
                f"entry {old_id} is already superseded by {row['superseded_by']}",
                id=old_id,
                superseded_by=str(row["superseded_by"]),
            )
        conn.execute(
            "UPDATE memories SET superseded_by = ?, updated_at = ? WHERE namespace = ? AND id = ?",
            (new.id, time.time(), new.namespace, old_id),
        )

    def insert(
        self,
        records: Sequence[NewRecord],
        *,
        supersede_id: str | None = None,
        dedup_kinds: Collection[str] = (),
        existing_ids: Literal["conflict", "skip"] = "conflict",
    ) -> list[Placement]:
        """Insert records in one transaction; one :class:`Placement` per record, in order.

        Inside the transaction, record by record (so a record also meets those
        inserted before it): a record of a kind in ``dedup_kinds`` whose
        namespace already holds a current entry with its kind and content hash
        is answered by that entry; a record whose id is taken in its namespace
        raises ``IdConflict`` (``existing_ids="conflict"``; nothing of the call
        is written) or is answered by the holder (``"skip"``, for imports).

        With ``supersede_id``, the (single) new record replaces that entry of
        its namespace, which is kept as history (``superseded_by`` set).

        Raises:
            IdConflict: an id is taken in its namespace.
            NotFound: ``supersede_id`` is not in the namespace (deleted meanwhile).
            Conflict: ``supersede_id`` was superseded meanwhile.
            StorageFull, StorageError: the transaction failed.
        """
        with self.pool.write() as conn:
            now = time.time()
            placed = [self._place(conn, rec, now, dedup_kinds, existing_ids) for rec in records]
            if supersede_id is not None:
                self._mark_superseded(conn, supersede_id, records[0])
        self.vectors.written()
        return placed

    def replace(self, rowid: int, rec: NewRecord) -> None:
        """Overwrite row ``rowid`` in place (same id), re-indexing FTS and vector.

        The old text's cached vector is purged unless another row uses it.

        Raises:
            NotFound: the row was deleted meanwhile (nothing is written).
        """
        has_vec = rec.vector is not None
        with self.pool.write() as conn:
            old = conn.execute(
                "SELECT text_hash FROM memories WHERE rowid = ? AND namespace = ? AND id = ?",
                (rowid, rec.namespace, rec.id),
            ).fetchone()
            cur = conn.execute(
                "UPDATE memories SET content=?, content_hash=?, metadata=?, tags=?, importance=?, "
                "updated_at=?, expires_at=?, embedding_model=?, dim=?, text_hash=?, session_id=?, "
                "agent_id=?, user_id=?, fts_checksum=? WHERE rowid=? AND namespace=? AND id=?",
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
                    fts_checksum(*fts_values(rec)),
                    rowid,
                    rec.namespace,
                    rec.id,
                ),
            )
            if cur.rowcount != 1:
                raise NotFound.entry(rec.id, rec.namespace)
            self._write_vector_parts(conn, rowid, rec)
            if old is not None and old[0] != rec.text_hash:
                purge_cache(conn, self.model, [str(old[0])])
        self.vectors.written()

    def update_fields(self, rowid: int, *, namespace: str, id: str, **columns: object) -> None:
        """Set plain columns (metadata, tags, importance, expires_at...) of entry ``id``.

        ``rowid`` is where the caller read it; the row must still be entry
        ``id`` of ``namespace`` (a rowid freed by a delete may be reused).

        Raises:
            NotFound: the entry was deleted meanwhile (nothing is written).
        """
        allowed = {"metadata", "tags", "importance", "expires_at", "updated_at"}
        if not columns or set(columns) - allowed:
            raise StorageError(f"cannot update columns {sorted(set(columns) - allowed)}")
        sets = ", ".join(f"{name} = ?" for name in columns)
        with self.pool.write() as conn:
            cur = conn.execute(
                f"UPDATE memories SET {sets} WHERE rowid = ? AND namespace = ? AND id = ?",  # nosec B608 # allowed column names
                (*columns.values(), rowid, namespace, id),
            )
            if cur.rowcount != 1:
                raise NotFound.entry(id, namespace)

    # --- deletes ----------------------------------------------------------
    def _delete_in(
        self,
        conn: sqlite3.Connection,
        rowids: Sequence[int],
        contexts: dict[int, str] | None = None,
    ) -> int:
        """Delete rows and what only they used inside the open transaction ``conn``.

        See :func:`~memoryd.store.erasure.delete_memory_rows` (an entry that
        superseded another of its namespace makes that one current again;
        ``contexts`` rewrites the FTS context of the turns that followed).
        Returns rows deleted.
        """
        return delete_memory_rows(conn, self.model, rowids, contexts).rows

    def delete_rows(self, rowids: Sequence[int], *, contexts: dict[int, str] | None = None) -> int:
        """Hard-delete rows and what only they used; returns rows deleted.

        Removes FTS, vector and queue entries and cached vectors no other row
        uses; an entry that superseded another makes that one current again;
        ``contexts`` (rowid → FTS context text) rewrites the context of the
        turns that followed a deleted one (``memoryd/store/erasure.py``).
        """
        with self.pool.write() as conn:
            deleted = self._delete_in(conn, rowids, contexts)
        self.vectors.written()
        return deleted

    def delete_entry(
        self,
        namespace: str,
        id: str,
        *,
        kind: str | None = None,
        contexts: dict[int, str] | None = None,
    ) -> bool:
        """Delete entry ``id`` of ``namespace`` (only if of ``kind``, when given), deciding
        inside the write transaction; ``False`` if there is none (expired ones count as none).

        ``contexts`` as in :meth:`delete_rows` (the turns after a deleted turn).
        """
        with self.pool.write() as conn:
            row = conn.execute(
                "SELECT rowid, kind FROM memories WHERE namespace = ? AND id = ? "
                "AND (expires_at IS NULL OR expires_at > ?)",
                (namespace, id, time.time()),
            ).fetchone()
            if row is None or (kind is not None and row["kind"] != kind):
                return False
            self._delete_in(conn, [int(row["rowid"])], contexts)
        self.vectors.written()
        return True

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

    def find_duplicate(
        self, namespace: str, kind: str, content_hash: str, now: float
    ) -> int | None:
        """Rowid of a current entry with this namespace, kind and content hash (a read).

        A hint only (it lets a re-save skip the embedding): :meth:`insert`
        decides again inside its transaction.
        """
        return duplicate_rowid(self.pool.reader(), namespace, kind, content_hash, now)

"""Store statistics and consistency checks (used by stats, tests and crash checks)."""

from __future__ import annotations

import os

from memoryd.store.sqlite import SQLiteStore
from memoryd.types import StoreStats

__all__ = ["consistency_report", "store_stats"]


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def store_stats(store: SQLiteStore) -> StoreStats:
    """Counts by kind and namespace, vector/queue sizes, file sizes in bytes."""
    conn = store.pool.reader()
    by_kind = dict(conn.execute("SELECT kind, COUNT(*) FROM memories GROUP BY kind").fetchall())
    by_ns = dict(
        conn.execute("SELECT namespace, COUNT(*) FROM memories GROUP BY namespace").fetchall()
    )
    return StoreStats(
        total=sum(by_kind.values()),
        by_kind=by_kind,
        by_namespace=by_ns,
        vectors=conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0],
        pending_embeddings=conn.execute("SELECT COUNT(*) FROM embedding_queue").fetchone()[0],
        embedding_model=store.model,
        dim=store.dim,
        db_path=str(store.path),
        db_bytes=_size(str(store.path)),
        wal_bytes=_size(str(store.path) + "-wal"),
        index_ready=store.index_ready,
        index_size=store.index.size(),
        schema_version=store.schema_version,
    )


def consistency_report(store: SQLiteStore) -> dict[str, object]:
    """Compare the id sets of ``memories``, FTS, vectors + queue and the HNSW index.

    Returns ``{"ok": bool, "quick_check": str, "rows": int, ...}`` with the
    sizes of every difference; ``ok`` is true when all sets are equal and
    ``PRAGMA quick_check`` says ``ok``.
    """
    conn = store.pool.reader()
    rows = {r[0] for r in conn.execute("SELECT rowid FROM memories")}
    fts = {r[0] for r in conn.execute("SELECT rowid FROM memories_fts")}
    vectors = {r[0] for r in conn.execute("SELECT rowid FROM vectors")}
    queued = {r[0] for r in conn.execute("SELECT rowid FROM embedding_queue")}
    store.sync_index()
    indexed = store.index.size()
    quick = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    report: dict[str, object] = {
        "quick_check": quick,
        "rows": len(rows),
        "fts_missing": len(rows - fts),
        "fts_extra": len(fts - rows),
        "vector_or_queue_missing": len(rows - (vectors | queued)),
        "vector_extra": len(vectors - rows),
        "queue_extra": len(queued - rows),
        "vectors_and_queued": len(vectors & queued),
        "vectors": len(vectors),
        "indexed": indexed,
    }
    report["ok"] = (
        quick == "ok"
        and all(
            report[k] == 0
            for k in (
                "fts_missing",
                "fts_extra",
                "vector_or_queue_missing",
                "vector_extra",
                "queue_extra",
                "vectors_and_queued",
            )
        )
        and indexed == len(vectors)
    )
    return report

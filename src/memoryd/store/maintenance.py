"""Store statistics and consistency checks (used by stats, tests and crash checks)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from memoryd.errors import StoreCorrupted
from memoryd.reports import StoreStats
from memoryd.store.rows import decode_vector
from memoryd.store.sqlite import SQLiteStore
from memoryd.store.vector_index import same_vector

__all__ = ["consistency_report", "store_stats"]


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def _counts(store: SQLiteStore) -> dict[str, Any]:
    """The row counts of :class:`StoreStats`; ``None`` / empty where damage stops the count."""
    conn = store.pool.reader()
    try:
        by_kind = dict(conn.execute("SELECT kind, COUNT(*) FROM memories GROUP BY kind").fetchall())
        by_ns = dict(
            conn.execute("SELECT namespace, COUNT(*) FROM memories GROUP BY namespace").fetchall()
        )
        counted: dict[str, Any] = {
            "total": sum(by_kind.values()),
            "by_kind": by_kind,
            "by_namespace": by_ns,
        }
    except StoreCorrupted:  # latched and logged; the stats still say what is known
        counted = {"total": None, "by_kind": {}, "by_namespace": {}}
    try:
        counted["vectors"] = int(conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
    except StoreCorrupted:
        counted["vectors"] = None
    try:
        counted["pending_embeddings"] = store.queue.pending()
    except StoreCorrupted:
        counted["pending_embeddings"] = None
    return counted


def store_stats(store: SQLiteStore) -> StoreStats:
    """Counts by kind and namespace, vector/queue sizes, file sizes in bytes, integrity.

    Works on a damaged store: counts that meet the damage are ``None``.
    """
    return StoreStats(
        **_counts(store),
        integrity=store.health.status(),
        embedding_model=store.model,
        dim=store.dim,
        db_path=str(store.path),
        db_bytes=_size(str(store.path)),
        wal_bytes=_size(str(store.path) + "-wal"),
        index_ready=store.vectors.ready,
        index_size=store.vectors.index.size(),
        keyword_backend=store.keywords.backend,
        schema_version=store.schema_version,
        store_id=store.store_id,
    )


def _index_differences(store: SQLiteStore, chunk: int = 4096) -> tuple[int, int, int]:
    """Compare each namespace's HNSW index with its rows in ``vectors``, key by key.

    Returns ``(missing, stale, extra)``: stored vectors absent from the index,
    indexed with a different vector, and index entries beyond those present.
    """
    conn = store.pool.reader()
    by_ns: dict[str, list[int]] = {}
    for rowid, namespace in conn.execute(
        "SELECT v.rowid, m.namespace FROM vectors v JOIN memories m ON m.rowid = v.rowid"
    ):
        by_ns.setdefault(str(namespace), []).append(int(rowid))
    missing = stale = extra = 0
    for namespace in set(by_ns) | set(store.vectors.index.namespaces()):
        keys = by_ns.get(namespace, [])
        present = 0
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            marks = ",".join("?" * len(part))
            stored = dict(
                conn.execute(f"SELECT rowid, vector FROM vectors WHERE rowid IN ({marks})", part)  # nosec B608 # constant SQL, '?' marks; values bound
            )
            got = store.vectors.index.vectors(namespace, part)
            for key, vec in zip(part, got, strict=True):
                if np.isnan(vec[0]):
                    missing += 1
                    continue
                present += 1
                if not same_vector(vec, decode_vector(stored[key])):
                    stale += 1
        extra += store.vectors.index.size(namespace) - present
    return missing, stale, extra


def consistency_report(store: SQLiteStore) -> dict[str, object]:
    """Compare the id sets of ``memories``, FTS, vectors + queue and the HNSW index.

    Returns ``{"ok": bool, "quick_check": str, "rows": int, ...}`` with the
    sizes of every difference; ``ok`` is true when all sets are equal and
    ``PRAGMA quick_check`` says ``ok``. The HNSW index is compared key by key
    and vector by vector with the ``vectors`` table, namespace by namespace.

    The sets are read one after another, so the report is meant for a store
    at rest: while a writer or the backfill worker moves rows from the queue
    to ``vectors``, a row can be seen in neither.
    """
    conn = store.pool.reader()
    rows = {r[0] for r in conn.execute("SELECT rowid FROM memories")}
    fts = {r[0] for r in conn.execute("SELECT rowid FROM memories_fts")}
    vectors = {r[0] for r in conn.execute("SELECT rowid FROM vectors")}
    queued = {r[0] for r in conn.execute("SELECT rowid FROM embedding_queue")}
    store.vectors.sync()
    indexed = store.vectors.index.size()
    index_missing, index_stale, index_extra = _index_differences(store)
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
        "index_missing": index_missing,
        "index_stale": index_stale,
        "index_extra": index_extra,
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
                "index_missing",
                "index_stale",
                "index_extra",
            )
        )
        and indexed == len(vectors)
    )
    return report

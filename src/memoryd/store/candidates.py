"""Candidate queries: BM25 and vector top-k inside one namespace, filters applied in SQL.

Both legs take their top of the ranking where it is cheap (FTS5 restricted
by the namespace token; the namespace's own HNSW index), then check the
remaining conditions (expiry, history, kinds, tags, metadata, time) by rowid
in SQL, widening the window when too few survive. Selective filters fall
back to exact computation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memoryd.errors import StorageError
from memoryd.store.filters import SqlWhere
from memoryd.store.index_upkeep import IndexUpkeepMixin

__all__ = ["EXACT_SEARCH_LIMIT", "FTS_WINDOW_LIMIT", "CandidatesMixin"]

#: Filtered vector searches whose filtered set is at most this many rows are
#: computed exactly (dot products over the index's stored vectors).
EXACT_SEARCH_LIMIT = 5_000
#: Largest FTS window checked by rowid before filters are joined into the FTS query.
FTS_WINDOW_LIMIT = 3_200


class CandidatesMixin(IndexUpkeepMixin):
    """``keyword_candidates`` and ``vector_candidates`` for the SQLite store."""

    def keyword_candidates(self, match: str, where: SqlWhere, k: int) -> list[tuple[int, float]]:
        """BM25 top-``k`` ``(rowid, score)`` for an FTS5 MATCH expression, best first.

        ``score`` is ``-bm25`` (higher is better); ``body`` weighs 1.0, ``context`` 0.5.

        The MATCH expression carries the namespace token (``ns`` column), so
        the top of the ranking is taken inside FTS5 for that namespace alone
        (no join per match), then checked against ``where`` by rowid; if too few survive the FTS
        window widens, and past :data:`FTS_WINDOW_LIMIT` rows the filters are
        joined into the FTS query itself (exact, slower on big stores).
        """
        window = max(2 * k, k + 20)
        while window <= FTS_WINDOW_LIMIT:
            rows = self._fts(
                "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
                "WHERE memories_fts MATCH ? ORDER BY bm25(memories_fts, 1.0, 0.5, 0.0) LIMIT ?",
                (match, window),
            )
            alive = self._alive([r for r, _ in rows], where)
            hits = [(r, s) for r, s in rows if r in alive]
            if len(hits) >= k or len(rows) < window:
                return hits[:k]
            window *= 4
        return self._fts(
            "SELECT m.rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
            "JOIN memories m ON m.rowid = memories_fts.rowid "
            f"WHERE memories_fts MATCH ? AND {where.sql()} "
            "ORDER BY bm25(memories_fts, 1.0, 0.5, 0.0) LIMIT ?",
            (match, *where.params, k),
        )

    def _fts(self, sql: str, params: Sequence[object]) -> list[tuple[int, float]]:
        try:
            rows = self.pool.reader().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise StorageError(f"full-text query failed: {exc}") from exc
        return [(int(r[0]), float(r[1])) for r in rows]

    def vector_candidates(
        self,
        namespace: str,
        query: npt.NDArray[np.float32],
        where: SqlWhere,
        k: int,
        *,
        filtered: bool,
    ) -> list[tuple[int, float]]:
        """Top-``k`` ``(rowid, cosine)`` in ``namespace`` among rows matching ``where``.

        HNSW candidates are checked against ``where`` in SQL; when too few
        survive, the search widens, and a selective ``filtered`` query whose
        rows number at most :data:`EXACT_SEARCH_LIMIT` is computed exactly.
        """
        self.sync_index()
        total = self.index.size(namespace)
        if total == 0:
            return []
        want = min(total, max(2 * k, k + 20))
        while True:
            keys, sims = self.index.search(namespace, query, want)
            alive = self._alive(keys.tolist(), where)
            hits = [
                (int(key), float(sim))
                for key, sim in zip(keys, sims, strict=True)
                if int(key) in alive
            ]
            if len(hits) >= k or want >= total:
                return hits[:k]
            if filtered:
                exact = self._exact(namespace, query, where, k)
                if exact is not None:
                    return exact
            want = min(total, want * 4)

    def _alive(self, rowids: list[int], where: SqlWhere) -> set[int]:
        if not rowids:
            return set()
        marks = ",".join("?" * len(rowids))
        rows = (
            self.pool.reader()
            .execute(
                # NOT INDEXED: look rows up by rowid; without ANALYZE statistics
                # SQLite would otherwise scan the namespace index instead.
                f"SELECT m.rowid FROM memories m NOT INDEXED WHERE m.rowid IN ({marks}) "
                f"AND {where.sql()}",
                (*rowids, *where.params),
            )
            .fetchall()
        )
        return {int(r[0]) for r in rows}

    def _exact(
        self, namespace: str, query: npt.NDArray[np.float32], where: SqlWhere, k: int
    ) -> list[tuple[int, float]] | None:
        rows = (
            self.pool.reader()
            .execute(
                f"SELECT m.rowid FROM memories m WHERE {where.sql()} LIMIT ?",
                (*where.params, EXACT_SEARCH_LIMIT + 1),
            )
            .fetchall()
        )
        if len(rows) > EXACT_SEARCH_LIMIT:
            return None
        rowids = [int(r[0]) for r in rows]
        vectors = self.index.vectors(namespace, rowids)
        present = ~np.isnan(vectors[:, 0]) if len(rowids) else np.zeros(0, bool)
        ids = np.asarray(rowids, dtype=np.int64)[present]
        sims = vectors[present] @ query
        order = np.argsort(-sims)[:k]
        return [(int(ids[i]), float(sims[i])) for i in order]

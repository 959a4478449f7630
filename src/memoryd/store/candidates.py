"""The store's candidate queries (``store.candidates``): BM25 and vector top-k.

Both run inside one namespace and take their top of the ranking where it is
cheap (the in-memory BM25 index or FTS5 restricted by the namespace token;
the namespace's own HNSW index), then check the remaining conditions
(expiry, history, kinds, tags, metadata, time) by rowid in SQL, widening the
window when too few survive. Selective filters fall back to exact computation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memoryd.errors import StorageError
from memoryd.store.connection import ConnectionPool
from memoryd.store.filters import SqlWhere
from memoryd.store.fts import match_expression, namespace_token
from memoryd.store.index_upkeep import VectorUpkeep
from memoryd.store.keyword_index import query_tokens
from memoryd.store.keyword_upkeep import KeywordUpkeep

__all__ = ["EXACT_SEARCH_LIMIT", "FTS_WINDOW_LIMIT", "TAIL_RANGES", "Candidates"]

#: Filtered vector searches whose filtered set is at most this many rows are
#: computed exactly (dot products over the index's stored vectors).
EXACT_SEARCH_LIMIT = 5_000
#: Largest FTS window checked by rowid before filters are joined into the FTS query.
FTS_WINDOW_LIMIT = 3_200
#: FTS5 range queries for the keyword index's tail (each ~1 ms at 100k rows); more
#: runs of rowids are read as one span from the lowest to the highest.
TAIL_RANGES = 8


def first_window(k: int) -> int:
    """How many ranked rows to take first for ``k`` candidates: ``k`` plus a 25 % margin (≥ 20).

    The margin covers rows the SQL check drops (expired, superseded, filtered);
    when more are dropped the window grows 4× per round. A smaller first window
    is cheaper on both legs (HNSW top-125 instead of top-200 at ``k = 100``:
    ~0.9 instead of ~1.2 ms at 100k, and a shorter rowid check).
    """
    return k + max(20, k // 4)


@dataclass(eq=False)
class Candidates:
    """BM25 (:meth:`keyword`) and vector (:meth:`vector`) candidates of one namespace."""

    pool: ConnectionPool
    vectors: VectorUpkeep
    keywords: KeywordUpkeep

    def keyword(
        self, terms: list[str], namespace: str, where: SqlWhere, k: int
    ) -> list[tuple[int, float]]:
        """BM25 top-``k`` ``(rowid, score)`` for query ``terms`` in ``namespace``, best first.

        ``terms`` come from :func:`~memoryd.store.fts.query_terms`; ``score``
        is ``-bm25`` (higher is better); ``body`` weighs 1.0, ``context`` 0.5.

        With the in-memory index ready (``keyword_index = "memory"``) the
        ranking comes from :class:`~memoryd.store.keyword_index.KeywordIndex`
        (rows written since its follower last caught up, the view's tail, are
        ranked by FTS5 and merged in: :meth:`KeywordUpkeep.current`);
        otherwise, and for queries with phrases (CJK runs), from FTS5, whose
        MATCH expression carries the namespace token so its top is taken
        inside FTS5 for that namespace alone. Either way the top window is
        checked against ``where`` by rowid; if too few survive the window
        widens, and past :data:`FTS_WINDOW_LIMIT` rows the filters are joined
        into the FTS query itself (exact, slower on big stores).
        """
        match = match_expression(terms, namespace)
        if match is None:
            return []
        view = self.keywords.current()
        tokens = query_tokens(terms) if view is not None else None
        if view is not None and tokens is not None:
            rowids, scores = view.index.score(tokens, namespace_token(namespace))
            if view.tail:
                rowids, scores = self._with_tail(rowids, scores, view.tail, match)

            def ranked(window: int) -> list[tuple[int, float]]:
                return _top(rowids, scores, window)
        else:

            def ranked(window: int) -> list[tuple[int, float]]:
                return self._fts(
                    "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
                    "WHERE memories_fts MATCH ? "
                    "ORDER BY bm25(memories_fts, 1.0, 0.5, 0.0) LIMIT ?",
                    (match, window),
                )

        window = first_window(k)
        while window <= FTS_WINDOW_LIMIT:
            rows = ranked(window)
            alive = self._alive([r for r, _ in rows], where)
            hits = [(r, s) for r, s in rows if r in alive]
            if len(hits) >= k or len(rows) < window:
                return hits[:k]
            window *= 4
        return self._fts_joined(match, where, k)

    def _with_tail(
        self,
        rowids: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float64],
        tail: list[int],
        match: str,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The index's hits with the ``tail`` rows (not indexed yet) ranked by FTS5 instead.

        FTS5 finds rows by rowid range cheaply (``rowid IN`` costs a MATCH per
        value), so the tail is read as a few ranges (:func:`_ranges`) and
        rows of the ranges outside the tail (already indexed) are dropped.
        """
        stale = np.isin(rowids, np.asarray(tail, dtype=np.int64))
        wanted = set(tail)
        fresh: list[tuple[int, float]] = []
        for low, high in _ranges(tail):
            fresh.extend(
                hit
                for hit in self._fts(
                    "SELECT rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "
                    "WHERE memories_fts MATCH ? AND rowid BETWEEN ? AND ?",
                    (match, low, high),
                )
                if hit[0] in wanted
            )
        if not fresh:
            return rowids[~stale], scores[~stale]
        return (
            np.concatenate([rowids[~stale], np.fromiter((r for r, _ in fresh), np.int64)]),
            np.concatenate([scores[~stale], np.fromiter((s for _, s in fresh), np.float64)]),
        )

    def _fts_joined(self, match: str, where: SqlWhere, k: int) -> list[tuple[int, float]]:
        return self._fts(
            "SELECT m.rowid, -bm25(memories_fts, 1.0, 0.5, 0.0) FROM memories_fts "  # nosec B608 # constant SQL, '?' marks; values bound
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

    def vector(
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
        self.vectors.sync()
        total = self.vectors.index.size(namespace)
        if total == 0:
            return []
        want = min(total, first_window(k))
        while True:
            keys, sims = self.vectors.index.search(namespace, query, want)
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
                f"SELECT m.rowid FROM memories m NOT INDEXED WHERE m.rowid IN ({marks}) "  # nosec B608 # constant SQL, '?' marks; values bound
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
                f"SELECT m.rowid FROM memories m WHERE {where.sql()} LIMIT ?",  # nosec B608 # constant SQL, '?' marks; values bound
                (*where.params, EXACT_SEARCH_LIMIT + 1),
            )
            .fetchall()
        )
        if len(rows) > EXACT_SEARCH_LIMIT:
            return None
        rowids = [int(r[0]) for r in rows]
        vectors = self.vectors.index.vectors(namespace, rowids)
        present = ~np.isnan(vectors[:, 0]) if len(rowids) else np.zeros(0, bool)
        ids = np.asarray(rowids, dtype=np.int64)[present]
        sims = vectors[present] @ query
        order = np.argsort(-sims)[:k]
        return [(int(ids[i]), float(sims[i])) for i in order]


def _ranges(rowids: list[int], most: int = TAIL_RANGES) -> list[tuple[int, int]]:
    """Sorted ``rowids`` as inclusive runs of consecutive values; one span if more than ``most``."""
    runs: list[tuple[int, int]] = []
    for rowid in rowids:
        if runs and rowid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], rowid)
        else:
            runs.append((rowid, rowid))
    return runs if len(runs) <= most else [(rowids[0], rowids[-1])]


def _top(
    rowids: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], n: int
) -> list[tuple[int, float]]:
    """The ``n`` best ``(rowid, score)`` pairs, best first, ties by ascending rowid."""
    if rowids.shape[0] > n:
        part = np.argpartition(-scores, n - 1)[:n]
        rowids, scores = rowids[part], scores[part]
    order = np.lexsort((rowids, -scores))
    return list(zip(rowids[order].tolist(), scores[order].tolist(), strict=True))

"""The search pipeline: candidates -> fusion -> adjustments -> MMR -> hits.

1. Candidates: BM25 (in-memory index or FTS5) and vector (HNSW) top-``candidates`` lists, both
   restricted inside the store query to the namespace, expiry, history and
   filters of the request.
2. Fusion: RRF or weighted (``search/fusion.py``), normalised to 0..1.
3. Adjustments: ``final = (1 - r - i) * fusion + r * recency + i * importance``
   where ``recency = 2 ** (-age_days / half_life_days)``.
4. Optional MMR diversity, ``min_score`` and ``limit``.

If the embedding provider fails, a hybrid search falls back to BM25 and says
so (``degraded=True`` with a note); a vector-only search raises. Rows of the
namespace still waiting in the embedding queue (provider down at write time,
or deferred by the write latency budget) are missing from the vector leg;
while there are any, the result says how many (``degraded=True``, a note).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from memoryd.embeddings.base import Embedder, Vectors
from memoryd.embeddings.cache import QueryEmbeddingCache
from memoryd.errors import BackendUnavailable, Timeout
from memoryd.search.fusion import Fused, fuse
from memoryd.search.mmr import mmr
from memoryd.store.filters import scope_where
from memoryd.store.fts import query_terms
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import ScoreExplain, SearchHit, SearchParams, SearchResult

__all__ = ["FusionConfig", "search"]

_DAY = 86_400.0
#: Counting rows that wait for their embedding stops here (a bounded cost per search).
_PENDING_COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class FusionConfig:
    """Fusion settings (from :class:`~memoryd.config.Settings`)."""

    method: str = "weighted"
    rrf_k: int = 60
    bm25_weight: float = 1.0
    vector_weight: float = 0.4
    candidates: int = 100


def search(
    store: SQLiteStore,
    embedder: Embedder,
    cache: QueryEmbeddingCache,
    params: SearchParams,
    config: FusionConfig,
    executor: Executor | None = None,
) -> SearchResult:
    """Run one search. Errors: ``BackendUnavailable``/``Timeout`` in vector mode only.

    With an ``executor``, the BM25 leg of a hybrid search runs on it while this
    thread embeds the query and searches the vector index (SQLite and
    onnxruntime release the GIL, so the legs overlap on separate cores); its
    errors are raised here, as without an executor.
    """
    started = time.perf_counter()
    now = time.time()
    where = scope_where(
        namespace=params.namespace,
        now=now,
        kinds=list(params.kinds) if params.kinds else None,
        session_id=params.session_id,
        tags=params.tags,
        since=params.since,
        until=params.until,
        filter=params.filter,
        include_superseded=params.include_superseded,
    )
    filtered = len(where.clauses) > 3 - int(params.include_superseded)
    k = max(config.candidates, params.limit * (3 if params.diversity is not None else 1))
    notes: list[str] = []
    bm25: list[tuple[int, float]] = []
    vector: list[tuple[int, float]] = []
    qvec = None
    pending: Future[list[tuple[int, float]]] | None = None
    if params.mode in ("hybrid", "keyword"):
        terms = query_terms(params.query)
        if terms and executor is not None and params.mode == "hybrid":
            pending = executor.submit(store.candidates.keyword, terms, params.namespace, where, k)
        elif terms:
            bm25 = store.candidates.keyword(terms, params.namespace, where, k)
    if params.mode in ("hybrid", "vector"):
        try:
            qvec = cache.embed_one(embedder, params.query)
        except (BackendUnavailable, Timeout) as exc:
            if params.mode == "vector":
                raise
            notes.append(f"vector search skipped: {exc.code}: {exc.message}")
        if qvec is not None:
            vector = store.candidates.vector(params.namespace, qvec, where, k, filtered=filtered)
            waiting = store.queue.pending(params.namespace, limit=_PENDING_COUNT_LIMIT)
            if waiting:
                many = "at least " if waiting >= _PENDING_COUNT_LIMIT else ""
                notes.append(
                    f"{many}{waiting} memories of this namespace wait for their embedding; "
                    "until the backfill worker embeds them, only keyword search finds them"
                )
    if pending is not None:
        bm25 = pending.result()
    fused = fuse(
        bm25,
        vector,
        method="weighted" if config.method == "weighted" else "rrf",
        rrf_k=config.rrf_k,
        bm25_weight=config.bm25_weight,
        vector_weight=config.vector_weight,
    )
    hits = _rank(store, fused, params, qvec, now)
    return SearchResult(
        hits=hits,
        mode=params.mode,
        took_ms=(time.perf_counter() - started) * 1000,
        degraded=bool(notes),
        notes=notes,
    )


def _rank(
    store: SQLiteStore,
    fused: list[Fused],
    params: SearchParams,
    qvec: Vectors | None,
    now: float,
) -> list[SearchHit]:
    adjust = params.recency_weight + params.importance_weight
    pool = params.limit * (3 if params.diversity is not None else 1)
    if adjust == 0:
        fused = fused[:pool]
    entries = store.fetch([f.rowid for f in fused])
    scored: list[tuple[Fused, float, float | None, float | None]] = []
    relevance_share = max(0.0, 1.0 - adjust)
    for item in fused:
        entry = entries.get(item.rowid)
        if entry is None:
            continue
        recency = importance = None
        final = relevance_share * item.score
        if params.recency_weight:
            age_days = max(0.0, now - entry.created_at.timestamp()) / _DAY
            recency = math.pow(2.0, -age_days / params.recency_half_life_days)
            final += params.recency_weight * recency
        if params.importance_weight:
            importance = entry.importance
            final += params.importance_weight * importance
        scored.append((item, final, recency, importance))
    scored.sort(key=lambda s: (-s[1], s[0].rowid))
    scored = scored[:pool]
    mmr_scores: dict[int, float] = {}
    if params.diversity is not None and scored:
        rowids = [s[0].rowid for s in scored]
        vectors = store.vectors.index.vectors(params.namespace, rowids)
        order = mmr(
            np.array([s[1] for s in scored]), vectors, lambda_=params.diversity, limit=params.limit
        )
        mmr_scores = {rowids[i]: score for i, score in order}
        scored = [scored[i] for i, _ in order]
    hits: list[SearchHit] = []
    for item, final, recency, importance in scored:
        if params.min_score is not None and final < params.min_score:
            continue
        explain = None
        if params.explain:
            explain = ScoreExplain(
                bm25_rank=item.bm25_rank,
                bm25_score=item.bm25_score,
                vector_rank=item.vector_rank,
                vector_score=item.vector_score,
                fusion=item.score,
                recency=recency,
                importance=importance,
                mmr=mmr_scores.get(item.rowid),
                final=final,
            )
        hits.append(SearchHit(entry=entries[item.rowid], score=final, explain=explain))
        if len(hits) >= params.limit:
            break
    return hits

"""Rank fusion of BM25 and vector candidate lists.

* RRF (reciprocal rank fusion, Cormack, Clarke & Buettcher, SIGIR 2009):
  ``score(d) = sum_i w_i / (k + rank_i(d))``, normalised here by its maximum
  ``sum_i w_i / (k + 1)`` so that a document ranked first everywhere scores 1.
* Weighted (convex combination of normalised scores, Bruch et al., TOIS 2023):
  BM25 scores are divided by the list's maximum, cosine similarities are
  clipped to 0..1, then ``(w_b * bm25 + w_v * cos) / (w_b + w_v)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Fused", "fuse"]


@dataclass
class Fused:
    """One fused candidate: its rowid, normalised fused score (0..1) and the parts."""

    rowid: int
    score: float
    bm25_rank: int | None = None
    bm25_score: float | None = None
    vector_rank: int | None = None
    vector_score: float | None = None


def fuse(
    bm25: Sequence[tuple[int, float]],
    vector: Sequence[tuple[int, float]],
    *,
    method: Literal["rrf", "weighted"] = "rrf",
    rrf_k: int = 60,
    bm25_weight: float = 1.0,
    vector_weight: float = 1.0,
) -> list[Fused]:
    """Fuse two best-first ``(rowid, score)`` lists into one, best first.

    Lists that are empty do not count towards the normaliser, so keyword-only
    or vector-only searches still score their best hit 1.0 under RRF.
    """
    table: dict[int, Fused] = {}
    for rank, (rowid, score) in enumerate(bm25, start=1):
        table[rowid] = Fused(rowid, 0.0, bm25_rank=rank, bm25_score=score)
    for rank, (rowid, score) in enumerate(vector, start=1):
        item = table.setdefault(rowid, Fused(rowid, 0.0))
        item.vector_rank, item.vector_score = rank, score
    wb = bm25_weight if bm25 else 0.0
    wv = vector_weight if vector else 0.0
    if wb + wv == 0:
        return []
    if method == "rrf":
        norm = (wb + wv) / (rrf_k + 1)
        for item in table.values():
            total = 0.0
            if item.bm25_rank is not None:
                total += wb / (rrf_k + item.bm25_rank)
            if item.vector_rank is not None:
                total += wv / (rrf_k + item.vector_rank)
            item.score = total / norm
    else:
        top = max((s for _, s in bm25), default=0.0) or 1.0
        for item in table.values():
            b = (item.bm25_score or 0.0) / top if item.bm25_score is not None else 0.0
            v = min(1.0, max(0.0, item.vector_score or 0.0))
            item.score = (wb * b + wv * v) / (wb + wv)
    return sorted(table.values(), key=lambda f: (-f.score, f.rowid))

"""Maximal marginal relevance (Carbonell & Goldstein, SIGIR 1998).

Greedily picks the candidate maximising
``lambda * relevance - (1 - lambda) * max cosine to the already picked``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["mmr"]


def mmr(
    relevance: npt.NDArray[np.float64],
    vectors: npt.NDArray[np.float32],
    *,
    lambda_: float,
    limit: int,
) -> list[tuple[int, float]]:
    """Order candidates by MMR.

    Args:
        relevance: ``(n,)`` relevance scores in 0..1.
        vectors: ``(n, dim)`` unit vectors; rows of NaN (no vector) never penalise.
        lambda_: trade-off in 0..1 (1 = pure relevance).
        limit: how many to pick.

    Returns:
        ``(index, mmr_score)`` pairs in pick order.
    """
    n = len(relevance)
    if n == 0:
        return []
    vecs = np.nan_to_num(vectors.astype(np.float32), nan=0.0)
    sims = vecs @ vecs.T
    picked: list[tuple[int, float]] = []
    max_sim = np.zeros(n, dtype=np.float64)
    free = np.ones(n, dtype=bool)
    for _ in range(min(limit, n)):
        scores = lambda_ * relevance - (1.0 - lambda_) * max_sim
        scores[~free] = -np.inf
        best = int(np.argmax(scores))
        picked.append((best, float(scores[best])))
        free[best] = False
        max_sim = np.maximum(max_sim, sims[best])
    return picked

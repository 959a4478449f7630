"""Merging near-duplicate patterns: DBSCAN (scikit-learn) over description embeddings.

Patterns are compared only within one group (namespace, kind, domain), on the
all-MiniLM-L6-v2 embeddings of their descriptions (unit vectors, so cosine
distance = 1 − dot product). DBSCAN (Ester et al., KDD 1996) with
``min_samples = 2`` puts every pair closer than ``eps`` — and everything
chained to them — in one cluster; noise points stay alone. In each cluster
the pattern with the most occurrences (then the oldest) survives and the
others are folded into it (``PatternStore.merge``).

``DEFAULT_MERGE_EPS = 0.04``: on this model, descriptions that differ by one
tool name or an argument word sit at 0.01–0.03; different approaches in the
same domain are above 0.06 (measured on the scenario in
``tests/learning/test_scenario.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.cluster import DBSCAN

__all__ = ["DEFAULT_MERGE_EPS", "pick_survivor", "similar_groups"]

#: Largest cosine distance at which two pattern descriptions are merged.
DEFAULT_MERGE_EPS = 0.04


def similar_groups(
    vectors: npt.NDArray[np.float32], *, eps: float = DEFAULT_MERGE_EPS
) -> list[list[int]]:
    """Clusters of row indices with more than one member.

    Args:
        vectors: ``(n, dim)`` float32 unit vectors.
        eps: largest cosine distance between neighbours (0..2).

    Returns:
        Lists of indices into ``vectors``, each of length ≥ 2, sorted.
    """
    if vectors.shape[0] < 2:
        return []
    labels = DBSCAN(eps=eps, min_samples=2, metric="cosine", algorithm="brute").fit(vectors).labels_
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        if label >= 0:
            groups.setdefault(int(label), []).append(index)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def pick_survivor(occurrences: Sequence[int], order: Sequence[int]) -> int:
    """Index of the member that survives a merge: most occurrences, then lowest ``order``."""
    return min(range(len(occurrences)), key=lambda i: (-occurrences[i], order[i]))

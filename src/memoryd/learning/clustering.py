"""Merging near-duplicate patterns: DBSCAN (scikit-learn) over embeddings and structure.

Patterns are compared only within one group (namespace, kind, domain). The
distance between two patterns is the larger of

* the cosine distance of their description embeddings (all-MiniLM-L6-v2,
  unit vectors, so ``1 − dot``), and
* the Jaccard distance ``1 − |A ∩ B| / |A ∪ B|`` of their structural tokens
  (tools of a sequence; condition words and tools of a decision point;
  error, failed tool and recovery tools of a recovery; language, framework
  and task type of a context pattern).

So two patterns merge only when they read alike *and* use the same parts.
The embedding alone is not enough: on this model "write_config →
terraform_plan → validate_plan → terraform_apply" and "terraform_apply →
manual_fix" are only 0.10 apart, while a sequence and the same sequence
with one retry are 0.01–0.11 apart (measured on the scenario of
``tests/learning/scenario.py``); their Jaccard distances are 0.8 and 0–0.2.

DBSCAN (Ester et al., KDD 1996) runs on the precomputed distance matrix with
``min_samples = 2``: every pair closer than ``eps`` — and everything chained
to them — forms one cluster. In each cluster the pattern with the most
occurrences (then the oldest) survives and the others are folded into it
(``PatternStore.merge``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_MERGE_EPS", "pattern_tokens", "pick_survivor", "similar_groups"]

#: Largest combined distance (see the module docstring) at which patterns are merged.
DEFAULT_MERGE_EPS = 0.25


def pattern_tokens(kind: str, data: Mapping[str, Any]) -> frozenset[str]:
    """The structural tokens of a pattern (see the module docstring)."""
    if kind == "tool_sequence":
        return frozenset(data.get("tools", []))
    if kind == "decision_point":
        words = str(data.get("condition", "")).split()
        return frozenset([*words, f"tool:{data.get('tool')}", f"then:{data.get('then')}"])
    if kind == "error_recovery":
        tools = [f"fix:{t}" for t in data.get("recovery", [])]
        return frozenset([f"error:{data.get('error')}", f"tool:{data.get('failed_tool')}", *tools])
    return frozenset(
        f"{k}:{data.get(k)}" for k in ("language", "framework", "task_type") if data.get(k)
    )


def _jaccard_distances(tokens: Sequence[frozenset[str]]) -> npt.NDArray[np.float64]:
    n = len(tokens)
    out = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            union = len(tokens[i] | tokens[j])
            d = 1.0 - len(tokens[i] & tokens[j]) / union if union else 0.0
            out[i, j] = out[j, i] = d
    return out


def similar_groups(
    vectors: npt.NDArray[np.float32],
    tokens: Sequence[frozenset[str]],
    *,
    eps: float = DEFAULT_MERGE_EPS,
) -> list[list[int]]:
    """Clusters of row indices with more than one member.

    Args:
        vectors: ``(n, dim)`` float32 unit vectors of the descriptions.
        tokens: ``n`` structural token sets (:func:`pattern_tokens`).
        eps: largest combined distance between neighbours (0..1).

    Returns:
        Lists of indices, each of length ≥ 2, sorted.
    """
    from sklearn.cluster import DBSCAN  # imported on first use: it is slow to import

    if vectors.shape[0] < 2:
        return []
    cosine = np.clip(1.0 - vectors.astype(np.float64) @ vectors.T.astype(np.float64), 0.0, 2.0)
    distances = np.maximum(cosine, _jaccard_distances(tokens))
    np.fill_diagonal(distances, 0.0)
    labels = DBSCAN(eps=eps, min_samples=2, metric="precomputed").fit(distances).labels_
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        if label >= 0:
            groups.setdefault(int(label), []).append(index)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def pick_survivor(occurrences: Sequence[int], order: Sequence[int]) -> int:
    """Index of the member that survives a merge: most occurrences, then lowest ``order``."""
    return min(range(len(occurrences)), key=lambda i: (-occurrences[i], order[i]))

"""Retrieval metrics shared by the evaluations: recall@k, recall_any/all@k, NDCG@k.

Every function takes the relevant ids (``evidence``) and the retrieved ids,
best first, and returns a score in 0..1. Ids are opaque strings: turn ids
(LoCoMo ``"D1:3"``, LongMemEval ``"<session>:<turn>"``) or session ids. For
session-level scores, turn hits are mapped to their sessions and folded with
:func:`distinct` first, so the top k are the k best *distinct* sessions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from memoryd.errors import ValidationError

__all__ = [
    "DEFAULT_KS",
    "check_ks",
    "distinct",
    "mean",
    "ndcg_at_k",
    "percentiles_ms",
    "recall_all_at_k",
    "recall_any_at_k",
    "recall_at_k",
]

#: The cut-offs every evaluation reports unless told otherwise.
DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 25, 50)


def check_ks(ks: Iterable[int]) -> list[int]:
    """``ks`` sorted and unique.

    Raises:
        ValidationError: ``ks`` is empty or holds a k outside 1..1000.
    """
    given = list(ks)
    ordered = sorted(set(given))
    if not ordered or ordered[0] < 1 or ordered[-1] > 1000:
        raise ValidationError("ks must be a non-empty list of integers in 1..1000", ks=given)
    return ordered


def distinct(ids: Iterable[str]) -> list[str]:
    """``ids`` in first-seen order without repeats: ``["s1", "s2", "s1"] -> ["s1", "s2"]``."""
    return list(dict.fromkeys(ids))


def recall_at_k(evidence: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """Share of ``evidence`` ids found in ``retrieved[:k]``; 1.0 when there is no evidence.

    Example: ``recall_at_k(["D1:1", "D1:2"], ["D1:2", "D3:3"], 1) == 0.5``.
    """
    if not evidence:
        return 1.0
    top = set(retrieved[:k])
    return sum(1 for item in evidence if item in top) / len(evidence)


def recall_any_at_k(evidence: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """1.0 when at least one ``evidence`` id is in ``retrieved[:k]``, else 0.0 (1.0 if none)."""
    if not evidence:
        return 1.0
    top = set(retrieved[:k])
    return 1.0 if any(item in top for item in evidence) else 0.0


def recall_all_at_k(evidence: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """1.0 when every ``evidence`` id is in ``retrieved[:k]``, else 0.0 (1.0 if none)."""
    return 1.0 if recall_at_k(evidence, retrieved, k) == 1.0 else 0.0


def ndcg_at_k(evidence: Sequence[str], retrieved: Sequence[str], k: int) -> float:
    """Binary-relevance NDCG@k: ``DCG = sum(rel_i / log2(i + 1))`` over ranks i = 1..k.

    The ideal DCG puts all ``min(|evidence|, k)`` relevant ids first; 1.0 when
    there is no evidence. Repeated retrieved ids count once (at their best rank).
    """
    relevant = set(evidence)
    if not relevant:
        return 1.0
    seen: set[str] = set()
    gain = 0.0
    for rank, item in enumerate(retrieved[:k], start=1):
        if item in relevant and item not in seen:
            seen.add(item)
            gain += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return gain / ideal


def mean(values: Iterable[float]) -> float:
    """Mean of ``values``; 0.0 for none."""
    given = list(values)
    return float(np.mean(given)) if given else 0.0


def percentiles_ms(latencies: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) of ``latencies`` (milliseconds in, milliseconds out; 0.0 for none)."""
    values = np.asarray(latencies or [0.0])
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))

"""The shared retrieval metrics: recall@k, recall_any/all@k, NDCG@k, ks, percentiles."""

from __future__ import annotations

import math

import pytest

from memoryd import ValidationError
from memoryd.eval.metrics import (
    check_ks,
    distinct,
    mean,
    ndcg_at_k,
    percentiles_ms,
    recall_all_at_k,
    recall_any_at_k,
    recall_at_k,
)


def test_recall_at_k_definition() -> None:
    assert recall_at_k(["D1:1", "D1:2"], ["D1:2", "D3:3", "D1:1"], 1) == 0.5
    assert recall_at_k(["D1:1", "D1:2"], ["D1:2", "D3:3", "D1:1"], 3) == 1.0
    assert recall_at_k(["D1:1"], [], 10) == 0.0
    assert recall_at_k([], ["D1:1"], 1) == 1.0


def test_recall_any_and_all() -> None:
    evidence, retrieved = ["s1", "s2"], ["s2", "x", "s1"]
    assert recall_any_at_k(evidence, retrieved, 1) == 1.0
    assert recall_all_at_k(evidence, retrieved, 1) == 0.0
    assert recall_all_at_k(evidence, retrieved, 3) == 1.0
    assert recall_any_at_k(["s9"], retrieved, 3) == 0.0
    assert recall_any_at_k([], retrieved, 1) == recall_all_at_k([], [], 1) == 1.0


def test_ndcg_by_hand() -> None:
    # One relevant id at rank 2: (1 / log2 3) / (1 / log2 2).
    assert ndcg_at_k(["a"], ["x", "a"], 10) == pytest.approx(1 / math.log2(3))
    # Two relevant at ranks 1 and 3: (1 + 1/log2 4) / (1 + 1/log2 3).
    assert ndcg_at_k(["a", "b"], ["a", "x", "b"], 10) == pytest.approx(
        (1 + 1 / 2) / (1 + 1 / math.log2(3))
    )
    # The ideal is capped at k; a repeat counts once; beyond k nothing counts.
    assert ndcg_at_k(["a", "b", "c"], ["a", "a", "b"], 2) == pytest.approx(
        1 / (1 + 1 / math.log2(3))
    )
    assert ndcg_at_k(["a"], ["x", "a"], 1) == 0.0
    assert ndcg_at_k([], ["x"], 10) == 1.0


def test_helpers() -> None:
    assert distinct(["s1", "s2", "s1", "s3"]) == ["s1", "s2", "s3"]
    assert mean([]) == 0.0 and mean([1.0, 0.0]) == 0.5
    assert check_ks([10, 1, 10]) == [1, 10]
    assert percentiles_ms([]) == (0.0, 0.0)
    p50, p95 = percentiles_ms([float(v) for v in range(1, 101)])
    assert p50 == pytest.approx(50.5) and p95 == pytest.approx(95.05)
    for bad in ([], [0], [1001]):
        with pytest.raises(ValidationError):
            check_ks(bad)

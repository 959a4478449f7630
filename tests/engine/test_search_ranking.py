"""Ranking through the real engine: RRF fusion, the recency and importance weights.

The default fusion is weighted (docs/PERFORMANCE.md); these tests run the
other branch (``Settings(fusion="rrf")``) and the score adjustments
``final = (1 - r - i) * fusion + r * recency + i * importance`` with
``recency = 2 ** (-age_days / half_life_days)`` (search/pipeline.py), and
check each ``explain`` figure against that formula.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memoryd import Memory, Settings
from memoryd.search.fusion import fuse

RRF_K = 60


def test_rrf_formula_on_two_lists() -> None:
    """score = sum_i w_i / (k + rank_i), divided by its maximum sum_i w_i / (k + 1)."""
    fused = fuse([(1, 9.0), (2, 5.0)], [(2, 0.9), (3, 0.8)], method="rrf", rrf_k=RRF_K)
    by_row = {f.rowid: f.score for f in fused}
    norm = 2 / (RRF_K + 1)
    assert by_row[2] == pytest.approx((1 / (RRF_K + 2) + 1 / (RRF_K + 1)) / norm)
    assert by_row[1] == pytest.approx((1 / (RRF_K + 1)) / norm)
    assert by_row[3] == pytest.approx((1 / (RRF_K + 2)) / norm)
    assert [f.rowid for f in fused] == [2, 1, 3]
    only_keyword = fuse([(7, 1.0)], [], method="rrf", rrf_k=RRF_K)
    assert only_keyword[0].score == pytest.approx(1.0)  # an empty list does not count


@pytest.fixture
def rrf_memory(tmp_path: Path, model_cache_dir: Path, embedder: Any) -> Any:
    settings = Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir, fusion="rrf")
    with Memory(settings, embedder=embedder, background=False) as memory:
        yield memory


def test_rrf_branch_through_the_engine(rrf_memory: Memory) -> None:
    texts = [
        "Ann drinks green tea every morning",
        "the office kettle is broken",
        "Bo prefers espresso after lunch",
        "the quarterly report is due on Friday",
    ]
    ids = {text: rrf_memory.add(text).id for text in texts}
    result = rrf_memory.search("green tea", limit=4, explain=True)
    top = result.hits[0]
    assert top.entry.id == ids[texts[0]]
    assert top.explain is not None
    assert top.explain.bm25_rank == 1 and top.explain.vector_rank == 1
    assert top.score == pytest.approx(1.0)  # first in both lists
    wb, wv = rrf_memory.settings.bm25_weight, rrf_memory.settings.vector_weight
    for hit in result.hits:
        ex = hit.explain
        assert ex is not None
        parts = [(r, w) for r, w in ((ex.bm25_rank, wb), (ex.vector_rank, wv)) if r is not None]
        expected = sum(w / (RRF_K + r) for r, w in parts) / ((wb + wv) / (RRF_K + 1))
        assert ex.fusion == pytest.approx(expected)
        assert hit.score == pytest.approx(ex.fusion)  # no adjustment asked


def _two_equal(memory: Memory, *, old_days: float) -> tuple[str, str]:
    """Two entries equally relevant to 'lantern' (same words), one ``old_days`` old."""
    now = datetime.now(UTC)
    old = memory.add(
        "the brass lantern hangs in the hall", created_at=now - timedelta(days=old_days)
    )
    new = memory.add("the lantern hangs in the brass hall", created_at=now)
    return str(old.id), str(new.id)


def test_recency_weight_prefers_the_newer_of_equal_matches(memory: Memory) -> None:
    old, new = _two_equal(memory, old_days=60)
    plain = memory.search("lantern", mode="keyword", limit=2, explain=True)
    assert plain.hits[0].score == pytest.approx(plain.hits[1].score)  # a tie without recency
    ranked = memory.search(
        "lantern",
        mode="keyword",
        limit=2,
        explain=True,
        recency_weight=0.5,
        recency_half_life_days=30,
    )
    assert [str(h.entry.id) for h in ranked.hits] == [new, old]
    for hit in ranked.hits:
        ex = hit.explain
        assert ex is not None and ex.recency is not None
        age_days = (datetime.now(UTC) - hit.entry.created_at).total_seconds() / 86_400
        assert ex.recency == pytest.approx(math.pow(2.0, -age_days / 30), rel=1e-3)
        assert hit.score == pytest.approx(0.5 * ex.fusion + 0.5 * ex.recency)
    assert ranked.hits[1].explain is not None
    assert ranked.hits[1].explain.recency == pytest.approx(0.25, rel=1e-3)  # two half-lives


def test_importance_weight_prefers_the_more_important_of_equal_matches(memory: Memory) -> None:
    # same length, same query terms: equal BM25 scores
    low = memory.add("the garden gate squeaks loudly", importance=0.1)
    high = memory.add("the garden gate squeaks softly", importance=0.9)
    ranked = memory.search(
        "garden gate", mode="keyword", limit=2, explain=True, importance_weight=0.3
    )
    assert [h.entry.id for h in ranked.hits] == [high.id, low.id]
    for hit in ranked.hits:
        ex = hit.explain
        assert ex is not None and ex.importance == hit.entry.importance
        assert hit.score == pytest.approx(0.7 * ex.fusion + 0.3 * ex.importance)
    unweighted = memory.search("garden gate", mode="keyword", limit=2, explain=True)
    assert unweighted.hits[0].score == pytest.approx(unweighted.hits[1].score)
    assert all(h.explain is not None and h.explain.importance is None for h in unweighted.hits)

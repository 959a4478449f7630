"""The pure rules: reward formula, Wilson lower bound, decay, extractors, clustering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from memoryd.learning.clustering import pattern_tokens, pick_survivor, similar_groups
from memoryd.learning.extraction import error_signature, recoveries, tool_sequence
from memoryd.learning.models import (
    AbstainedOutcome,
    FailureOutcome,
    PartialOutcome,
    Step,
    SuccessOutcome,
)
from memoryd.learning.reward import compute_reward, decayed_reward, outcome_base
from memoryd.learning.scoring import effectiveness_evidence, recency_decay, wilson_lower_bound

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _step(n: int, tool: str, status: str = "success", message: str | None = None) -> Step:
    result: dict[str, Any] = {"status": status, "message": message}
    return Step(number=n, tool=tool, action="act", result=result, created_at=_T0)


def test_outcome_base() -> None:
    assert outcome_base(SuccessOutcome(verdict="ok")) == 1.0
    assert outcome_base(FailureOutcome(reason="no")) == 0.0
    assert outcome_base(AbstainedOutcome(reason="unsafe")) == 0.2
    assert outcome_base(PartialOutcome(completed=["a", "b", "c"], failed=["d"])) == 0.625
    assert outcome_base(PartialOutcome()) == 0.5


def test_efficiency_uses_domain_medians_only_with_enough_episodes() -> None:
    steps = [_step(i, "t") for i in range(1, 5)]
    few = compute_reward(
        SuccessOutcome(verdict="ok"), steps, duration_s=60, complexity="simple", medians=(9, 120, 8)
    )
    assert few.efficiency == 1.0 and "9 completed episodes" in few.notes[0]
    fast = compute_reward(
        SuccessOutcome(verdict="ok"),
        steps,
        duration_s=60,
        complexity="simple",
        medians=(10, 120, 8),
    )
    assert fast.efficiency == 1.5  # 0.5·120/60 + 0.5·8/4 = 2.0, clipped to 1.5
    slow = compute_reward(
        SuccessOutcome(verdict="ok"),
        steps,
        duration_s=240,
        complexity="simple",
        medians=(10, 120, 4),
    )
    assert slow.efficiency == pytest.approx(0.75)
    assert slow.total == pytest.approx(0.75)


def test_failure_earns_no_bonus_and_decay_halves_per_half_life() -> None:
    steps = [_step(1, "a", "error", "x"), _step(2, "a")]
    failed = compute_reward(
        FailureOutcome(reason="no"), steps, duration_s=5, complexity="complex", medians=None
    )
    assert failed.total == 0.0 and failed.learning_bonus == 0.0
    assert decayed_reward(1.0, 30 * 86_400) == pytest.approx(0.5)
    assert decayed_reward(1.0, -5) == 1.0
    assert recency_decay(60 * 86_400) == pytest.approx(0.25)


def test_wilson_lower_bound_known_values() -> None:
    # Reference values of the 95 % Wilson interval (z = 1.96).
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(1, 1) == pytest.approx(0.2065, abs=1e-4)
    assert wilson_lower_bound(9, 10) == pytest.approx(0.5958, abs=1e-4)
    assert wilson_lower_bound(90, 100) == pytest.approx(0.8256, abs=1e-4)
    assert wilson_lower_bound(9, 10) > wilson_lower_bound(1, 1)
    assert effectiveness_evidence(8, 10, 1, 2) == (11.0, 19.0)


def test_extractor_helpers() -> None:
    steps = [
        _step(1, "read"),
        _step(2, "test", "error", "ImportError: no module named x"),
        _step(3, "test", "error", "ImportError: no module named x"),
        _step(4, "pip"),
        _step(5, "test"),
        _step(6, "deploy", "timeout"),
    ]
    assert tool_sequence(steps) == ["read", "test", "pip", "test", "deploy"]
    assert error_signature(steps[1]) == "ImportError"
    assert error_signature(steps[5]) == "timeout"
    found = recoveries(steps)
    assert [(f.number, [s.tool for s in r]) for f, r in found] == [(3, ["pip", "test"])]


def test_similar_groups_need_both_meaning_and_structure() -> None:
    a = np.asarray([1.0, 0.0, 0.0], dtype=np.float32)
    b = np.asarray([0.99, 0.141, 0.0], dtype=np.float32)
    b /= np.linalg.norm(b)
    c = np.asarray([0.0, 1.0, 0.0], dtype=np.float32)
    vectors = np.vstack([a, b, c, a])
    same = pattern_tokens("tool_sequence", {"tools": ["x", "y"]})
    other = pattern_tokens("tool_sequence", {"tools": ["z"]})
    assert similar_groups(vectors, [same, same, same, other]) == [[0, 1]]
    assert pick_survivor([3, 5, 5], [1, 3, 2]) == 2

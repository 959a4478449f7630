"""Rule-based reward of a completed episode, with its components, and reward time decay.

Formula (version 1)::

    total = base × efficiency × complexity × quality + learning_bonus

* ``base`` from the outcome: success 1.0; partial ``0.25 + 0.5 × c/(c+f)``
  (``c``/``f`` = completed/failed sub-goals; 0.5 when both lists are empty);
  abstained 0.2 (declining honestly beats failing); failure 0.0.
* ``efficiency`` (0.5..1.5): once the domain has at least
  :data:`MIN_EPISODES_FOR_MEDIANS` completed episodes,
  ``0.5 × m_d/d + 0.5 × m_s/s`` clipped to [0.5, 1.5], where ``d`` is the
  duration (seconds), ``s`` the step count and ``m_d``/``m_s`` the domain's
  medians over its most recent 500 completed episodes. Before that it is a
  neutral 1.0 (a note says so): a median of three episodes is noise.
* ``complexity``: simple 1.0, moderate 1.1, complex 1.2 (harder tasks earn
  more for the same outcome; the anchor d-o-hub/rust-self-learning-memory
  uses the same three levels).
* ``quality``: ``1 − 0.5 × error_rate`` clipped to [0.5, 1.0], where
  ``error_rate`` = failed or timed-out steps / steps.
* ``learning_bonus`` (only when ``base > 0``): +0.1 if the episode recovered
  from an error (a failed step followed later by a successful step of the
  same tool or any success), +0.1 if it applied known patterns; at most 0.2.

Time decay (for ranking and aggregation, never applied to the stored
total): ``decayed = total × 0.5 ** (age_days / REWARD_HALF_LIFE_DAYS)`` with a
30-day half-life (the anchor's pattern effectiveness half-life).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from memoryd.learning.models import (
    AbstainedOutcome,
    Complexity,
    FailureOutcome,
    Outcome,
    PartialOutcome,
    RewardScore,
    Step,
    SuccessOutcome,
)

__all__ = [
    "COMPLEXITY_FACTORS",
    "MIN_EPISODES_FOR_MEDIANS",
    "REWARD_HALF_LIFE_DAYS",
    "DomainMedians",
    "compute_reward",
    "decayed_reward",
    "outcome_base",
    "recovered_from_error",
]

#: Completed episodes a domain needs before efficiency is judged against its medians.
MIN_EPISODES_FOR_MEDIANS = 10
#: Half-life of reward (and pattern recency) decay. Unit is days.
REWARD_HALF_LIFE_DAYS = 30.0
#: Reward multiplier per task complexity.
COMPLEXITY_FACTORS: dict[str, float] = {"simple": 1.0, "moderate": 1.1, "complex": 1.2}

DomainMedians = tuple[int, float, float]
"""``(episodes, median_duration_s, median_steps)`` of a domain's recent completed episodes."""


def outcome_base(outcome: Outcome) -> float:
    """The outcome part of the reward (0..1); see the module docstring."""
    if isinstance(outcome, SuccessOutcome):
        return 1.0
    if isinstance(outcome, PartialOutcome):
        done, failed = len(outcome.completed), len(outcome.failed)
        fraction = done / (done + failed) if done + failed else 0.5
        return 0.25 + 0.5 * fraction
    if isinstance(outcome, AbstainedOutcome):
        return 0.2
    assert isinstance(outcome, FailureOutcome)
    return 0.0


def recovered_from_error(steps: Sequence[Step]) -> bool:
    """True if some failed (error/timeout) step is followed later by a successful step."""
    failed_seen = False
    for step in steps:
        if step.result.status != "success":
            failed_seen = True
        elif failed_seen:
            return True
    return False


def _efficiency(
    duration_s: float, step_count: int, medians: DomainMedians | None, notes: list[str]
) -> float:
    if medians is None or medians[0] < MIN_EPISODES_FOR_MEDIANS:
        have = 0 if medians is None else medians[0]
        notes.append(
            f"efficiency neutral: the domain has {have} completed episodes "
            f"(< {MIN_EPISODES_FOR_MEDIANS}) to take medians from"
        )
        return 1.0
    _, median_d, median_s = medians
    ratio_d = median_d / duration_s if duration_s > 0 and median_d > 0 else 1.0
    ratio_s = median_s / step_count if step_count > 0 and median_s > 0 else 1.0
    value = min(1.5, max(0.5, 0.5 * ratio_d + 0.5 * ratio_s))
    notes.append(
        f"efficiency {value:.2f}: {duration_s:.1f} s vs median {median_d:.1f} s, "
        f"{step_count} steps vs median {median_s:.1f}"
    )
    return value


def compute_reward(
    outcome: Outcome,
    steps: Sequence[Step],
    *,
    duration_s: float,
    complexity: Complexity,
    medians: DomainMedians | None,
    applied_patterns: int = 0,
) -> RewardScore:
    """The reward of an episode and its components (formula in the module docstring).

    Args:
        outcome: how the episode ended.
        steps: its steps in order.
        duration_s: completion time minus start time. Unit is seconds.
        complexity: the task context's complexity.
        medians: the domain's ``(episodes, median duration s, median steps)``
            before this episode, or ``None`` if unknown.
        applied_patterns: how many known patterns the episode applied.

    Returns:
        A :class:`RewardScore`; ``total`` is rounded to 6 decimals.
    """
    notes: list[str] = []
    base = outcome_base(outcome)
    step_count = len(steps)
    errors = sum(1 for s in steps if s.result.status != "success")
    error_rate = errors / step_count if step_count else 0.0
    efficiency = _efficiency(duration_s, step_count, medians, notes)
    complexity_factor = COMPLEXITY_FACTORS[complexity]
    quality = min(1.0, max(0.5, 1.0 - 0.5 * error_rate))
    bonus = 0.0
    if base > 0 and recovered_from_error(steps):
        bonus += 0.1
        notes.append("learning bonus +0.1: recovered from an error")
    if base > 0 and applied_patterns > 0:
        bonus += 0.1
        notes.append(f"learning bonus +0.1: applied {applied_patterns} known pattern(s)")
    bonus = min(bonus, 0.2)
    if step_count == 0:
        notes.append("no steps were logged: quality and efficiency cannot be judged")
    total = base * efficiency * complexity_factor * quality + bonus
    return RewardScore(
        total=round(total, 6),
        base=base,
        efficiency=round(efficiency, 6),
        complexity=complexity_factor,
        quality=round(quality, 6),
        learning_bonus=bonus,
        duration_s=round(duration_s, 6),
        step_count=step_count,
        error_rate=round(error_rate, 6),
        notes=notes,
    )


def decayed_reward(
    total: float, age_s: float, *, half_life_days: float = REWARD_HALF_LIFE_DAYS
) -> float:
    """``total × 0.5 ** (age_days / half_life_days)``; ``age_s`` in seconds (negative → 0)."""
    age_days = max(0.0, age_s) / 86_400.0
    return total * math.pow(0.5, age_days / half_life_days)

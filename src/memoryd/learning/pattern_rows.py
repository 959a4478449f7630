"""Pattern rows (``memoryd/store/patterns.py``) as models, with their derived scores.

The row's columns are those of ``PatternStore.rows``/``PatternStore.row``:
the pattern's own, plus the feedback aggregates ``f_applied``,
``f_successes``, ``f_failures``, ``f_reward_sum``, ``f_reward_n``,
``f_applied_at`` and ``merged_keys`` (a JSON array). Formulas in
``memoryd/learning/scoring.py``.
"""

from __future__ import annotations

import json
import sqlite3

from memoryd.learning.models import Pattern, PatternEffectiveness
from memoryd.learning.scoring import effectiveness_evidence, recency_decay, wilson_lower_bound
from memoryd.store.rows import from_ts

__all__ = ["pattern_scores", "row_to_pattern"]


def _effectiveness(row: sqlite3.Row, retrieved_pending: int) -> PatternEffectiveness:
    known = row["f_successes"] + row["f_failures"]
    mean_reward = row["f_reward_sum"] / row["f_reward_n"] if row["f_reward_n"] else None
    source_mean = row["reward_sum"] / row["occurrences"] if row["occurrences"] else 0.0
    return PatternEffectiveness(
        retrieved=row["retrieved"] + retrieved_pending,
        applied=row["f_applied"],
        applied_successes=row["f_successes"],
        applied_failures=row["f_failures"],
        success_when_applied=row["f_successes"] / known if known else None,
        mean_reward_when_applied=mean_reward,
        reward_delta=None if mean_reward is None else mean_reward - source_mean,
    )


def pattern_scores(row: sqlite3.Row, *, now: float) -> tuple[float, float]:
    """``(Wilson lower bound of sources + feedback, recency decay)`` of a pattern row."""
    s, n = effectiveness_evidence(
        int(row["successes"]), int(row["occurrences"]), row["f_successes"], row["f_failures"]
    )
    last_used = max(row["last_used_at"], row["f_applied_at"] or 0.0)
    return wilson_lower_bound(s, n), recency_decay(now - last_used)


def row_to_pattern(row: sqlite3.Row, *, now: float, retrieved_pending: int = 0) -> Pattern:
    """A pattern row (``PatternStore.rows``/``row``) as a :class:`Pattern` with its statistics."""
    occurrences, successes = int(row["occurrences"]), int(row["successes"])
    wilson, decay = pattern_scores(row, now=now)
    last_used = max(row["last_used_at"], row["f_applied_at"] or 0.0)
    return Pattern(
        id=row["id"],
        namespace=row["namespace"],
        kind=row["kind"],
        key=row["key"],
        domain=row["domain"],
        task_type=row["task_type"],
        description=row["description"],
        data=json.loads(row["data"]),
        occurrences=occurrences,
        successes=successes,
        success_rate=successes / occurrences if occurrences else 0.0,
        wilson_lower_bound=wilson,
        mean_reward=row["reward_sum"] / occurrences if occurrences else 0.0,
        effectiveness=_effectiveness(row, retrieved_pending),
        decay=decay,
        merged_keys=sorted(json.loads(row["merged_keys"] or "[]")),
        archived=row["archived_at"] is not None,
        created_at=from_ts(row["created_at"]),
        updated_at=from_ts(row["updated_at"]),
        last_used_at=from_ts(last_used),
    )

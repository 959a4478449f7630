"""Statistics behind pattern ranking: Wilson lower bound, evidence with feedback, decay.

Wilson score interval lower bound (E. B. Wilson, "Probable inference, the
law of succession, and statistical inference", JASA 22(158), 1927)::

    (p + z²/2n − z·sqrt(p(1 − p)/n + z²/4n²)) / (1 + z²/n)

with ``p = s/n`` and ``z = 1.96`` (95 %). It ranks "9 of 10" above "1 of 1",
which a raw success rate does not (E. Miller, "How Not To Sort By Average
Rating", 2009).

Evidence: a pattern's source episodes count once each; explicit feedback
("applied, and it worked / did not") is direct evidence and counts
:data:`FEEDBACK_WEIGHT` times.

Recency decay: ``0.5 ** (days since last use / PATTERN_HALF_LIFE_DAYS)``,
30-day half-life (the anchor d-o-hub/rust-self-learning-memory decays
pattern effectiveness with the same half-life).
"""

from __future__ import annotations

import math

__all__ = [
    "FEEDBACK_WEIGHT",
    "PATTERN_HALF_LIFE_DAYS",
    "WILSON_Z",
    "effectiveness_evidence",
    "recency_decay",
    "wilson_lower_bound",
]

#: z for a 95 % two-sided interval.
WILSON_Z = 1.96
#: How many source observations one piece of explicit feedback is worth.
FEEDBACK_WEIGHT = 3.0
#: Half-life of pattern recency. Unit is days.
PATTERN_HALF_LIFE_DAYS = 30.0


def wilson_lower_bound(successes: float, n: float, *, z: float = WILSON_Z) -> float:
    """Lower bound of the Wilson score interval (0..1); 0.0 when ``n`` is 0.

    Args:
        successes: successes (may be weighted, so a float), ``0 <= successes <= n``.
        n: trials.
        z: standard normal quantile (1.96 for 95 %).
    """
    if n <= 0:
        return 0.0
    p = min(1.0, max(0.0, successes / n))
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


def effectiveness_evidence(
    successes: int, occurrences: int, applied_successes: int, applied_failures: int
) -> tuple[float, float]:
    """``(weighted successes, weighted trials)`` from sources and feedback (see module doc)."""
    s = successes + FEEDBACK_WEIGHT * applied_successes
    n = occurrences + FEEDBACK_WEIGHT * (applied_successes + applied_failures)
    return s, n


def recency_decay(age_s: float, *, half_life_days: float = PATTERN_HALF_LIFE_DAYS) -> float:
    """``0.5 ** (age_days / half_life_days)`` for an age in seconds (negative ages → 1.0)."""
    return math.pow(0.5, max(0.0, age_s) / 86_400.0 / half_life_days)

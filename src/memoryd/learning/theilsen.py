"""Theil-Sen slope of an evenly spaced series in linear memory.

``scipy.stats.theilslopes`` builds all ``n (n − 1) / 2`` pairwise slopes
(with two ``n × n`` difference matrices), so its memory grows with ``n²``:
100,000 points would need about 75 GiB. This module returns the same
estimate — the median pairwise slope (Theil 1950, Sen 1968), the
intercept ``median(y) − slope · median(t)`` and Sen's confidence interval
(order statistics of the slopes picked by eq. 2.6 of Sen 1968, exactly as
scipy picks them) — using memory linear in ``n``.

How: for a candidate slope ``s`` the pairs ``i < j`` whose slope
``(y_j − y_i) / (j − i)`` is below ``s`` are exactly the pairs where
``z = y − s·t`` decreases (``z_j < z_i``), i.e. the discordant pairs of
``(t, z)``; pairs with slope equal to ``s`` are the ties of ``z``. Kendall's
tau-b of ``(t, z)`` (``scipy.stats.kendalltau``: a merge sort, ``O(n log n)``
time, ``O(n)`` memory) gives the discordant count, so the ``k``-th smallest
slope is found by bisection on ``s``. Each bisection step costs one
``kendalltau``; it stops when the interval holds the exact value (its count
brackets ``k``) or is narrower than :data:`RELATIVE_TOLERANCE` times the
slope's magnitude (or times the data's slope range, for slopes near 0), so
the result matches scipy's to that relative tolerance.

Up to :data:`DIRECT_MAX_POINTS` points scipy's own ``theilslopes`` runs
(at most ~0.5 M slopes, about 24 MiB: a constant bound), because the
bisection's ~170 ``kendalltau`` calls cost more than the direct sort there.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["DIRECT_MAX_POINTS", "RELATIVE_TOLERANCE", "TheilSen", "theil_sen"]

#: Up to this many points scipy's pairwise ``theilslopes`` runs (its memory is bounded there).
DIRECT_MAX_POINTS = 1000

#: Bisection stops when the bracket is narrower than this share of the slope (or of the range).
RELATIVE_TOLERANCE = 1e-13
_MAX_STEPS = 200


class TheilSen(NamedTuple):
    """Median slope, intercept and the ``1 − alpha`` interval of the slope (per time step)."""

    slope: float
    intercept: float
    low_slope: float
    high_slope: float


def _pairs_below_and_equal(y: npt.NDArray[np.float64], slope: float) -> tuple[int, int]:
    """(pairs ``i < j`` with pairwise slope < ``slope``, pairs with slope == ``slope``)."""
    from scipy import stats

    n = y.size
    z = y - slope * np.arange(n, dtype=np.float64)
    _, counts = np.unique(z, return_counts=True)
    ties = int(np.sum(counts * (counts - 1) // 2))
    total = n * (n - 1) // 2
    untied = total - ties
    if untied == 0:
        return 0, ties
    if n == 2:  # kendalltau's asymptotic variance divides by n − 2
        return int(z[1] < z[0]), ties
    tau = float(stats.kendalltau(np.arange(n), z, method="asymptotic").statistic)
    # tau-b with no ties in t: (C − D) / sqrt(total · (total − ties)); C + D = total − ties.
    concordant_minus_discordant = tau * math.sqrt(total) * math.sqrt(untied)
    below = int(round((untied - concordant_minus_discordant) / 2))
    return min(max(below, 0), untied), ties


def _kth_slope(y: npt.NDArray[np.float64], k: int, lo: float, hi: float) -> float:
    """The ``k``-th smallest (0-based) pairwise slope, by bisection on ``(lo, hi]``."""
    floor = RELATIVE_TOLERANCE * (hi - lo)
    for _ in range(_MAX_STEPS):
        mid = lo + (hi - lo) / 2
        width = hi - lo
        if mid in (lo, hi) or width <= max(floor, RELATIVE_TOLERANCE * max(abs(lo), abs(hi))):
            break
        below, equal = _pairs_below_and_equal(y, mid)
        if below <= k < below + equal:
            return mid
        if below + equal <= k:
            lo = mid
        else:
            hi = mid
    return hi


def theil_sen(
    y: npt.NDArray[np.float64], alpha: float, *, direct_max: int = DIRECT_MAX_POINTS
) -> TheilSen:
    """Theil-Sen fit of ``y`` against ``t = 0, 1, …, n − 1``, in ``O(n)`` memory.

    Args:
        y: at least 2 finite values in time order.
        alpha: significance level of the interval (0 < alpha < 1; ``1 − alpha``
            coverage, as ``scipy.stats.theilslopes(y, alpha=1 − alpha)``).
        direct_max: up to this many points scipy's pairwise method runs instead.

    Returns:
        :class:`TheilSen`, slopes in units of ``y`` per time step.

    Raises:
        ValueError: fewer than 2 points.
    """
    from scipy import stats

    n = int(y.size)
    if n < 2:
        raise ValueError("Theil-Sen needs at least 2 points")
    if n <= direct_max:
        fit = stats.theilslopes(y, np.arange(n, dtype=np.float64), alpha=1 - alpha)
        return TheilSen(*(float(v) for v in fit))
    pairs = n * (n - 1) // 2
    spread = float(np.ptp(y))
    # Every pairwise slope lies in [-spread, spread] (time steps are at least 1 apart).
    lo, hi = -spread - 1.0, spread + 1.0
    if spread == 0:
        slope = low = high = 0.0
    else:
        if pairs % 2:
            slope = _kth_slope(y, pairs // 2, lo, hi)
        else:
            slope = (_kth_slope(y, pairs // 2 - 1, lo, hi) + _kth_slope(y, pairs // 2, lo, hi)) / 2
        # Sen (1968) eq. 2.6, with scipy's ranks (ties in y shrink the variance).
        z = stats.norm.ppf(min(alpha, 1 - alpha) / 2)
        _, counts = np.unique(y, return_counts=True)
        reps = counts[counts > 1].astype(np.float64)
        sigsq = (n * (n - 1) * (2 * n + 5) - float(np.sum(reps * (reps - 1) * (2 * reps + 5)))) / 18
        sigma = math.sqrt(max(sigsq, 0.0))
        upper_rank = min(int(np.round((pairs - z * sigma) / 2)), pairs - 1)
        lower_rank = max(int(np.round((pairs + z * sigma) / 2)) - 1, 0)
        low = _kth_slope(y, lower_rank, lo, hi)
        high = _kth_slope(y, upper_rank, lo, hi)
    intercept = float(np.median(y)) - slope * (n - 1) / 2
    return TheilSen(slope=slope, intercept=intercept, low_slope=low, high_slope=high)

"""Linear-memory Theil-Sen and running-sum Welch tests agree with scipy's quadratic originals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from memoryd.learning.analysis import _welch_p_values
from memoryd.learning.theilsen import theil_sen


def _series(n: int, integers: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if integers:  # many tied values and tied slopes
        return rng.integers(0, 5, size=n).astype(np.float64)
    return rng.normal(size=n).cumsum()


@pytest.mark.parametrize("integers", [False, True])
@pytest.mark.parametrize("n", [2, 3, 4, 5, 17, 50, 51, 400])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_theil_sen_matches_scipy(n: int, integers: bool, alpha: float) -> None:
    y = _series(n, integers, seed=n)
    want = stats.theilslopes(y, np.arange(n, dtype=np.float64), alpha=1 - alpha)
    got = theil_sen(y, alpha, direct_max=0)  # the linear-memory bisection at every size
    expected = [want.slope, want.intercept, want.low_slope, want.high_slope]
    np.testing.assert_allclose(list(got), expected, rtol=1e-9, atol=1e-9)


def test_theil_sen_of_a_constant_series_is_flat() -> None:
    assert theil_sen(np.full(10, 3.0), 0.05, direct_max=0) == (0.0, 3.0, 0.0, 0.0)
    assert theil_sen(np.full(10, 3.0), 0.05) == (0.0, 3.0, 0.0, 0.0)


def test_direct_and_linear_paths_agree_at_the_switch() -> None:
    y = _series(1000, integers=False, seed=7)
    direct, linear = theil_sen(y, 0.05), theil_sen(y, 0.05, direct_max=0)
    np.testing.assert_allclose(list(linear), list(direct), rtol=1e-9, atol=1e-9)


def test_theil_sen_needs_two_points() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        theil_sen(np.array([1.0]), 0.05, direct_max=0)


@pytest.mark.parametrize("seed", range(8))
def test_welch_p_values_match_ttest_ind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 120))
    y = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(rng.choice([0, 2]), 1, n - n // 2)])
    if seed % 2:
        y = np.round(y)
    cuts = np.arange(5, n - 5 + 1)
    want = []
    for cut in cuts:
        left, right = y[:cut], y[cut:]
        if np.ptp(left) == 0 and np.ptp(right) == 0:
            want.append(0.0 if left[0] != right[0] else 1.0)
        else:
            want.append(float(stats.ttest_ind(left, right, equal_var=False).pvalue))
    np.testing.assert_allclose(_welch_p_values(y, cuts), want, rtol=1e-6, atol=1e-12)


def test_welch_p_values_of_two_constant_halves() -> None:
    y = np.array([1.0] * 6 + [4.0] * 6)
    p = _welch_p_values(y, np.array([6]))
    assert p.tolist() == [0.0]
    assert _welch_p_values(np.ones(12), np.array([6])).tolist() == [1.0]

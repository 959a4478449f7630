"""Evidence (3): series validation errors, and analyses on synthetic series of known structure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memoryd import InvalidSeries, Memory, ValidationError
from memoryd.learning.analysis import advanced_pattern_analysis as analyse

RNG = np.random.default_rng(42)


def test_validation_errors() -> None:
    with pytest.raises(InvalidSeries) as mismatch:
        analyse("causality", {"x": [1.0] * 20, "y": [1.0] * 19})
    assert mismatch.value.code == "invalid_series" and "different lengths" in str(mismatch.value)
    with pytest.raises(InvalidSeries) as nan:
        analyse("trend", {"reward": [1.0, 2.0, math.nan, 4.0, 5.0]})
    assert nan.value.details["positions"] == [2]
    with pytest.raises(InvalidSeries):
        analyse("trend", {"reward": [1.0, math.inf, 3.0, 4.0]})
    with pytest.raises(InvalidSeries):
        analyse("forecast", {"reward": [1.0, 2.0, 3.0]})  # too short
    with pytest.raises(InvalidSeries):
        analyse("descriptive", {"reward": ["a", "b"]})  # type: ignore[list-item]
    with pytest.raises(InvalidSeries):
        analyse("descriptive", {})
    with pytest.raises(InvalidSeries):
        analyse("causality", {"x": list(range(20))})
    with pytest.raises(ValidationError) as kind:
        analyse("astrology", {"x": [1.0, 2.0]})
    assert kind.value.code == "validation_error"
    with pytest.raises(ValidationError):
        analyse("trend", {"x": [1.0, 2.0, 3.0, 4.0]}, {"alpha": 2})


def test_descriptive_and_trend() -> None:
    t = np.arange(60, dtype=float)
    rising = 0.5 + 0.01 * t + RNG.normal(0, 0.02, t.size)
    flat = 0.5 + RNG.normal(0, 0.02, t.size)
    stats_ = analyse("descriptive", {"x": [1.0, 2.0, 3.0, 4.0]}).results["x"]
    assert stats_["mean"] == 2.5 and stats_["median"] == 2.5 and stats_["n"] == 4
    result = analyse("trend", {"rising": rising.tolist(), "flat": flat.tolist()}).results
    assert result["rising"]["direction"] == "increasing" and result["rising"]["p_value"] < 1e-6
    assert result["rising"]["slope_low"] < 0.01 < result["rising"]["slope_high"]
    assert result["flat"]["direction"] == "none" and result["flat"]["p_value"] > 0.05


def test_forecast_intervals_contain_the_continued_trend() -> None:
    t = np.arange(40, dtype=float)
    y = 10 + 2 * t + RNG.normal(0, 0.5, t.size)
    out = analyse("forecast", {"y": y.tolist()}, {"horizon": 5, "alpha": 0.05})
    r = out.results["y"]
    truth = 10 + 2 * np.arange(40, 45)
    assert len(r["forecast"]) == 5 and r["level"] == 0.95
    for low, mid, high, true in zip(r["lower"], r["forecast"], r["upper"], truth, strict=True):
        assert low < mid < high
        assert low <= true <= high
    assert r["upper"][4] - r["lower"][4] > r["upper"][0] - r["lower"][0]  # widening


def test_anomalies_and_changepoints() -> None:
    y = RNG.normal(0, 1, 80)
    y[[17, 55]] = [12.0, -11.0]
    found = analyse("anomalies", {"y": y.tolist()}).results["y"]
    assert found["indices"] == [17, 55]
    steps = np.concatenate([np.full(30, 1.0), np.full(30, 3.0)]) + RNG.normal(0, 0.2, 60)
    cp = analyse("changepoints", {"y": steps.tolist()}).results["y"]
    assert cp["changepoints"] == [30]
    assert cp["segment_means"][0] == pytest.approx(1.0, abs=0.2)
    assert cp["segment_means"][1] == pytest.approx(3.0, abs=0.2)
    none = analyse("changepoints", {"y": RNG.normal(0, 1, 60).tolist()}).results["y"]
    assert none["changepoints"] == []


def test_granger_causality_finds_the_driver() -> None:
    n = 200
    x = RNG.normal(0, 1, n)
    y = np.zeros(n)
    for i in range(1, n):
        y[i] = 0.8 * x[i - 1] + RNG.normal(0, 0.3)
    out = analyse("causality", {"x": x.tolist(), "y": y.tolist()}, {"max_lag": 2})
    assert out.results["x->y"]["significant"] is True and out.results["x->y"]["p_value"] < 1e-6
    assert out.results["y->x"]["p_value"] > 0.01


def test_memory_exposes_analysis(learning_memory: Memory) -> None:
    result = learning_memory.advanced_pattern_analysis("descriptive", {"r": [1.0, 3.0]})
    assert result.kind == "descriptive" and result.results["r"]["mean"] == 2.0
    with pytest.raises(ValidationError):
        learning_memory.analyze_patterns(min_success_rate=1.5)
    empty = learning_memory.analyze_patterns(task_type="debugging")
    assert empty.count == 0 and empty.mean_success_rate is None


def test_granger_on_an_exact_fit_is_invalid_series_not_a_crash() -> None:
    y = np.random.default_rng(5).normal(size=200).cumsum()
    with pytest.raises(InvalidSeries) as caught:
        analyse("causality", {"a": y.tolist(), "b": np.roll(y, 1).tolist()})
    assert caught.value.code == "invalid_series" and "cannot be computed" in str(caught.value)


def test_changepoints_near_the_float_limit() -> None:
    values = [1e300, -1e300] * 5 + [1e307, 1e307 - 1e300] * 5
    result = analyse("changepoints", {"a": values})
    assert result.results["a"]["changepoints"] == [10]

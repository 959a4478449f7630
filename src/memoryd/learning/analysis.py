"""Time-series analysis of learning metrics (``advanced_pattern_analysis``): scipy + statsmodels.

Kinds (``config`` keys in brackets, defaults shown):

* ``descriptive``: ``scipy.stats.describe`` (n, mean, variance, skewness,
  kurtosis, min, max) plus median and quartiles.
* ``trend``: Mann-Kendall test as Kendall's tau between time and value
  (``scipy.stats.kendalltau``), Theil-Sen slope with its confidence interval
  (the values ``scipy.stats.theilslopes`` gives, computed in linear memory by
  :mod:`memoryd.learning.theilsen`) and least-squares R² (``linregress``).
  ``direction`` is ``increasing``/``decreasing`` when ``p < alpha``, else
  ``none``.
* ``forecast``: exponential smoothing with an additive trend
  (``statsmodels.tsa.statespace.exponential_smoothing.ExponentialSmoothing``,
  Holt's linear method in state-space form), ``horizon`` (5) steps ahead
  with ``1 − alpha`` prediction intervals [``horizon``, ``trend`` (true)].
* ``anomalies``: modified z-score ``0.6745 (x − median) / MAD`` above
  ``threshold`` (3.5), after Iglewicz & Hoaglin (1993), "How to Detect and
  Handle Outliers" [``threshold``].
* ``changepoints``: binary segmentation on the mean; a split is kept when
  Welch's t-test gives ``p × candidates < alpha`` (Bonferroni over the split
  positions tried; every position's test comes from running sums, so a pass
  is linear in the segment) [``min_segment`` (5)].
* ``causality``: Granger causality for every ordered pair ``x->y``
  (``statsmodels.tsa.stattools.grangercausalitytests``, SSR F-test) up to
  ``max_lag`` (2) [``max_lag``].

scipy and statsmodels are imported on first use (they add about a second
to ``import memoryd`` otherwise). ``alpha`` (0.05) is the significance level
everywhere. Inputs are checked:
a missing or unknown kind, fewer points than the kind needs, NaN or
infinite values, more than :data:`~memoryd.bounds.MAX_SERIES_POINTS` points
or :data:`~memoryd.bounds.MAX_ANALYSIS_SERIES` series, or (for causality)
series of different lengths raise ``InvalidSeries``. Every kind uses memory
linear in the series length. Fitting warnings are returned in ``notes``, never dropped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.bounds import MAX_ANALYSIS_SERIES, MAX_SERIES_POINTS
from memoryd.errors import InvalidSeries, ValidationError
from memoryd.learning.models import SeriesAnalysis
from memoryd.learning.theilsen import theil_sen

__all__ = ["ANALYSIS_KINDS", "advanced_pattern_analysis", "validate_request", "validate_series"]

Series = npt.NDArray[np.float64]
_MIN_POINTS = {
    "descriptive": 2,
    "trend": 4,
    "forecast": 8,
    "anomalies": 3,
    "changepoints": 4,
    "causality": 8,
}
ANALYSIS_KINDS: tuple[str, ...] = tuple(_MIN_POINTS)


def _num(value: float) -> float | None:
    """A JSON-safe float (NaN/inf → ``None``)."""
    value = float(value)
    return value if math.isfinite(value) else None


def validate_series(
    series: Mapping[str, Sequence[float]], *, min_points: int, same_length: bool
) -> dict[str, Series]:
    """Check and convert named series to float64 arrays.

    Raises:
        InvalidSeries: no series, a series too short or too long, NaN/inf or
            non-numeric values, or different lengths when ``same_length``.
    """
    if not series:
        raise InvalidSeries("at least one series is required")
    if len(series) > MAX_ANALYSIS_SERIES:
        raise InvalidSeries(
            f"{len(series)} series given; at most {MAX_ANALYSIS_SERIES} per request",
            series_count=len(series),
        )
    out: dict[str, Series] = {}
    for name, values in series.items():
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSeries(f"series {name!r} has non-numeric values", series=name) from exc
        if arr.ndim != 1:
            raise InvalidSeries(f"series {name!r} must be a flat list of numbers", series=name)
        if not min_points <= arr.size <= MAX_SERIES_POINTS:
            raise InvalidSeries(
                f"series {name!r} has {arr.size} points; this analysis needs "
                f"{min_points} to {MAX_SERIES_POINTS}",
                series=name,
                points=int(arr.size),
                min_points=min_points,
            )
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InvalidSeries(
                f"series {name!r} has NaN or infinite values at positions {bad[:10].tolist()}",
                series=name,
                positions=bad[:10].tolist(),
            )
        out[name] = arr
    lengths = {name: int(arr.size) for name, arr in out.items()}
    if same_length and len(set(lengths.values())) > 1:
        raise InvalidSeries(f"series have different lengths: {lengths}", lengths=lengths)
    return out


def _descriptive(y: Series, config: Mapping[str, Any]) -> dict[str, Any]:
    from scipy import stats

    d = stats.describe(y)
    q1, median, q3 = np.percentile(y, [25, 50, 75]).tolist()
    return {
        "n": int(d.nobs),
        "mean": _num(d.mean),
        "variance": _num(d.variance),
        "std": _num(math.sqrt(d.variance)),
        "skewness": _num(d.skewness),
        "kurtosis": _num(d.kurtosis),
        "min": _num(d.minmax[0]),
        "max": _num(d.minmax[1]),
        "median": median,
        "q1": q1,
        "q3": q3,
    }


def _trend(y: Series, config: Mapping[str, Any]) -> dict[str, Any]:
    from scipy import stats

    alpha = float(config["alpha"])
    t = np.arange(y.size, dtype=np.float64)
    tau = stats.kendalltau(t, y)
    sen = theil_sen(y, alpha)
    lin = stats.linregress(t, y)
    p = _num(tau.pvalue)
    significant = p is not None and p < alpha
    return {
        "test": "Mann-Kendall (Kendall's tau vs time)",
        "tau": _num(tau.statistic),
        "p_value": p,
        "significant": significant,
        "direction": ("increasing" if sen.slope > 0 else "decreasing") if significant else "none",
        "slope": _num(sen.slope),
        "slope_low": _num(sen.low_slope),
        "slope_high": _num(sen.high_slope),
        "intercept": _num(sen.intercept),
        "r_squared": _num(lin.rvalue**2),
    }


def _forecast(y: Series, config: Mapping[str, Any]) -> dict[str, Any]:
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    alpha = float(config["alpha"])
    horizon = int(config.get("horizon", 5))
    if not 1 <= horizon <= 1000:
        raise ValidationError("horizon must be between 1 and 1000", horizon=horizon)
    trend = bool(config.get("trend", True))
    result = ExponentialSmoothing(y, trend=trend).fit(disp=False)
    forecast = result.get_forecast(horizon)
    interval = np.asarray(forecast.conf_int(alpha=alpha))
    return {
        "method": "exponential smoothing" + (" with additive trend (Holt)" if trend else ""),
        "horizon": horizon,
        "level": 1 - alpha,
        "forecast": [_num(v) for v in np.asarray(forecast.predicted_mean)],
        "lower": [_num(v) for v in interval[:, 0]],
        "upper": [_num(v) for v in interval[:, 1]],
        "aic": _num(result.aic),
    }


def _anomalies(y: Series, config: Mapping[str, Any]) -> dict[str, Any]:
    threshold = float(config.get("threshold", 3.5))
    median = float(np.median(y))
    mad = float(np.median(np.abs(y - median)))
    if mad > 0:
        scores = 0.6745 * (y - median) / mad
    else:  # over half the points are equal: fall back to the mean absolute deviation
        mean_ad = float(np.mean(np.abs(y - median)))
        scores = (y - median) / (1.253314 * mean_ad) if mean_ad > 0 else np.zeros_like(y)
    idx = np.flatnonzero(np.abs(scores) > threshold)
    return {
        "method": "modified z-score (Iglewicz & Hoaglin 1993)",
        "threshold": threshold,
        "indices": idx.tolist(),
        "values": y[idx].tolist(),
        "scores": [_num(v) for v in scores[idx]],
    }


def _welch_p_values(segment: Series, cuts: npt.NDArray[np.int64]) -> Series:
    """Two-sided Welch t-test p-value of ``segment[:c]`` vs ``segment[c:]`` for each cut ``c``.

    The same statistic and Welch-Satterthwaite degrees of freedom as
    ``scipy.stats.ttest_ind(equal_var=False)``, from running sums of the
    centred values (one pass, memory linear in the segment). Two constant
    halves give 0 when their values differ and 1 when they are equal.
    """
    from scipy import stats

    size = segment.size
    magnitude = float(np.max(np.abs(segment)))
    if magnitude == 0:
        return np.ones(cuts.size)
    # t and its p-value do not change with scale: dividing by the largest value keeps
    # sums of squares finite near 1e308, and centring keeps the running sums well conditioned.
    x = segment / magnitude
    x = x - x.mean()
    s1, s2 = np.cumsum(x), np.cumsum(x * x)
    n1 = cuts.astype(np.float64)
    n2 = size - n1
    sum_l, sq_l = s1[cuts - 1], s2[cuts - 1]
    sum_r, sq_r = s1[-1] - sum_l, s2[-1] - sq_l
    mean_l, mean_r = sum_l / n1, sum_r / n2
    var_l = np.maximum(sq_l - n1 * mean_l**2, 0.0) / (n1 - 1)
    var_r = np.maximum(sq_r - n2 * mean_r**2, 0.0) / (n2 - 1)
    # Running sums leave rounding residue where a half is constant: compare with the data's scale.
    scale = float(np.max(np.abs(x))) ** 2 * 1e-12  # |x| <= 2 here
    var_l = np.where(var_l <= scale, 0.0, var_l)
    var_r = np.where(var_r <= scale, 0.0, var_r)
    se_l, se_r = var_l / n1, var_r / n2
    se = se_l + se_r
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean_l - mean_r) / np.sqrt(se)
        df = se**2 / (se_l**2 / (n1 - 1) + se_r**2 / (n2 - 1))
        p = 2 * stats.t.sf(np.abs(t), df)
    constant = se == 0
    differ = np.abs(mean_l - mean_r) > math.sqrt(scale)
    return np.where(constant, np.where(differ, 0.0, 1.0), p)


def _best_split(y: Series, lo: int, hi: int, min_segment: int, alpha: float) -> int | None:
    cuts = np.arange(min_segment, hi - lo - min_segment + 1, dtype=np.int64)
    if cuts.size == 0:
        return None
    p = _welch_p_values(y[lo:hi], cuts)
    p = np.where(np.isfinite(p), p, 1.0)
    at = int(np.argmin(p))
    if p[at] >= 1.0 or p[at] * cuts.size >= alpha:
        return None
    return lo + int(cuts[at])


def _changepoints(y: Series, config: Mapping[str, Any]) -> dict[str, Any]:
    alpha = float(config["alpha"])
    min_segment = int(config.get("min_segment", 5))
    if min_segment < 2:
        raise ValidationError("min_segment must be at least 2", min_segment=min_segment)
    found: list[int] = []
    todo = [(0, int(y.size))]
    while todo:
        lo, hi = todo.pop()
        if hi - lo < 2 * min_segment:
            continue
        cut = _best_split(y, lo, hi, min_segment, alpha)
        if cut is not None:
            found.append(cut)
            todo.extend([(lo, cut), (cut, hi)])
    found.sort()
    bounds = [0, *found, int(y.size)]
    return {
        "method": "binary segmentation, Welch t-test with Bonferroni correction",
        "changepoints": found,
        "segment_means": [float(np.mean(y[a:b])) for a, b in pairwise(bounds)],
    }


def _causality(data: dict[str, Series], config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    from statsmodels.tools.sm_exceptions import InfeasibleTestError
    from statsmodels.tsa.stattools import grangercausalitytests

    alpha = float(config["alpha"])
    max_lag = int(config.get("max_lag", 2))
    n = next(iter(data.values())).size
    if max_lag < 1 or 3 * max_lag + 2 > n:
        raise InvalidSeries(
            f"max_lag {max_lag} needs at least {3 * max_lag + 2} points; the series have {n}",
            max_lag=max_lag,
        )
    out: dict[str, dict[str, Any]] = {}
    for x_name, x in data.items():
        for y_name, y in data.items():
            if x_name == y_name:
                continue
            try:
                result = grangercausalitytests(np.column_stack([y, x]), maxlag=max_lag)
            except (InfeasibleTestError, np.linalg.LinAlgError) as exc:
                # e.g. y is an exact linear function of the lags: no residual variance to test
                raise InvalidSeries(
                    f"Granger causality {x_name}->{y_name} cannot be computed: {exc}",
                    pair=f"{x_name}->{y_name}",
                ) from exc
            p_values = {lag: float(result[lag][0]["ssr_ftest"][1]) for lag in result}
            best_lag = min(p_values, key=lambda lag: p_values[lag])
            out[f"{x_name}->{y_name}"] = {
                "test": "Granger causality, SSR F-test",
                "p_values": {str(k): _num(v) for k, v in p_values.items()},
                "best_lag": best_lag,
                "p_value": _num(p_values[best_lag]),
                "significant": p_values[best_lag] < alpha,
            }
    return out


_SINGLE: dict[str, Callable[[Series, Mapping[str, Any]], dict[str, Any]]] = {
    "descriptive": _descriptive,
    "trend": _trend,
    "forecast": _forecast,
    "anomalies": _anomalies,
    "changepoints": _changepoints,
}


def validate_request(
    kind: str, series: Mapping[str, Sequence[float]], config: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Series]]:
    """Check an analysis request; returns ``(config with defaults, float64 series)``.

    Raises:
        ValidationError: unknown kind or bad ``alpha``. InvalidSeries: bad series.
    """
    if kind not in _MIN_POINTS:
        raise ValidationError(
            f"unknown analysis kind {kind!r}; use one of {', '.join(ANALYSIS_KINDS)}", kind=kind
        )
    cfg = dict(config or {})
    alpha = cfg.setdefault("alpha", 0.05)
    if not isinstance(alpha, int | float) or not 0 < float(alpha) < 1:
        raise ValidationError("alpha must be a number between 0 and 1", alpha=alpha)
    min_points = _MIN_POINTS[kind]
    if kind == "changepoints":
        min_points = max(min_points, 2 * int(cfg.get("min_segment", 5)))
    data = validate_series(series, min_points=min_points, same_length=kind == "causality")
    if kind == "causality" and len(data) < 2:
        raise InvalidSeries("causality needs at least two series")
    return cfg, data


def advanced_pattern_analysis(
    kind: str, series: Mapping[str, Sequence[float]], config: Mapping[str, Any] | None = None
) -> SeriesAnalysis:
    """Run one analysis ``kind`` over named series (see the module docstring).

    Args:
        kind: one of :data:`ANALYSIS_KINDS`.
        series: name → values in time order (e.g. ``{"reward": [...], "steps": [...]}``).
        config: ``alpha`` (0.05) and the kind's options.

    Returns:
        A :class:`SeriesAnalysis`; ``results`` maps each series (or ``"x->y"``
        pair for causality) to its fields.

    Raises:
        ValidationError: unknown kind or bad config. InvalidSeries: bad series.
    """
    cfg, data = validate_request(kind, series, config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "causality":
            results = _causality(data, cfg)
        else:
            results = {name: _SINGLE[kind](y, cfg) for name, y in data.items()}
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return SeriesAnalysis(kind=kind, alpha=float(cfg["alpha"]), results=results, notes=notes)

"""Memory of ``advanced_pattern_analysis`` against series length (issue 11 defect 5).

Method
------
Each measurement runs in a fresh child process (``python -c``), so peak
RSS (``ru_maxrss``) belongs to that one call: the child imports numpy and
scipy, builds a random-walk series of ``n`` points, records its RSS, then
runs the analysis under ``tracemalloc`` (numpy reports its buffers to it)
and prints the tracemalloc peak, the RSS growth over the baseline and the
wall time. Two methods for the trend, A/B interleaved at every ``n``:

* ``scipy``: ``scipy.stats.theilslopes`` as the trend used it before
  (pairwise slopes, memory ∝ n²); run only up to ``--scipy-max`` points.
* ``memoryd``: ``advanced_pattern_analysis("trend", ...)`` (Mann-Kendall,
  linear-memory Theil-Sen of ``memoryd.learning.theilsen``, R²).

Then every other kind runs once at the largest ``n`` (``changepoints`` on a
series with two level shifts). Memory is the figure; wall times are
printed for context only (the machine is shared).

Usage::

    .venv/bin/python benchmarks/analysis_memory.py            # n up to 100,000
    .venv/bin/python benchmarks/analysis_memory.py --quick    # n up to 20,000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, md_table, report  # noqa: E402

_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from scipy import stats
from memoryd.learning.analysis import advanced_pattern_analysis
method, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(n)
y = rng.normal(size=n).cumsum()
if kind == "changepoints":
    y = rng.normal(size=n) + np.repeat([0.0, 3.0, -1.0], [n // 3, n // 3, n - 2 * (n // 3)])
series = {"a": y.tolist()}
if kind == "causality":
    series["b"] = (np.roll(y, 1) + rng.normal(size=n)).tolist()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.perf_counter()
if method == "scipy":
    stats.theilslopes(y, np.arange(n, dtype=float), alpha=0.95)
else:
    advanced_pattern_analysis(kind, series)
elapsed = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"peak_mib": peak / 2**20, "rss_growth_mib": grown / 1024, "seconds": elapsed}))
"""


def _measure(method: str, kind: str, n: int) -> dict[str, Any]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, method, kind, str(n)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"method": method, "kind": kind, "n": n, **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 20,000")
    parser.add_argument("--scipy-max", type=int, default=4000, help="largest n for scipy")
    parser.add_argument("--out", default="", help="write the figures as JSON here")
    args = parser.parse_args()
    sizes = [500, 1000, 2000, 4000, 20_000] + ([] if args.quick else [100_000])
    machine = machine_info()
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for method in ("scipy", "memoryd"):  # interleaved A/B at each size
            if method == "scipy" and n > args.scipy_max:
                continue
            rows.append(_measure(method, "trend", n))
            print(json.dumps(rows[-1]), file=sys.stderr)
    largest = sizes[-1]
    for kind in ("descriptive", "forecast", "anomalies", "changepoints", "causality"):
        rows.append(_measure("memoryd", kind, largest))
        print(json.dumps(rows[-1]), file=sys.stderr)
    table = md_table(
        ["kind", "method", "points", "tracemalloc peak MiB", "RSS growth MiB", "seconds"],
        [
            [
                r["kind"],
                r["method"],
                f"{r['n']:,}",
                f"{r['peak_mib']:.1f}",
                f"{r['rss_growth_mib']:.1f}",
                f"{r['seconds']:.2f}",
            ]
            for r in rows
        ],
    )
    method = __doc__.split("Method\n------\n", 1)[1].split("\n\nUsage", 1)[0].replace("\n", " ")
    report("analysis memory", method, machine, [table], {"rows": rows}, args.out)


if __name__ == "__main__":
    main()

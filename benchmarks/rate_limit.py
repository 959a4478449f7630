"""S6: a request burst from one token against the daemon's rate limit; ``/healthz`` meanwhile.

Method
------
A cached store of N realistic memories (``_common.cached_store``) is copied
to a temp data dir and served by a real ``memoryd serve`` subprocess with two
tokens (A, the first line of the token file, and B, ``other:<token>``). Once
the daemon has settled, ``tests/reliability/_workers/burst.py`` (a separate
process) offers ``--rate`` requests/s for ``--seconds`` s from token A, open
loop over up to 256 keep-alive connections (``POST /v1/search``, a new query each
time, or ``--path``). Meanwhile this process GETs ``/healthz`` every 10 ms on
its own connection and thread, and token B sends one search every 100 ms on
another. Reported: the burst's statuses and ``Retry-After`` values, the
``/healthz`` latency (p50/p99/max, ms) and token B's statuses and latency.
The same run is repeated with the rate limit off (``MEMORYD_RATE_LIMIT_*_RPS=0``)
to show what the limit protects.

Usage::

    .venv/bin/python benchmarks/rate_limit.py                 # 10,000 memories, 1,000 req/s x 5 s
    .venv/bin/python benchmarks/rate_limit.py --quick         # 2,000 memories, 3 s
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

import _common as c

BURST = c.ROOT / "tests" / "reliability" / "_workers" / "burst.py"
TARGET_HEALTHZ_P99_MS = 50.0


def _probe(
    url: str,
    headers: dict[str, str],
    stop: threading.Event,
    interval_s: float,
    out: list[tuple[int, float]],
    body: dict[str, Any] | None = None,
) -> None:
    """Send one request every ``interval_s`` until ``stop``; record (status, seconds)."""
    path = "/v1/search" if body is not None else "/healthz"
    with httpx.Client(base_url=url, headers=headers, timeout=60.0, trust_env=False) as http:
        while not stop.is_set():
            started = time.perf_counter()
            if body is None:
                status = http.get(path).status_code
            else:
                status = http.post(path, json=body).status_code
            out.append((status, time.perf_counter() - started))
            stop.wait(max(0.0, interval_s - (time.perf_counter() - started)))


def run_burst(daemon: c.Daemon, rate: float, seconds: float, path: str) -> dict[str, Any]:
    """One burst from token A with /healthz and token B probed meanwhile (``rate`` 0: no burst,
    the probes alone for ``seconds`` s: the machine's baseline)."""
    healthz: list[tuple[int, float]] = []
    other: list[tuple[int, float]] = []
    stop = threading.Event()
    b_headers = {"authorization": f"Bearer {daemon.tokens['other']}"}
    probes = [
        threading.Thread(target=_probe, args=(daemon.base_url, {}, stop, 0.01, healthz)),
        threading.Thread(
            target=_probe,
            args=(daemon.base_url, b_headers, stop, 0.1, other, {"query": "tea garden"}),
        ),
    ]
    for probe in probes:
        probe.start()
    env = {**os.environ, "MEMORYD_BURST_TOKEN": daemon.token}
    cmd = [sys.executable, str(BURST), daemon.base_url, "--rate", str(rate)]
    cmd += ["--seconds", str(seconds), "--path", path]
    summary: dict[str, Any] = {"statuses": {}, "retry_after": [], "bad_429": 0, "offered_rps": 0}
    try:
        if rate > 0:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, check=True, timeout=600
            )
            summary = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            time.sleep(seconds)
    finally:
        stop.set()
        for probe in probes:
            probe.join()
    summary["healthz"] = c.summarize([s for _, s in healthz])
    summary["healthz_statuses"] = sorted({status for status, _ in healthz})
    summary["other_token"] = c.summarize([s for _, s in other])
    summary["other_token_statuses"] = {
        str(code): sum(1 for status, _ in other if status == code) for code, _ in set(other)
    }
    return summary


def _row(label: str, r: dict[str, Any]) -> list[Any]:
    statuses = r["statuses"]
    return [
        label,
        r["offered_rps"],
        r.get("seconds", "-"),
        statuses.get("200", 0),
        statuses.get("429", 0),
        ", ".join(map(str, r["retry_after"])) or "-",
        r["healthz"]["p50_ms"],
        r["healthz"]["p99_ms"],
        r["healthz"]["max_ms"],
        json.dumps(r["other_token_statuses"]),
        r["other_token"]["p99_ms"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="memories in the store")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered requests/s")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--path",
        action="append",
        help="request of the burst (repeatable; default GET /v1/memories?limit=10 and "
        "POST /v1/search)",
    )
    parser.add_argument("--quick", action="store_true", help="2,000 memories, 3 s")
    parser.add_argument("--out", default="", help="write the results as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.n, args.seconds = 2_000, 3.0
    paths = args.path or ["/v1/memories?limit=10", "/v1/search"]
    machine = c.machine_info()
    store = c.cached_store(args.n)
    results: dict[str, Any] = {}
    runs = [("no burst (baseline)", True, 0.0, "-")]
    for path in paths:
        runs.append((f"{path}, limit on (defaults)", True, args.rate, path))
        runs.append((f"{path}, limit off", False, args.rate, path))
    for label, limits, rate, path in runs:
        with c.bench_tmp() as tmp:
            work = Path(tmp)
            data = c.copy_store(store, work / "data")
            with c.Daemon(data, work, extra_tokens=["other"], rate_limits=limits) as daemon:
                daemon.start()
                daemon.settle()
                results[label] = run_burst(daemon, rate, args.seconds, path)
    on = results[f"{paths[0]}, limit on (defaults)"]
    method = (
        f"{args.rate:g} req/s offered for {args.seconds:g} s from one token "
        f"({', '.join(f'`{p}`' for p in paths)}), {args.n:,} memories; "
        "/healthz every 10 ms and token B every 100 ms meanwhile; see the module docstring."
    )
    table = c.md_table(
        [
            "run",
            "offered/s",
            "answered in s",
            "200",
            "429",
            "Retry-After s",
            "healthz p50 ms",
            "healthz p99 ms",
            "healthz max ms",
            "token B statuses",
            "token B p99 ms",
        ],
        [_row(label, r) for label, r in results.items()],
    )
    verdicts = (
        f"healthz p99 with the limit on ({paths[0]}): {c.fmt(on['healthz']['p99_ms'])} ms "
        f"{c.verdict(on['healthz']['p99_ms'], TARGET_HEALTHZ_P99_MS)}; "
        f"429s: {on['statuses'].get('429', 0):,}; bad 429s: {on['bad_429']}"
    )
    c.report("Rate limit (S6)", method, machine, [table, verdicts], {"results": results}, args.out)


if __name__ == "__main__":
    main()

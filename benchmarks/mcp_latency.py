"""MCP latency through ``memoryd mcp`` (stdio → daemon), cold start, and the fallback paths.

Method
------
A cached store of N realistic memories (``_common.cached_store``, vectors
from the real model) is copied to a temp data dir. Every MCP call is made by
the official ``mcp`` Python client over stdio to a real ``memoryd mcp``
child process and timed at the client (wall time around ``call_tool``).

1. **Cold** (repeated ``--cold-runs`` times): no daemon runs; from launching
   ``memoryd mcp`` to the first ``memory_search`` result (handshake, daemon
   auto-start, store open, model load, query). The daemon is stopped
   (SIGTERM) between runs. ``initialize`` time is reported separately.
2. **Warm**: once the daemon auto-started by the last cold run has finished
   its start-up work (``_common.wait_settled``: the in-memory BM25 index is
   built), one session against it; ``--warmup`` distinct
   queries, then ``--queries`` distinct measured ``memory_search`` calls
   (limit 10, hybrid; every query is a new string, so each embeds its query).
   Side by side, the same number of other distinct queries through
   ``memoryd.Client.search`` straight to the same daemon (REST): the
   difference is what the MCP layers (stdio, SDKs, schema validation) add.
3. **Fallback, daemon unreachable**: the daemon is stopped and the session
   runs with ``--no-auto-start``: the first call finds no daemon (connection
   refused), opens the in-process engine and answers; the next calls go
   in-process directly (circuit open).
4. **Fallback, daemon hung**: a warm session, then the daemon is frozen with
   SIGSTOP; with ``MEMORYD_DAEMON_TIMEOUT_S`` = ``--hang-timeout`` the next
   call waits that long, then answers in-process. The bound it is compared to
   is the configured timeout plus the in-process first-call time of (3).

Usage::

    .venv/bin/python benchmarks/mcp_latency.py                 # 100,000 memories
    .venv/bin/python benchmarks/mcp_latency.py --quick         # 2,000 memories
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

import _common as c

TARGETS = {"warm_p50_ms": 15.0, "warm_p95_ms": 30.0, "cold_first_result_s": 3.0}


def _env(data: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEMORYD_DATA_DIR": str(data),
        "MEMORYD_MODEL_CACHE_DIR": str(c.MODEL_CACHE),
        "MEMORYD_CONFIG": str(c.EMPTY_CONFIG),
        "MEMORYD_PORT": str(port),
        "MEMORYD_IDLE_TIMEOUT_S": "3600",
        "HF_HUB_OFFLINE": "1",
        **c.NO_RATE_LIMITS,
        **extra,
    }


def _params(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=str(c.MEMORYD_BIN), args=["mcp", *args], env=env)


async def _search(client: Client, query: str) -> dict[str, Any]:
    result = await client.call_tool("memory_search", {"query": query, "limit": 10})
    if result.is_error or not isinstance(result.structured_content, dict):
        raise RuntimeError(f"memory_search failed: {result.content}")
    return result.structured_content


def _daemon_client(data: Path) -> Any:
    """A ``memoryd.Client`` to the daemon running for ``data`` (found via ``daemon.json``)."""
    from memoryd import Client
    from memoryd.config import Settings
    from memoryd.lifecycle import discover

    settings = Settings(data_dir=data)
    info = discover(settings)
    assert info is not None
    return Client(settings, base_url=info.url)


def rest_search(data: Path, queries: list[str]) -> list[float]:
    """Latencies of ``Client.search`` (REST, keep-alive) to the running daemon, in seconds."""
    times = []
    with _daemon_client(data) as client:
        for q in queries:
            t0 = time.perf_counter()
            client.search(q, limit=10)
            times.append(time.perf_counter() - t0)
    return times


def settle(data: Path) -> float:
    """Wait until the auto-started daemon has finished its start-up work (seconds)."""
    with _daemon_client(data) as client:
        return float(c.wait_settled(client))


def _daemon_pid(data: Path) -> int | None:
    from memoryd.config import Settings
    from memoryd.lifecycle import discover

    info = discover(Settings(data_dir=data))
    return info.pid if info else None


def _stop_daemon(data: Path) -> None:
    from memoryd.lifecycle.runtime import pid_alive

    pid = _daemon_pid(data)
    if pid is None:
        return
    os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGTERM)
    while pid_alive(pid):
        time.sleep(0.05)


async def cold(env: dict[str, str], query: str) -> dict[str, Any]:
    started = time.perf_counter()
    async with Client(_params(env)) as client:
        initialized = time.perf_counter()
        found = await _search(client, query)
        first = time.perf_counter()
    return {
        "initialize_ms": (initialized - started) * 1000,
        "first_result_s": first - started,
        "served_by": found["served_by"],
    }


async def session(env: dict[str, str], queries: list[str], warm: list[str], *args: str) -> Any:
    async with Client(_params(env, *args)) as client:
        first_started = time.perf_counter()
        first = await _search(client, warm[0])
        first_s = time.perf_counter() - first_started
        for q in warm[1:]:
            await _search(client, q)
        times, paths = [], set()
        for q in queries:
            t0 = time.perf_counter()
            paths.add((await _search(client, q))["served_by"])
            times.append(time.perf_counter() - t0)
    return first_s, first["served_by"], times, paths


async def hung(env: dict[str, str], data: Path, queries: list[str]) -> tuple[float, str]:
    async with Client(_params(env)) as client:
        for q in queries[:5]:
            await _search(client, q)
        pid = _daemon_pid(data)
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.perf_counter()
            found = await _search(client, queries[5])
            took = time.perf_counter() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
    return took, f"{found['served_by']} (degraded={found['degraded']})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--hang-timeout", type=float, default=1.0, help="daemon timeout, seconds")
    ap.add_argument("--quick", action="store_true", help="2,000 memories, 100 queries, 2 cold")
    ap.add_argument("--tmp-dir", default=None)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    if args.quick:
        args.size, args.queries, args.cold_runs = 2000, 100, 2
    texts = c.query_texts(2 * args.queries + args.warmup + args.cold_runs + 10)
    queries, warm = texts[: args.queries], texts[args.queries : args.queries + args.warmup]
    rest_queries = texts[-args.queries :]
    extra = texts[args.queries + args.warmup : -args.queries]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    src = c.cached_store(args.size)
    with c.bench_tmp(args.tmp_dir) as tmp:
        data = c.copy_store(src, Path(tmp) / "data")
        env = _env(data, c.free_port())
        try:
            colds = []
            for i in range(args.cold_runs):
                _stop_daemon(data)
                colds.append(anyio.run(cold, env, extra[i]))
            settle(data)
            _, _, warm_times, warm_paths = anyio.run(session, env, queries, warm)
            rest_stats = c.summarize(rest_search(data, rest_queries))
            _stop_daemon(data)
            down_first, down_path, down_times, down_paths = anyio.run(
                session, env, queries[:100], warm[:5], "--no-auto-start"
            )
            hang_env = {**env, "MEMORYD_DAEMON_TIMEOUT_S": str(args.hang_timeout)}
            hang_s, hang_path = anyio.run(hung, hang_env, data, extra[args.cold_runs :])
        finally:
            _stop_daemon(data)
    warm_stats, down_stats = c.summarize(warm_times), c.summarize(down_times)
    cold_first = sorted(r["first_result_s"] for r in colds)
    cold_init = sorted(r["initialize_ms"] for r in colds)
    rows = [
        [
            "cold: launch → first memory_search result (median of runs)",
            f"{cold_first[len(cold_first) // 2]:.2f} s (runs: "
            + ", ".join(f"{x:.2f}" for x in cold_first)
            + ")",
            c.verdict(cold_first[len(cold_first) // 2], TARGETS["cold_first_result_s"]),
            ", ".join(sorted({r["served_by"] for r in colds})),
        ],
        [
            "cold: launch → initialize answered (median)",
            f"{cold_init[len(cold_init) // 2]:.0f} ms",
            "—",
            "—",
        ],
        [
            "warm memory_search p50",
            f"{warm_stats['p50_ms']:.1f} ms",
            c.verdict(warm_stats["p50_ms"], TARGETS["warm_p50_ms"]),
            ", ".join(sorted(warm_paths)),
        ],
        [
            "warm memory_search p95",
            f"{warm_stats['p95_ms']:.1f} ms",
            c.verdict(warm_stats["p95_ms"], TARGETS["warm_p95_ms"]),
            "",
        ],
        [
            "same daemon via REST (Client.search), p50 / p95",
            f"{rest_stats['p50_ms']:.1f} / {rest_stats['p95_ms']:.1f} ms",
            "—",
            "REST",
        ],
        [
            "daemon unreachable: first call (opens the in-process engine)",
            f"{down_first:.2f} s",
            "—",
            down_path,
        ],
        [
            "daemon unreachable: next calls p50 / p95",
            f"{down_stats['p50_ms']:.1f} / {down_stats['p95_ms']:.1f} ms",
            "—",
            ", ".join(sorted(down_paths)),
        ],
        [
            f"daemon hung (SIGSTOP), timeout {args.hang_timeout:g} s: first call",
            f"{hang_s:.2f} s",
            f"bound {args.hang_timeout + down_first:.2f} s (timeout + in-process first call): "
            + ("met" if hang_s <= args.hang_timeout + down_first else "NOT met"),
            hang_path,
        ],
    ]
    table = c.md_table(["measure", "value", "target", "served_by"], rows)
    method = (
        f"{args.size:,} memories; official mcp client over stdio to `memoryd mcp`; "
        f"{args.queries} distinct warm queries after {args.warmup} warm-up; "
        f"{args.cold_runs} cold runs. See the module docstring."
    )
    data_out = {
        "params": vars(args),
        "cold": colds,
        "warm": warm_stats,
        "rest": rest_stats,
        "down": down_stats,
        "down_first_s": down_first,
        "hung_s": hang_s,
    }
    c.report("MCP latency (stdio → daemon)", method, machine, [table], data_out, args.json)


if __name__ == "__main__":
    main()

"""Search latency of memoryd, in process and over HTTP, including query embedding.

Method
------
For each size, a store of that many realistic short memories (``_common.
memory_texts``: people, projects, topics, places, ids; Zipf-like word
frequencies) with vectors from the real all-MiniLM-L6-v2 model is built once
with ``Memory.add_many`` and cached; each run copies it to a temp dir.

In process (``Memory(settings)``, background workers on, default settings:
weighted fusion, 100 candidates per list, limit 10): for every query, in a
rotating order, the query embedding alone (``embedder.embed([q])``), a
keyword-only, a vector-only and a hybrid ``Memory.search``, on one engine
per keyword backend (``--keyword-index memory,fts5``: the in-memory BM25
index, built in the foreground first and timed, and FTS5's ``bm25()``),
interleaved query by query on the same store copy. The query
embedding cache is cleared before every call, so every measured call embeds
its query (all queries are distinct strings). Then over HTTP: the same store
served by a real ``memoryd serve`` subprocess (its own fresh process, default
settings, logs to a file), ``Client.search(q)`` with one keep-alive
connection, the same distinct queries, hybrid mode. Latency is wall time
around the call; ``took_ms`` is the engine's own time reported in the result.
Warm-up queries (different strings) are not counted.

Usage::

    .venv/bin/python benchmarks/search_latency.py --sizes 10000,100000
    .venv/bin/python benchmarks/search_latency.py --quick        # 2,000 memories, 100 queries
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c

TARGETS = {  # size -> (path, mode, stat) -> limit in ms
    100_000: {
        ("in-process", "hybrid", "p50_ms"): 7.0,
        ("HTTP", "hybrid", "p50_ms"): 10.0,
        ("HTTP", "hybrid", "p95_ms"): 20.0,
    }
}
MODES = ("embed only", "keyword", "vector", "hybrid")


def _build_keyword_index(store: Any) -> Any:
    """Build ``store``'s in-memory keyword index in this thread; the index.

    ``benchmarks/ab.sh`` runs this script on older trees too: before the store's
    composition the build was ``store.start_keyword_index`` and the index ``store.keywords``.
    """
    keywords = store.keywords
    if hasattr(keywords, "start"):
        keywords.start(background=False)
        return keywords.index
    store.start_keyword_index(background=False)
    return store.keywords


def in_process(
    data: Path, queries: list[str], warm: list[str], limit: int, backends: list[str]
) -> list[c.Row]:
    """Every mode on each keyword backend, interleaved per query (one engine per backend).

    The engines share the store copy and one embedder. For the ``memory``
    backend the in-memory BM25 index is built in the foreground once the
    engine is open, timed, with the process RSS before and after.
    """
    import psutil

    from memoryd import Memory

    proc = psutil.Process()
    engines: dict[str, Any] = {}
    extra: dict[str, c.Row] = {}
    first = Memory(c.bench_settings(data, keyword_index="fts5"))
    try:
        for backend in backends:
            if backend == "fts5":
                engines[backend] = first
                continue
            # Opened as fts5 so the build can be timed here instead of in a thread.
            memory = Memory(c.bench_settings(data, keyword_index="fts5"), embedder=first.embedder)
            engines[backend] = memory
            rss0 = proc.memory_info().rss
            t0 = time.perf_counter()
            keyword_index = _build_keyword_index(memory.store)
            extra[backend] = {
                "keyword_build_s": round(time.perf_counter() - t0, 3),
                "keyword_rss_delta_mib": round((proc.memory_info().rss - rss0) / 2**20, 1),
            }
            assert keyword_index is not None
        times: dict[tuple[str, str], list[float]] = {}
        took: dict[tuple[str, str], list[float]] = {}
        hits: dict[tuple[str, str], int] = {}
        for memory in engines.values():
            calls = _calls(memory, limit)
            for q in warm:
                for call in calls.values():
                    call(q)
        for i, q in enumerate(queries):
            for b, backend in enumerate(backends):
                memory = engines[backend]
                calls = _calls(memory, limit)
                for j in range(len(MODES)):
                    mode = MODES[(i + j + b) % len(MODES)]
                    if mode == "embed only" and b > 0:
                        continue
                    key = (backend, mode)
                    memory.query_cache.clear()
                    t0 = time.perf_counter()
                    result = calls[mode](q)
                    times.setdefault(key, []).append(time.perf_counter() - t0)
                    if mode != "embed only":
                        took.setdefault(key, []).append(result.took_ms / 1000)
                        hits[key] = hits.get(key, 0) + len(result.hits)
        for memory in engines.values():
            assert memory.query_cache.hits == 0
    finally:
        for memory in {id(m): m for m in engines.values()}.values():
            if memory is not first:
                memory.close()
        first.close()
    return [
        {
            "path": "in-process",
            "keyword_index": backend if mode != "embed only" else "—",
            "mode": mode,
            **c.summarize(times[(backend, mode)]),
            "took_p50_ms": c.summarize(took[(backend, mode)]).get("p50_ms")
            if mode != "embed only"
            else None,
            "mean_hits": hits[(backend, mode)] / len(queries) if mode != "embed only" else None,
            **extra.get(backend, {}),
        }
        for backend in backends
        for mode in MODES
        if (backend, mode) in times
    ]


def _calls(memory: Any, limit: int) -> dict[str, Callable[[str], Any]]:
    return {
        "embed only": lambda q: memory.embedder.embed([q]),
        "keyword": lambda q: memory.search(q, mode="keyword", limit=limit),
        "vector": lambda q: memory.search(q, mode="vector", limit=limit),
        "hybrid": lambda q: memory.search(q, mode="hybrid", limit=limit),
    }


def over_http(data: Path, work: Path, queries: list[str], warm: list[str], limit: int) -> c.Row:
    with c.Daemon(data, work) as daemon:
        ready_s = daemon.start()
        daemon.settle()
        with daemon.client() as client:
            for q in warm:
                client.search(q, limit=limit)
            times, took, hits = [], [], 0
            for q in queries:
                t0 = time.perf_counter()
                result = client.search(q, limit=limit)
                times.append(time.perf_counter() - t0)
                took.append(result.took_ms / 1000)
                hits += len(result.hits)
        rss = daemon.rss()
    return {
        "path": "HTTP",
        "mode": "hybrid",
        **c.summarize(times),
        "took_p50_ms": c.summarize(took)["p50_ms"],
        "mean_hits": hits / len(queries),
        "daemon_ready_s": ready_s,
        "daemon_rss_mib": rss["VmRSS"] / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated store sizes")
    ap.add_argument("--queries", type=int, default=500, help="distinct measured queries")
    ap.add_argument("--warmup", type=int, default=20, help="distinct warm-up queries")
    ap.add_argument("--limit", type=int, default=10, help="hits per search")
    ap.add_argument("--no-http", action="store_true", help="skip the daemon part")
    ap.add_argument("--quick", action="store_true", help="2,000 memories, 100 queries")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp store copies")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    ap.add_argument(
        "--keyword-index",
        default="memory,fts5",
        help="keyword backends compared in process (Settings.keyword_index), comma-separated",
    )
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.queries, args.warmup = "2000", 100, 10
    sizes = [int(s) for s in args.sizes.split(",") if s]
    everything = c.query_texts(args.queries + args.warmup)
    queries, warm = everything[: args.queries], everything[args.queries :]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    rows: list[c.Row] = []
    for n in sizes:
        src = c.cached_store(n, rebuild=args.rebuild)
        with c.bench_tmp(args.tmp_dir) as tmp:
            data = c.copy_store(src, Path(tmp) / "data")
            backends = [b for b in args.keyword_index.split(",") if b]
            found = in_process(data, queries, warm, args.limit, backends)
            if not args.no_http:
                found.append(over_http(data, Path(tmp), queries, warm, args.limit))
        for row in found:
            limits = TARGETS.get(n, {})
            checks = [
                f"{stat[:3]} {c.verdict(row[stat], lim)}"
                for (path, mode, stat), lim in limits.items()
                if (path, mode) == (row["path"], row["mode"])
            ]
            if row.get("keyword_index") == "fts5":
                checks = []  # the targets are for the default settings
            rows.append({"size": n, **row, "target": "; ".join(checks) or "—"})
        print(f"  size {n:,} done", flush=True)
    table = c.md_table(
        ["memories", "path", "keyword index", "mode", "n", "p50 ms", "p95 ms", "p99 ms"]
        + ["mean ms"]
        + ["engine took p50 ms", "hits/query", "target"],
        [
            [r["size"], r["path"], r.get("keyword_index", "memory"), r["mode"], r["n"]]
            + [r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_ms"], r["took_p50_ms"]]
            + [r["mean_hits"], r["target"]]
            for r in rows
        ],
    )
    params = {k: v for k, v in vars(args).items() if k != "json"}
    method = (
        f"{args.queries} distinct queries (+{args.warmup} warm-up) per size, limit "
        f"{args.limit}; every call embeds its query (cache cleared, distinct strings); "
        "in-process modes interleaved per query; HTTP = Client.search against a real "
        "`memoryd serve` subprocess on the same store copy. See the module docstring."
    )
    c.report(
        "search latency", method, machine, [table], {"params": params, "rows": rows}, args.json
    )


if __name__ == "__main__":
    main()

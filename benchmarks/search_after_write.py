"""Search right after a burst of writes: the first search against warm ones (issue 17 item 5).

Method
------
Agents save and then search at once, so the search that follows a burst of
writes must not pay for the indexes catching up. For each burst size
(``--bursts``, default 100, 616 and 2,000 turns) and round (``--rounds``),
a fresh namespace receives that many conversation turns (``kind=message``,
sessions of 20 turns, so each turn's FTS context is the previous turn), as
``add_many`` (one call, ``batch_size`` 256) or one ``add`` per turn
(``--writes``). A turn is ``--turn-memories`` realistic memories
(``_common.memory_texts``) joined (about 500 characters, like a LongMemEval
turn); its vector is the normalised mean of theirs (real all-MiniLM-L6-v2
vectors, cached), so the writes do not wait for the model and the indexes
have the least time to keep up. Right after the last write returns, one
hybrid search in that namespace (the *first*), then ``--warm`` more (each a
distinct query; the query embedding cache cleared before each, so every
search embeds its query). The engine holds a base namespace of
``--base`` memories as well.

Library: ``Memory(settings)`` in process, background workers on (the
in-memory BM25 index built and following). Daemon: the same bursts through
``Client`` against a real ``memoryd serve`` subprocess on its own store.

The figure of merit is the ratio of the first search's latency to the warm
ones' (p50 / p50, and p95 of the first searches / p95 of the warm ones),
which a loaded machine moves far less than the absolute times; the goal is
at most 2.

Usage::

    .venv/bin/python benchmarks/search_after_write.py
    .venv/bin/python benchmarks/search_after_write.py --bursts 616 --rounds 3 --no-daemon
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import _common as c

SESSION_TURNS = 20


def turns(
    texts: list[str], vectors: np.ndarray, n: int, per_turn: int, seed: int
) -> tuple[list[str], list[list[float]]]:
    """``n`` turns of ``per_turn`` random memories each, and their normalised mean vectors."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(texts), size=(n, per_turn))
    joined = [" ".join(texts[i] for i in row) for row in picks]
    means = vectors[picks].mean(axis=1)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    return joined, means.astype(np.float32).tolist()


def burst_items(
    namespace: str, texts: list[str], vectors: list[list[float]]
) -> list[dict[str, Any]]:
    return [
        {
            "content": text,
            "vector": vector,
            "kind": "message",
            "namespace": namespace,
            "session_id": f"{namespace}-s{i // SESSION_TURNS}",
            "metadata": {"role": "user" if i % 2 == 0 else "assistant"},
        }
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]


def run(
    target: Any,
    clear_cache: Callable[[], None],
    path: str,
    args: argparse.Namespace,
    pool: tuple[list[str], np.ndarray],
    queries: list[str],
) -> list[c.Row]:
    """Every burst size × write style × round on ``target`` (a ``Memory`` or a ``Client``)."""
    rows: list[c.Row] = []
    q = iter(queries)
    seed = 0
    for size in args.bursts:
        for writes in args.writes:
            first: list[float] = []
            warm: list[float] = []
            write_s: list[float] = []
            for r in range(args.rounds):
                seed += 1
                namespace = f"burst-{path}-{writes}-{size}-{r}"
                texts, vectors = turns(*pool, size, args.turn_memories, seed)
                items = burst_items(namespace, texts, vectors)
                t0 = time.perf_counter()
                if writes == "add_many":
                    target.add_many(items)
                else:
                    for item in items:
                        target.add(item)
                write_s.append(time.perf_counter() - t0)
                for i in range(1 + args.warm):
                    clear_cache()
                    t0 = time.perf_counter()
                    target.search(next(q), namespace=namespace, limit=args.limit)
                    (first if i == 0 else warm).append(time.perf_counter() - t0)
            f, w = c.summarize(first), c.summarize(warm)
            rows.append(
                {
                    "path": path,
                    "writes": writes,
                    "burst": size,
                    "rounds": args.rounds,
                    "write_s_mean": float(np.mean(write_s)),
                    "first_p50_ms": f["p50_ms"],
                    "first_p95_ms": f["p95_ms"],
                    "warm_p50_ms": w["p50_ms"],
                    "warm_p95_ms": w["p95_ms"],
                    "ratio_p50": f["p50_ms"] / w["p50_ms"],
                    "ratio_p95": f["p95_ms"] / w["p95_ms"],
                }
            )
            print(f"  {path} {writes} {size}: done", flush=True)
    return rows


def base_items(n: int) -> list[dict[str, Any]]:
    texts, tags, vectors = c.dataset(n)
    return c.items_with_vectors(texts, tags, vectors)


def library(args: argparse.Namespace, pool: Any, queries: list[str], tmp: Path) -> list[c.Row]:
    from memoryd import Memory

    memory = Memory(c.bench_settings(tmp / "library"))
    try:
        memory.add_many(base_items(args.base))
        assert memory.store.keywords.wait(600)
        for query in queries[-20:]:  # warm-up
            memory.search(query, limit=args.limit)
        return run(memory, memory.query_cache.clear, "library", args, pool, queries)
    finally:
        memory.close()


def daemon(args: argparse.Namespace, pool: Any, queries: list[str], tmp: Path) -> list[c.Row]:
    data = tmp / "daemon"
    data.mkdir()
    with c.Daemon(data, tmp) as served:
        served.start()
        served.settle()
        with served.client() as client:
            client.add_many(base_items(args.base))
            for query in queries[-20:]:
                client.search(query, limit=args.limit)
            # Distinct queries already defeat the daemon's query embedding cache.
            return run(client, lambda: None, "daemon", args, pool, queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bursts", default="100,616,2000", help="turns per burst, comma-separated")
    ap.add_argument("--writes", default="add_many,add", help="write styles: add_many, add")
    ap.add_argument("--rounds", type=int, default=5, help="bursts per size and write style")
    ap.add_argument("--warm", type=int, default=10, help="warm searches after each first one")
    ap.add_argument("--base", type=int, default=5000, help="memories in the base namespace")
    ap.add_argument("--turn-memories", type=int, default=5, help="memories joined into a turn")
    ap.add_argument("--limit", type=int, default=10, help="hits per search")
    ap.add_argument("--no-daemon", action="store_true", help="skip the daemon part")
    ap.add_argument("--no-library", action="store_true", help="skip the in-process part")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp stores")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    args.bursts = [int(s) for s in args.bursts.split(",") if s]
    args.writes = [s for s in args.writes.split(",") if s]
    if set(args.writes) - {"add_many", "add"}:
        ap.error("--writes takes add_many and/or add")
    searches = len(args.bursts) * len(args.writes) * args.rounds * (1 + args.warm)
    queries = c.query_texts(searches + 20)
    texts, _, vectors = c.dataset(max(args.base, 5000))
    pool = (texts, np.asarray(vectors, dtype=np.float32))
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    rows: list[c.Row] = []
    with c.bench_tmp(args.tmp_dir) as tmp:
        if not args.no_library:
            rows += library(args, pool, queries, Path(tmp))
        if not args.no_daemon:
            rows += daemon(args, pool, queries, Path(tmp))
    table = c.md_table(
        ["path", "writes", "burst", "write s", "first p50 ms", "first p95 ms"]
        + ["warm p50 ms", "warm p95 ms", "first/warm p50", "first/warm p95", "target ≤ 2"],
        [
            [r["path"], r["writes"], r["burst"], r["write_s_mean"], r["first_p50_ms"]]
            + [r["first_p95_ms"], r["warm_p50_ms"], r["warm_p95_ms"], r["ratio_p50"]]
            + [r["ratio_p95"], c.verdict(r["ratio_p95"], 2.0)]
            for r in rows
        ],
    )
    params = {k: v for k, v in vars(args).items() if k != "json"}
    method = (
        f"{args.rounds} bursts per size and write style into fresh namespaces (turns of "
        f"{args.turn_memories} memories, given vectors), then 1 + {args.warm} distinct hybrid "
        f"searches (limit {args.limit}); base namespace of {args.base:,} memories. "
        "See the module docstring."
    )
    c.report(
        "search after write", method, machine, [table], {"params": params, "rows": rows}, args.json
    )


if __name__ == "__main__":
    main()

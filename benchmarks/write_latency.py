"""Latency of a single durable ``add`` (with local embedding), over HTTP and in process.

Method
------
A cached store of ``--base-size`` realistic memories (real all-MiniLM-L6-v2
vectors, see ``_common.py``) is copied to a temp dir on disk (``--tmp-dir``;
the file system type is printed, a tmpfs would make fsync free). Settings are
the defaults with ``sqlite_synchronous=FULL`` stated explicitly: each add is
one ``BEGIN IMMEDIATE`` transaction (row, FTS, vector, index log, embedding
cache) committed with fsync, and the HNSW index is updated before the call
returns.

Every add is a new distinct text (never in the store or its embedding cache,
so every call runs the model; kind ``memory``, one tag). In process
(``Memory.add``), each add is preceded by an untimed-in-add call of the
embedder on the same text, timed on its own, so the table shows the model's
share and the rest (``add − embed``, per call). Then, on the same store, a
real ``memoryd serve`` subprocess and ``Client.add`` (one keep-alive
connection), with other new texts. Warm-up adds are not counted.

Concurrent writers (``--concurrent N``, default 16; 0 skips): a fresh daemon
on the same store, settled (``Daemon.settle``), and N threads, each with its
own ``Client``, adding ``--concurrent-writes`` further new texts between them
as fast as they can. Reported: latency per add, writes/s, how many adds the
write latency budget deferred (``stats().deferred_writes``, see
``memoryd/write_vectors.py``) and how long the backfill then took to embed
them (polling ``pending_embeddings`` every 50 ms).

Usage::

    .venv/bin/python benchmarks/write_latency.py                # 300 adds each, 10k base
    .venv/bin/python benchmarks/write_latency.py --quick        # 60 adds, 2k base
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import _common as c

TARGET_HTTP_P50_MS = 15.0


def in_process(data: Path, texts: list[str], warm: list[str]) -> list[c.Row]:
    from memoryd import Memory

    with Memory(c.bench_settings(data, sqlite_synchronous="FULL")) as memory:
        sync = memory.store.pool.writer.execute("PRAGMA synchronous").fetchone()[0]
        for t in warm:
            memory.add(t, tags=["warmup"])
        embed, add, rest = [], [], []
        for t in texts:
            t0 = time.perf_counter()
            memory.embedder.embed([t])
            t1 = time.perf_counter()
            entry = memory.add(t, tags=["bench"])
            t2 = time.perf_counter()
            assert entry.content == t
            embed.append(t1 - t0)
            add.append(t2 - t1)
            rest.append((t2 - t1) - (t1 - t0))
    extra = {"path": "in-process", "synchronous": {2: "FULL", 1: "NORMAL"}.get(sync, sync)}
    return [
        {**extra, "op": "Memory.add", **c.summarize(add)},
        {**extra, "op": "embed only (same text)", **c.summarize(embed)},
        {**extra, "op": "add − embed (per call)", **c.summarize(rest)},
    ]


def over_http(data: Path, work: Path, texts: list[str], warm: list[str]) -> c.Row:
    with c.Daemon(data, work, MEMORYD_SQLITE_SYNCHRONOUS="FULL") as daemon:
        daemon.start()
        times = []
        with daemon.client() as client:
            for t in warm:
                client.add(t, tags=["warmup"])
            for t in texts:
                t0 = time.perf_counter()
                entry = client.add(t, tags=["bench"])
                times.append(time.perf_counter() - t0)
                assert entry.content == t
            stats = client.stats()
    assert stats.pending_embeddings == 0, "adds were queued for backfill: embedder down?"
    row = {"path": "HTTP", "synchronous": "FULL", "op": "Client.add", **c.summarize(times)}
    return row | {"store_total_after": stats.total, "index_size_after": stats.index_size}


def concurrent_http(data: Path, work: Path, texts: list[str], clients: int) -> c.Row:
    """``clients`` threads, each with its own ``Client``, add ``texts`` between them."""
    with c.Daemon(data, work, MEMORYD_SQLITE_SYNCHRONOUS="FULL") as daemon:
        daemon.start()
        daemon.settle()
        times: list[float] = []
        lock = threading.Lock()

        def writer(part: list[str]) -> None:
            with daemon.client() as client:
                for t in part:
                    t0 = time.perf_counter()
                    entry = client.add(t, tags=["bench"])
                    elapsed = time.perf_counter() - t0
                    assert entry.content == t
                    with lock:
                        times.append(elapsed)

        threads = [
            threading.Thread(target=writer, args=(texts[i::clients],)) for i in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        with daemon.client() as client:
            deferred = client.stats().deferred_writes
            t0 = time.perf_counter()
            while client.stats().pending_embeddings:
                time.sleep(0.05)
            drain = time.perf_counter() - t0
            stats = client.stats()
    assert len(times) == len(texts) and stats.vectors == stats.total, stats
    row = {"path": f"HTTP, {clients} clients", "synchronous": "FULL", "op": "Client.add"}
    return (
        row
        | c.summarize(times)
        | {
            "writes_per_s": round(len(texts) / wall, 1),
            "deferred": deferred,
            "backfill_drain_s": round(drain, 2),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-size", type=int, default=10_000, help="memories already stored")
    ap.add_argument("--writes", type=int, default=300, help="measured adds per path")
    ap.add_argument("--warmup", type=int, default=10, help="unmeasured adds per path")
    ap.add_argument("--no-http", action="store_true", help="skip the daemon parts")
    ap.add_argument("--concurrent", type=int, default=16, help="concurrent HTTP writers (0: skip)")
    ap.add_argument("--concurrent-writes", type=int, default=400, help="adds among them")
    ap.add_argument("--quick", action="store_true", help="2,000 base memories, 60 adds")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp store (on a real disk)")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.base_size, args.writes = 2000, 60
    src = c.cached_store(args.base_size, rebuild=args.rebuild)
    base_texts = set(c.dataset(args.base_size)[0])
    per_path = args.writes + args.warmup
    n_fresh = 2 * per_path + args.concurrent_writes
    fresh = [t for t, _ in c.memory_texts(n_fresh, seed=c.SEED + 1, exclude=base_texts)]
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    with c.bench_tmp(args.tmp_dir) as tmp:
        data = c.copy_store(src, Path(tmp) / "data")
        local, remote = fresh[:per_path], fresh[per_path : 2 * per_path]
        rows = in_process(data, local[args.warmup :], local[: args.warmup])
        if not args.no_http:
            rows.insert(0, over_http(data, Path(tmp), remote[args.warmup :], remote[: args.warmup]))
        if not args.no_http and args.concurrent > 0:
            burst = fresh[2 * per_path :]
            rows.append(concurrent_http(data, Path(tmp), burst, args.concurrent))
    for row in rows:
        row["target"] = "—"
        if row["path"] == "HTTP":
            row["target"] = "p50 " + c.verdict(row["p50_ms"], TARGET_HTTP_P50_MS)
    table = c.md_table(
        ["path", "operation", "synchronous", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms"]
        + ["target"],
        [
            [r["path"], r["op"], r["synchronous"], r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
            + [r["mean_ms"], r["target"]]
            for r in rows
            if "writes_per_s" not in r
        ],
    )
    tables = [table]
    burst_rows = [r for r in rows if "writes_per_s" in r]
    if burst_rows:
        tables.append(
            c.md_table(
                ["path", "n", "p50 ms", "p99 ms", "writes/s", "deferred", "backfill drain s"],
                [
                    [r["path"], r["n"], r["p50_ms"], r["p99_ms"], r["writes_per_s"]]
                    + [r["deferred"], r["backfill_drain_s"]]
                    for r in burst_rows
                ],
            )
        )
    params = {k: v for k, v in vars(args).items() if k != "json"}
    method = (
        f"{args.writes} distinct new texts per path (+{args.warmup} warm-up) added one by one "
        f"to a copy of a {args.base_size:,}-memory store, synchronous=FULL, local embedding "
        "in every call; HTTP = Client.add against a real `memoryd serve` subprocess; "
        f"then {args.concurrent} concurrent HTTP writers. See the module docstring."
    )
    c.report("write latency", method, machine, tables, {"params": params, "rows": rows}, args.json)


if __name__ == "__main__":
    main()

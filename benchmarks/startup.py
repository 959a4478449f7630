"""Daemon start-up time and memory on an existing store, and cold in-process open time.

Method
------
A store of ``--size`` realistic memories (real all-MiniLM-L6-v2 vectors,
vector index checkpointed on close) is built once and cached (``_common.
cached_store``). For each of ``--starts`` runs it is copied to a fresh temp
dir (not timed; the copy leaves the files in the page cache, so this is a
warm-cache start unless ``--drop-caches``, which needs root and slows every
other process on the machine), then ``memoryd serve`` is spawned and
``/readyz`` polled every ``--poll-ms`` (10) ms with the bearer token: start-up = spawn to the
first 200 (interpreter, imports, store open, vector index load, embedding
model load and warm-up). The daemon's memory (``_common.rss_kib``: RSS, anon
and file RSS from ``/proc/PID/status``, PSS from ``/proc/PID/smaps_rollup``) is
read right after ready; in the last run also once its start-up work has
settled (``_common.wait_settled``: the in-memory BM25 index is built) and
after ``--searches`` distinct hybrid searches over HTTP (``VmHWM`` = peak).
File RSS counts the SQLite file once per connection that maps it; PSS counts
each page once. Shutdown = SIGTERM to exit.

Cold in-process open: ``--opens`` fresh Python processes (``python -c``,
nothing imported beforehand) each time ``import memoryd`` (with numpy,
pydantic, httpx...), ``Memory(settings)`` on a fresh copy (store open and
vector index load) and the embedder's warm-up (model load and first
inference), and report whether the index came from its checkpoint or was
rebuilt; "whole process" is spawn to exit.

Restarts (issue 11 defect 8, RELIABILITY.md R1 "ready within 2 s of
restart"): ``--restarts`` kill -9 restarts and as many SIGTERM restarts of one
daemon, interleaved in one run, each after ``--restart-writes`` memories
written over HTTP; p50/p95/max spawn → ``/readyz`` 200 for each kind, with
the ``index_log`` tail each restart replayed. Damaged checkpoint: ``--damaged``
starts over a copy whose largest ``.usearch`` file is zeroed (rebuild from
``vectors`` and save), then the next start; and the rebuild, save and load
timed in-process (``_restarts.py``).

``--synthetic`` builds the store with random unit vectors
(``_common.synthetic_dataset``) instead of embedding 100k texts with the
real model (many minutes on 2 cores): start-up and index costs depend on
the row count and dimension, not on what the vectors mean.

Usage::

    .venv/bin/python benchmarks/startup.py                 # 100k store, 5 starts
    .venv/bin/python benchmarks/startup.py --quick         # 2k store, 2 starts
    .venv/bin/python benchmarks/startup.py --synthetic --starts 3 --opens 2
    .venv/bin/python benchmarks/startup.py --synthetic --only-restarts --restarts 6   # R1 only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import _common as c
import _restarts

TARGET_READY_S = 1.5  # median, 100k store
TARGET_RESTART_S = 2.0  # RELIABILITY.md R1: ready within 2 s of a restart (every restart)
RESTART_HEADER = [
    *("restart", "runs", "tail ops median", "tail max", "ready p50 s", "p95 s", "max s"),
    *("boot p50 s", "ready − boot p50 s", "max s", "stop median s", "load (1 min)", "target"),
]


# Run with ``python -c`` so that nothing but memoryd is imported (numpy, httpx... included).
OPEN_WORKER = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from memoryd import Memory, Settings
t1 = time.perf_counter()
memory = Memory(Settings(data_dir=Path(sys.argv[1]), model_cache_dir=Path(sys.argv[2])))
t2 = time.perf_counter()
memory.embedder.warmup()
t3 = time.perf_counter()
source, size = memory.index_source, memory.store.vectors.index.size()
memory.close()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "warmup_s": t3 - t2,
                  "index": source, "index_size": size}))
"""


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def daemon_runs(src: Path, args: argparse.Namespace) -> tuple[list[c.Row], c.Row]:
    runs, memory = [], {}
    queries = c.query_texts(args.searches)
    for i in range(args.starts):
        with c.bench_tmp(args.tmp_dir) as tmp:
            data = c.copy_store(src, Path(tmp) / "data")
            if args.drop_caches:
                drop_caches()
            env = {"MEMORYD_KEYWORD_INDEX": args.keyword_index}
            with c.Daemon(data, Path(tmp), **env) as daemon:
                ready = daemon.start(poll_s=args.poll_ms / 1000)
                rss = daemon.rss()
                if i == args.starts - 1:
                    with daemon.client() as client:
                        settled_s = c.wait_settled(client)
                        settled = daemon.rss()
                        t0 = time.perf_counter()
                        for q in queries:
                            client.search(q)
                        took = time.perf_counter() - t0
                    after = daemon.rss()
                    memory = {
                        "ready": rss,
                        "settled": settled,
                        "settled_after_s": settled_s,
                        "after_searches": after,
                        "searches": len(queries),
                        "search_mean_ms": took / len(queries) * 1000,
                    }
                t0 = time.perf_counter()
                daemon.stop()
                runs.append({"ready_s": ready, "stop_s": time.perf_counter() - t0,
                             "rss_ready_mib": rss["VmRSS"] / 1024})  # fmt: skip
        print(f"  start {i + 1}: ready in {ready:.3f} s", flush=True)
    return runs, memory


def open_runs(src: Path, args: argparse.Namespace) -> list[c.Row]:
    out = []
    for _ in range(args.opens):
        with c.bench_tmp(args.tmp_dir) as tmp:
            data = c.copy_store(src, Path(tmp) / "data")
            if args.drop_caches:
                drop_caches()
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", OPEN_WORKER, str(data), str(c.MODEL_CACHE)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            out.append({**row, "process_s": time.perf_counter() - t0})
    return out


def _memory_row(label: str, kib: c.Row, *, peak: bool = False) -> list[Any]:
    """One row of the memory table: ``kib`` from ``_common.rss_kib``, shown in MiB."""
    mib = [kib[key] / 1024 if key in kib else "—" for key in ("VmRSS", "RssAnon", "RssFile", "Pss")]
    return [label, *mib, kib["Threads"], kib["VmHWM"] / 1024 if peak else "—"]


def _restart_row(kind: str, rows: list[c.Row]) -> list[Any]:
    """One row of the restart table: ready-time percentiles in seconds, the replayed tail.

    "boot" is spawn → the daemon's ``starting`` log event (interpreter and
    imports); "ready − boot" the rest (store open, index load, model warm-up);
    "load" the range of the 1-minute load average just before the restarts.
    """
    ready = [r["ready_s"] for r in rows]
    p50, p95 = (float(x) for x in np.percentile(ready, [50, 95]))
    tails = [r["tail"] for r in rows]
    boots = [r["boot_s"] for r in rows if r["boot_s"] is not None]
    after = [r["ready_s"] - r["boot_s"] for r in rows if r["boot_s"] is not None]
    return [kind, len(rows), statistics.median(tails), max(tails), p50, p95, max(ready)] + [
        statistics.median(boots) if boots else "—",
        statistics.median(after) if after else "—",
        max(after) if after else "—",
        statistics.median(r["stop_s"] for r in rows),
        f"{min(r['load'] for r in rows):.1f}–{max(r['load'] for r in rows):.1f}",
        c.verdict(max(ready), TARGET_RESTART_S) + " s (max)",
    ]


def _restart_ratio(restarts: dict[str, list[c.Row]]) -> str:
    """kill -9 / SIGTERM ratios of the p50 ready time and of the p50 ready − boot."""
    kill, term = restarts["kill -9"], restarts["SIGTERM"]

    def p50(rows: list[c.Row], after_boot: bool) -> float:
        return statistics.median(
            r["ready_s"] - (r["boot_s"] if after_boot else 0.0)
            for r in rows
            if not after_boot or r["boot_s"] is not None
        )

    return (
        f"kill -9 / SIGTERM: ready p50 {p50(kill, False) / p50(term, False):.2f}, "
        f"ready − boot p50 {p50(kill, True) / p50(term, True):.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000, help="memories in the store")
    ap.add_argument("--starts", type=int, default=5, help="daemon starts (median reported)")
    ap.add_argument("--opens", type=int, default=5, help="cold in-process opens")
    ap.add_argument("--searches", type=int, default=1000, help="searches before the 2nd RSS")
    ap.add_argument("--poll-ms", type=float, default=10.0, help="/readyz polling interval")
    ap.add_argument("--drop-caches", action="store_true", help="drop the page cache (root)")
    ap.add_argument("--quick", action="store_true", help="2,000 memories, 2 starts, 200 searches")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp store copies")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    ap.add_argument("--synthetic", action="store_true", help="random unit vectors (fast build)")
    ap.add_argument("--restarts", type=int, default=10, help="kill -9 and SIGTERM restarts each")
    ap.add_argument("--restart-writes", type=int, default=200, help="memories written per cycle")
    ap.add_argument("--damaged", type=int, default=2, help="starts over a damaged checkpoint")
    ap.add_argument(
        "--only-restarts",
        action="store_true",
        help="only the kill -9 / SIGTERM restart table (R1), nothing else",
    )
    ap.add_argument(
        "--keyword-index",
        default="memory",
        choices=["memory", "fts5"],
        help="the daemon's Settings.keyword_index (memory builds its BM25 index in a thread)",
    )
    args = ap.parse_args()
    if args.quick:
        args.size, args.starts, args.opens, args.searches = 2000, 2, 2, 200
        args.restarts, args.damaged = 3, 1
    src = c.cached_store(args.size, rebuild=args.rebuild, synthetic=args.synthetic)
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    if args.only_restarts:
        restarts = _restarts.restart_runs(src, args)
        method = (
            f"{args.restarts} kill -9 + {args.restarts} SIGTERM restarts of one daemon, "
            f"interleaved, {args.restart_writes} writes before each, on a copy of a cached "
            f"{args.size:,}-memory store (spawn → first /readyz 200, polled every "
            f"{args.poll_ms:g} ms). {_restart_ratio(restarts)}. See the module docstring."
        )
        table = c.md_table(RESTART_HEADER, [_restart_row(k, rows) for k, rows in restarts.items()])
        c.report("startup", method, machine, [table], {"restarts": restarts}, args.json)
        return
    runs, memory = daemon_runs(src, args)
    opens = open_runs(src, args)
    restarts = _restarts.restart_runs(src, args)
    damaged = _restarts.damaged_runs(src, args)
    rebuild = _restarts.rebuild_in_process(src, args)

    def med(rows: list[c.Row], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    ready = med(runs, "ready_s")
    target = c.verdict(ready, TARGET_READY_S) + " s" if args.size == 100_000 else "—"
    start_table = c.md_table(
        ["store", "starts", "ready median s", "min s", "max s", "stop median s", "target"],
        [[args.size, len(runs), ready, min(r["ready_s"] for r in runs)]
         + [max(r["ready_s"] for r in runs), med(runs, "stop_s"), target]],
    )  # fmt: skip
    open_table = c.md_table(
        ["cold in-process open", "runs", "import s", "Memory(...) s", "warm-up s"]
        + ["whole process s", "index from"],
        [[f"{args.size:,} memories", len(opens), med(opens, "import_s"), med(opens, "open_s")]
         + [med(opens, "warmup_s"), med(opens, "process_s"), opens[0]["index"]]],
    )  # fmt: skip
    rss_table = c.md_table(
        ["daemon memory", "RSS MiB", "anon MiB", "file MiB", "PSS MiB", "threads", "peak RSS MiB"],
        [
            _memory_row(f"after ready ({args.size:,} memories)", memory["ready"]),
            _memory_row(
                f"settled (BM25 index built, {memory['settled_after_s']:.1f} s later)",
                memory["settled"],
            ),
            _memory_row(
                f"after {memory['searches']:,} more searches "
                f"(mean {memory['search_mean_ms']:.1f} ms)",
                memory["after_searches"],
                peak=True,
            ),
        ],
    )
    restart_table = c.md_table(
        RESTART_HEADER, [_restart_row(kind, rows) for kind, rows in restarts.items()]
    )
    damaged_table = c.md_table(
        ["damaged checkpoint", "runs", "ready median s", "max s", "next start median s"]
        + ["warned", "in-process rebuild s", "save s", "load s"],
        [[f"{rebuild['vectors']:,} vectors, largest .usearch zeroed", len(damaged)]
         + [statistics.median(r["damaged_ready_s"] for r in damaged)]
         + [max(r["damaged_ready_s"] for r in damaged)]
         + [statistics.median(r["next_ready_s"] for r in damaged)]
         + [all(r["warned"] for r in damaged), rebuild["rebuild_s"], rebuild["save_s"]]
         + [rebuild["load_s"]]],
    )  # fmt: skip
    params = {k: v for k, v in vars(args).items() if k != "json"}
    method = (
        f"median of {args.starts} `memoryd serve` starts (spawn → first /readyz 200, polled "
        f"every {args.poll_ms:g} ms) on fresh copies of a cached {args.size:,}-memory store"
        f"{' after dropping the page cache' if args.drop_caches else ' (warm page cache)'}; "
        f"RSS from /proc/PID/status; {args.opens} cold in-process opens in fresh processes; "
        f"daemon keyword index: {args.keyword_index}; "
        f"{'synthetic random unit vectors' if args.synthetic else 'real model vectors'}; "
        f"{args.restarts} kill -9 + {args.restarts} SIGTERM restarts interleaved, "
        f"{args.restart_writes} writes before each ({_restart_ratio(restarts)}); "
        f"{args.damaged} damaged-checkpoint starts. See the module docstring."
    )
    data = {"params": params, "starts": runs, "opens": opens, "memory": memory}
    data |= {"restarts": restarts, "damaged": damaged, "rebuild": rebuild}
    data["summary"] = {"ready_median_s": ready, "target": target}
    tables = [start_table, open_table, rss_table, restart_table, damaged_table]
    c.report("startup", method, machine, tables, data, args.json)


if __name__ == "__main__":
    main()

"""Bulk import throughput of ``Memory.add_many``: local embeddings vs precomputed vectors.

Method
------
For each size and mode, a fresh empty store in a temp dir on disk (default
settings: ``sqlite_synchronous=FULL``, background workers on) receives that
many distinct realistic short memories (``_common.memory_texts``, one tag
each, ~13 words) in one ``Memory.add_many(items, batch_size=256)`` call
(each batch of 256 is one transaction, embedded in one model call, indexed
in HNSW before the next batch). The model is loaded and warmed up before the
clock starts. Modes:

* ``local``: items without vectors, so ``add_many`` embeds every text with
  the bundled all-MiniLM-L6-v2 (onnxruntime, one thread per core);
* ``precomputed``: items carry their 384-float vector (a Python list, as a
  JSON import would; computed once with the same model and cached), so no
  model call is made.

Throughput = items / wall time of ``add_many``; the ``incl. close`` column
adds ``Memory.close()`` (checkpointing the vector index to disk). Each store
is checked afterwards (every item stored with a vector, none queued).

Usage::

    .venv/bin/python benchmarks/import_throughput.py                  # 5,000 and 20,000
    .venv/bin/python benchmarks/import_throughput.py --sizes 100000 --modes precomputed
    .venv/bin/python benchmarks/import_throughput.py --quick          # 500 and 2,000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common as c

TARGETS = {"local": 150.0, "precomputed": 2000.0}  # items per second, at least


def run_one(mode: str, n: int, work: Path, batch_size: int) -> c.Row:
    from memoryd import Memory

    if mode == "local":
        items: list[c.Row] = [{"content": t, "tags": [g]} for t, g in c.memory_texts(n)]
    else:
        items = c.items_with_vectors(*c.dataset(n))
    memory = Memory(c.bench_settings(work / f"{mode}-{n}"))
    try:
        memory.embedder.warmup()
        t0 = time.perf_counter()
        entries = memory.add_many(items, batch_size=batch_size)
        took = time.perf_counter() - t0
        stats = memory.stats()
    finally:
        t1 = time.perf_counter()
        memory.close()
        close_s = time.perf_counter() - t1
    assert len(entries) == n and stats.total == n, (len(entries), stats.total)
    assert stats.vectors == n and stats.pending_embeddings == 0, stats
    return {
        "mode": mode,
        "n": n,
        "items": n,
        "seconds": took,
        "per_s": n / took,
        "close_s": close_s,
        "per_s_incl_close": n / (took + close_s),
        "db_mib": (stats.db_bytes + stats.wal_bytes) / 2**20,
        "target": c.verdict(n / took, TARGETS[mode], at_least=True) + " /s",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,20000", help="comma-separated item counts")
    ap.add_argument("--modes", default="local,precomputed", help="local and/or precomputed")
    ap.add_argument("--batch-size", type=int, default=256, help="add_many batch_size")
    ap.add_argument("--quick", action="store_true", help="sizes 500 and 2,000")
    ap.add_argument("--tmp-dir", default=None, help="parent of the temp stores (on a real disk)")
    ap.add_argument("--json", default="", help="also write the results to this JSON file")
    args = ap.parse_args()
    if args.quick:
        args.sizes = "500,2000"
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    if "precomputed" in modes:
        c.dataset(max(sizes))  # embed (once, cached) before any timing
    machine = c.machine_info(Path(args.tmp_dir) if args.tmp_dir else None)
    rows = []
    for mode in modes:
        for n in sizes:
            with c.bench_tmp(args.tmp_dir) as tmp:
                rows.append(run_one(mode, n, Path(tmp), args.batch_size))
            print(f"  {mode} {n:,}: {rows[-1]['per_s']:,.0f}/s", flush=True)
    table = c.md_table(
        ["mode", "items", "add_many s", "items/s", "close s", "items/s incl. close"]
        + ["store MiB", "target"],
        [
            [r["mode"], r["n"], r["seconds"], r["per_s"], r["close_s"], r["per_s_incl_close"]]
            + [r["db_mib"], r["target"]]
            for r in rows
        ],
    )
    params = {k: v for k, v in vars(args).items() if k != "json"}
    method = (
        f"one Memory.add_many(batch_size={args.batch_size}) of N distinct short memories into a "
        "fresh store per run, synchronous=FULL, model warmed up first; local = embedded by "
        "the bundled model, precomputed = vectors given as lists. See the module docstring."
    )
    data = {"params": params, "rows": rows}
    c.report("import throughput", method, machine, [table], data, args.json)


if __name__ == "__main__":
    main()

"""Vector index benchmark for memoryd's SQLite store.

Compares, on the machine it runs on, the candidate indexes for 384-dim float32
L2-normalised embeddings searched by cosine / inner product:

* ``exact``     numpy matrix, ``M @ q`` + ``argpartition`` (growable buffer)
* ``usearch``   HNSW (``usearch.index.Index``), metric ``cos`` and ``ip``
* ``faiss``     ``IndexHNSWFlat`` (inner product), M=16 and M=32
* ``hnswlib``   HNSW, space ``ip``
* ``sqlite-vec`` ``vec0`` virtual table (brute force inside SQLite; needs
  ``apsw`` because the stdlib ``sqlite3`` here may lack extension loading)

Optional libraries that are not installed are skipped.

Method
------
Two data sets, fixed seeds: ``random`` (i.i.d. Gaussian, normalised: the worst
case for HNSW) and ``clustered`` (50 topic directions; 2,000 Gaussian cluster
centres around them, noise norm 1.0; points = centre + noise of norm 0.8; all
normalised). At 100k the clustered set's 1st/10th/100th neighbours sit at
cosine ~0.66/0.63/0.38 and unrelated pairs at ~0, roughly like sentence
embeddings; the random set's are ~0.22/0.19/0.16 (no structure at all).
Queries are 500 fresh points from the same distribution; ground truth is the
exact top-100 by inner product.

Every index build runs in its own subprocess so that RSS is not polluted by
the other candidates. In that process: bulk build (timed), RSS delta, then for
each search setting 500 single-query searches (one call per query, as a server
does) at k=10 and k=100 with p50/p95 latency and recall@k against exact; then
save-to-file and load-from-file (and ``view``/mmap where the library has it),
200 single-vector adds after the build (p50/p99) and 100 single removes.
For the first usearch build it also measures filtered search: a random
attribute matches a fraction ``s`` of rows; top-10 is taken from an
oversampled top-``ceil(f*10/s)`` ANN search (f = 2 and 5) and compared with exact filtered
top-10 and with an exact scan of the matching rows only. After each data set
and size, the kept usearch/faiss/hnswlib indexes are reloaded in one process and
queried in rotating order (a head-to-head that is fair on a busy machine), and
once, 100 small per-namespace usearch indexes are measured.

Latency is reported as wall clock and as process CPU time per query; on a
shared machine the CPU column is the one to compare.

Threads: OMP limited to 2 and OpenBLAS/MKL to 1 (one core per query, like the
HNSW searches; a "numpy exact 2 threads" row checks BLAS threads); usearch bulk
``add(threads=2)`` and ``search(threads=1)``; faiss ``omp_set_num_threads(2)``
(a single-query search is one thread); hnswlib ``add_items(num_threads=2)`` and
``knn_query(num_threads=1)``; sqlite-vec is single threaded.

Usage::

    .venv/bin/python benchmarks/vector_index.py                  # 10k and 100k
    .venv/bin/python benchmarks/vector_index.py --quick         # 10k, 100 queries
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _vector_adapters import ADAPTERS, ADD_N, DIM, SEED
from _vector_worker import (
    NS_COUNT,
    NS_SIZE,
    REMOVE_N,
    WARMUP,
    exact_topk,
    head_to_head,
    make_data,
    namespaces,
    worker,
)

# OpenMP (faiss builds) gets 2 threads; BLAS gets 1 so that one query uses one
# core, like the HNSW searches (the "numpy exact 2 threads" row overrides it).
THREAD_ENV = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

Array = np.ndarray[Any, Any]


def candidates(quick: bool) -> list[dict[str, Any]]:
    """Index builds to run; ``max_n`` limits secondary variants to keep the run short."""

    def efs(*values: int) -> list[int]:
        return [64] if quick else list(values)

    two = {"OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    return [
        {"family": "exact", "label": "numpy exact 1 thread", "params": {}, "efs": [0]},
        {
            "family": "exact",
            "label": "numpy exact 2 threads",
            "params": {},
            "efs": [0],
            "env": two,
            "max_n": 10_000,
        },
        {
            "family": "usearch",
            "label": "usearch ip M16",
            "params": {"metric": "ip", "M": 16, "ef_add": 128},
            "efs": efs(32, 64, 96, 128, 256),
            "filtered": 64,
            "keep": "usearch",
        },
        {
            "family": "usearch",
            "label": "usearch cos M16",
            "params": {"metric": "cos", "M": 16, "ef_add": 128},
            "efs": efs(64, 128),
            "max_n": 10_000,
        },
        {
            "family": "faiss",
            "label": "faiss HNSWFlat M16",
            "params": {"M": 16, "ef_add": 128},
            "efs": efs(64, 128, 256),
            "random_max_n": 10_000,
            "keep": "faiss",
        },
        {
            "family": "faiss",
            "label": "faiss HNSWFlat M32",
            "params": {"M": 32, "ef_add": 128},
            "efs": efs(64, 128, 256),
            "max_n": 10_000,
        },
        {
            "family": "hnswlib",
            "label": "hnswlib M16",
            "params": {"M": 16, "ef_add": 128},
            "efs": efs(64, 128, 256),
            "random_max_n": 10_000,
            "keep": "hnswlib",
        },
        {
            "family": "sqlite-vec",
            "label": "sqlite-vec vec0",
            "params": {},
            "efs": [0],
            "max_queries": 100,
            "random_max_n": 10_000,
        },
    ]


def available(family: str) -> bool:
    for mod in ADAPTERS[family][1]:
        try:
            importlib.import_module(mod)
        except ImportError:
            return False
    return True


# --------------------------------------------------------------------------- driver
def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("usearch", "faiss", "hnswlib", "sqlite_vec", "apsw"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            out[mod] = "not installed"
            continue
        ver = getattr(m, "__version__", None)
        if ver is None:
            try:
                ver = importlib.metadata.version(mod)
            except importlib.metadata.PackageNotFoundError:
                ver = "?"
        if mod == "apsw":
            ver = f"{m.apswversion()} (SQLite {m.sqlite_lib_version()})"
        out[mod] = str(ver)
    import sqlite3

    conn = sqlite3.connect(":memory:")
    out["stdlib sqlite3"] = (
        f"{sqlite3.sqlite_version}, load_extension="
        f"{'yes' if hasattr(conn, 'enable_load_extension') else 'no'}"
    )
    conn.close()
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, **THREAD_ENV, **spec.get("env", {})}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def fmt(x: Any, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--sizes", default=None, help="comma-separated index sizes (10000,100000; --quick: 10000)"
    )
    ap.add_argument("--datasets", default="clustered,random")
    ap.add_argument("--quick", action="store_true", help="fewer queries and settings")
    ap.add_argument("--only", default="", help="comma-separated families to run")
    ap.add_argument("--json", default="", help="also write raw results to this file")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        fn = {"h2h": head_to_head, "namespaces": namespaces}.get(spec["family"], worker)
        print(json.dumps(fn(spec)))
        return

    sizes_arg = args.sizes or ("10000" if args.quick else "10000,100000")
    sizes = [int(s) for s in sizes_arg.split(",") if s]
    n_queries = 100 if args.quick else 500
    only = {s for s in args.only.split(",") if s}
    t_start = time.perf_counter()
    print("# memoryd vector index benchmark\n")
    print(f"- machine: {platform.platform()}, {cpu_model()}, os.cpu_count()={os.cpu_count()}")
    print("- " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    print(
        f"- dim={DIM}, float32, L2-normalised; {n_queries} single queries (k=10 and k=100) "
        f"after {WARMUP} warm-up; {ADD_N} single adds, {REMOVE_N} removes; seed {SEED}"
    )
    print(
        f"- threads: env {THREAD_ENV}; usearch add(threads=2)/search(threads=1); "
        "faiss omp_set_num_threads(2); hnswlib add_items(num_threads=2)/"
        "knn_query(num_threads=1); each build in its own process"
    )
    load = os.getloadavg()[0]
    busy = " (the machine is busy: expect noisy wall-clock times)" if load > 0.5 else ""
    print(f"- load average at start: {load:.2f}{busy}", flush=True)

    records: list[dict[str, Any]] = []
    h2h: list[dict[str, Any]] = []
    ns: dict[str, Any] = {}
    for dataset in args.datasets.split(","):
        for n in sizes:
            base, queries, extra = make_data(dataset, n, n_queries)
            gt = exact_topk(base, queries, 100)
            sims = np.einsum("qd,qkd->qk", queries, base[gt])
            print(
                f"- data {dataset} n={n}: mean cosine of query to its 1st/10th/100th "
                f"neighbour {sims[:, 0].mean():.3f}/{sims[:, 9].mean():.3f}/"
                f"{sims[:, 99].mean():.3f}",
                flush=True,
            )
            with tempfile.TemporaryDirectory(prefix="vecbench-data-") as tmp:
                for name, arr in (("base", base), ("queries", queries), ("gt", gt)):
                    np.save(Path(tmp) / f"{name}.npy", arr)
                np.save(Path(tmp) / "extra.npy", extra)
                for cand in candidates(args.quick):
                    if only and cand["family"] not in only:
                        continue
                    if n > cand.get("max_n", n):
                        continue
                    if dataset == "random" and n > cand.get("random_max_n", n):
                        continue
                    if not available(cand["family"]):
                        print(f"skip {cand['label']}: not installed", file=sys.stderr)
                        continue
                    spec = {**cand, "data": tmp}
                    t0 = time.perf_counter()
                    res = spawn(spec)
                    took = time.perf_counter() - t0
                    print(
                        f"[{time.perf_counter() - t_start:6.0f}s] {dataset} n={n} "
                        f"{cand['label']}: {took:.1f}s {res.get('error', '')}",
                        file=sys.stderr,
                        flush=True,
                    )
                    records.append(
                        {"dataset": dataset, "n": n, "label": cand["label"], **cand, **res}
                    )
                kept = [
                    {k: c[k] for k in ("label", "family", "params", "keep")}
                    for c in candidates(args.quick)
                    if c.get("keep") and (Path(tmp) / c["keep"]).is_dir()
                ]
                if len(kept) >= 2:
                    efs = [64] if args.quick else [64, 128, 256]
                    t0 = time.perf_counter()
                    res = spawn({"family": "h2h", "data": tmp, "entries": kept, "efs": efs})
                    for row in res.get("h2h", []):
                        h2h.append({"dataset": dataset, "n": n, **row, "loadavg": res["loadavg"]})
                    print(
                        f"[{time.perf_counter() - t_start:6.0f}s] {dataset} n={n} head-to-head: "
                        f"{time.perf_counter() - t0:.1f}s {res.get('error', '')}",
                        file=sys.stderr,
                        flush=True,
                    )
                want_ns = not ns and dataset == "clustered" and n >= NS_COUNT * NS_SIZE
                if want_ns and available("usearch"):
                    spec = {"family": "namespaces", "data": tmp}
                    ns = spawn({**spec, "count": NS_COUNT, "size": NS_SIZE})
    if args.json:
        raw = {"records": records, "head_to_head": h2h, "namespaces": ns}
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))
    print_tables(records, h2h, ns)
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f}s")


def print_tables(
    records: list[dict[str, Any]], h2h: list[dict[str, Any]], ns: dict[str, Any]
) -> None:
    print("\n## Search (one query per call; wall-clock and process-CPU latency in ms)\n")
    print(
        "| data | n | index | ef | p50 @10 | p95 @10 | CPU p50 @10 | recall@10 "
        "| p50 @100 | p95 @100 | CPU p50 @100 | recall@100 |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in records:
        if "error" in r:
            print(f"| {r['dataset']} | {r['n']} | {r['label']} | error: {r['error']} |")
            continue
        for s in r["search"]:
            cells = [r["dataset"], r["n"], r["label"], s["ef"] or "-"]
            for k in (10, 100):
                cells += [fmt(s[f"p50_{k}"], 3), fmt(s[f"p95_{k}"], 3), fmt(s[f"cpu50_{k}"], 3)]
                cells.append(fmt(s[f"recall_{k}"], 4))
            print("| " + " | ".join(str(c) for c in cells) + " |")
    print("\n## Build, memory, persistence, updates\n")
    print(
        "| data | n | index | build s (CPU s) | RSS Δ MB | file MB | save s | load s | view s "
        "| add p50/p99 µs | remove (p50 µs) | load avg |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in records:
        if "error" in r:
            continue
        rem = f"yes ({fmt(r['remove_p50_us'], 1)})" if r["remove"] == "yes" else "no"
        view = "unsupported" if r.get("view_error") else fmt(r.get("view_s"), 3)
        cells = [
            r["dataset"],
            r["n"],
            r["label"],
            f"{fmt(r['build_s'])} ({fmt(r['build_cpu_s'], 1)})",
            fmt(r["rss_delta_mb"], 0),
            fmt(r["file_mb"], 1),
            fmt(r["save_s"], 3),
            fmt(r["load_s"], 3),
            view,
            f"{fmt(r['add_p50_us'], 0)}/{fmt(r['add_p99_us'], 0)}",
            rem,
            fmt(r["loadavg"], 1),
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    filt = [r for r in records if r.get("filtered") and "error" not in r]
    if filt:
        print(
            "\n## Filtered top-10 (usearch, random attribute matching a fraction s; "
            "ANN top-k' then filter, k' = ceil(oversample*10/s); vs exact scan of matching rows)\n"
        )
        print(
            "| data | n | s | matching rows | oversample | k' | ANN p50 ms | ANN p95 ms "
            "| ANN recall@10 | exact-on-subset p50 ms | same via Index.get p50 ms |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in filt:
            for f in r["filtered"]:
                cells = [
                    r["dataset"],
                    r["n"],
                    f["selectivity"],
                    f["matching"],
                    f"{f['oversample']:g}x",
                    f["kprime"],
                    fmt(f["ann_p50_ms"], 3),
                    fmt(f["ann_p95_ms"], 3),
                    fmt(f["ann_recall10"], 4),
                    fmt(f["exact_subset_p50_ms"], 3),
                    fmt(f.get("exact_get_p50_ms"), 3),
                ]
                print("| " + " | ".join(str(c) for c in cells) + " |")
    if h2h:
        print(
            "\n## Head-to-head: the HNSW indexes above reloaded in one process, "
            "each query sent to each in rotating order (ms)\n"
        )
        print("| data | n | ef | k | index | p50 | p95 | CPU p50 | recall@k | load avg |")
        print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
        for h in h2h:
            cells = [h["dataset"], h["n"], h["ef"], h["k"], h["label"], fmt(h["p50"], 3)]
            cells += [fmt(h["p95"], 3), fmt(h["cpu50"], 3), fmt(h["recall"], 4)]
            print("| " + " | ".join(str(c) for c in cells + [fmt(h["loadavg"], 1)]) + " |")
    if ns and "error" not in ns:
        print(
            f"\n## Per-namespace usearch indexes: {ns['count']} namespaces x {ns['size']} "
            "vectors (clustered data)\n"
        )
        print(
            "| build all s | RSS Δ MB | empty index KB | save all s | load all s | view all s "
            "| search p50 ms (k=10) | exact numpy p50 ms (k=10) |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        keys = ("build_s", "rss_delta_mb", "empty_kb", "save_s", "load_s", "view_s")
        cells = [fmt(ns[k], 1 if k in ("rss_delta_mb", "empty_kb") else 3) for k in keys]
        cells += [fmt(ns["ann_p50_ms"], 3), fmt(ns["exact_p50_ms"], 3)]
        print("| " + " | ".join(cells) + " |")
    checks = ("load_ok", "view_ok", "add_found", "remove_ok")
    bad = [
        f"{r['dataset']} {r['n']} {r['label']}: "
        + ", ".join(k for k in checks if r.get(k) is False)
        for r in records
        if "error" not in r and any(r.get(k) is False for k in checks)
    ]
    notes = sorted({f"{r['label']}: {r['remove_error']}" for r in records if r.get("remove_error")})
    notes += sorted(
        {f"{r['label']} view: {r['view_error']}" for r in records if r.get("view_error")}
    )
    if notes:
        print("\nunsupported operations: " + "; ".join(notes))
    if bad:
        print("\nsanity-check failures: " + "; ".join(bad))


if __name__ == "__main__":
    main()

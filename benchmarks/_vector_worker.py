"""Data generation and the measuring worker of the vector-index benchmark.

``vector_index.py`` runs each index family in a fresh process
(``--worker SPEC``) that calls :func:`worker`, :func:`head_to_head` or
:func:`namespaces` from here.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _vector_adapters import ADAPTERS, ADD_N, DIM, SEED, Adapter, Array

N_TOPICS = 50
N_CENTRES = 2000
CENTRE_NOISE = 1.0  # norm of the noise added to a unit topic to make a centre
CLUSTER_NOISE = 0.8  # norm of the noise added to a unit centre to make a point
REMOVE_N = 100
WARMUP = 20
FILTER_SELECTIVITIES = (0.5, 0.1, 0.01)
FILTER_OVERSAMPLE = (2.0, 5.0)
NS_COUNT, NS_SIZE = 100, 100  # per-namespace section: 100 indexes of 100 vectors


# --------------------------------------------------------------------------- data
def normalise(x: Array) -> Array:
    x = x.astype(np.float32, copy=False)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_data(kind: str, n: int, n_queries: int) -> tuple[Array, Array, Array]:
    """Return (base, queries, extra) for ``kind`` in {random, clustered}."""
    rng = np.random.default_rng(SEED + (0 if kind == "random" else 1))
    total = n + n_queries + ADD_N
    if kind == "random":
        x = rng.standard_normal((total, DIM), dtype=np.float32)
    else:
        # two levels: N_TOPICS topic directions -> N_CENTRES cluster centres -> points
        topics = normalise(rng.standard_normal((N_TOPICS, DIM), dtype=np.float32))
        jitter = rng.standard_normal((N_CENTRES, DIM), dtype=np.float32)
        jitter *= CENTRE_NOISE / math.sqrt(DIM)
        centres = normalise(topics[rng.integers(0, N_TOPICS, size=N_CENTRES)] + jitter)
        labels = rng.integers(0, N_CENTRES, size=total)
        noise = rng.standard_normal((total, DIM), dtype=np.float32)
        noise *= CLUSTER_NOISE / math.sqrt(DIM)
        x = centres[labels] + noise
    x = normalise(x)
    return x[:n].copy(), x[n : n + n_queries].copy(), x[n + n_queries :].copy()


def exact_topk(base: Array, queries: Array, k: int) -> Array:
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = queries[start : start + 100] @ base.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[start : start + 100] = np.take_along_axis(part, order, axis=1)
    return out


# --------------------------------------------------------------------------- helpers
def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def file_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20 if path.exists() else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# --------------------------------------------------------------------------- worker
def recall(found: Array, truth: Array) -> float:
    return len(set(found.tolist()) & set(truth.tolist())) / len(truth)


def run_queries(
    adapter: Adapter, queries: Array, gt: Array, k: int
) -> tuple[list[float], list[float], float]:
    """Wall and process-CPU latency (ms) of one-at-a-time searches, and recall@k."""
    for q in queries[:WARMUP]:
        adapter.search(q, k)
    wall: list[float] = []
    cpu: list[float] = []
    results: list[Array] = []
    for q in queries:
        c0, t0 = time.process_time_ns(), time.perf_counter_ns()
        ids = adapter.search(q, k)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.process_time_ns() - c0) / 1e6)
        results.append(ids)
    rec = float(np.mean([recall(r, g[:k]) for r, g in zip(results, gt, strict=True)]))
    return wall, cpu, rec


def filtered_search(adapter: Adapter, base: Array, queries: Array) -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEED + 7)
    attr = rng.random(len(base))
    out = []
    nq = min(len(queries), 100)
    index = getattr(adapter, "index", None)
    for sel, factor in itertools.product(FILTER_SELECTIVITIES, FILTER_OVERSAMPLE):
        mask = attr < sel
        subset = np.flatnonzero(mask)
        sub_mat = base[subset]
        kprime = min(len(base), math.ceil(factor * 10 / sel))
        truth = []
        for q in queries[:nq]:
            s = sub_mat @ q
            truth.append(subset[np.argsort(-s)[:10]])
        lat_ann, rec_ann, lat_exact, lat_get = [], [], [], []
        use_get = index is not None and len(subset) <= 20_000
        keys = subset.astype(np.uint64)
        for i, q in enumerate(queries[:nq]):
            t0 = time.perf_counter_ns()
            ids = adapter.search(q, kprime)
            ids = ids[mask[ids]][:10]
            lat_ann.append((time.perf_counter_ns() - t0) / 1e6)
            rec_ann.append(recall(ids, truth[i]))
            t0 = time.perf_counter_ns()
            # exact scan over the matching rows only (rows gathered per query,
            # as if their ids came from a SQL pre-filter)
            rows = base[subset]
            s = rows @ q
            top = subset[np.argpartition(-s, 9)[:10]] if len(subset) > 10 else subset
            lat_exact.append((time.perf_counter_ns() - t0) / 1e6)
            _ = top
            if use_get and i < 20:  # same, vectors fetched with usearch Index.get
                t0 = time.perf_counter_ns()
                rows = np.vstack(index.get(keys))
                s = rows @ q
                top = subset[np.argpartition(-s, 9)[:10]] if len(subset) > 10 else subset
                lat_get.append((time.perf_counter_ns() - t0) / 1e6)
        out.append(
            {
                "selectivity": sel,
                "oversample": factor,
                "matching": int(mask.sum()),
                "kprime": kprime,
                "ann_p50_ms": pct(lat_ann, 50),
                "ann_p95_ms": pct(lat_ann, 95),
                "ann_recall10": float(np.mean(rec_ann)),
                "exact_subset_p50_ms": pct(lat_exact, 50),
                "exact_get_p50_ms": pct(lat_get, 50),
            }
        )
    return out


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    data = Path(spec["data"])
    base = np.load(data / "base.npy")
    nq = int(spec.get("max_queries") or 10**9)
    queries = np.load(data / "queries.npy")[:nq]
    gt = np.load(data / "gt.npy")[:nq]
    load_before = os.getloadavg()[0]
    cpu_start = time.process_time()
    extra = np.load(data / "extra.npy")
    cls = ADAPTERS[spec["family"]][0]
    adapter = cls(spec["params"])
    for mod in ADAPTERS[spec["family"]][1]:
        importlib.import_module(mod)
    gc.collect()
    rss0 = rss_mb()
    c0 = time.process_time()
    build_s, _ = timed(lambda: adapter.build(base))
    build_cpu = time.process_time() - c0
    gc.collect()
    res: dict[str, Any] = {
        "build_s": build_s,
        "build_cpu_s": build_cpu,
        "rss_delta_mb": rss_mb() - rss0,
        "n_queries": len(queries),
        "search": [],
    }
    cur_ef = 0
    for ef in spec["efs"]:
        if ef:
            cur_ef = ef
            adapter.set_search(ef)
        row: dict[str, Any] = {"ef": ef}
        for k in (10, 100):
            wall, cpu, rec = run_queries(adapter, queries, gt, k)
            row[f"p50_{k}"] = pct(wall, 50)
            row[f"p95_{k}"] = pct(wall, 95)
            row[f"cpu50_{k}"] = pct(cpu, 50)
            row[f"recall_{k}"] = rec
        res["search"].append(row)
    if spec.get("filtered"):
        cur_ef = int(spec["filtered"])
        adapter.set_search(cur_ef)
        res["filtered"] = filtered_search(adapter, base, queries)

    # persistence
    with tempfile.TemporaryDirectory(prefix="vecbench-") as tmp:
        path = Path(tmp)
        res["save_s"], _ = timed(lambda: adapter.save(path))
        res["file_mb"] = file_mb(getattr(adapter, "db", path))
        if spec.get("keep"):  # for the interleaved head-to-head
            keep = data / spec["keep"]
            keep.mkdir(exist_ok=True)
            adapter.save(keep)
        probe = queries[0]
        expect = adapter.search(probe, 10)
        res["load_s"], loaded = timed(lambda: adapter.load(path))
        if cur_ef:
            loaded.set_search(cur_ef)
        res["load_ok"] = bool(np.array_equal(loaded.search(probe, 10), expect))
        del loaded
        try:
            res["view_s"], viewed = timed(lambda: adapter.view(path))
            if viewed is None:
                res["view_s"] = None
            else:
                if cur_ef:
                    viewed.set_search(cur_ef)
                res["view_ok"] = bool(np.array_equal(viewed.search(probe, 10), expect))
                del viewed
        except Exception as exc:  # noqa: BLE001 - report, do not crash the benchmark
            res["view_s"], res["view_error"] = None, str(exc)[:80]
        gc.collect()

    # incremental add / remove after the build
    n = len(base)
    add_lat = []
    for i, vec in enumerate(extra):
        t0 = time.perf_counter_ns()
        adapter.add(n + i, vec)
        add_lat.append((time.perf_counter_ns() - t0) / 1e3)
    res["add_p50_us"], res["add_p99_us"] = pct(add_lat, 50), pct(add_lat, 99)
    found = adapter.search(extra[0], 1)
    res["add_found"] = bool(len(found) and int(found[0]) == n)
    rem_lat = []
    try:
        for key in range(REMOVE_N):
            t0 = time.perf_counter_ns()
            adapter.remove(key)
            rem_lat.append((time.perf_counter_ns() - t0) / 1e3)
        res["remove"] = "yes"
        res["remove_p50_us"] = pct(rem_lat, 50)
        gone = adapter.search(base[0], 10)
        res["remove_ok"] = bool(0 not in set(gone.tolist()))
    except Exception as exc:  # noqa: BLE001 - unsupported is a result
        res["remove"] = "no"
        res["remove_error"] = (
            str(exc).strip().splitlines()[-1][:80] if str(exc) else type(exc).__name__
        )
    res["loadavg"] = (load_before + os.getloadavg()[0]) / 2
    res["worker_cpu_s"] = time.process_time() - cpu_start
    if hasattr(adapter, "tmp"):
        import shutil

        shutil.rmtree(adapter.tmp, ignore_errors=True)
    return res


def head_to_head(spec: dict[str, Any]) -> dict[str, Any]:
    """Load the kept HNSW indexes in one process and interleave their queries.

    Under a noisy machine the separate runs above may see different load; here
    every query is sent to each index in turn (rotating order), so all of them
    see the same conditions.
    """
    data = Path(spec["data"])
    queries, gt = np.load(data / "queries.npy"), np.load(data / "gt.npy")
    n = len(np.load(data / "base.npy", mmap_mode="r"))
    adapters: dict[str, Adapter] = {}
    for entry in spec["entries"]:
        path = data / entry["keep"]
        if not path.is_dir():
            continue
        proto = ADAPTERS[entry["family"]][0](entry["params"])
        proto.capacity = n + ADD_N + 16  # type: ignore[attr-defined]  # hnswlib load
        adapters[entry["label"]] = proto.load(path)
    labels = list(adapters)
    out = []
    load_before = os.getloadavg()[0]
    for ef in spec["efs"]:
        for adapter in adapters.values():
            adapter.set_search(ef)
        for k in (10, 100):
            wall: dict[str, list[float]] = {label: [] for label in labels}
            cpu: dict[str, list[float]] = {label: [] for label in labels}
            rec: dict[str, list[float]] = {label: [] for label in labels}
            for q in queries[:WARMUP]:
                for adapter in adapters.values():
                    adapter.search(q, k)
            for i, q in enumerate(queries):
                shift = i % len(labels)
                for label in labels[shift:] + labels[:shift]:
                    c0, t0 = time.process_time_ns(), time.perf_counter_ns()
                    ids = adapters[label].search(q, k)
                    wall[label].append((time.perf_counter_ns() - t0) / 1e6)
                    cpu[label].append((time.process_time_ns() - c0) / 1e6)
                    rec[label].append(recall(ids, gt[i][:k]))
            for label in labels:
                out.append(
                    {
                        "label": label,
                        "ef": ef,
                        "k": k,
                        "p50": pct(wall[label], 50),
                        "p95": pct(wall[label], 95),
                        "cpu50": pct(cpu[label], 50),
                        "recall": float(np.mean(rec[label])),
                    }
                )
    return {"h2h": out, "loadavg": (load_before + os.getloadavg()[0]) / 2}


def namespaces(spec: dict[str, Any]) -> dict[str, Any]:
    """Cost of many small per-namespace usearch indexes."""
    from usearch.index import Index

    count, size = spec["count"], spec["size"]
    data = Path(spec["data"])
    base = np.load(data / "base.npy")[: count * size]
    queries = np.load(data / "queries.npy")

    def new() -> Any:
        return Index(
            ndim=DIM, metric="ip", dtype="f32", connectivity=16, expansion_add=128,
            expansion_search=64,
        )  # fmt: skip

    gc.collect()
    rss0 = rss_mb()
    empties = [new() for _ in range(1000)]
    empty_kb = (rss_mb() - rss0) * 1024 / len(empties)
    del empties
    gc.collect()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    indexes = []
    for j in range(count):
        index = new()
        index.add(np.arange(size, dtype=np.uint64), base[j * size : (j + 1) * size], threads=1)
        indexes.append(index)
    build_s = time.perf_counter() - t0
    rss_delta = rss_mb() - rss0
    lat_ann, lat_exact = [], []
    rng = np.random.default_rng(SEED)
    for q in queries:
        j = int(rng.integers(count))
        t1 = time.perf_counter_ns()
        indexes[j].search(q, 10, threads=1)
        lat_ann.append((time.perf_counter_ns() - t1) / 1e6)
        mat = base[j * size : (j + 1) * size]
        t1 = time.perf_counter_ns()
        scores = mat @ q
        np.argpartition(-scores, 9)[:10]
        lat_exact.append((time.perf_counter_ns() - t1) / 1e6)
    with tempfile.TemporaryDirectory(prefix="vecbench-ns-") as tmp:
        paths = [str(Path(tmp) / f"{j}.usearch") for j in range(count)]
        t0 = time.perf_counter()
        for index, path in zip(indexes, paths, strict=True):
            index.save(path)
        save_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in paths:
            new().load(path)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in paths:
            new().view(path)
        view_s = time.perf_counter() - t0
    return {
        "count": count,
        "size": size,
        "build_s": build_s,
        "rss_delta_mb": rss_delta,
        "empty_kb": empty_kb,
        "save_s": save_s,
        "load_s": load_s,
        "view_s": view_s,
        "ann_p50_ms": pct(lat_ann, 50),
        "exact_p50_ms": pct(lat_exact, 50),
    }

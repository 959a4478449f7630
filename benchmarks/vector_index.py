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
import gc
import importlib
import importlib.metadata
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
SEED = 20240601
N_TOPICS = 50
N_CENTRES = 2000
CENTRE_NOISE = 1.0  # norm of the noise added to a unit topic to make a centre
CLUSTER_NOISE = 0.8  # norm of the noise added to a unit centre to make a point
# OpenMP (faiss builds) gets 2 threads; BLAS gets 1 so that one query uses one
# core, like the HNSW searches (the "numpy exact 2 threads" row overrides it).
THREAD_ENV = {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ADD_N = 200
REMOVE_N = 100
WARMUP = 20
FILTER_SELECTIVITIES = (0.5, 0.1, 0.01)
FILTER_OVERSAMPLE = (2.0, 5.0)
NS_COUNT, NS_SIZE = 100, 100  # per-namespace section: 100 indexes of 100 vectors

Array = np.ndarray[Any, Any]


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


# --------------------------------------------------------------------------- adapters
class Adapter:
    """Uniform interface over one index implementation."""

    removable = False

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def build(self, base: Array) -> None:
        raise NotImplementedError

    def set_search(self, ef: int) -> None:
        pass

    def search(self, q: Array, k: int) -> Array:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        raise NotImplementedError

    def load(self, path: Path) -> Adapter:
        raise NotImplementedError

    def view(self, path: Path) -> Adapter | None:
        return None

    def add(self, key: int, vec: Array) -> None:
        raise NotImplementedError

    def remove(self, key: int) -> None:
        raise NotImplementedError


class ExactAdapter(Adapter):
    removable = True

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.mat: Array = np.empty((0, DIM), dtype=np.float32)
        self.keys: Array = np.empty(0, dtype=np.int64)
        self.pos: dict[int, int] = {}
        self.n = 0

    def build(self, base: Array) -> None:
        cap = int(len(base) * 1.25) + 16
        self.mat = np.empty((cap, DIM), dtype=np.float32)
        self.mat[: len(base)] = base
        self.keys = np.empty(cap, dtype=np.int64)
        self.keys[: len(base)] = np.arange(len(base))
        self.pos = {i: i for i in range(len(base))}
        self.n = len(base)

    def search(self, q: Array, k: int) -> Array:
        scores = self.mat[: self.n] @ q
        part = np.argpartition(-scores, k - 1)[:k]
        return self.keys[part[np.argsort(-scores[part])]]

    def save(self, path: Path) -> None:
        np.save(path / "mat.npy", self.mat[: self.n])
        np.save(path / "keys.npy", self.keys[: self.n])

    def _from(self, mat: Array, keys: Array) -> ExactAdapter:
        other = ExactAdapter(self.params)
        other.mat, other.keys, other.n = mat, keys, len(mat)
        other.pos = {int(k): i for i, k in enumerate(keys)}
        return other

    def load(self, path: Path) -> Adapter:
        return self._from(np.load(path / "mat.npy"), np.load(path / "keys.npy"))

    def view(self, path: Path) -> Adapter | None:
        return self._from(
            np.load(path / "mat.npy", mmap_mode="r"), np.load(path / "keys.npy", mmap_mode="r")
        )

    def add(self, key: int, vec: Array) -> None:
        if self.n == len(self.mat):
            grown = np.empty((int(len(self.mat) * 1.5) + 16, DIM), dtype=np.float32)
            grown[: self.n] = self.mat[: self.n]
            gkeys = np.empty(len(grown), dtype=np.int64)
            gkeys[: self.n] = self.keys[: self.n]
            self.mat, self.keys = grown, gkeys
        self.mat[self.n] = vec
        self.keys[self.n] = key
        self.pos[key] = self.n
        self.n += 1

    def remove(self, key: int) -> None:
        i = self.pos.pop(key)
        last = self.n - 1
        if i != last:
            self.mat[i] = self.mat[last]
            moved = int(self.keys[last])
            self.keys[i] = moved
            self.pos[moved] = i
        self.n = last


class USearchAdapter(Adapter):
    removable = True

    def _new(self) -> Any:
        from usearch.index import Index

        p = self.params
        return Index(
            ndim=DIM,
            metric=p["metric"],
            dtype=p.get("dtype", "f32"),
            connectivity=p["M"],
            expansion_add=p["ef_add"],
            expansion_search=64,
        )

    def build(self, base: Array) -> None:
        self.index = self._new()
        self.index.add(np.arange(len(base), dtype=np.uint64), base, threads=2)

    def set_search(self, ef: int) -> None:
        self.index.expansion_search = ef

    def search(self, q: Array, k: int) -> Array:
        return np.asarray(self.index.search(q, k, threads=1).keys)

    def save(self, path: Path) -> None:
        self.index.save(str(path / "index.usearch"))

    def _wrap(self, index: Any) -> USearchAdapter:
        other = USearchAdapter(self.params)
        other.index = index
        return other

    def load(self, path: Path) -> Adapter:
        index = self._new()
        index.load(str(path / "index.usearch"))
        return self._wrap(index)

    def view(self, path: Path) -> Adapter | None:
        index = self._new()
        index.view(str(path / "index.usearch"))
        return self._wrap(index)

    def add(self, key: int, vec: Array) -> None:
        self.index.add(key, vec, threads=1)

    def remove(self, key: int) -> None:
        self.index.remove(key)


class FaissAdapter(Adapter):
    def build(self, base: Array) -> None:
        import faiss

        faiss.omp_set_num_threads(2)
        self.index = faiss.IndexHNSWFlat(DIM, self.params["M"], faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.params["ef_add"]
        self.index.add(base)

    def set_search(self, ef: int) -> None:
        self.index.hnsw.efSearch = ef

    def search(self, q: Array, k: int) -> Array:
        _, ids = self.index.search(q[None, :], k)
        return np.asarray(ids[0])

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path / "index.faiss"))

    def _wrap(self, index: Any) -> FaissAdapter:
        other = FaissAdapter(self.params)
        other.index = index
        return other

    def load(self, path: Path) -> Adapter:
        import faiss

        return self._wrap(faiss.read_index(str(path / "index.faiss")))

    def view(self, path: Path) -> Adapter | None:
        import faiss

        return self._wrap(faiss.read_index(str(path / "index.faiss"), faiss.IO_FLAG_MMAP))

    def add(self, key: int, vec: Array) -> None:
        self.index.add(vec[None, :])  # ids are implicit (sequential)

    def remove(self, key: int) -> None:
        self.index.remove_ids(np.array([key], dtype=np.int64))  # raises for HNSW


class HnswlibAdapter(Adapter):
    removable = True

    def build(self, base: Array) -> None:
        import hnswlib

        self.capacity = len(base) + ADD_N + 16
        self.index = hnswlib.Index(space="ip", dim=DIM)
        self.index.init_index(
            max_elements=self.capacity,
            ef_construction=self.params["ef_add"],
            M=self.params["M"],
            random_seed=SEED,
            allow_replace_deleted=True,
        )
        self.index.add_items(base, np.arange(len(base)), num_threads=2)

    def set_search(self, ef: int) -> None:
        self.index.set_ef(ef)

    def search(self, q: Array, k: int) -> Array:
        labels, _ = self.index.knn_query(q, k=k, num_threads=1)
        return np.asarray(labels[0])

    def save(self, path: Path) -> None:
        self.index.save_index(str(path / "index.hnswlib"))

    def load(self, path: Path) -> Adapter:
        import hnswlib

        other = HnswlibAdapter(self.params)
        other.capacity = self.capacity
        other.index = hnswlib.Index(space="ip", dim=DIM)
        other.index.load_index(str(path / "index.hnswlib"), max_elements=self.capacity)
        return other

    def add(self, key: int, vec: Array) -> None:
        self.index.add_items(vec[None, :], [key], num_threads=1)

    def remove(self, key: int) -> None:
        self.index.mark_deleted(key)


class SqliteVecAdapter(Adapter):
    removable = True

    def _connect(self, db: Path) -> Any:
        import apsw
        import sqlite_vec

        conn = apsw.Connection(str(db))
        conn.enable_load_extension(True)
        conn.load_extension(sqlite_vec.loadable_path())
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def build(self, base: Array) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="vecbench-sqlite-"))
        self.db = self.tmp / "vec.db"
        self.conn = self._connect(self.db)
        self.conn.execute(
            f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{DIM}] distance_metric=cosine)"
        )
        with self.conn:
            self.conn.executemany(
                "INSERT INTO v(rowid, embedding) VALUES (?, ?)",
                ((i, base[i].tobytes()) for i in range(len(base))),
            )

    def search(self, q: Array, k: int) -> Array:
        rows = self.conn.execute(
            "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance",
            (q.tobytes(), k),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def save(self, path: Path) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def load(self, path: Path) -> Adapter:
        other = SqliteVecAdapter(self.params)
        other.tmp, other.db = self.tmp, self.db
        other.conn = self._connect(self.db)
        other.search(np.ones(DIM, dtype=np.float32) / math.sqrt(DIM), 1)
        return other

    def add(self, key: int, vec: Array) -> None:
        self.conn.execute("INSERT INTO v(rowid, embedding) VALUES (?, ?)", (key, vec.tobytes()))

    def remove(self, key: int) -> None:
        self.conn.execute("DELETE FROM v WHERE rowid = ?", (key,))


ADAPTERS: dict[str, tuple[type[Adapter], tuple[str, ...]]] = {
    "exact": (ExactAdapter, ()),
    "usearch": (USearchAdapter, ("usearch",)),
    "faiss": (FaissAdapter, ("faiss",)),
    "hnswlib": (HnswlibAdapter, ("hnswlib",)),
    "sqlite-vec": (SqliteVecAdapter, ("apsw", "sqlite_vec")),
}


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

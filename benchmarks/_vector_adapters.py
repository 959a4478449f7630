"""Adapters giving the vector-index benchmark one interface over each library.

Exact numpy, usearch HNSW, faiss HNSW, hnswlib and sqlite-vec: build, search,
save/load/view, add and remove (where the library supports it).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
SEED = 20240601
ADD_N = 200  # vectors added after the build (capacity headroom)
Array = np.ndarray[Any, Any]


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

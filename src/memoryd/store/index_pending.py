"""Vectors replayed at open but not yet inserted into the HNSW graphs, searched exactly.

After a crash (kill -9, power loss) the vector-index checkpoint on disk is
behind the database by the ``index_log`` tail written since it was saved.
Inserting that tail into a 100k-vector HNSW graph costs a few milliseconds
per vector (``connectivity`` 16, ``expansion_add`` 128, 384 dims), so a
200-operation tail alone took 0.5-1.7 s of a restart on the project's 2-core
machine (``docs/PERFORMANCE.md``, "Restart after kill -9"). A long-lived
store therefore *stages* the tail here at open (:meth:`VectorIndex.stage`):
each staged upsert is visible at once to :meth:`VectorIndex.search` (an exact
inner-product scan of the staged vectors, merged with the graph's hits),
:meth:`VectorIndex.vectors` and :meth:`VectorIndex.size`, and a background
thread moves them into the graphs a few at a time (:meth:`VectorIndex.drain`).
Nothing acknowledged is ever invisible: a search sees the graph and the
staged vectors under one lock.

A staged key may also be in the graph with an older vector (an upsert that
changed it after the checkpoint): it *overrides* the graph's copy, whose hits
are dropped from the merged results. Which keys override is decided when a key
is staged; it cannot change afterwards, because every later operation on a
staged key goes through this buffer (:meth:`VectorIndex.apply`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["IndexOp", "StagedVectors", "merge_hits"]


@dataclass(frozen=True)
class IndexOp:
    """One replayable operation: ``vector`` is set for upserts, ``None`` for deletes."""

    seq: int
    rowid: int
    namespace: str
    vector: npt.NDArray[np.float32] | None


class StagedVectors:
    """Per-namespace staged upserts: ``rowid -> float32 vector`` (not thread-safe).

    :class:`~memoryd.store.vector_index.VectorIndex` holds its lock around
    every call.
    """

    def __init__(self) -> None:
        self._vectors: dict[str, dict[int, npt.NDArray[np.float32]]] = {}
        self._overrides: dict[str, set[int]] = {}
        self._matrices: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}

    def __len__(self) -> int:
        return sum(len(vectors) for vectors in self._vectors.values())

    def namespaces(self) -> Iterator[str]:
        """Namespaces with staged vectors."""
        return iter(list(self._vectors))

    def holds(self, namespace: str, rowid: int) -> bool:
        """Whether ``rowid`` of ``namespace`` is staged."""
        return rowid in self._vectors.get(namespace, ())

    def put(
        self, namespace: str, rowid: int, vector: npt.NDArray[np.float32], *, in_graph: bool
    ) -> None:
        """Stage (or replace) the vector of ``rowid``; ``in_graph``: the graph holds an older copy.

        ``in_graph`` is read only when the key is staged for the first time.
        """
        vectors = self._vectors.setdefault(namespace, {})
        if rowid not in vectors and in_graph:
            self._overrides.setdefault(namespace, set()).add(rowid)
        vectors[rowid] = np.asarray(vector, dtype=np.float32).reshape(-1)
        self._matrices.pop(namespace, None)

    def discard(self, namespace: str, rowid: int) -> None:
        """Forget ``rowid`` (deleted); a no-op if it is not staged."""
        vectors = self._vectors.get(namespace)
        if vectors is None or vectors.pop(rowid, None) is None:
            return
        self._overrides.get(namespace, set()).discard(rowid)
        self._matrices.pop(namespace, None)
        if not vectors:
            self._drop(namespace)

    def get(self, namespace: str, rowid: int) -> npt.NDArray[np.float32] | None:
        """The staged vector of ``rowid``, or ``None``."""
        return self._vectors.get(namespace, {}).get(rowid)

    def fresh(self, namespace: str) -> int:
        """Staged keys of ``namespace`` that the graph does not hold at all."""
        return len(self._vectors.get(namespace, ())) - len(self._overrides.get(namespace, ()))

    def overrides(self, namespace: str) -> set[int]:
        """Staged keys of ``namespace`` whose older copy is in the graph (hits to drop)."""
        return self._overrides.get(namespace, set())

    def take(self, limit: int) -> tuple[str, dict[int, npt.NDArray[np.float32]]] | None:
        """Remove and return up to ``limit`` staged vectors of one namespace (``None``: empty).

        The caller inserts them into the graph under the same lock.
        """
        for namespace, vectors in self._vectors.items():
            keys = list(vectors)[: max(1, limit)]
            taken = {key: vectors.pop(key) for key in keys}
            overrides = self._overrides.get(namespace, set())
            overrides.difference_update(taken)
            self._matrices.pop(namespace, None)
            if not vectors:
                self._drop(namespace)
            return namespace, taken
        return None

    def search(
        self, namespace: str, query: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Exact top-``k`` staged keys of ``namespace`` by inner product (cosine: unit vectors)."""
        vectors = self._vectors.get(namespace)
        if not vectors or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        cached = self._matrices.get(namespace)
        if cached is None:
            keys = np.fromiter(vectors, dtype=np.int64, count=len(vectors))
            cached = (keys, np.stack(list(vectors.values())))
            self._matrices[namespace] = cached
        keys, matrix = cached
        sims = matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
        top = np.argsort(-sims, kind="stable")[:k]
        return keys[top], sims[top].astype(np.float32)

    def clear(self) -> None:
        """Forget everything (the graphs were replaced: a checkpoint load or a reset)."""
        self._vectors.clear()
        self._overrides.clear()
        self._matrices.clear()

    def _drop(self, namespace: str) -> None:
        self._vectors.pop(namespace, None)
        self._overrides.pop(namespace, None)
        self._matrices.pop(namespace, None)


def merge_hits(
    graph: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]],
    staged: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]],
    overridden: set[int],
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The best ``k`` of the graph's hits (minus ``overridden`` keys) and the staged hits.

    Both inputs are ``(keys, similarities)``; the result is sorted best first.
    """
    keys, sims = graph
    if overridden and len(keys):
        keep = np.fromiter(
            (int(key) not in overridden for key in keys), dtype=bool, count=len(keys)
        )
        keys, sims = keys[keep], sims[keep]
    if len(staged[0]) == 0:
        return keys[:k], sims[:k]
    all_keys = np.concatenate([keys, staged[0]])
    all_sims = np.concatenate([sims, staged[1]]).astype(np.float32)
    order = np.argsort(-all_sims, kind="stable")[:k]
    return all_keys[order], all_sims[order]

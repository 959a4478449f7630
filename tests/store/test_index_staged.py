"""The tail replayed at open is staged: searched exactly at once, drained into the graphs later.

RELIABILITY.md R1 ("ready within 2 s of restart" after kill -9): a
long-lived store does not wait at open for the HNSW inserts of the
``index_log`` tail (``store/index_pending.py``). Staged or drained, the index
must answer exactly as one that applied every operation at once: same hits,
sizes, vectors and namespaces, and a checkpoint taken meanwhile holds
everything its ``applied_seq`` covers. Real usearch indexes, real SQLite
files, the real embedding model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import waits
from memoryd import Memory, Settings
from memoryd.store.index_pending import IndexOp
from memoryd.store.maintenance import consistency_report
from memoryd.store.vector_index import VECTOR_ATOL, VectorIndex

DIM = 32
MODEL = "test-model"


def _unit(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _tail(rng: np.random.Generator, start: int) -> list[IndexOp]:
    """Fresh upserts in two namespaces, a changed vector of a graph key, deletes of
    a graph key and of a key upserted earlier in the same tail, and a re-upsert."""
    fresh = _unit(rng, 40)
    ops = [IndexOp(start + i, 1000 + i, "a" if i % 4 else "b", fresh[i]) for i in range(40)]
    seq = start + 40
    ops += [
        IndexOp(seq, 5, "a", _unit(rng, 1)[0]),  # changed: the graph holds an older copy
        IndexOp(seq + 1, 7, "a", None),  # a graph key deleted
        IndexOp(seq + 2, 1001, "a", None),  # a staged key deleted
        IndexOp(seq + 3, 1002, "a", _unit(rng, 1)[0]),  # a staged key changed again
        IndexOp(seq + 4, 9, "b", None),  # a graph key of the other namespace deleted
    ]
    return ops


def _base(directory: Path, rng: np.random.Generator) -> VectorIndex:
    index = VectorIndex(directory, DIM, MODEL)
    vectors = _unit(rng, 300)
    index.apply(IndexOp(i + 1, i, "a" if i < 200 else "b", vectors[i]) for i in range(300))
    return index


def _same(got: VectorIndex, want: VectorIndex, queries: npt.NDArray[np.float32]) -> None:
    assert got.applied_seq == want.applied_seq
    assert sorted(got.namespaces()) == sorted(want.namespaces())
    assert got.size() == want.size()
    for namespace in want.namespaces():
        assert got.size(namespace) == want.size(namespace)
        keys = list(range(0, 300)) + list(range(1000, 1040))
        np.testing.assert_allclose(
            got.vectors(namespace, keys), want.vectors(namespace, keys), atol=VECTOR_ATOL
        )
        for query in queries:
            got_keys, got_sims = got.search(namespace, query, 10)
            want_keys, want_sims = want.search(namespace, query, 10)
            assert got_keys.tolist() == want_keys.tolist()
            np.testing.assert_allclose(got_sims, want_sims, atol=VECTOR_ATOL)


def test_a_staged_tail_answers_as_an_applied_one_before_and_after_the_drain(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(11)
    staged, applied = _base(tmp_path / "s", rng), _base(tmp_path / "a", np.random.default_rng(11))
    ops = _tail(rng, 301)
    assert staged.stage(ops) == applied.apply(ops) == len(ops)
    queries = np.concatenate([_unit(rng, 5), np.stack([op.vector for op in ops[:3]])])
    assert staged.staged == 40  # 40 fresh - 1 deleted + the changed graph key
    _same(staged, applied, queries)
    # Writes after the open, on staged keys and others, while the tail is still staged.
    later = [
        IndexOp(400, 1003, "a", _unit(rng, 1)[0]),  # staged key: replaces the staged vector
        IndexOp(401, 1005, "a", None),  # staged key deleted
        IndexOp(402, 2000, "b", _unit(rng, 1)[0]),  # new key: straight into the graph
        IndexOp(403, 5, "a", _unit(rng, 1)[0]),  # an overriding staged key changed again
    ]
    staged.apply(later)
    applied.apply(later)
    _same(staged, applied, queries)
    while staged.drain(4) > 0:
        _same(staged, applied, queries)  # every partial drain is invisible to readers
    assert staged.staged == 0
    _same(staged, applied, queries)


def test_a_checkpoint_with_a_staged_tail_saves_all_it_covers(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    index = _base(tmp_path / "idx", rng)
    index.checkpoint()
    ops = _tail(rng, 301)
    index.stage(ops)
    assert index.staged > 0
    seq = index.checkpoint()
    assert seq == ops[-1].seq and index.staged == 0
    loaded = VectorIndex(tmp_path / "idx", DIM, MODEL)
    assert loaded.load_checkpoint()
    _same(loaded, index, _unit(rng, 5))


def test_after_a_crash_the_tail_is_searchable_at_open_and_drained_in_the_background(
    settings: Settings, embedder: Any
) -> None:
    writer = Memory(settings, embedder=embedder, background=False)
    writer.add("written before the checkpoint")
    writer.store.vectors.checkpoint()
    texts = [f"a tail memory about harbour crane number {i}" for i in range(6)]
    tail = [writer.add(text).id for text in texts]
    gone = writer.add("a tail memory deleted before the crash").id
    writer.delete(gone)
    writer.store.pool.close()  # like kill -9: no checkpoint at close
    with Memory(settings, embedder=embedder, defer_index_drain=True) as mem:
        assert mem.store.vectors.replayed == 8 and mem.store.vectors.index.staged == 6
        for ident, text in zip(tail, texts, strict=True):  # visible before any drain
            hits = mem.search(text, mode="vector", limit=1).hits
            assert [h.entry.id for h in hits] == [ident]
        report = consistency_report(mem.store)
        assert report["ok"], report
        mem.store.vectors.start_drain()
        waits.wait_until(
            lambda: mem.store.vectors.index.staged == 0,
            timeout_s=30,
            message="the staged tail drained",
        )
        for ident, text in zip(tail, texts, strict=True):
            hits = mem.search(text, mode="vector", limit=1).hits
            assert [h.entry.id for h in hits] == [ident]
        assert consistency_report(mem.store)["ok"]

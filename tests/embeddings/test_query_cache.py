"""QueryEmbeddingCache: LRU behaviour, read-only vectors, one query's vector, threads."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from memoryd.embeddings import OnnxEmbedder, QueryEmbeddingCache
from memoryd.embeddings.base import Vectors


class CountingEmbedder:
    """Delegates to the real ONNX embedder and records what it was asked to embed."""

    def __init__(self, inner: OnnxEmbedder) -> None:
        self.inner = inner
        self.model = inner.model
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    def close(self) -> None:
        pass


@pytest.fixture
def counting(onnx_embedder: OnnxEmbedder) -> CountingEmbedder:
    return CountingEmbedder(onnx_embedder)


def test_lru_eviction_and_counters() -> None:
    cache = QueryEmbeddingCache(max_entries=2)
    vec = np.ones(4, dtype=np.float32)
    cache.put("m", "a", vec)
    cache.put("m", "b", vec * 2)
    assert cache.get("m", "a") is not None  # a is now most recently used
    cache.put("m", "c", vec * 3)  # evicts b
    assert cache.get("m", "b") is None
    assert cache.get("m", "c") is not None and cache.get("m", "a") is not None
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)
    assert cache.get("other-model", "a") is None  # the model is part of the key
    cache.clear()
    assert len(cache) == 0 and (cache.hits, cache.misses) == (0, 0)


def test_stored_vectors_are_read_only_copies() -> None:
    cache = QueryEmbeddingCache()
    vec = np.arange(4, dtype=np.float32)
    cache.put("m", "q", vec)
    vec[0] = 99  # the caller's array does not change the cache
    got = cache.get("m", "q")
    assert got is not None and got[0] == 0
    with pytest.raises(ValueError):
        got[1] = 5


def test_zero_capacity_disables_caching() -> None:
    cache = QueryEmbeddingCache(max_entries=0)
    cache.put("m", "q", np.ones(3, dtype=np.float32))
    assert len(cache) == 0
    with pytest.raises(ValueError):
        QueryEmbeddingCache(max_entries=-1)


def test_embed_one_hits_after_first_call(counting: CountingEmbedder) -> None:
    cache = QueryEmbeddingCache()
    first = cache.embed_one(counting, "where does Ann live")
    second = cache.embed_one(counting, "where does Ann live")
    assert first.shape == (384,) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    assert counting.calls == [["where does Ann live"]]


def test_concurrent_use_stays_bounded() -> None:
    cache = QueryEmbeddingCache(max_entries=50)

    def work(worker: int) -> None:
        for i in range(500):
            key = f"q{(worker * 7 + i) % 120}"
            if cache.get("m", key) is None:
                cache.put("m", key, np.full(8, i, dtype=np.float32))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(cache) == 50
    assert cache.hits + cache.misses == 8 * 500

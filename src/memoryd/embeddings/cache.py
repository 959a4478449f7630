"""A small in-memory LRU cache for *query* embeddings.

Agents repeat queries; caching their vectors skips the model (~4 ms locally, a network
round trip remotely). Keys are ``(model, text)``. Stored vectors are read-only float32
``(dim,)`` arrays; 4096 entries of 384 floats take ~6 MB. Document embeddings are cached
persistently by content hash in the store, not here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from memoryd.embeddings.base import Embedder, Vectors

__all__ = ["DEFAULT_MAX_ENTRIES", "QueryEmbeddingCache"]

DEFAULT_MAX_ENTRIES = 4096


class QueryEmbeddingCache:
    """Thread-safe LRU map ``(model, text) -> (dim,) float32`` vector.

    Args:
        max_entries: capacity; the least recently used entry is evicted beyond it
            (0 disables caching).

    Attributes:
        hits, misses: lookup counters since creation or :meth:`clear`.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: str, text: str) -> Vectors | None:
        """The cached vector (read-only) or ``None``; a hit marks it most recently used."""
        key = (model, text)
        with self._lock:
            vector = self._data.get(key)
            if vector is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return vector

    def put(self, model: str, text: str, vector: Vectors) -> None:
        """Store a copy of the 1-D ``vector`` (made read-only), evicting the LRU entry."""
        if self.max_entries == 0:
            return
        stored: Vectors = np.array(vector, dtype=np.float32, copy=True).reshape(-1)
        stored.setflags(write=False)
        key = (model, text)
        with self._lock:
            self._data[key] = stored
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def embed_one(self, embedder: Embedder, text: str) -> Vectors:
        """The ``(dim,)`` vector of one query text (a read-only cached array on a hit)."""
        cached = self.get(embedder.model, text)
        if cached is not None:
            return cached
        vector: Vectors = embedder.embed([text])[0]
        self.put(embedder.model, text, vector)
        return vector

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self.hits = 0
            self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

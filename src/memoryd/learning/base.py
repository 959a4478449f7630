"""``LearningParts``: the state shared by the episode and pattern components of ``Memory``.

It opens the learning stores on the engine's SQLite connection pool, the
in-memory episode index, the extractor and the extraction thread (started by
``Memory`` with ``background=True``); ``close`` stops the thread and flushes
retrieval counters before the engine closes the store.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

import numpy as np
import numpy.typing as npt

from memoryd.embeddings import Embedder, QueryEmbeddingCache
from memoryd.errors import BackendUnavailable, Timeout, ValidationError
from memoryd.learning.recommend import EpisodeIndex
from memoryd.learning.worker import ExtractionWorker, Extractor, embed_texts
from memoryd.records import text_hash
from memoryd.store.episodes import EpisodeStore
from memoryd.store.patterns import PatternStore
from memoryd.store.sqlite import SQLiteStore

log = logging.getLogger("memoryd.learning")

__all__ = ["LearningParts"]


class LearningParts:
    """The self-learning stores, the episode index, the extractor and its thread.

    Shared by the episode and pattern components of :class:`memoryd.Memory`,
    with the retrieval counters both of them feed.

    Args:
        store: the open store (its connection pool holds the learning tables).
        embedder: the embedding provider (task texts, pattern descriptions).
        query_cache: the engine's query-embedding cache.
    """

    def __init__(
        self, store: SQLiteStore, embedder: Embedder, query_cache: QueryEmbeddingCache
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.query_cache = query_cache
        pool = store.pool
        self.episode_store = EpisodeStore(pool)
        self.pattern_store = PatternStore(pool, embedder.model)
        self.episode_index = EpisodeIndex(self.episode_store)
        self.extractor = Extractor(store, embedder, self.episode_store, self.pattern_store)
        self._retrievals: Counter[str] = Counter()
        self._retrievals_lock = threading.Lock()
        self.extraction_worker = ExtractionWorker(self.extractor, self.flush_retrievals)

    def close(self) -> None:
        """Stop the extraction thread and flush retrieval counts (before the store closes)."""
        self.extraction_worker.stop()
        if self.store.health.corrupted:
            log.warning("retrieval counts not saved: the store is damaged and refuses writes")
        else:
            self.flush_retrievals()

    # --- helpers shared by the episode and pattern components ---------------------
    def task_vector(self, text: str) -> npt.NDArray[np.float32] | None:
        """The stored-text embedding of ``text`` (cache, then provider); ``None`` if it is down."""
        try:
            return embed_texts(self.store, self.embedder, [text])[text_hash(text)]
        except (BackendUnavailable, Timeout):
            return None

    def query_vector(self, text: str) -> npt.NDArray[np.float32]:
        """The query embedding of ``text`` (query cache).

        Raises:
            ValidationError (empty text), BackendUnavailable, Timeout.
        """
        if not text.strip():
            raise ValidationError("the task text must not be empty")
        return np.asarray(self.query_cache.embed_one(self.embedder, text), dtype=np.float32)

    def count_retrievals(self, ids: list[str]) -> None:
        """Count one retrieval of each pattern id (flushed by :meth:`flush_retrievals`)."""
        with self._retrievals_lock:
            self._retrievals.update(ids)

    def pending_retrievals(self) -> dict[str, int]:
        """Retrievals counted in memory and not yet written, by pattern id."""
        with self._retrievals_lock:
            return dict(self._retrievals)

    def flush_retrievals(self) -> None:
        """Write the in-memory retrieval counters to the store (worker interval and close)."""
        with self._retrievals_lock:
            counts, self._retrievals = dict(self._retrievals), Counter()
        try:
            self.pattern_store.add_retrievals(counts)
        except BaseException:
            with self._retrievals_lock:
                self._retrievals.update(counts)
            raise

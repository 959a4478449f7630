"""``LearningCore``: the engine state shared by the episode and pattern methods of ``Memory``.

It opens the learning stores on the engine's SQLite connection pool, the
in-memory episode index, the extractor and (with ``background=True``) the
extraction thread; ``close`` stops the thread and flushes retrieval counters
before the engine closes the store.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from memoryd.config import Settings
from memoryd.core import EngineCore
from memoryd.embeddings import Embedder
from memoryd.errors import BackendUnavailable, Timeout, ValidationError
from memoryd.learning.pattern_store import PatternStore
from memoryd.learning.recommend import EpisodeIndex
from memoryd.learning.reflection import Reflector
from memoryd.learning.store import EpisodeStore
from memoryd.learning.worker import ExtractionWorker, Extractor, embed_texts
from memoryd.records import text_hash

log = logging.getLogger("memoryd.learning")

__all__ = ["LearningCore"]


class LearningCore(EngineCore):
    """Engine core plus the self-learning stores and the extraction worker.

    Same arguments as :class:`~memoryd.core.EngineCore`; with ``background``
    the extraction thread starts too.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        background: bool = True,
        **overrides: Any,
    ) -> None:
        super().__init__(settings, embedder=embedder, background=background, **overrides)
        pool = self.store.pool
        self.episode_store = EpisodeStore(pool)
        self.pattern_store = PatternStore(pool, self.embedder.model)
        self.episode_index = EpisodeIndex(pool)
        self.extractor = Extractor(
            self.store, self.embedder, self.episode_store, self.pattern_store
        )
        self.reflector: Reflector | None = None
        """Optional provider (e.g. an LLM) that refines the rule-based reflection."""
        self._retrievals: Counter[str] = Counter()
        self._retrievals_lock = threading.Lock()
        self.extraction_worker = ExtractionWorker(self.extractor, self.flush_retrievals)
        if background:
            self.extraction_worker.start()

    def close(self) -> None:
        """Stop the extraction thread, flush retrieval counts, then close the engine."""
        if self._closed:
            return
        self.extraction_worker.stop()
        if self.store.health.corrupted:
            log.warning("retrieval counts not saved: the store is damaged and refuses writes")
        else:
            self.flush_retrievals()
        super().close()

    # --- helpers shared by the mixins --------------------------------------------
    def _task_vector(self, text: str) -> npt.NDArray[np.float32] | None:
        """The stored-text embedding of ``text`` (cache, then provider); ``None`` if it is down."""
        try:
            return embed_texts(self.store, self.embedder, [text])[text_hash(text)]
        except (BackendUnavailable, Timeout):
            return None

    def _query_vector(self, text: str) -> npt.NDArray[np.float32]:
        """The query embedding of ``text`` (query cache).

        Raises:
            ValidationError (empty text), BackendUnavailable, Timeout.
        """
        if not text.strip():
            raise ValidationError("the task text must not be empty")
        return np.asarray(self.query_cache.embed_one(self.embedder, text), dtype=np.float32)

    def _count_retrievals(self, ids: list[str]) -> None:
        with self._retrievals_lock:
            self._retrievals.update(ids)

    def _pending_retrievals(self) -> dict[str, int]:
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

"""Vectors for written rows: embedding cache, then the provider, or the backfill queue.

A write is acknowledged once its row, its FTS entry and its vector are
committed, or its row, its FTS entry and a durable ``embedding_queue`` entry
that the backfill worker drains (DESIGN.md, "Storage"). Normally the text is
embedded before the commit, so a vector search finds the row as soon as the
write returns. Two cases commit with a queue entry instead:

1. **The provider is down** (``BackendUnavailable`` or ``Timeout``): the
   write still succeeds; the backfill worker retries.
2. **Write latency budget.** Under concurrent writes (a group-commit batch
   that combines several callers, or whose caller queued behind another
   batch), if the oldest caller has already waited ``waited_s`` and embedding
   the batch is expected to take ``estimate_s`` more, and ``waited_s +
   estimate_s`` exceeds ``settings.write_embed_budget_ms``, the batch commits
   at once and the backfill worker is woken to embed it. Keyword search finds
   those rows immediately, vector search a moment later, and searches say so
   in their notes while any are pending. This keeps write latency bounded
   when writers outnumber what the CPU can embed (RELIABILITY.md R8), the way
   search engines acknowledge before indexing (Qdrant ``wait=false``,
   Elasticsearch refresh). A single caller that did not queue (an import, a
   lone ``add``) always embeds first, however large its batch. The backlog
   is bounded: once the queue holds ``settings.embed_backlog_max_s`` seconds
   of expected embedding work, writes embed before committing again, so a
   sustained overload slows writers (back-pressure) instead of letting
   vector search fall further behind.

``estimate_s = texts × per_text_s``, where ``per_text_s`` is an
exponentially weighted moving average (weight 0.2 for the newest call) of
measured seconds per text over recent embedding calls, writes and backfill
alike. Until one call has been measured nothing is deferred.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from memoryd.batching import BatchInfo
from memoryd.embeddings.base import Embedder, Vectors
from memoryd.errors import BackendUnavailable, Timeout
from memoryd.store.sqlite import NewRecord, SQLiteStore

__all__ = ["EWMA_WEIGHT", "WriteVectors"]

log = logging.getLogger("memoryd.engine")

#: Weight of the newest measurement in the seconds-per-text moving average.
EWMA_WEIGHT = 0.2


class WriteVectors:
    """Fill the vectors of new rows before their commit, or leave them to the backfill queue.

    Args:
        store: the store (its embedding cache is read first).
        embedder: the provider for texts the cache does not hold.
        budget_s: write latency budget in seconds (``write_embed_budget_ms /
            1000``); 0 turns deferral off (every write embeds before its commit).
        backlog_max_s: largest queue, in seconds of expected embedding work,
            that deferral may leave (``embed_backlog_max_s``): how far vector
            search may fall behind under a sustained overload.
        can_defer: whether a backfill worker runs; without one (one-shot CLI
            engines) nothing is deferred.

    Thread-safe.
    """

    def __init__(
        self,
        store: SQLiteStore,
        embedder: Embedder,
        *,
        budget_s: float,
        backlog_max_s: float,
        can_defer: bool,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.budget_s = budget_s
        self.backlog_max_s = backlog_max_s
        #: Whether deferral is on (a backfill worker runs and the budget is > 0).
        self.can_defer = can_defer and budget_s > 0
        self._lock = threading.Lock()
        self._per_text_s: float | None = None
        self._deferred = 0

    @property
    def deferred(self) -> int:
        """Rows committed before their embedding because of the budget, since start."""
        return self._deferred

    def count_committed(self, deferred: int) -> None:
        """Add ``deferred`` rows, left to the queue by :meth:`fill` and now committed."""
        with self._lock:
            self._deferred += deferred

    @property
    def per_text_s(self) -> float | None:
        """The moving average of seconds per embedded text (``None`` before any call)."""
        return self._per_text_s

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` with the provider and record the time per text.

        Returns ``(len(texts), dim)`` float32. Raises what the provider raises.
        """
        started = time.perf_counter()
        vectors = self.embedder.embed(list(texts))
        self.observe(len(texts), time.perf_counter() - started)
        return vectors

    def observe(self, texts: int, seconds: float) -> None:
        """Fold one measured embedding call (``texts`` texts in ``seconds``) into the average."""
        if texts <= 0:
            return
        sample = seconds / texts
        with self._lock:
            previous = self._per_text_s
            self._per_text_s = (
                sample if previous is None else previous + EWMA_WEIGHT * (sample - previous)
            )

    def split_cached(
        self, texts: Mapping[str, str]
    ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, str]]:
        """``texts`` (text hash → text) split into the vectors the embedding cache
        holds and the texts it lacks, both keyed by text hash."""
        cached = self.store.queue.cached_vectors(sorted(texts))
        missing = {h: text for h, text in texts.items() if h not in cached}
        return cached, missing

    def vectors_for(self, texts: Mapping[str, str]) -> dict[str, npt.NDArray[np.float32]]:
        """Vectors of ``texts`` (text hash → text) by text hash: cache first, then :meth:`embed`.

        Raises what the provider raises.
        """
        vectors, missing = self.split_cached(texts)
        if missing:
            fresh = self.embed(list(missing.values()))
            vectors.update(zip(missing, fresh, strict=True))
        return vectors

    def should_defer(self, texts: int, info: BatchInfo | None) -> bool:
        """Whether a batch needing ``texts`` embeddings should commit first (see the module doc)."""
        per_text = self._per_text_s
        if not self.can_defer or info is None or not info.contended:
            return False
        if texts == 0 or per_text is None or info.waited_s + texts * per_text <= self.budget_s:
            return False
        room = int(self.backlog_max_s / per_text) + 1  # counting past it changes nothing
        return (self.store.queue.pending(limit=room) + texts) * per_text <= self.backlog_max_s

    def fill(self, records: Sequence[NewRecord], info: BatchInfo | None = None) -> int:
        """Set ``vector`` on records that lack one; returns how many the budget deferred.

        The embedding cache is used first. The rest are embedded unless
        :meth:`should_defer` says the batch must commit first (returns their
        number: after the commit, call :meth:`count_committed` and wake the
        backfill worker), or the provider is down (returns 0: the worker
        retries on its own schedule). Rows left with ``vector=None`` get a
        queue entry in the same transaction as their row (``store.writes.insert``).
        """
        todo = [r for r in records if r.vector is None]
        if not todo:
            return 0
        cached, missing = self.split_cached({r.text_hash: r.embed_text for r in todo})
        for rec in todo:
            rec.vector = cached.get(rec.text_hash)
        if not missing:
            return 0
        left = sum(1 for rec in todo if rec.vector is None)
        if self.should_defer(len(missing), info):
            return left
        try:
            vectors = self.embed(list(missing.values()))
        except (BackendUnavailable, Timeout) as exc:
            log.warning("embedding failed (%s); %d rows queued for backfill", exc.code, left)
            return 0
        by_hash = dict(zip(missing.keys(), vectors, strict=True))
        for rec in todo:
            if rec.vector is None:
                rec.vector = by_hash[rec.text_hash]
        return 0

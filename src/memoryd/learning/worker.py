"""Pattern extraction from the durable ``extraction_queue``: one pass, and the background thread.

A pass takes queued episodes oldest first; for each it extracts candidates
(``learning/extraction.py``), embeds their descriptions outside any write
lock (embedding cache first, then the provider) and writes patterns,
evidence and the dequeue in one transaction (``PatternStore``). Then the
groups it touched are clustered and near-duplicates merged
(``learning/clustering.py``).

If the embedding provider is down, the episode stays queued with the error
recorded and the pass stops (retried next interval): no work is dropped. An
episode deleted while queued is dequeued with a log line.

The thread (``memoryd-pattern-extraction``) wakes when a completion queues
work or every ``interval_s`` seconds, and at each wake-up also flushes the
in-memory retrieval counters (so a crash loses at most one interval of
*retrieval counts*; no episode, step, feedback or queued work is ever held
only in memory).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from memoryd.embeddings import Embedder
from memoryd.errors import BackendUnavailable, EpisodeNotFound, MemorydError, StorageFull, Timeout
from memoryd.learning.clustering import (
    DEFAULT_MERGE_EPS,
    pattern_tokens,
    pick_survivor,
    similar_groups,
)
from memoryd.learning.extraction import extract_candidates
from memoryd.learning.models import ExtractionReport
from memoryd.records import text_hash
from memoryd.store.episodes import EpisodeStore
from memoryd.store.patterns import PatternStore
from memoryd.store.rows import decode_vector
from memoryd.store.space import FullDiskNotice
from memoryd.store.sqlite import SQLiteStore

__all__ = ["ExtractionWorker", "Extractor", "embed_texts"]

log = logging.getLogger("memoryd.learning")
_BATCH = 32


def embed_texts(
    store: SQLiteStore, embedder: Embedder, texts: Sequence[str]
) -> dict[str, npt.NDArray[np.float32]]:
    """``(dim,)`` unit vectors per text hash: the embedding cache first, then one provider call.

    Raises:
        BackendUnavailable, Timeout: the provider is down (nothing is cached then).
    """
    hashes = {text_hash(t): t for t in texts}
    found = store.queue.cached_vectors(sorted(hashes))
    missing = [h for h in hashes if h not in found]
    if missing:
        vectors = embedder.embed([hashes[h] for h in missing])
        for h, vec in zip(missing, vectors, strict=True):
            found[h] = np.asarray(vec, dtype=np.float32)
    return found


@dataclass(eq=False)
class Extractor:
    """Runs extraction passes over the queue.

    Args:
        store: the SQLite store (embedding cache).
        embedder: the embedding provider (``Memory.embedder``).
        episodes: episode SQL.
        patterns: pattern SQL.
        merge_eps: DBSCAN ``eps`` (cosine distance) for merging; ``None`` disables merging.
    """

    store: SQLiteStore
    embedder: Embedder
    episodes: EpisodeStore
    patterns: PatternStore
    merge_eps: float | None = field(default=DEFAULT_MERGE_EPS, kw_only=True)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def run(
        self, limit: int | None = None, *, stop: threading.Event | None = None
    ) -> ExtractionReport:
        """Process up to ``limit`` queued episodes (all if ``None``); one pass at a time.

        ``stop``, when set, ends the pass after the current episode's transaction.

        Returns:
            What was done and how many episodes are still queued.
        """
        report = ExtractionReport()
        with self._lock:
            groups: set[tuple[str, str, str, str | None]] = set()
            while limit is None or report.episodes < limit:
                size = _BATCH if limit is None else min(_BATCH, limit - report.episodes)
                batch = self.patterns.queued(size)
                if not batch:
                    break
                if not self._process(batch, report, groups, stop):
                    break
            if self.merge_eps is not None:
                for namespace, kind, domain, task_type in sorted(groups, key=str):
                    report.patterns_merged += self._merge(namespace, kind, domain, task_type)
            report.queue_remaining = self.patterns.queue_size()
        return report

    def _process(
        self,
        batch: list[tuple[str, str]],
        report: ExtractionReport,
        groups: set[tuple[str, str, str, str | None]],
        stop: threading.Event | None,
    ) -> bool:
        for episode_id, namespace in batch:
            if stop is not None and stop.is_set():
                return False
            try:
                episode = self.episodes.get(episode_id, namespace)
            except EpisodeNotFound:
                log.warning("queued episode %s no longer exists; dequeued", episode_id)
                self.patterns.drop_queued(episode_id, "episode deleted")
                continue
            candidates = extract_candidates(episode)
            texts = [c.description for c in candidates]
            try:
                by_hash = embed_texts(self.store, self.embedder, texts)
            except (BackendUnavailable, Timeout) as exc:
                self.patterns.mark_failure(episode_id, f"{exc.code}: {exc}")
                log.warning("pattern extraction paused: %s", exc)
                return False
            hashes = {c.key: text_hash(c.description) for c in candidates}
            vectors = {key: by_hash[h] for key, h in hashes.items()}
            success = episode.outcome is not None and episode.outcome.type == "success"
            created, updated, _ = self.patterns.write_episode_patterns(
                episode, candidates, vectors, text_hashes=hashes, success=success, now=time.time()
            )
            report.episodes += 1
            report.patterns_created += created
            report.patterns_updated += updated
            groups.update((namespace, c.kind, c.domain, c.task_type) for c in candidates)
        return True

    def _merge(self, namespace: str, kind: str, domain: str, task_type: str | None) -> int:
        rows = [
            r
            for r in self.patterns.rows(namespace, kinds=[kind], domain=domain, task_type=task_type)
            if r["vector"] is not None
        ]
        if len(rows) < 2:
            return 0
        vectors = np.vstack([decode_vector(r["vector"]) for r in rows]).astype(np.float32)
        assert self.merge_eps is not None
        merged = 0
        tokens = [pattern_tokens(r["kind"], json.loads(r["data"])) for r in rows]
        for group in similar_groups(vectors, tokens, eps=self.merge_eps):
            members = [rows[i] for i in group]
            keep = pick_survivor(
                [int(m["occurrences"]) for m in members], [int(m["rowid"]) for m in members]
            )
            others = [str(m["id"]) for i, m in enumerate(members) if i != keep]
            merged += self.patterns.merge(str(members[keep]["id"]), others)
        return merged


class ExtractionWorker:
    """The background thread draining the extraction queue.

    Args:
        extractor: runs the passes.
        flush: called at every wake-up before the pass (retrieval counters).
        interval_s: longest sleep between passes. Unit is seconds.
    """

    def __init__(
        self, extractor: Extractor, flush: Callable[[], None], *, interval_s: float = 1.0
    ) -> None:
        self.extractor = extractor
        self.flush = flush
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._loop, name="memoryd-pattern-extraction", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass now (called after a completion queued work)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current episode's transaction; queued work stays queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        full_disk = FullDiskNotice("pattern extraction")
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.extractor.patterns.pool.health.corrupted:
                continue  # a damaged store refuses writes; retrying would only repeat that
            try:
                self.flush()
                self.extractor.run(limit=_BATCH, stop=self._stop)
                full_disk.succeeded()
                if self.extractor.patterns.queue_size():
                    self._wake.set()
            except StorageFull as exc:
                full_disk.failed(exc)  # once per outage; the queue waits for space
            except (MemorydError, OSError, sqlite3.Error):
                log.exception("pattern extraction failed; retrying in %.0f s", self.interval_s)

"""The memories component of ``memoryd.Memory``: add, get, delete, list, search and stats.

In-place changes and history (``update``, ``supersede``, ``history``) are in
``memoryd/revisions.py``; the facade that opens the store and holds every
component is ``memoryd/engine.py``.

Thread-safe: writes are serialised by the store's single writer connection
(concurrent ``add`` calls are group-committed, ``memoryd/batching.py``),
reads use one connection per thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from memoryd.batching import BatchInfo, GroupCommitter
from memoryd.config import Settings
from memoryd.context import batch_contexts, successor_contexts
from memoryd.embeddings import Embedder, QueryEmbeddingCache
from memoryd.errors import NotFound, ValidationError
from memoryd.inputs import coerce_input, coerce_search
from memoryd.records import record_from_input
from memoryd.reports import IntegrityReport, StoreStats
from memoryd.search.pipeline import FusionConfig
from memoryd.search.pipeline import search as run_search
from memoryd.store.filters import scope_where
from memoryd.store.maintenance import store_stats
from memoryd.store.rows import row_to_entry
from memoryd.store.sqlite import NewRecord, SQLiteStore
from memoryd.types import (
    Filter,
    Kind,
    MemoryEntry,
    MemoryInput,
    Page,
    SearchParams,
    SearchResult,
)
from memoryd.write_vectors import WriteVectors

__all__ = ["Memories", "checked_vector", "full_storage_check"]

log = logging.getLogger("memoryd.engine")
_DEDUP_KINDS = {"memory", "chunk"}


def checked_vector(
    store: SQLiteStore, given: Sequence[float] | None
) -> npt.NDArray[np.float32] | None:
    """A caller's vector checked against the store's dimension; ``None`` stays ``None``.

    Raises:
        DimensionMismatch: the vector's length is not the store's dimension.
    """
    return None if given is None else store.check_vector(given)


def full_storage_check(store: SQLiteStore) -> IntegrityReport:
    """Verify the store file now: the full check of ``store/integrity.py``.

    A passed check is recorded in the store (the integrity worker's schedule
    reads it); damage trips the store's latch. Never raises for damage: the
    report's ``ok`` is false then.
    """
    report = store.integrity.verify("full")
    if report.ok:
        store.integrity.record_full_check(report)
    return report


@dataclass(eq=False)
class Memories:
    """Memory entries over one store: the write path, reads, search and stats.

    Args:
        settings: the engine's settings (fusion, message context).
        store: the open store.
        embedder: the embedding provider (queries; writes go through ``write_vectors``).
        query_cache: the engine's query-embedding cache.
        write_vectors: the write-path embedder (latency budget, backfill hand-off).
        wake_backfill: called after a commit left rows to the backfill worker.
    """

    settings: Settings
    store: SQLiteStore
    embedder: Embedder
    query_cache: QueryEmbeddingCache
    write_vectors: WriteVectors
    wake_backfill: Callable[[], None]

    def __post_init__(self) -> None:
        self.fusion = FusionConfig(
            method=self.settings.fusion,
            rrf_k=self.settings.rrf_k,
            bm25_weight=self.settings.bm25_weight,
            vector_weight=self.settings.vector_weight,
            candidates=self.settings.candidates,
        )
        # The BM25 leg of a hybrid search runs here while the caller embeds the query.
        self._keyword_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memoryd-bm25")
        self.writes: GroupCommitter[MemoryInput, MemoryEntry] = GroupCommitter(self._add_batch)

    def close(self) -> None:
        """Wait for running keyword searches and stop their threads."""
        self._keyword_pool.shutdown(wait=True)

    # --- writes -------------------------------------------------------------
    def add(self, content: str | MemoryInput | dict[str, Any], **fields: Any) -> MemoryEntry:
        """Save one memory; returns the stored entry (or the existing duplicate).

        ``content`` is the text (with ``**fields`` of :class:`MemoryInput`) or
        a ``MemoryInput``. Kinds ``memory`` and ``chunk`` are deduplicated by
        content hash within a namespace, inside the write transaction (so two
        engines on one store never save a text twice). An ``id`` the caller
        gives must be free in its namespace; ids are unique per namespace, so
        the same id in another namespace is another entry.

        Raises:
            IdConflict: the given ``id`` is taken in the namespace (409 ``id_conflict``).
            ValidationError, DimensionMismatch, StorageFull, StorageError.
        """
        return self.add_many([coerce_input(content, fields)])[0]

    def add_many(
        self, items: Iterable[MemoryInput | dict[str, Any]], *, batch_size: int = 256
    ) -> list[MemoryEntry]:
        """Save many memories; each batch of up to ``batch_size`` is one transaction.

        Concurrent callers are group-committed (``memoryd/batching.py``): their
        items share one embedding call and one transaction; each call returns
        after the commit holding its items. When such a batch would exceed
        ``settings.write_embed_budget_ms``, it commits with backfill-queue
        entries and is embedded moments later (``memoryd/write_vectors.py``).

        Returns the entries in input order (duplicates resolve to the stored entry).
        """
        out: list[MemoryEntry] = []
        rest = iter(items)
        while batch := [coerce_input(item, {}) for item in islice(rest, max(batch_size, 1))]:
            out.extend(self.writes.submit(batch))
        return out

    def _add_batch(self, items: list[MemoryInput], info: BatchInfo) -> list[MemoryEntry]:
        now = time.time()
        results: list[MemoryEntry | int] = []
        records: list[NewRecord] = []
        contexts = batch_contexts(self.store, items, enabled=self.settings.message_context)
        for item, context in zip(items, contexts, strict=True):
            rec = record_from_input(
                item, context=context, vector=checked_vector(self.store, item.vector), now=now
            )
            known = self._known_duplicate(item, rec.content_hash, now)
            if known is not None:
                results.append(known)
                continue
            results.append(len(records))
            records.append(rec)
        if not records:  # every item re-saved a stored text: no write transaction at all
            return [r for r in results if isinstance(r, MemoryEntry)]
        deferred = self.write_vectors.fill(records, info)
        placed = self.store.writes.insert(records, dedup_kinds=_DEDUP_KINDS)
        if deferred:
            queued = sum(
                1 for r, p in zip(records, placed, strict=True) if p.inserted and r.vector is None
            )
            self.write_vectors.count_committed(queued)
            self.wake_backfill()
        entries = self.store.fetch([p.rowid for p in placed])
        return [r if isinstance(r, MemoryEntry) else entries[placed[r].rowid] for r in results]

    def _known_duplicate(self, item: MemoryInput, chash: str, now: float) -> MemoryEntry | None:
        """The stored duplicate of ``item`` (kinds ``memory``/``chunk``), read before embedding.

        Only a hint that spares the embedding of a re-saved text:
        ``store.writes.insert`` decides dedup again inside its transaction.
        """
        if item.kind not in _DEDUP_KINDS:
            return None
        rowid = self.store.writes.find_duplicate(item.namespace, item.kind, chash, now)
        return None if rowid is None else self.store.fetch([rowid]).get(rowid)

    def entry_row(self, id: UUID | str, namespace: str) -> tuple[int, MemoryEntry]:
        """The rowid and entry of ``id`` in ``namespace``. Raises ``NotFound``."""
        row = self.store.get_row(str(id), namespace, time.time())
        if row is None:
            raise NotFound.entry(id, namespace)
        return int(row["rowid"]), row_to_entry(row)

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """The entry ``id`` in ``namespace`` (superseded entries included).

        Raises:
            NotFound: no such entry there, or it expired (foreign ids too).
        """
        return self.entry_row(id, namespace)[1]

    def delete(self, id: UUID | str, *, namespace: str = "default") -> None:
        """Delete an entry for good, with what only it used. Raises ``NotFound``.

        Decided inside the write transaction (``store/writes.py``). In the same
        transaction: its FTS row, vector, queue entry, a cached vector no other
        entry uses, and its text in the FTS context of the conversation turn
        after it. Copies in FTS segments, the vector-index checkpoint and the
        WAL are erased by the background erasure pass within
        ``settings.erase_interval_s`` (``memoryd/store/erasure.py``).
        """
        row = self.store.get_row(str(id), namespace, time.time())
        contexts = (
            {}
            if row is None
            else successor_contexts(
                self.store, [row_to_entry(row)], enabled=self.settings.message_context
            )
        )
        if not self.store.writes.delete_entry(namespace, str(id), contexts=contexts):
            raise NotFound.entry(id, namespace)

    # --- reads --------------------------------------------------------------
    def list(
        self,
        *,
        namespace: str = "default",
        kinds: Sequence[Kind] | None = None,
        session_id: str | None = None,
        tags: Sequence[str] | None = None,
        filter: Filter | dict[str, Any] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_superseded: bool = False,
    ) -> Page:
        """A page of entries, newest first (``created_at``, then insertion order).

        Raises:
            ValidationError: bad ``limit`` (1..1000), filter or cursor.
        """
        if not 1 <= limit <= 1000:
            raise ValidationError("limit must be between 1 and 1000", limit=limit)
        try:
            flt = Filter.model_validate(filter) if isinstance(filter, dict) else filter
        except ValueError as exc:
            raise ValidationError(f"invalid filter: {exc}") from exc
        where = scope_where(
            namespace=namespace,
            now=time.time(),
            kinds=list(kinds or []) or None,
            session_id=session_id,
            tags=list(tags or []) or None,
            filter=flt,
            include_superseded=include_superseded,
        )
        if cursor:
            try:
                created_s, rowid_s = cursor.split(":", 1)
                where.add(
                    "(m.created_at < ?) OR (m.created_at = ? AND m.rowid < ?)",
                    float(created_s),
                    float(created_s),
                    int(rowid_s),
                )
            except ValueError as exc:
                raise ValidationError("invalid cursor", cursor=cursor) from exc
        rows = self.store.select(
            where, order="ORDER BY m.created_at DESC, m.rowid DESC", limit=limit + 1
        )
        items = [row_to_entry(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = f"{last['created_at']!r}:{last['rowid']}"
        return Page(items=items, next_cursor=next_cursor)

    def search(self, query: str | SearchParams | dict[str, Any], **params: Any) -> SearchResult:
        """Search memories (hybrid by default); see :class:`~memoryd.types.SearchParams`.

        Raises:
            ValidationError: invalid parameters. BackendUnavailable/Timeout:
            vector mode while the embedding provider is down.
        """
        sp = coerce_search(query, params)
        return run_search(
            self.store, self.embedder, self.query_cache, sp, self.fusion, self._keyword_pool
        )

    def stats(self) -> StoreStats:
        """Counts, sizes, index state and integrity of the store; this engine's deferred writes."""
        return store_stats(self.store).model_copy(
            update={"deferred_writes": self.write_vectors.deferred}
        )

    def verify_storage(self) -> IntegrityReport:
        """Verify the store file now: the full check of ``store/integrity.py``.

        Runs ``PRAGMA integrity_check``, FTS5's ``integrity-check``, every row
        and vector checksum and the id sets of the tables, in seconds to
        minutes on big stores (docs/PERFORMANCE.md). Damage trips the store's
        latch: from then on writes raise ``StoreCorrupted`` with a restore
        hint, and ``/readyz`` answers 503 ``storage_corrupted``.

        Returns:
            The report (``ok`` false when damage was found; never raises for it).
        """
        return full_storage_check(self.store)

"""The engine core: add, get, delete, list, search and stats over the store.

In-place changes and history (``update``, ``supersede``, ``history``) are in
``memoryd/revisions.py``.

``memoryd.Memory`` (engine.py) adds the typed collections on top of it.

Example::

    from memoryd import Memory
    with Memory(data_dir="/tmp/mem") as memory:
        entry = memory.add("Ann prefers tea", tags=["prefs"])
        hits = memory.search("what does Ann drink?").hits

Thread-safe: writes are serialised by the store's single writer connection,
reads use one connection per thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self
from uuid import UUID

import numpy as np
import numpy.typing as npt

from memoryd.batching import BatchInfo, GroupCommitter
from memoryd.config import Settings, load_settings
from memoryd.context import batch_contexts, successor_contexts
from memoryd.embeddings import Embedder, QueryEmbeddingCache, create_embedder
from memoryd.errors import NotFound, ValidationError
from memoryd.inputs import coerce_input
from memoryd.records import record_from_input
from memoryd.reports import IntegrityReport, StoreStats
from memoryd.search.pipeline import FusionConfig
from memoryd.search.pipeline import search as run_search
from memoryd.store.connection import Pragmas
from memoryd.store.filters import scope_where
from memoryd.store.maintenance import store_stats
from memoryd.store.rows import row_to_entry
from memoryd.store.space import SpaceReserve
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
from memoryd.workers import Workers
from memoryd.write_vectors import WriteVectors

__all__ = ["EngineCore"]

log = logging.getLogger("memoryd.engine")
_DEDUP_KINDS = {"memory", "chunk"}


class EngineCore:
    """The memory engine over one data directory (use :class:`memoryd.Memory`).

    Args:
        settings: full settings; if omitted they are loaded from env/TOML and
            ``**overrides`` (e.g. ``Memory(data_dir=path)``).
        embedder: an :class:`~memoryd.embeddings.Embedder` to use instead of
            the configured provider.
        background: start the TTL-purge, embedding-backfill and index
            checkpoint workers and the in-memory BM25 index build (default
            true; without it keyword search uses FTS5 unless
            ``store.start_keyword_index()`` is called, and every write embeds
            before its commit: no worker would embed deferred ones).
        defer_keyword_index: leave the BM25 index build to the caller
            (``store.start_keyword_index()``); the daemon starts it once it is
            ready, so the build does not compete with start-up for the GIL.
        defer_index_drain: leave inserting the ``index_log`` tail staged at
            open (after a crash) into the HNSW graphs to the caller
            (``store.start_index_drain()``); until then it is searched exactly.

    Raises:
        ConfigError: unsafe config file or SQLite refused the required PRAGMAs.
        StorageFull: the disk is too full to open the store even after giving
            up the space reserve (``Settings.disk_reserve_bytes``).
        StoreCorrupted: the store file is damaged beyond opening (a damaged
            store that opens is served read-only: see :meth:`verify_storage`).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        background: bool = True,
        defer_keyword_index: bool = False,
        defer_index_drain: bool = False,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(**overrides)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.settings.data_dir, 0o700)
        self._owns_embedder = embedder is None
        self.embedder = embedder or create_embedder(self.settings)
        self.query_cache = QueryEmbeddingCache()
        reserve = SpaceReserve.for_settings(self.settings)
        reserve.ensure()
        self.store = SQLiteStore(
            self.settings.db_path,
            self.settings.index_dir,
            Pragmas(
                synchronous=self.settings.sqlite_synchronous,
                busy_timeout_ms=self.settings.busy_timeout_ms,
            ),
            model=self.embedder.model,
            dim=self.embedder.dim,
            reserve=reserve,
            long_lived=background,
        )
        try:
            self._open_store(background)
        except BaseException:
            self.store.close()
            if self._owns_embedder:
                self.embedder.close()
            raise
        if self.settings.keyword_index == "memory" and background and not defer_keyword_index:
            # Long-lived engines only: a one-shot CLI engine (background=False)
            # would pay the build (about 1.5 s at 100k rows) for one search.
            self.store.start_keyword_index()
        if not defer_index_drain:
            self.store.start_index_drain()  # a no-op unless a tail was staged (long-lived)
        self.fusion = FusionConfig(
            method=self.settings.fusion,
            rrf_k=self.settings.rrf_k,
            bm25_weight=self.settings.bm25_weight,
            vector_weight=self.settings.vector_weight,
            candidates=self.settings.candidates,
        )
        # The BM25 leg of a hybrid search runs here while the caller embeds the query.
        self._keyword_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memoryd-bm25")
        self._closed = False
        self.write_vectors = WriteVectors(
            self.store,
            self.embedder,
            budget_s=self.settings.write_embed_budget_ms / 1000,
            backlog_max_s=self.settings.embed_backlog_max_s,
            can_defer=background,
        )
        self._writes: GroupCommitter[MemoryInput, MemoryEntry] = GroupCommitter(self._add_batch)
        self.workers = Workers(self)
        if background:
            self.workers.start()

    def _open_store(self, background: bool) -> None:
        """Load the vector index; long-lived engines also run the quick check at open.

        The quick check runs while the index loads; the engine then waits for
        it at most ``settings.integrity_open_check_budget_s`` seconds (a longer
        one finishes in the background). One-shot engines skip it: the daemon
        and the periodic full check cover the store.
        """
        if background:
            self.store.start_open_check(self.settings.integrity_open_check_budget_s)
        self.index_source = self.store.open_index()
        self.store.await_open_check()

    # --- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        """Stop workers, checkpoint the vector index and close the store (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.workers.stop()
        self._keyword_pool.shutdown(wait=True)
        self.store.close()
        if self._owns_embedder:
            self.embedder.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ready(self) -> bool:
        """True when the store is open and the vector index is loaded."""
        return not self._closed and self.store.index_ready

    @property
    def store_id(self) -> str:
        """The id of this store (a UUID kept in the database; ``memoryd.store.identity``)."""
        return self.store.store_id

    # --- embedding ----------------------------------------------------------
    def _embed_records(self, records: Sequence[NewRecord], info: BatchInfo | None = None) -> int:
        """Fill ``vector`` of records that lack one (``memoryd/write_vectors.py``).

        Returns how many the write latency budget left to the backfill queue
        (only with ``info``, from the group-commit path).
        """
        return self.write_vectors.fill(records, info)

    def _vector(self, given: Sequence[float] | None) -> npt.NDArray[np.float32] | None:
        return None if given is None else self.store.check_vector(given)

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
        batch: list[MemoryInput] = []
        for item in items:
            batch.append(coerce_input(item, {}))
            if len(batch) >= batch_size:
                out.extend(self._writes.submit(batch))
                batch = []
        if batch:
            out.extend(self._writes.submit(batch))
        return out

    def _add_batch(self, items: list[MemoryInput], info: BatchInfo) -> list[MemoryEntry]:
        now = time.time()
        results: list[MemoryEntry | int] = []
        records: list[NewRecord] = []
        contexts = batch_contexts(self.store, items, enabled=self.settings.message_context)
        for item, context in zip(items, contexts, strict=True):
            rec = record_from_input(
                item, context=context, vector=self._vector(item.vector), now=now
            )
            known = self._known_duplicate(item, rec.content_hash, now)
            if known is not None:
                results.append(known)
                continue
            results.append(len(records))
            records.append(rec)
        if not records:  # every item re-saved a stored text: no write transaction at all
            return [r for r in results if isinstance(r, MemoryEntry)]
        deferred = self._embed_records(records, info)
        placed = self.store.insert(records, dedup_kinds=_DEDUP_KINDS)
        if deferred:
            queued = sum(
                1 for r, p in zip(records, placed, strict=True) if p.inserted and r.vector is None
            )
            self.write_vectors.count_committed(queued)
            self.workers.wake_backfill()
        entries = self.store.fetch([p.rowid for p in placed])
        return [r if isinstance(r, MemoryEntry) else entries[placed[r].rowid] for r in results]

    def _known_duplicate(self, item: MemoryInput, chash: str, now: float) -> MemoryEntry | None:
        """The stored duplicate of ``item`` (kinds ``memory``/``chunk``), read before embedding.

        Only a hint that spares the embedding of a re-saved text:
        ``SQLiteStore.insert`` decides dedup again inside its transaction.
        """
        if item.kind not in _DEDUP_KINDS:
            return None
        rowid = self.store.find_duplicate(item.namespace, item.kind, chash, now)
        return None if rowid is None else self.store.fetch([rowid]).get(rowid)

    def _entry_row(self, id: UUID | str, namespace: str) -> tuple[int, MemoryEntry]:
        row = self.store.get_row(str(id), namespace, time.time())
        if row is None:
            raise NotFound.entry(id, namespace)
        return int(row["rowid"]), row_to_entry(row)

    def get(self, id: UUID | str, *, namespace: str = "default") -> MemoryEntry:
        """The entry ``id`` in ``namespace`` (superseded entries included).

        Raises:
            NotFound: no such entry there, or it expired (foreign ids too).
        """
        return self._entry_row(id, namespace)[1]

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
        if not self.store.delete_entry(namespace, str(id), contexts=contexts):
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
        try:
            if isinstance(query, SearchParams):
                sp = query.model_copy(update=params) if params else query
            elif isinstance(query, dict):
                sp = SearchParams.model_validate({**query, **params})
            else:
                sp = SearchParams.model_validate({"query": query, **params})
        except ValueError as exc:
            raise ValidationError(f"invalid search: {exc}") from exc
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
        report = self.store.verify("full")
        if report.ok:
            self.store.record_full_check(report)
        return report

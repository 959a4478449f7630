"""The daemon's shared state: the engine's lifecycle, metrics and uptime.

The engine is opened in a background thread when the app starts, so
``/healthz`` answers at once while the store opens and the embedding model
loads. Until then routes answer 503 ``backend_unavailable`` and ``/readyz``
says why. After a disk I/O error the store is read-only (fail-stop): reads
are served, writes get 503 ``storage_read_only`` and ``/readyz`` answers 503
with that reason until the daemon is restarted.

A damaged store (RELIABILITY.md R7) never stops the daemon: ``/healthz``
stays 200 and ``/readyz`` answers 503 ``storage_corrupted: ...``. If the
store opened, reads keep working where the damage allows and writes get 503
``storage_corrupted`` with the restore hint; if it could not be opened at
all, every route answers that error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from memoryd.config import Settings
from memoryd.embeddings import Embedder, create_embedder
from memoryd.engine import Memory
from memoryd.errors import BackendUnavailable, MemorydError, StorageError, StoreCorrupted
from memoryd.server.activity import Activity
from memoryd.server.observability import Metrics
from memoryd.store.identity import StoreIdentity, file_id

__all__ = ["SETTLE_S", "ServerState"]

log = logging.getLogger("memoryd.server")

#: Seconds after readiness before background work that holds the GIL for long
#: (the in-memory BM25 build, inserting a tail replayed at open into the HNSW
#: graphs, the MCP SDK import) starts, unless it is needed sooner: the first
#: requests of a freshly started daemon are served first.
SETTLE_S = 2.0


class ServerState:
    """What every request of one app shares.

    Args:
        settings: the daemon's settings.
        memory: an engine opened by the caller (kept open on shutdown); if
            ``None`` the state opens its own in :meth:`start` and closes it in
            :meth:`stop`.
    """

    def __init__(self, settings: Settings, memory: Memory | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.activity = Activity()
        self.started_at = time.monotonic()
        self._memory = memory
        self._owns_memory = memory is None
        self._warm = memory is not None
        self._closing = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: The embedder this state created for its own engine (closed in :meth:`stop`).
        self._embedder: Embedder | None = None
        self.error: MemorydError | None = None
        self.on_failure: Callable[[MemorydError], None] | None = None
        #: Called once the engine is open and warm (the runner sends systemd READY=1).
        self.on_ready: Callable[[], None] | None = None
        #: Called with the engine as soon as it is open, before any request can use it
        #: (the runner publishes the store id of a new store in ``daemon.json``).
        self.on_open: Callable[[Memory], None] | None = None

    @property
    def uptime_s(self) -> float:
        """Seconds since the app was created."""
        return time.monotonic() - self.started_at

    @property
    def ready(self) -> bool:
        """The engine is open, its index loaded and the embedder warmed up."""
        memory = self._memory
        return not self._closing and self._warm and memory is not None and memory.ready

    def status(self) -> tuple[bool, str]:
        """``(ready, reason)`` for ``/readyz``."""
        if self._closing:
            return False, "shutting down"
        if self.error is not None:
            return False, f"{self.error.code}: {self.error.message}"
        if self._memory is None:
            return False, "opening the store"
        health = self._memory.store.health
        if health.corrupted:
            return False, f"{StoreCorrupted.code}: {health.error().message}"
        failed = self._memory.store.read_only
        if failed is not None:  # fail-stop after a disk I/O error: reads only until restart
            return False, f"{failed.code}: {failed.message}"
        if not self._warm:
            return False, "loading the embedding model"
        if not self._memory.ready:
            return False, "vector index not loaded"
        return True, "ready"

    def identity(self) -> StoreIdentity:
        """Which store this daemon serves: its id and its database file.

        Raises:
            BackendUnavailable: the store is not open (yet, or any more).
        """
        memory = self.memory()
        file = file_id(memory.store.path)
        if file is None:
            raise BackendUnavailable(f"the database file {memory.store.path} is gone")
        return StoreIdentity(store_id=memory.store_id, file_id=file)

    def memory(self) -> Memory:
        """The open engine.

        Raises:
            StoreCorrupted: the store could not be opened because it is damaged.
            BackendUnavailable: still opening, failed to open, or shutting down.
        """
        memory = self._memory
        error = self.error
        if memory is None and isinstance(error, StoreCorrupted) and not self._closing:
            raise StoreCorrupted(error.message, **error.details)
        if memory is None or self._closing:
            raise BackendUnavailable(f"memoryd is not ready ({self.status()[1]})")
        return memory

    # --- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        """Open the engine in a background thread (no-op if one was given)."""
        if self._memory is not None:
            if self.on_ready is not None:
                self.on_ready()
            return
        self._thread = threading.Thread(target=self._open, name="memoryd-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        """Open the engine while the embedding model loads and warms up in a second thread.

        The two overlap (the store open is mostly SQLite and usearch, which
        release the GIL; the warm-up is onnxruntime): readiness waits for
        the longer of the two, not their sum.
        """
        crashed: list[BaseException] = []
        embedder: Embedder | None = None
        warming: threading.Thread | None = None
        try:
            embedder = create_embedder(self.settings)
            warming = threading.Thread(
                target=self._warm_up, args=(embedder, crashed), name="memoryd-warmup", daemon=True
            )
            warming.start()
            opening = time.monotonic()
            memory = Memory(
                self.settings, embedder=embedder, defer_keyword_index=True, defer_index_drain=True
            )
        except Exception as exc:  # reported by /readyz and run(); never swallowed
            if warming is not None:
                warming.join()
            if embedder is not None:
                embedder.close()
            error = exc if isinstance(exc, MemorydError) else StorageError(f"cannot open: {exc}")
            self.error = error
            log.error("cannot open the store", exc_info=exc, extra={"code": error.code})
            # A damaged store keeps the daemon up: it says so on every route.
            if self.on_failure is not None and not isinstance(error, StoreCorrupted):
                self.on_failure(error)
            return
        open_s = time.monotonic() - opening
        self._embedder = embedder
        if self.on_open is not None:
            self.on_open(memory)
        self._memory = memory
        warming.join()
        if crashed:  # not a MemorydError: a defect, never served as warm
            raise crashed[0]
        self._warm = True
        log.info(
            "store open",
            extra={
                "db_path": str(self.settings.db_path),
                "index": memory.index_source,
                "index_tail": memory.store.vectors.replayed,
                "open_s": round(open_s, 3),  # store, index, open-time check (≤ its budget)
                "ready_after_open_s": round(time.monotonic() - opening - open_s, 3),  # warm-up
            },
        )
        if self.on_ready is not None:
            self.on_ready()
        if self._stopping.wait(SETTLE_S):
            return
        # A little after readiness, so the first requests do not compete with
        # these for the CPU and the GIL. Until the tail replayed at open is in
        # the HNSW graphs, vector search scans it exactly; until the BM25 index
        # is built, keyword search uses FTS5.
        memory.store.vectors.start_drain()
        if self.settings.keyword_index == "memory":
            memory.store.keywords.start()

    @staticmethod
    def _warm_up(embedder: Embedder, crashed: list[BaseException]) -> None:
        """Load the model and run one inference; an unexpected error goes to ``crashed``."""
        warmup = getattr(embedder, "warmup", None)
        if not callable(warmup):
            return
        try:
            warmup()
        except MemorydError as exc:
            # Writes still work (queued for backfill); searches fall back to BM25.
            log.warning(
                "embedding model unavailable", extra={"code": exc.code, "reason": exc.message}
            )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the opener thread
            crashed.append(exc)

    def stop(self, timeout_s: float = 60.0) -> None:
        """Refuse new work, wait for the opener thread, close an owned engine (checkpoints).

        Args:
            timeout_s: longest wait for a still-opening engine, in seconds.
        """
        self._closing = True
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._owns_memory and self._memory is not None:
            self._memory.close()
            log.info("store closed")
        if self._embedder is not None:
            self._embedder.close()

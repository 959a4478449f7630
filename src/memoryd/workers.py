"""Background workers of the engine: TTL purge, embedding backfill, index checkpoints,
storage, erasure, integrity checks.

Each worker is a daemon thread looping on an interval (the backfill also when
woken) until :meth:`Workers.stop`.
A failing iteration is logged with its traceback and retried next interval;
it is never silently dropped. A full disk (``StorageFull``) is logged once per
outage and worker instead (:class:`~memoryd.store.space.FullDiskNotice`), and
the worker retries at its interval; the storage worker ends the outage once
space returns (:meth:`~memoryd.store.space_upkeep.SpaceUpkeep.upkeep`).
A store that went read-only after a disk I/O error
(:class:`~memoryd.errors.StorageReadOnly`) stops the worker instead.
Once the store is found damaged, the workers that write (purge, backfill,
checkpoint, storage, erasure) stand still: the store refuses writes, and
retrying them would only repeat the error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from memoryd.config import Settings
from memoryd.errors import (
    BackendUnavailable,
    MemorydError,
    StorageFull,
    StorageReadOnly,
    StoreCorrupted,
    Timeout,
)
from memoryd.records import text_hash
from memoryd.reports import IntegrityReport
from memoryd.store.space import FullDiskNotice
from memoryd.store.sqlite import SQLiteStore
from memoryd.write_vectors import WriteVectors

__all__ = ["TAIL_SAVE_DELAY_S", "Workers", "backfill_lease_s"]

log = logging.getLogger("memoryd.workers")
_BACKFILL_INTERVAL_S = 2.0
_BACKFILL_BATCH = 64
#: Seconds after start of the first checkpoint of an index that replayed a tail at
#: open (after a crash), instead of ``index_save_interval_s``: soon, so the next
#: restart replays little, but not at once, where the save (~0.3 s of CPU and I/O
#: at 100k vectors) competed with the daemon's model warm-up and delayed
#: ``/readyz`` by ~0.4 s at 100k (benchmarks/startup.py restarts, load 3-4).
TAIL_SAVE_DELAY_S = 5.0
#: Workers that write to the store (they stand still once it is found damaged).
_WRITING = frozenset({"ttl-purge", "embedding-backfill", "index-checkpoint", "storage", "erasure"})


def backfill_lease_s(embedding_timeout_s: float) -> float:
    """How long a backfill batch is leased, in seconds: 4 x the provider timeout + 10 s.

    An HTTP provider's request, retries included, ends within the timeout
    (``embeddings/openai.py``), so a 64-row batch sent in up to four requests
    keeps its lease. The rows of a worker killed holding one are taken at
    once by the next worker on the store (the lease names its holder,
    ``store/lease_holders.py``); only where no holder file could be made do
    they wait for this much (50 s with the default 10 s timeout).
    """
    return 4 * embedding_timeout_s + 10.0


class Workers:
    """The engine's background threads.

    Intervals come from settings: ``ttl_purge_interval_s``,
    ``index_save_interval_s``, ``disk_recheck_interval_s``, ``erase_interval_s``,
    ``integrity_check_interval_s`` (seconds); backfill polls every 2 s and runs
    at once when :meth:`wake_backfill` is called (writes deferred by the write
    latency budget, ``memoryd/write_vectors.py``). The first full integrity
    check runs ``integrity_check_delay_s`` after start when the last passed one
    recorded in the store is older than the interval, else when the interval is up.

    Args:
        settings: the engine's settings (the intervals above, the provider timeout).
        store: the store the workers purge, backfill, checkpoint and check.
        write_vectors: the engine's write-path embedder (its cache and counters).
        verify: the engine's full storage check (``Memory.verify_storage``).
    """

    def __init__(
        self,
        settings: Settings,
        store: SQLiteStore,
        write_vectors: WriteVectors,
        verify: Callable[[], IntegrityReport],
    ) -> None:
        self.settings = settings
        self.store = store
        self.write_vectors = write_vectors
        self._verify = verify
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._wake_backfill = threading.Event()
        self._wakes: list[threading.Event] = []
        self._backfill_lock = threading.Lock()
        self._paused_until = 0.0

    def start(self) -> None:
        """Start the worker threads (one per task above)."""
        s = self.settings
        for name, interval, step, wake, first in (
            ("ttl-purge", s.ttl_purge_interval_s, self.purge_expired, threading.Event(), None),
            ("embedding-backfill", _BACKFILL_INTERVAL_S, self.backfill, self._wake_backfill, None),
            (
                "index-checkpoint",
                s.index_save_interval_s,
                self.checkpoint,
                threading.Event(),
                TAIL_SAVE_DELAY_S if self.store.vectors.unsaved else None,
            ),
            ("storage", s.disk_recheck_interval_s, self.storage_upkeep, threading.Event(), None),
            ("erasure", s.erase_interval_s, self.erase, threading.Event(), None),
            (
                "integrity-check",
                s.integrity_check_interval_s,
                self.integrity_check,
                threading.Event(),
                self._first_integrity_wait(),
            ),
        ):
            self._wakes.append(wake)
            thread = threading.Thread(
                target=self._loop,
                args=(name, interval, step, wake, first),
                name=f"memoryd-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _first_integrity_wait(self) -> float:
        """Seconds until the first full check (see the class docstring)."""
        s = self.settings
        try:
            last = self.store.integrity.last_full_check()
        except StoreCorrupted:  # latched: the check then runs after the delay
            last = None
        due = 0.0 if last is None else last + s.integrity_check_interval_s - time.time()
        return max(s.integrity_check_delay_s, due)

    def stop(self, timeout: float = 10.0) -> None:
        """Signal the threads and wait up to ``timeout`` seconds for them."""
        self._stop.set()
        for wake in self._wakes:
            wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wake_backfill(self) -> None:
        """Make the backfill worker run now instead of at its next poll.

        Ignored while the backfill is paused because the provider is down.
        """
        if time.monotonic() >= self._paused_until:
            self._wake_backfill.set()

    def _loop(
        self,
        name: str,
        interval: float,
        step: Callable[[], int],
        wake: threading.Event,
        first: float | None = None,
    ) -> None:
        full_disk = FullDiskNotice(f"worker {name}")
        wait = interval if first is None else first
        while True:
            # stop() sets every wake event, so each thread ends at once.
            wake.wait(wait)
            wake.clear()
            wait = interval
            if self._stop.is_set():
                return
            if name in _WRITING and self.store.health.corrupted:
                continue
            try:
                step()
                full_disk.succeeded()
            except StorageFull as exc:
                full_disk.failed(exc)  # once per outage; retried next interval
            except StorageReadOnly as exc:
                # Fail-stop (R6): the store refuses writes until a restart; retrying is pointless.
                log.error("worker %s stops: %s", name, exc, extra={"code": exc.code})
                return
            except Exception:  # noqa: BLE001 - logged with its traceback, retried
                # Retried next interval instead of dying: no worker (the backfill above all)
                # stops for good.
                log.exception("worker %s failed; retrying in %.0f s", name, interval)

    def integrity_check(self) -> int:
        """Run the full integrity check; returns the number of problems found.

        Damage is logged and latched by the store's health latch.
        """
        report = self._verify()
        if report.ok:
            log.info(
                "integrity check: ok in %.1f s", report.duration_s, extra={"rows": report.rows}
            )
        return len(report.problems)

    def purge_expired(self) -> int:
        """Delete expired entries; returns how many."""
        return self.store.writes.purge_expired(time.time())

    def checkpoint(self) -> int:
        """Save the vector index if it needs it; returns the checkpointed log seq (0 if none).

        See :attr:`~memoryd.store.index_upkeep.VectorUpkeep.needs_save`: the
        first run comes :data:`TAIL_SAVE_DELAY_S` after start when the store
        opened with a tail replayed since the last checkpoint (after a crash),
        else after the interval.
        """
        vectors = self.store.vectors
        return vectors.checkpoint() if vectors.needs_save else 0

    def storage_upkeep(self) -> int:
        """End a full-disk outage once space returns; 1 when one ended, else 0."""
        return int(self.store.space.upkeep())

    def erase(self) -> int:
        """Run the erasure pass if anything was deleted since the last one; returns 1 if it ran.

        See :meth:`~memoryd.store.sqlite.SQLiteStore.erase_traces`; a pass the
        WAL's readers kept from finishing stays pending and runs again next interval.
        """
        if not self.store.erasure.pending():
            return 0
        self.store.erase_traces()
        return 1

    def backfill(self) -> int:
        """Embed queued rows until the queue is empty or the provider is down; returns rows filled.

        One backfill runs at a time per engine; a second caller waits for it
        and then drains what is left. Texts in the embedding cache are not
        embedded again, and equal texts of one batch are embedded once. A
        provider that is down (``BackendUnavailable``, ``Timeout``) pauses the
        backfill until the next poll (wakes are ignored until then); texts the
        provider rejects (any other :class:`~memoryd.errors.MemorydError`) are
        retried one by one, and the rejected rows are marked and go to the
        back of the queue, so they never block the rows behind them. Each
        batch is leased first (:meth:`EmbeddingQueue.lease`), so the
        workers of several processes on one store embed different rows.

        Raises:
            StorageFull: the disk is full; the batch stays leased (the lease
                runs out) and is tried again at a later poll, never marked rejected.
        """
        filled = 0
        rejected: set[int] = set()  # rows the provider rejected in this pass
        with self._backfill_lock:
            while not self._stop.is_set():
                items = self.store.queue.lease(
                    _BACKFILL_BATCH,
                    backfill_lease_s(self.settings.embedding_timeout_s),
                    exclude=rejected,
                )
                if not items:
                    break  # empty, or only rows rejected in this pass are left
                try:
                    try:
                        filled += self._fill(items)
                    except (BackendUnavailable, Timeout, StorageFull):
                        raise
                    except MemorydError:  # some text was rejected: find which, one by one
                        for item in items:
                            done = self._fill_one(item)
                            filled += done
                            if not done:
                                rejected.add(item[0])
                except (BackendUnavailable, Timeout) as exc:
                    self._mark_failed([rowid for rowid, _ in items], exc)
                    self._paused_until = time.monotonic() + _BACKFILL_INTERVAL_S
                    log.warning("embedding backfill paused: %s", exc)
                    break
        return filled

    def _fill(self, items: list[tuple[int, str]]) -> int:
        hashes = {text: text_hash(text) for _, text in items}
        vectors = self.write_vectors.vectors_for({h: t for t, h in hashes.items()})
        return self.store.queue.fill(
            [(rowid, vectors[hashes[text]], hashes[text], text) for rowid, text in items]
        )

    def _fill_one(self, item: tuple[int, str]) -> int:
        try:
            return self._fill([item])
        except (BackendUnavailable, Timeout, StorageFull):
            raise
        except MemorydError as exc:
            self._mark_failed([item[0]], exc)
            log.warning("embedding backfill: provider rejected row %d: %s", item[0], exc)
            return 0

    def _mark_failed(self, rowids: list[int], exc: MemorydError) -> None:
        self.store.queue.mark_failure(rowids, f"{exc.code}: {exc}")

"""Group commit: concurrent writers share one embedding batch and one transaction.

When many threads call ``add`` at once, embedding and committing each write
alone costs one model call and one fsync per write, and the writers queue
behind each other. :class:`GroupCommitter` lets the first waiting caller
become the *leader*: it takes every request queued so far (up to
``max_items`` items), runs them through one call of the batch function, and
hands each caller its own slice of the results. Each caller still returns
only after the transaction holding its items has committed, so the
acknowledgement rule is unchanged. This is the group commit of database
write-ahead logs (e.g. PostgreSQL's ``commit_delay``/``commit_siblings``).

If a combined batch fails, each request is retried alone so that one bad
request (say, a conflicting id) never fails its neighbours.

The batch function also learns how many callers a batch combines and how
long the oldest of them has waited (:class:`BatchInfo`), so that it can keep
write latency bounded under contention (``memoryd/write_vectors.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatchInfo", "GroupCommitter"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BatchInfo:
    """What the batch function is told about the batch it runs.

    Attributes:
        requests: how many :meth:`GroupCommitter.submit` calls the batch combines (≥ 1).
        waited_s: seconds the oldest of them waited between ``submit`` and the
            start of this batch (``time.monotonic``); ~0 for a caller that led at once.
        contended: the batch combines several calls, or its one call found
            another batch running and queued behind it.
    """

    requests: int
    waited_s: float
    contended: bool


@dataclass
class _Request(Generic[T, R]):
    items: list[T]
    queued_at: float = field(default_factory=time.monotonic)
    led_at_once: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    result: list[R] | None = None
    error: BaseException | None = None

    def finish(self) -> None:
        self.finished = True
        self.wake.set()


class GroupCommitter(Generic[T, R]):
    """Combine concurrent :meth:`submit` calls into batches for ``run``.

    The leader serves batches only until its own request is done, then hands
    leadership to the oldest waiting request, so no caller waits for an
    unbounded stream of other callers' work.

    Args:
        run: maps a list of items and its :class:`BatchInfo` to a list of results
            of the same length and order (e.g. embed + insert in one transaction).
        max_items: largest combined batch; a single larger request runs alone.
    """

    def __init__(
        self, run: Callable[[list[T], BatchInfo], list[R]], *, max_items: int = 256
    ) -> None:
        self._run = run
        self._max_items = max_items
        self._lock = threading.Lock()
        self._queue: list[_Request[T, R]] = []
        self._leader_active = False

    @property
    def busy(self) -> bool:
        """Whether a leader is running batches right now."""
        return self._leader_active

    def submit(self, items: list[T]) -> list[R]:
        """Run ``items`` (possibly together with other callers' items); blocks until done.

        Raises whatever ``run`` raised for this request's items.
        """
        request: _Request[T, R] = _Request(items)
        with self._lock:
            self._queue.append(request)
            lead = request.led_at_once = not self._leader_active
            self._leader_active = True
        while True:
            if lead:
                self._lead(request)
            request.wake.wait()
            if request.finished:
                break
            request.wake.clear()  # promoted to leader while still queued
            lead = True
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _take(self) -> list[_Request[T, R]]:
        with self._lock:
            taken: list[_Request[T, R]] = []
            count = 0
            while self._queue and (
                not taken or count + len(self._queue[0].items) <= self._max_items
            ):
                request = self._queue.pop(0)
                taken.append(request)
                count += len(request.items)
            return taken

    def _hand_off(self) -> None:
        with self._lock:
            if self._queue:
                self._queue[0].wake.set()
            else:
                self._leader_active = False

    def _lead(self, own: _Request[T, R]) -> None:
        batch: list[_Request[T, R]] = []
        try:
            while not own.finished:
                batch = self._take()
                if not batch:
                    break
                self._execute(batch)
        except BaseException as exc:  # e.g. KeyboardInterrupt in the leader: fail, don't hang
            for request in batch:
                if not request.finished:
                    request.error = exc
                    request.finish()
            self._hand_off()
            raise
        self._hand_off()

    def _execute(self, batch: list[_Request[T, R]]) -> None:
        if len(batch) > 1:
            waited = time.monotonic() - batch[0].queued_at
            info = BatchInfo(requests=len(batch), waited_s=waited, contended=True)
            try:
                results = self._run([item for request in batch for item in request.items], info)
            except Exception:  # noqa: BLE001 - retried one by one below, each gets its own error
                results = None
            if results is not None:
                start = 0
                for request in batch:
                    request.result = results[start : start + len(request.items)]
                    start += len(request.items)
                    request.finish()
                return
        for request in batch:
            try:
                info = BatchInfo(
                    requests=1,
                    waited_s=time.monotonic() - request.queued_at,
                    contended=not request.led_at_once,
                )
                request.result = self._run(request.items, info)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                request.error = exc
            request.finish()

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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["GroupCommitter"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Request(Generic[T, R]):
    items: list[T]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[R] | None = None
    error: BaseException | None = None


class GroupCommitter(Generic[T, R]):
    """Combine concurrent :meth:`submit` calls into batches for ``run``.

    Args:
        run: maps a list of items to a list of results of the same length and
            order (e.g. embed + insert in one transaction).
        max_items: largest combined batch; a single larger request runs alone.
    """

    def __init__(self, run: Callable[[list[T]], list[R]], *, max_items: int = 256) -> None:
        self._run = run
        self._max_items = max_items
        self._lock = threading.Lock()
        self._queue: list[_Request[T, R]] = []
        self._leader_active = False

    def submit(self, items: list[T]) -> list[R]:
        """Run ``items`` (possibly together with other callers' items); blocks until done.

        Raises whatever ``run`` raised for this request's items.
        """
        request: _Request[T, R] = _Request(items)
        with self._lock:
            self._queue.append(request)
            lead = not self._leader_active
            if lead:
                self._leader_active = True
        if lead:
            self._lead()
        request.done.wait()
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
            if not taken:
                self._leader_active = False
            return taken

    def _lead(self) -> None:
        batch: list[_Request[T, R]] = []
        try:
            while True:
                batch = self._take()
                if not batch:
                    return
                self._execute(batch)
        except BaseException as exc:  # e.g. KeyboardInterrupt in the leader: fail, don't hang
            with self._lock:
                self._leader_active = False
                orphans, self._queue = self._queue, []
            for request in [*batch, *orphans]:
                if not request.done.is_set():
                    request.error = exc
                    request.done.set()
            raise

    def _execute(self, batch: list[_Request[T, R]]) -> None:
        if len(batch) > 1:
            try:
                results = self._run([item for request in batch for item in request.items])
            except Exception:  # noqa: BLE001 - retried one by one below, each gets its own error
                results = None
            if results is not None:
                start = 0
                for request in batch:
                    request.result = results[start : start + len(request.items)]
                    start += len(request.items)
                    request.done.set()
                return
        for request in batch:
            try:
                request.result = self._run(request.items)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                request.error = exc
            request.done.set()

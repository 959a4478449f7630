"""What every evaluation shares: the target, progress, ingest, timed search, run figures.

An evaluation ingests turns (``add_many`` in batches, embedding included),
then searches one namespace per question and scores the hits with
:mod:`memoryd.eval.metrics`. Latencies are wall-clock milliseconds around each
search call; ingest throughput is turns per second of ``add_many``.
"""

from __future__ import annotations

import builtins
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from memoryd.bounds import MAX_PAGE_LIMIT
from memoryd.config import Settings
from memoryd.engine import Memory
from memoryd.errors import ValidationError
from memoryd.eval.metrics import percentiles_ms
from memoryd.types import MemoryEntry, MemoryInput, Page, SearchMode, SearchResult

__all__ = [
    "EvalRun",
    "EvalTarget",
    "ProgressSink",
    "RunClock",
    "eval_memory",
    "ingest",
    "stored_entries",
    "timed_search",
]

_BATCH = 256


class ProgressSink(Protocol):
    """Where the eval reports progress (the CLI draws rich bars on stderr)."""

    def stage(self, name: str, total: int | None) -> None:
        """A new stage (``"ingest"``, ``"search"``) of ``total`` units begins (None: unknown)."""

    def advance(self, amount: int = 1) -> None:
        """``amount`` more units of the current stage are done."""


class EvalTarget(Protocol):
    """The part of the memory interface the eval needs (``Memory`` or ``Client``)."""

    def add_many(
        self, items: Sequence[MemoryInput], *, batch_size: int = ...
    ) -> builtins.list[MemoryEntry]: ...

    def search(self, query: str, **params: Any) -> SearchResult: ...

    def list(self, *, namespace: str = ..., limit: int = ..., cursor: str | None = ...) -> Page: ...


class EvalRun(BaseModel):
    """Figures of a run every evaluation report carries. Times are seconds unless ``_ms``."""

    dataset: str
    mode: SearchMode
    ks: list[int]
    ingested_turns: int
    ingest_seconds: float
    ingest_turns_per_second: float | None
    search_p50_ms: float
    search_p95_ms: float
    total_seconds: float
    cpu_seconds: float
    """CPU time of this process (all threads) during the run; compare with ``total_seconds``
    to see how much the machine's other load slowed the wall clock."""
    embedding_model: str | None = None
    data_dir: str | None = None


class RunClock:
    """Collects a run's ingest and search times and turns them into :class:`EvalRun` fields."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.ingested_turns = 0
        self.ingest_seconds = 0.0
        self.latencies_ms: list[float] = []

    def figures(self) -> dict[str, Any]:
        """The timing fields of :class:`EvalRun` (keyword arguments for a report)."""
        p50, p95 = percentiles_ms(self.latencies_ms)
        rate = (
            self.ingested_turns / self.ingest_seconds
            if self.ingested_turns and self.ingest_seconds
            else None
        )
        return {
            "ingested_turns": self.ingested_turns,
            "ingest_seconds": self.ingest_seconds,
            "ingest_turns_per_second": rate,
            "search_p50_ms": p50,
            "search_p95_ms": p95,
            "total_seconds": time.perf_counter() - self.started,
            "cpu_seconds": time.process_time() - self.cpu_started,
        }


def stored_entries(target: EvalTarget, namespace: str) -> int:
    """How many entries ``namespace`` holds (paged through ``list``)."""
    count, cursor = 0, None
    while True:
        page = target.list(namespace=namespace, limit=MAX_PAGE_LIMIT, cursor=cursor)
        count += len(page.items)
        cursor = page.next_cursor
        if not cursor:
            return count


def ingest(
    target: EvalTarget,
    namespace: str,
    inputs: Sequence[MemoryInput],
    clock: RunClock,
    progress: ProgressSink | None = None,
) -> None:
    """Add ``inputs`` to the empty ``namespace`` in batches of 256, timed on ``clock``.

    A namespace that already holds all of them (an earlier run's store) is
    reused as it is; ``progress`` advances by ``len(inputs)`` either way.

    Raises:
        ValidationError: the namespace holds another number of entries (an
            interrupted earlier run left part of them): use a fresh store.
    """
    held = stored_entries(target, namespace)
    if held == len(inputs):
        if progress is not None:
            progress.advance(len(inputs))
        return
    if held:
        raise ValidationError(
            f"namespace {namespace} holds {held} entries, not {len(inputs)} "
            "(left by an interrupted run?): use a fresh --data-dir",
            namespace=namespace,
            held=held,
            expected=len(inputs),
        )
    for start in range(0, len(inputs), _BATCH):
        chunk = inputs[start : start + _BATCH]
        started = time.perf_counter()
        target.add_many(chunk, batch_size=_BATCH)
        clock.ingest_seconds += time.perf_counter() - started
        clock.ingested_turns += len(chunk)
        if progress is not None:
            progress.advance(len(chunk))


def timed_search(
    target: EvalTarget,
    query: str,
    clock: RunClock,
    *,
    namespace: str,
    limit: int,
    mode: SearchMode,
) -> SearchResult:
    """``target.search`` in ``namespace``, its wall-clock milliseconds recorded on ``clock``."""
    started = time.perf_counter()
    found = target.search(query, namespace=namespace, limit=limit, mode=mode)
    clock.latencies_ms.append((time.perf_counter() - started) * 1000.0)
    return found


@contextmanager
def eval_memory(settings: Settings, data_dir: Path | None = None) -> Iterator[Memory]:
    """An in-process :class:`Memory` for an eval run.

    ``data_dir=None`` (default) uses a fresh temporary folder, deleted at exit;
    otherwise the store in ``data_dir`` is kept. Either way the embedding
    model is taken from ``settings.model_dir`` so it is exported only once.
    """
    with tempfile.TemporaryDirectory(prefix="memoryd-eval-") as scratch:
        folder = data_dir if data_dir is not None else Path(scratch)
        local = settings.model_copy(
            update={"data_dir": folder, "model_cache_dir": settings.model_dir}
        )
        with Memory(local, background=False) as memory:
            if local.keyword_index == "memory":  # every search of the run on one backend
                memory.store.keywords.start(background=False)
            yield memory

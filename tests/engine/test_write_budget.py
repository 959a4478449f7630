"""The write latency budget: contended batches commit first, the backfill embeds them.

``memoryd/write_vectors.py``: a group-commit batch that combines several
callers (or queued behind another batch) and would exceed
``write_embed_budget_ms`` commits with a backfill-queue entry; a caller that
led at once always embeds first. Real store, real model, real threads.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import waits
from memoryd import Memory, Settings
from memoryd.batching import BatchInfo
from memoryd.store.maintenance import consistency_report

LONE = BatchInfo(requests=1, waited_s=0.0, contended=False)


def _texts(n: int, tag: str) -> list[str]:
    return [
        f"{tag} note {i}: the harbour crane {i % 7} lifted container {i * 13}" for i in range(n)
    ]


def _queued(memory: Memory) -> set[int]:
    rows = memory.store.pool.reader().execute("SELECT rowid FROM embedding_queue").fetchall()
    return {int(r[0]) for r in rows}


def _rowid(memory: Memory, entry_id: Any) -> int:
    row = (
        memory.store.pool.reader()
        .execute("SELECT rowid FROM memories WHERE id = ?", (str(entry_id),))
        .fetchone()
    )
    return int(row[0])


def test_decision(memory: Memory) -> None:
    writer = memory.write_vectors
    assert writer.can_defer and writer.budget_s == 0.1  # the default budget, 100 ms
    contended = BatchInfo(requests=4, waited_s=0.05, contended=True)
    assert not writer.should_defer(8, contended)  # nothing measured yet
    writer.embed(_texts(16, "measure"))
    per_text = writer.per_text_s
    assert per_text is not None and per_text > 0
    # A caller that led at once embeds first, however large its batch.
    assert not writer.should_defer(10_000, LONE)
    assert not writer.should_defer(10_000, BatchInfo(1, waited_s=0.5, contended=False))
    # Contended: the wait plus the expected embedding time against the budget.
    fits = max(0, int((writer.budget_s - contended.waited_s) / per_text) - 1)
    assert not writer.should_defer(fits, contended)
    assert writer.should_defer(fits + 200, contended)
    queued_behind = BatchInfo(requests=1, waited_s=writer.budget_s + 0.01, contended=True)
    assert writer.should_defer(1, queued_behind)
    # The backlog bound: no deferral once the queue would hold more than
    # embed_backlog_max_s (default 300 s) of expected work.
    assert writer.backlog_max_s == 300.0
    writer.observe(1, 50.0)
    slow = writer.per_text_s
    assert slow is not None and slow > 5.0
    assert memory.stats().pending_embeddings == 0
    assert writer.should_defer(int(writer.backlog_max_s / slow) - 1, contended)
    assert not writer.should_defer(int(writer.backlog_max_s / slow) + 1, contended)


def test_no_deferral_without_worker_or_budget(
    tmp_path: Path, model_cache_dir: Path, embedder: Any
) -> None:
    base = Settings(data_dir=tmp_path / "a", model_cache_dir=model_cache_dir)
    with Memory(base, embedder=embedder, background=False) as one_shot:
        assert not one_shot.write_vectors.can_defer  # no backfill worker would embed them
    off = base.model_copy(update={"data_dir": tmp_path / "b", "write_embed_budget_ms": 0})
    with Memory(off, embedder=embedder) as memory:
        assert not memory.write_vectors.can_defer


def test_contended_writes_commit_first_and_backfill_embeds_them(
    settings: Settings, embedder: Any
) -> None:
    # No worker thread, so the deferred rows stay queued until backfill() below.
    with Memory(settings, embedder=embedder, background=False) as memory:
        memory.write_vectors.can_defer = True
        bulk = _texts(256, "bulk")
        lead = threading.Thread(target=memory.add_many, args=(bulk,))
        lead.start()  # one lone caller: embeds its 256 texts before committing
        deadline = waits.deadline(30)
        while not memory.memories.writes.busy:  # the bulk batch is running
            assert time.monotonic() < deadline
            time.sleep(0.001)
        singles: dict[int, Any] = {}

        def single(n: int) -> None:
            singles[n] = memory.add(f"urgent {n}: the ferry to Skye leaves at {n + 6} am")

        threads = [threading.Thread(target=single, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads + [lead]:
            t.join()

        # The singles queued behind the bulk batch and were combined: committed
        # first. The bulk batch itself (a lone caller) was embedded first.
        queued = _queued(memory)
        assert queued == {_rowid(memory, e.id) for e in singles.values()}
        stats = memory.stats()
        assert stats.total == 262
        assert stats.deferred_writes == stats.pending_embeddings == 6

        target = singles[3]
        hybrid = memory.search("ferry to Skye at 9 am", limit=10)
        assert str(target.id) in [str(h.entry.id) for h in hybrid.hits]  # found by BM25
        assert hybrid.degraded and "wait for their embedding" in hybrid.notes[0]
        vector = memory.search("ferry to Skye at 9 am", mode="vector", limit=10)
        assert str(target.id) not in [str(h.entry.id) for h in vector.hits]

        assert memory.workers.backfill() == len(queued)
        assert _queued(memory) == set()
        vector = memory.search("ferry to Skye at 9 am", mode="vector", limit=10)
        assert str(target.id) in [str(h.entry.id) for h in vector.hits]
        assert not vector.degraded and vector.notes == []
        assert consistency_report(memory.store)["ok"]


def test_a_lone_bulk_add_is_embedded_before_commit(memory: Memory) -> None:
    memory.write_vectors.observe(1, 1.0)  # even with a slow estimate
    entries = memory.add_many(_texts(64, "import"))
    assert len(entries) == 64
    assert _queued(memory) == set()
    assert memory.stats().deferred_writes == 0

"""The embedding backfill against a real HTTP provider (conftest.FakeProvider).

Rows acknowledged without a vector (provider down, or deferred by the write
latency budget) are embedded by ``Workers.backfill``: a row the provider
rejects never blocks the rows behind it, and a vector is never written for a
text the row no longer holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import waits
from memoryd import Memory
from memoryd.records import text_hash
from memoryd.store.maintenance import consistency_report

if TYPE_CHECKING:
    from conftest import FakeProvider

DOWN = [(503, {"error": {"message": "overloaded"}})] * 3  # one call's three attempts


def _memory(tmp_path: Path, provider: FakeProvider) -> Memory:
    settings = provider.settings(tmp_path / "data")
    return Memory(settings, background=False)


def _queue(memory: Memory) -> dict[int, tuple[str, int]]:
    rows = memory.store.pool.reader().execute("SELECT rowid, text, attempts FROM embedding_queue")
    return {int(r[0]): (str(r[1]), int(r[2])) for r in rows}


def _rowid(memory: Memory, entry: Any) -> int:
    row = (
        memory.store.pool.reader()
        .execute("SELECT rowid FROM memories WHERE id = ?", (str(entry.id),))
        .fetchone()
    )
    return int(row[0])


def _add_while_down(memory: Memory, provider: FakeProvider, text: str) -> int:
    provider.script.extend(DOWN)
    entry = memory.add(text)
    rowid = _rowid(memory, entry)
    assert rowid in _queue(memory)  # acknowledged with a queue entry
    return rowid


def _stored_vector(memory: Memory, rowid: int) -> Any:
    row = (
        memory.store.pool.reader()
        .execute("SELECT vector FROM vectors WHERE rowid = ?", (rowid,))
        .fetchone()
    )
    return None if row is None else np.frombuffer(row[0], dtype="<f4")


def test_a_rejected_row_does_not_block_the_queue(tmp_path: Path, provider: FakeProvider) -> None:
    with _memory(tmp_path, provider) as memory:
        bad = _add_while_down(memory, provider, "forbidden words here")
        first = _add_while_down(memory, provider, "the ferry leaves at nine")
        second = _add_while_down(memory, provider, "the train leaves at ten")
        provider.reject.add("forbidden words here")

        # The batch is rejected; one by one, two rows are filled and one is marked.
        assert memory.workers.backfill() == 2
        assert _queue(memory) == {bad: ("forbidden words here", 1)}
        error = (
            memory.store.pool.reader()
            .execute("SELECT last_error FROM embedding_queue WHERE rowid = ?", (bad,))
            .fetchone()[0]
        )
        assert "input rejected by policy" in error
        np.testing.assert_allclose(
            _stored_vector(memory, first), provider.unit("the ferry leaves at nine"), atol=1e-6
        )

        # A row queued later goes ahead of the rejected one and is filled.
        later = _add_while_down(memory, provider, "the bus leaves at noon")
        assert memory.workers.backfill() == 1
        assert _queue(memory) == {bad: ("forbidden words here", 2)}
        assert (
            _stored_vector(memory, later) is not None and _stored_vector(memory, second) is not None
        )

        provider.reject.clear()  # the provider accepts it now
        assert memory.workers.backfill() == 1
        assert _queue(memory) == {}
        assert consistency_report(memory.store)["ok"]


def test_a_stale_queue_text_is_never_filled(tmp_path: Path, provider: FakeProvider) -> None:
    with _memory(tmp_path, provider) as memory:
        old = "Ann drinks tea"
        rowid = _add_while_down(memory, provider, old)
        entry = memory.list().items[0]
        old_vector = provider.unit(old)

        # Updated while the provider is down: the queue now holds the new text.
        provider.script.extend(DOWN)
        memory.update(entry.id, content="Ann drinks coffee")
        assert _queue(memory) == {rowid: ("Ann drinks coffee", 0)}
        assert memory.store.queue.fill([(rowid, old_vector, text_hash(old), old)]) == 0
        assert _stored_vector(memory, rowid) is None

        # Updated again with the provider up: the row has its vector, no queue entry.
        memory.update(entry.id, content="Ann drinks cocoa")
        assert _queue(memory) == {}
        assert memory.store.queue.fill([(rowid, old_vector, text_hash(old), old)]) == 0
        np.testing.assert_allclose(
            _stored_vector(memory, rowid), provider.unit("Ann drinks cocoa"), atol=1e-6
        )
        assert consistency_report(memory.store)["ok"]


def test_backfill_uses_the_embedding_cache(tmp_path: Path, provider: FakeProvider) -> None:
    with _memory(tmp_path, provider) as memory:
        queued = _add_while_down(memory, provider, "a text written twice")
        fresh = _add_while_down(memory, provider, "a text written once")
        memory.add("a text written twice", namespace="other")  # provider up: now cached
        calls = len(provider.requests)
        assert memory.workers.backfill() == 2
        # Only the text the cache lacks went to the provider.
        assert [r["body"]["input"] for r in provider.requests[calls:]] == [["a text written once"]]
        np.testing.assert_allclose(
            _stored_vector(memory, queued), provider.unit("a text written twice"), atol=1e-6
        )
        assert _stored_vector(memory, fresh) is not None
        assert consistency_report(memory.store)["ok"]


def test_workers_of_two_engines_lease_different_rows(
    tmp_path: Path, provider: FakeProvider
) -> None:
    """Two engines on one store file (as two processes): a leased batch is skipped by the other."""
    with _memory(tmp_path, provider) as a, _memory(tmp_path, provider) as b:
        rows = [_add_while_down(a, provider, f"fact number {i}") for i in range(3)]
        lease_s = waits.budget(2.0)  # outlasts the checks below on a loaded machine
        held = a.store.queue.lease(2, lease_s)  # A's worker is embedding these
        assert [rowid for rowid, _ in held] == rows[:2]
        assert b.store.queue.lease(10, 60.0) == [(rows[2], "fact number 2")]
        assert b.store.queue.lease(10, 60.0) == []  # everything is leased now

        assert b.workers.backfill() == 0  # nothing free: A's lease and its own still hold
        assert set(_queue(b)) == set(rows)

        # A died without filling: its lease runs out, B takes the rows.
        filled = waits.wait_until(b.workers.backfill, timeout_s=lease_s + 10, message="B filled")
        assert filled == 2
        assert set(_queue(b)) == {rows[2]}  # B's own earlier lease (60 s) still holds


def test_a_failed_attempt_ends_the_lease(tmp_path: Path, provider: FakeProvider) -> None:
    with _memory(tmp_path, provider) as a, _memory(tmp_path, provider) as b:
        rowid = _add_while_down(a, provider, "the ferry leaves at nine")
        assert a.store.queue.lease(5, 60.0) == [(rowid, "the ferry leaves at nine")]
        a.store.queue.mark_failure([rowid], "backend_unavailable: provider down")
        assert _queue(a) == {rowid: ("the ferry leaves at nine", 1)}
        assert b.workers.backfill() == 1  # free again at once, not after 60 s
        assert _queue(a) == {}
        assert consistency_report(a.store)["ok"]

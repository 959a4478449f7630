"""Group commit: concurrent callers share batches, keep their own results and errors."""

from __future__ import annotations

import threading
import time

import pytest

from memoryd import Conflict, Memory
from memoryd.batching import BatchInfo, GroupCommitter
from memoryd.store.maintenance import consistency_report


def test_results_go_back_to_their_callers() -> None:
    calls: list[int] = []
    infos: list[BatchInfo] = []

    def run(items: list[int], info: BatchInfo) -> list[int]:
        calls.append(len(items))
        infos.append(info)
        time.sleep(0.01)  # hold the leader so followers queue up
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(run)
    results: dict[int, list[int]] = {}

    def worker(n: int) -> None:
        results[n] = committer.submit([n, n + 1000])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: [n * 10, (n + 1000) * 10] for n in range(24)}
    assert sum(calls) == 48 and len(calls) < 24  # some requests were combined
    assert [2 * info.requests for info in infos] == calls  # each request holds 2 items
    combined = [info for info in infos if info.requests > 1]
    assert combined and all(info.contended for info in combined)
    assert max(info.waited_s for info in combined) >= 0.005  # queued behind the first
    assert not infos[0].contended  # the first caller led at once


def test_a_failing_request_does_not_fail_its_neighbours() -> None:
    def run(items: list[int], info: BatchInfo) -> list[int]:
        time.sleep(0.005)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(run)
    outcomes: dict[int, object] = {}

    def worker(n: int) -> None:
        try:
            outcomes[n] = committer.submit([n])
        except ValueError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(-3, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, outcome in outcomes.items():
        if n < 0:
            assert isinstance(outcome, ValueError)
        else:
            assert outcome == [n]


def test_concurrent_adds_through_memory(memory: Memory) -> None:
    existing = memory.add("already here")
    ids: list[str] = []
    errors: list[Exception] = []

    def writer(n: int) -> None:
        for i in range(5):
            try:
                ids.append(str(memory.add(f"writer {n} note {i} about topic {n * i}").id))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    def conflicting() -> None:
        with pytest.raises(Conflict):
            memory.add("reuses an id", id=existing.id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=conflicting))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 40
    assert memory.stats().total == 41
    memory.workers.backfill()  # writes the latency budget deferred, if any
    assert consistency_report(memory.store)["ok"]

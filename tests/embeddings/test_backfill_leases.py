"""Leases of a killed process are taken at once (``store/lease_holders.py``, migration 10).

Before: a backfill worker killed while holding a lease hid its rows from vector
search for the whole lease (50 s by default) after a restart (found by the R1
test through HTTP). Now each lease names its holder, whose ``flock`` the
kernel releases when it dies, so another engine takes the rows at once; the
lease of a live holder is still respected.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import waits
from memoryd import Memory, Settings
from memoryd.store.lease_holders import LeaseHolder, holder_alive
from memoryd.store.maintenance import consistency_report

if TYPE_CHECKING:
    from conftest import FakeProvider

DOWN = [(503, {"error": {"message": "overloaded"}})] * 3  # one call's three attempts

#: A child that leases every queued row for an hour, says which, and waits to be killed.
_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from memoryd import Memory, Settings
    settings = Settings.model_validate_json(sys.argv[1])
    memory = Memory(settings, background=False)
    held = memory.store.queue.lease(64, 3600.0)
    print(json.dumps({"rows": [r for r, _ in held], "holder": memory.store.queue.lease_holder.id}),
          flush=True)
    time.sleep(3600)
    """
)


def _queue_rows(memory: Memory, provider: FakeProvider, n: int) -> list[int]:
    rowids = []
    for i in range(n):
        provider.script.extend(DOWN)
        memory.add(f"queued fact number {i}")
        rowids.append(
            int(memory.store.pool.reader().execute("SELECT max(rowid) FROM memories").fetchone()[0])
        )
    queued = memory.store.pool.reader().execute("SELECT rowid FROM embedding_queue ORDER BY 1")
    assert [int(r[0]) for r in queued] == rowids
    return rowids


def _lease_in_child(settings: Settings) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, settings.model_dump_json()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()  # blocks until the child leased (or died)
    assert line, f"the child exited {child.wait(waits.budget(30))} before leasing"
    return child, json.loads(line)


def test_rows_of_a_killed_holder_are_leased_at_once(tmp_path: Path, provider: FakeProvider) -> None:
    settings = provider.settings(tmp_path / "data")
    with Memory(settings, background=False) as memory:
        rows = _queue_rows(memory, provider, 3)
    child, held = _lease_in_child(settings)
    try:
        assert held["rows"] == rows and held["holder"]
        with Memory(settings, background=False) as memory:
            assert memory.store.queue.lease(64, 60.0) == []  # a live holder's lease holds
            child.send_signal(signal.SIGKILL)
            child.wait(waits.budget(30))
            directory = memory.store.queue.lease_holder.directory
            assert not holder_alive(directory, held["holder"])
            assert not (directory / f"{held['holder']}.lock").exists()  # noticed, removed
            again = memory.store.queue.lease(64, 60.0)
            assert [r for r, _ in again] == rows  # an hour-long lease, taken at once
            assert memory.workers.backfill() == 0  # now leased by this engine
            memory.store.queue.mark_failure(rows, "test: give the lease back")
            assert memory.workers.backfill() == 3
            assert consistency_report(memory.store)["ok"]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(waits.budget(30))
        assert child.stdout is not None
        child.stdout.close()


def test_holder_lifecycle(tmp_path: Path) -> None:
    holder = LeaseHolder(tmp_path / "leases")
    assert holder.id is not None
    other = LeaseHolder(tmp_path / "leases")
    assert other.id != holder.id
    assert holder_alive(holder.directory, holder.id)  # held, even seen from this process
    holder.close()
    assert not holder_alive(holder.directory, holder.id)
    assert list(holder.directory.iterdir()) == [other.directory / f"{other.id}.lock"]
    holder.close()  # idempotent
    assert not holder_alive(holder.directory, "../../etc/passwd")  # not an id: never a path
    other.close()
    assert list(holder.directory.iterdir()) == []


def test_a_holder_without_a_lock_file_leases_without_a_name(tmp_path: Path) -> None:
    blocked = tmp_path / "leases"
    blocked.write_text("a file where the folder should be")
    holder = LeaseHolder(blocked)
    assert holder.id is None  # leases then name nobody and run out after their time
    holder.close()

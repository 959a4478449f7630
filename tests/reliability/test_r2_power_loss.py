"""R2: power loss (buffer-until-xSync VFS, kill -9, ``-shm`` deleted) under FULL and NORMAL.

A writer child (``_workers/ingest.py``, the real engine: ``add``, ``add_many``,
conversation turns, key/value) runs with the fault VFS as SQLite's default in
power-loss mode: every write of the database, journal and WAL stays in the
child's memory until that file's ``xSync``. SIGKILL at U(100, 1000) ms then
drops exactly what was never synced, as a power cut drops a dirty page cache;
the parent also deletes ``-shm`` (shared memory does not survive a reboot) and
reopens the store with the plain ``unix`` VFS. Odd cycles also write random
dirty 4 KiB chunks through early (``writeback=0.5``), so a crash leaves an
arbitrary subset of the unsynced data on disk, torn at chunk boundaries.
Children set ``wal_autocheckpoint`` to U{5..100} pages so that WAL
checkpoints and WAL restarts (the syncs of NORMAL) fall inside short cycles.
Every third cycle the child loops ``checkpoint_index`` + ``add_many``
(``--mode checkpoint``), so vector-index checkpoints meet power loss too.

Checks after each cycle:

* FULL: every acknowledged write is there with its content; ``consistency_report``
  ok (``quick_check``; FTS, vectors + queue and HNSW sets equal the table).
* NORMAL: ``consistency_report`` ok; an acknowledged write may be missing only
  if no WAL sync completed after its acknowledgement (each ``ack`` carries the
  child's count of completed WAL syncs; the VFS logs each sync to a file that
  survives the kill), i.e. losses stay within the unsynced commits. The number
  lost is reported (``-s``).

Counts: ``MEMORYD_R2_CYCLES`` per mode (default 20 in CI; RELIABILITY.md asks 100),
``MEMORYD_R2_SEED``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from memoryd import Memory, Settings
from memoryd.embeddings import Embedder
from memoryd.store.maintenance import consistency_report

from ._support import ForkedChild, ForkServer, env_int

R2_CYCLES = env_int("MEMORYD_R2_CYCLES", 20)
SEED = env_int("MEMORYD_R2_SEED", 20261202)
KILL_WINDOW_S = (0.100, 1.000)

pytestmark = pytest.mark.slow


def _last_wal_sync(events: Path) -> int:
    """The highest WAL-sync number the child's VFS logged before it died (0 if none)."""
    last = 0
    if events.exists():
        for line in events.read_text().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "sync" and parts[1].isdigit():
                last = max(last, int(parts[1]))
    return last


def _cycle_args(
    data_dir: Path, model_cache: Path, sync: str, cycle: int, events: Path
) -> list[str]:
    rng = random.Random(SEED * 7 + cycle)
    writeback = 0.5 if cycle % 2 else 0.0
    vfs_config = f"buffer=1;writeback={writeback};seed={SEED + cycle};fail=none;log={events}"
    return [
        str(data_dir),
        "--model-cache",
        str(model_cache),
        "--cycle",
        str(cycle),
        "--seed",
        str(SEED + cycle),
        "--mode",
        "checkpoint" if cycle % 3 == 2 else "ingest",
        "--synchronous",
        sync,
        "--wal-autocheckpoint",
        str(rng.randint(5, 100)),
        "--vfs-config",
        vfs_config,
    ]


def _check_cycle(
    memory: Memory,
    sync: str,
    acked: dict[str, dict[str, Any]],
    fresh: list[dict[str, Any]],
    last_sync: int,
) -> list[dict[str, Any]]:
    """Assert this cycle's outcome; returns the acknowledged writes that were lost."""
    report = consistency_report(memory.store)
    assert report["ok"], str(report)
    stored = {
        str(r["id"]): (r["namespace"], r["content"])
        for r in memory.store.pool.reader().execute("SELECT id, namespace, content FROM memories")
    }
    lost = [a for a in acked.values() if a["id"] not in stored]
    if sync == "FULL":
        assert not lost, f"{len(lost)} acknowledged writes lost under FULL, e.g. {lost[:3]}"
    else:
        fresh_ids = {a["id"] for a in fresh}
        old = [a for a in lost if a["id"] not in fresh_ids]
        assert not old, f"writes of an earlier, recovered cycle vanished: {old[:3]}"
        synced = [a for a in lost if a["wal_syncs"] < last_sync]
        assert not synced, f"lost writes acknowledged before WAL sync {last_sync}: {synced[:3]}"
    changed = [
        a
        for a in acked.values()
        if a["op"] != "counter" and a["id"] in stored and stored[a["id"]] != (a["ns"], a["content"])
    ]
    assert not changed, f"{len(changed)} acknowledged writes changed, e.g. {changed[:3]}"
    return lost


def _run(
    sync: str,
    tmp_path: Path,
    model_cache: Path,
    library: Path,
    embedder: Embedder,
) -> dict[str, Any]:
    data_dir, logs = tmp_path / "store", tmp_path / "logs"
    logs.mkdir()
    settings = Settings(data_dir=data_dir, model_cache_dir=model_cache, sqlite_synchronous=sync)
    rng = random.Random(SEED)
    acked: dict[str, dict[str, Any]] = {}
    lost_per_cycle: list[int] = []
    unsynced_per_cycle: list[int] = []
    synced_per_cycle: list[int] = []
    wal_syncs: list[int] = []
    server = ForkServer("ingest.py", model_cache, logs, ["--vfs", str(library)])
    try:
        for cycle in range(R2_CYCLES):
            events = logs / f"events-{cycle}"
            child: ForkedChild = server.spawn(
                _cycle_args(data_dir, model_cache, sync, cycle, events), f"{sync}-{cycle}"
            )
            ready = child.expect("ready", 300)
            time.sleep(max(0.0, ready["ts"] + rng.uniform(*KILL_WINDOW_S) - time.monotonic()))
            child.kill()
            assert child.killed_at is not None, (
                f"{child.name} died by itself\n{child.stderr_tail()}"
            )
            (data_dir / "memoryd.db-shm").unlink(missing_ok=True)
            fresh = child.of("ack")
            for ack in fresh:
                acked[ack["id"]] = ack
            last_sync = _last_wal_sync(events)
            wal_syncs.append(last_sync)
            unsynced_per_cycle.append(sum(a["wal_syncs"] >= last_sync for a in fresh))
            synced_per_cycle.append(len(fresh) - unsynced_per_cycle[-1])
            with Memory(settings=settings, embedder=embedder, background=False) as memory:
                lost = _check_cycle(memory, sync, acked, fresh, last_sync)
            for ack in lost:  # gone for good (documented): not expected in later cycles
                del acked[ack["id"]]
            lost_per_cycle.append(len(lost))
    finally:
        server.close()
    return {
        "cycles": R2_CYCLES,
        "acked_surviving": len(acked),
        "lost_total": sum(lost_per_cycle),
        "lost_max_per_cycle": max(lost_per_cycle),
        "cycles_with_loss": sum(n > 0 for n in lost_per_cycle),
        "acked_after_last_wal_sync_total": sum(unsynced_per_cycle),
        "acked_before_a_wal_sync_total": sum(synced_per_cycle),
        "wal_syncs_max_per_cycle": max(wal_syncs),
    }


@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
def test_power_loss_keeps_the_store_consistent(
    sync: str,
    tmp_path: Path,
    model_cache_dir: Path,
    faultvfs_library: Path,
    embedder: Embedder,
) -> None:
    summary = _run(sync, tmp_path, model_cache_dir, faultvfs_library, embedder)
    print(f"\nR2 {sync}: {summary}")
    assert summary["acked_surviving"] > 0
    # The cycles must exercise synced commits too, not only the unsynced tail.
    assert summary["acked_before_a_wal_sync_total"] > 0, summary
    if sync == "FULL":
        assert summary["lost_total"] == 0

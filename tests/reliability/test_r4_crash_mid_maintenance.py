"""R4: kill -9 during a migration, a ``VACUUM INTO`` backup and ``wal_checkpoint(TRUNCATE)``.

Children (``_workers/maintenance.py``) open the real ``SQLiteStore`` and are
SIGKILLed at random points of the operation:

* **Migration.** A store is built at the previous schema version
  (``migrate(conn, target=N-1)``) with 50,000 memories and 400,000 queue rows,
  so that the newest migration works a while (its duration is measured by
  one uncut run first); each cycle starts from a copy of that store and kills
  the migrating open at U(0, 1.2 x duration) after it starts. The reopened
  file must pass ``quick_check`` and hold exactly the old schema (same
  ``sqlite_master`` as the old store, versions 1..N-1) or exactly the new
  one, never a mix; opening it then migrates cleanly to N, rows intact.
* **Backup.** The child loops ``SQLiteStore.backup_to`` (``VACUUM INTO`` a
  temporary name, fsync, rename); the kill is aimed inside a backup. The
  target is absent or a valid database (``integrity_check`` ok, every row,
  the full schema), every other cycle from no previous backup; the next
  backup removes the temporary file.
* **WAL checkpoint.** The child inserts batches (acknowledged after commit)
  and runs ``PRAGMA wal_checkpoint(TRUNCATE)`` after each; the kill is aimed
  inside a checkpoint. Every acknowledged row is there and
  ``consistency_report`` is ok.

Cycles: ``MEMORYD_R4_CYCLES`` per operation (default 8; RELIABILITY.md asks 20).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memoryd.store.connection import Pragmas
from memoryd.store.maintenance import consistency_report
from memoryd.store.migrations import MIGRATIONS, migrate

from ._support import Child, env_int
from ._workers.maintenance import DIM, MODEL, open_store, record

R4_CYCLES = env_int("MEMORYD_R4_CYCLES", 8)
SEED = env_int("MEMORYD_R4_SEED", 20261203)
MEMORIES = 50_000
QUEUED = 400_000
NEWEST = MIGRATIONS[-1].version
#: The schema version just before the newest migration.
PREVIOUS = MIGRATIONS[-2].version

pytestmark = pytest.mark.slow


def _schema(db: Path) -> tuple[list[tuple[Any, ...]], list[int], str]:
    """``(sqlite_master rows, applied versions, quick_check)`` read without migrating."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        master = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        quick = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    finally:
        conn.close()
    return master, versions, quick


def _old_store(path: Path) -> None:
    """A store at schema N-1, big enough for the newest migration to take a while."""
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(str(path), isolation_level=None)
    Pragmas().apply(conn)
    assert migrate(conn, target=PREVIOUS) == PREVIOUS
    now = time.time()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO memories(id, namespace, kind, content, content_hash, created_at, "
        "updated_at, text_hash) VALUES (?, 'default', 'memory', ?, ?, ?, ?, ?)",
        ((f"m{i}", f"old row {i}", f"h{i}", now, now, f"h{i}") for i in range(MEMORIES)),
    )
    conn.executemany(
        "INSERT INTO embedding_queue(rowid, text, enqueued_at) VALUES (?, ?, ?)",
        ((i + 1, f"old row {i}", now) for i in range(QUEUED)),
    )
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)", (("embedding_model", MODEL), ("dim", str(DIM)))
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _fresh_copy(pristine: Path, data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir()
    shutil.copyfile(pristine, data_dir / "memoryd.db")


def test_kill9_during_migration_leaves_old_or_new_schema(tmp_path: Path) -> None:
    pristine, data_dir, logs = tmp_path / "old" / "memoryd.db", tmp_path / "store", tmp_path / "l"
    logs.mkdir()
    _old_store(pristine)
    old_master, old_versions, _ = _schema(pristine)
    assert old_versions == [m.version for m in MIGRATIONS[:-1]]

    _fresh_copy(pristine, data_dir)  # one uncut run: the duration and the new schema
    child = Child("maintenance.py", ["migrate", str(data_dir)], logs, "calibrate")
    start = child.expect("opening", 120)
    done = child.expect("migrated", 300)
    assert child.finish() == 0 and done["version"] == NEWEST
    duration = done["ts"] - start["ts"]
    new_master, new_versions, _ = _schema(data_dir / "memoryd.db")

    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0}
    for cycle in range(R4_CYCLES):
        _fresh_copy(pristine, data_dir)
        child = Child("maintenance.py", ["migrate", str(data_dir)], logs, f"migrate-{cycle}")
        opening = child.expect("opening", 120)
        time.sleep(max(0.0, opening["ts"] + rng.uniform(0, 1.2 * duration) - time.monotonic()))
        child.kill()
        (data_dir / "memoryd.db-shm").unlink(missing_ok=True)
        master, versions, quick = _schema(data_dir / "memoryd.db")
        assert quick == "ok", f"cycle {cycle}: {quick}"
        if (master, versions) == (old_master, old_versions):
            outcomes["old"] += 1
        else:
            assert (master, versions) == (new_master, new_versions), f"cycle {cycle}: mixed schema"
            outcomes["new"] += 1
        store = open_store(data_dir)  # migrates what is left
        try:
            assert store.schema_version == NEWEST
            count = store.pool.reader().execute("SELECT COUNT(*) FROM memories").fetchone()[0]
            assert count == MEMORIES
        finally:
            store.close()
        assert _schema(data_dir / "memoryd.db")[:2] == (new_master, new_versions)
    print(f"\nR4 migration: {R4_CYCLES} kills, {outcomes}, uncut migration {duration:.2f} s")
    assert outcomes["old"] > 0, "no kill landed inside the migration"


def _seeded_store(data_dir: Path, rows: int) -> None:
    rng = np.random.default_rng(SEED)
    store = open_store(data_dir)
    try:
        for start in range(0, rows, 1000):
            store.writes.insert([record(rng, f"seed row {i}") for i in range(start, start + 1000)])
    finally:
        store.close()


def _valid_backup(path: Path, rows: int) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0] == rows
        assert conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == rows
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == NEWEST
    finally:
        conn.close()


def test_kill9_during_backup_leaves_a_valid_backup_or_none(tmp_path: Path) -> None:
    data_dir, logs, target = tmp_path / "store", tmp_path / "logs", tmp_path / "backup.db"
    logs.mkdir()
    rows = 20_000
    _seeded_store(data_dir, rows)
    rng = random.Random(SEED)
    durations = [0.05]
    absent = temp_left = 0
    for cycle in range(R4_CYCLES):
        if cycle % 2 == 0:
            target.unlink(missing_ok=True)
        child = Child("maintenance.py", ["backup", str(data_dir), str(target)], logs, f"b{cycle}")
        child.expect("ready", 120)
        begin = child.expect("backup-start", 60, start=len(child.messages))
        into = rng.uniform(0, 0.9 * float(np.median(durations)))
        time.sleep(max(0.0, begin["ts"] + into - time.monotonic()))
        child.kill()
        assert child.killed_at is not None, child.stderr_tail()
        starts, ends = child.of("backup-start"), child.of("backup-done")
        durations += [e["ts"] - b["ts"] for b, e in zip(starts, ends, strict=False)]
        temp_left += target.with_name(target.name + ".tmp").exists()
        if target.exists():
            _valid_backup(target, rows)
        else:
            absent += 1
    store = open_store(data_dir)
    try:
        store.backup_to(target)
    finally:
        store.close()
    _valid_backup(target, rows)
    assert not target.with_name(target.name + ".tmp").exists()
    print(
        f"\nR4 backup: {R4_CYCLES} kills, absent {absent}, temp files left by kills {temp_left}, "
        f"backup p50 {1000 * float(np.median(durations)):.0f} ms"
    )
    assert temp_left > 0, "no kill landed inside a backup"


def test_kill9_during_wal_checkpoint_truncate_loses_nothing(tmp_path: Path) -> None:
    data_dir, logs = tmp_path / "store", tmp_path / "logs"
    logs.mkdir()
    _seeded_store(data_dir, 2000)
    rng = random.Random(SEED)
    durations = [0.02]
    acked: set[str] = set()
    inside = 0
    for cycle in range(R4_CYCLES):
        child = Child("maintenance.py", ["checkpoint", str(data_dir)], logs, f"c{cycle}")
        child.expect("ready", 120)
        time.sleep(rng.uniform(0.05, 0.4))
        begin = child.expect("ckpt-start", 60, start=len(child.messages))
        into = rng.uniform(0, 0.9 * float(np.median(durations)))
        time.sleep(max(0.0, begin["ts"] + into - time.monotonic()))
        child.kill()
        assert child.killed_at is not None, child.stderr_tail()
        inside += child.messages[-1]["t"] == "ckpt-start"
        starts, ends = child.of("ckpt-start"), child.of("ckpt-end")
        durations += [e["ts"] - b["ts"] for b, e in zip(starts, ends, strict=False)]
        for ack in child.of("ack"):
            acked.update(ack["ids"])
        (data_dir / "memoryd.db-shm").unlink(missing_ok=True)
        store = open_store(data_dir)
        try:
            store.vectors.open()
            stored = {r[0] for r in store.pool.reader().execute("SELECT id FROM memories")}
            assert acked <= stored, f"cycle {cycle}: {len(acked - stored)} acknowledged rows lost"
            report = consistency_report(store)
            assert report["ok"], str(report)
        finally:
            store.close()
    p50_ms = 1000 * float(np.median(durations))
    print(
        f"\nR4 wal_checkpoint(TRUNCATE): {R4_CYCLES} kills, {inside} inside a checkpoint, "
        f"{len(acked)} rows acknowledged, checkpoint p50 {p50_ms:.0f} ms"
    )
    assert inside > 0, "no kill landed inside a checkpoint"

"""The store on a full disk (RELIABILITY.md R5): StorageFull on every write, reads go on,
writes resume without reopening, nothing half-written, WAL checkpointed, no temp files.

Two ways to fill it: ``PRAGMA max_page_count`` (SQLITE_FULL from the page
limit) and a real small filesystem filled with a filler file (``small_disk``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import Memory, Settings, StorageFull
from memoryd.store.maintenance import consistency_report

RESERVE = 256 * 1024
DISK = 4 << 20
MAX_TRIES = 2000


def _ok(tool: str) -> dict[str, Any]:
    return {"tool": tool, "action": "do it", "result": {"status": "success", "output": "ok"}}


@pytest.fixture
def disk_settings(tmp_path: Path, model_cache_dir: Path) -> Callable[..., Settings]:
    def make(data_dir: Path, **overrides: Any) -> Settings:
        return Settings(
            data_dir=data_dir,
            model_cache_dir=model_cache_dir,
            disk_reserve_bytes=overrides.pop("disk_reserve_bytes", RESERVE),
            **overrides,
        )

    return make


@pytest.fixture
def limited(
    tmp_path: Path, disk_settings: Callable[..., Settings], embedder: Any
) -> Iterator[Memory]:
    memory = Memory(disk_settings(tmp_path / "data"), embedder=embedder, background=False)
    yield memory
    memory.close()


def _counts(memory: Memory) -> dict[str, int]:
    conn = memory.store.pool.reader()
    counts = dict(conn.execute("SELECT kind, COUNT(*) FROM memories GROUP BY kind").fetchall())
    for table in ("episodes", "episode_steps", "pattern_feedback"):
        counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return counts


def _until_full(write: Callable[[int], object]) -> int:
    """Call ``write(i)`` until it raises StorageFull; returns how many were acknowledged."""
    for i in range(MAX_TRIES):
        try:
            write(i)
        except StorageFull as exc:
            assert exc.code == "storage_full" and exc.http_status == 507
            return i
    raise AssertionError(f"{MAX_TRIES} writes and the store never filled up")


def test_every_write_kind_gets_storage_full_at_the_page_limit(limited: Memory) -> None:
    m = limited
    episode = m.start_episode("Fix the failing login test", domain="web", task_type="debugging")
    m.log_steps(episode.id, [_ok("run_tests"), _ok("edit_file"), _ok("run_tests")])
    m.complete_episode(episode.id, {"type": "success", "verdict": "tests pass"})
    m.extract_patterns()
    pattern = m.list_patterns()[0]
    target = m.start_episode("Deploy the release", domain="ops")
    kept = m.add("the entry that must stay readable")
    before = _counts(m)
    writer = m.store.pool.writer
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count={pages}")
    writes: dict[str, Callable[[int], object]] = {
        "memory": lambda i: m.add(f"memory number {i} " + "lorem ipsum " * 40),
        "kv": lambda i: m.kv_set(f"key-{i}", {"n": i, "pad": "x" * 300}),
        "state": lambda i: m.set_state("s1", f"slot-{i}", {"n": i, "pad": "y" * 300}),
        "message": lambda i: m.append("s1", f"turn {i} " + "words " * 50),
        "episodes": lambda i: m.start_episode(f"task {i} " + "z" * 300, domain="web"),
        "episode_steps": lambda i: m.log_step(target.id, _ok(f"tool{i}")),
        "pattern_feedback": lambda i: m.record_feedback(pattern.id, success=True),
        "import": lambda i: m.import_entries(
            [{**kept.model_dump(mode="json"), "id": str(uuid.uuid4()), "content": f"imp {i} " * 30}]
        ),
    }
    acked = {name: _until_full(write) for name, write in writes.items()}
    assert not writer.in_transaction  # every failed transaction was rolled back
    after = _counts(m)
    expected = dict(before)
    for name, count in acked.items():
        key = "memory" if name == "import" else name
        expected[key] = expected.get(key, 0) + count
    assert after == {k: v for k, v in expected.items() if v}  # rows = acknowledged
    assert m.get(kept.id).content == kept.content  # reads go on
    assert m.search("entry readable", limit=3).hits
    writer.execute("PRAGMA max_page_count=1073741823")  # space returns
    for write in writes.values():
        write(MAX_TRIES)  # every kind resumes on the same engine, no reopen
    assert consistency_report(m.store)["ok"]


def test_a_failed_commit_on_a_full_filesystem_rolls_back_and_writes_resume(
    small_disk: Callable[[int], Any], disk_settings: Callable[..., Settings], embedder: Any
) -> None:
    disk = small_disk(DISK)
    m = Memory(disk_settings(disk.path / "data"), embedder=embedder, background=False)
    try:
        seeded = [m.add(f"seeded note {i} about a tmpfs") for i in range(5)]
        disk.fill()
        acked = _until_full(lambda i: m.add(f"while full {i} " + "q" * 3000))
        assert not m.store.pool.writer.in_transaction
        assert m.store.pool.full_since is not None
        assert m.stats().total == 5 + acked
        assert m.get(seeded[0].id).content == seeded[0].content
        assert m.search("seeded tmpfs", limit=5).hits
        with pytest.raises(StorageFull):  # still full: the WAL checkpoint cannot grow the db
            m.store.space.upkeep()
        disk.empty()
        m.add("the first write after space returned")
        assert m.stats().total == 6 + acked
        assert m.store.space.upkeep()  # the outage ends: WAL checkpointed (TRUNCATE)
        assert m.store.pool.full_since is None
        assert m.store.space.wal_path.stat().st_size == 0
        assert consistency_report(m.store)["ok"]
    finally:
        m.close()


def test_the_store_opens_on_a_full_disk_by_giving_up_the_reserve(
    small_disk: Callable[[int], Any], disk_settings: Callable[..., Settings], embedder: Any
) -> None:
    disk = small_disk(DISK)
    data = disk.path / "data"
    with Memory(disk_settings(data), embedder=embedder, background=False) as m:
        kept = m.add("written before the disk filled up")
    assert not (data / "memoryd.db-wal").exists()  # checkpointed and removed at close
    assert not (data / "memoryd.db-shm").exists()
    assert (data / "space-reserve").stat().st_size == RESERVE
    disk.fill()
    # Without a reserve SQLite cannot even create the -shm file it needs to read.
    with pytest.raises(StorageFull):
        Memory(disk_settings(data, disk_reserve_bytes=0), embedder=embedder, background=False)
    m = Memory(disk_settings(data), embedder=embedder, background=False)
    try:
        assert m.get(kept.id).content == kept.content
        assert m.search("before the disk filled", limit=1).hits[0].entry.id == kept.id
        assert m.store.reserve is not None and m.store.reserve.state == "released"
        with pytest.raises(StorageFull):  # the freed reserve is not for rows
            m.add("a write while the reserve is given up")
        assert m.stats().total == 1
        disk.empty()
        assert m.store.space.upkeep()
        assert m.store.reserve.state == "held"
        m.add("space returned: writes resume")
        assert m.stats().total == 2
    finally:
        m.close()


def test_a_vector_index_checkpoint_on_a_full_disk_leaves_no_temporary_file(
    small_disk: Callable[[int], Any], disk_settings: Callable[..., Settings], embedder: Any
) -> None:
    disk = small_disk(DISK)
    m = Memory(disk_settings(disk.path / "data"), embedder=embedder, background=False)
    try:
        m.add_many([f"vector number {i} in the index" for i in range(50)])
        disk.fill()
        with pytest.raises(StorageFull):
            m.store.vectors.checkpoint()
        index_dir = disk.path / "data" / "index"
        assert [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")] == []
    finally:
        m.close()  # the checkpoint at close fails too (logged); connections still close
    leftovers = [p for p in (disk.path / "data").rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    disk.empty()  # the next start replays the WAL the failed close left behind
    with Memory(disk_settings(disk.path / "data"), embedder=embedder, background=False) as again:
        assert again.stats().total == 50
        assert consistency_report(again.store)["ok"]

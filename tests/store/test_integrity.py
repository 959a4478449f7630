"""Corruption detection in the engine (RELIABILITY.md R7): checksums on every write path,
migration 8, reads meeting damage, the -wal header, the checks at open and in the background.

Damage is real: bytes of the closed (checkpointed) SQLite file are changed
with ``tests/_damage.py`` and the store is opened again.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _damage import flip_text, garble_page, pages_of, rowids_on
from memoryd import Memory, Settings
from memoryd.errors import BackendUnavailable, StoreCorrupted
from memoryd.records import record_from_input, text_hash
from memoryd.store.connection import Pragmas
from memoryd.store.health import is_corruption
from memoryd.store.integrity import verify_path, wal_header_damage
from memoryd.store.migrations import MIGRATIONS, migrate
from memoryd.store.sqlite import SQLiteStore
from memoryd.types import MemoryInput


def _reopen(settings: Settings, embedder: Any, **overrides: Any) -> Memory:
    return Memory(settings.model_copy(update=overrides), embedder=embedder)


def _unit(seed: int, dim: int = 384) -> list[float]:
    vec = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (vec / np.linalg.norm(vec)).tolist()


def test_checksums_follow_every_write_path(memory: Memory) -> None:
    first = memory.add("Ann prefers oolong tea", tags=["prefs"], metadata={"a": 1})
    memory.add_many([{"content": f"note {i} about Berlin", "vector": _unit(i)} for i in range(5)])
    memory.update(first.id, metadata={"b": 2}, importance=0.9, tags=["x"])  # update_fields
    memory.update(first.id, content="Ann prefers green tea")  # replace
    newer = memory.supersede(first.id, "Ann prefers coffee")  # supersede link
    memory.append("s1", "hello there", role="user")
    memory.append("s1", "general kenobi", role="assistant")
    memory.set_state("s1", "step", {"n": 1})
    memory.set_state("s1", "step", {"n": 2})  # upsert in place
    memory.kv_set("theme", "dark", ttl_seconds=3600)
    memory.delete(newer.id)  # the superseded entry becomes current again
    exported = list(memory.export())
    with Memory(
        memory.settings.model_copy(update={"data_dir": memory.settings.data_dir / "b"}),
        embedder=memory.embedder,
    ) as other:
        assert other.import_entries(exported) == len(exported)  # ids and history links
        assert other.verify_storage().ok
    store = memory.store
    rec = record_from_input(MemoryInput(content="queued for the backfill"), context="", vector=None)
    rowid = store.writes.insert([rec])[0].rowid  # no vector: a queue entry
    vector = np.asarray(_unit(99), dtype=np.float32)
    assert store.queue.fill([(rowid, vector, text_hash(rec.embed_text), rec.embed_text)]) == 1
    report = memory.verify_storage()
    assert report.ok, report.problems
    assert report.rows["memories"] == memory.stats().total
    assert report.rows["vectors"] == memory.stats().vectors
    assert report.checks == {
        "wal_header": "ok",
        "integrity_check": "ok",
        "checksum": "ok",
        "consistency": "ok",
        "fts_integrity_check": "ok",
    }
    assert memory.stats().integrity.status == "ok"  # type: ignore[union-attr]


def test_a_model_change_keeps_checksums(settings: Settings, memory: Memory) -> None:
    memory.add("a row that will be re-embedded")
    memory.close()
    store = SQLiteStore(
        settings.db_path, settings.index_dir, Pragmas(), model="another-model", dim=384
    )
    try:
        assert store.reembed_started
        report = store.integrity.verify("full")
        assert report.ok, report.problems
    finally:
        store.close()


def test_migration_8_gives_an_old_store_its_checksums(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
    )
    for migration in [m for m in MIGRATIONS if m.version <= 5]:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, "x"))
    blob = np.asarray(_unit(1), dtype="<f4").tobytes()
    for rowid in (1, 2):
        conn.execute(
            "INSERT INTO memories(rowid, id, namespace, kind, content, content_hash, created_at, "
            "updated_at, text_hash, metadata) VALUES (?, ?, 'default', 'memory', ?, 'h', 1, 1, ?, "
            "'{\"k\": 1}')",
            (
                rowid,
                f"00000000-0000-0000-0000-00000000000{rowid}",
                f"old text {rowid}",
                f"t{rowid}",
            ),
        )
        conn.execute(
            "INSERT INTO memories_fts(rowid, body, context, ns) VALUES (?, ?, '', ?)",
            (rowid, f"old text {rowid}", "n" + b"default".hex()),
        )
        conn.execute("INSERT INTO vectors VALUES (?, ?)", (rowid, blob))
        conn.execute("INSERT INTO embedding_cache VALUES ('m', ?, ?)", (f"t{rowid}", blob))
    assert migrate(conn) == MIGRATIONS[-1].version
    sums = conn.execute("SELECT checksum, fts_checksum FROM memories").fetchall()
    assert all(a is not None and b is not None for a, b in sums)
    assert conn.execute("SELECT COUNT(*) FROM vectors WHERE checksum IS NULL").fetchone() == (0,)
    assert (
        conn.execute("SELECT COUNT(*) FROM embedding_cache WHERE checksum IS NULL").fetchone()[0]
        == 0
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    report = verify_path(db)
    assert report.ok, report.problems
    assert report.rows == {"memories": 2, "vectors": 2, "memories_fts": 2, "embedding_cache": 2}
    flip_text(db, b"old text 2", table="memories")  # damage after the migration is found
    damaged = verify_path(db)
    assert not damaged.ok
    assert {p.table for p in damaged.problems if p.check == "checksum"} >= {"memories"}


@pytest.fixture
def closed_store(settings: Settings, embedder: Any) -> Settings:
    """A store of 400 entries (several pages per table), closed and checkpointed."""
    with Memory(settings, embedder=embedder, background=False) as memory:
        memory.add_many(
            [{"content": f"entry {i:04d} about Lisbon", "vector": _unit(i)} for i in range(400)]
        )
        memory.add("the unique sentence about a purple giraffe", vector=_unit(1000))
    assert not (settings.data_dir / "memoryd.db-wal").exists()
    return settings


def test_a_flipped_byte_in_a_row_is_never_served(closed_store: Settings, embedder: Any) -> None:
    flip_text(closed_store.db_path, b"purple giraffe", table="memories")  # p -> q
    assert (
        verify_path(closed_store.db_path).checks["integrity_check"] == "ok"
    )  # SQLite sees nothing
    with Memory(closed_store, embedder=embedder, background=False) as memory:
        with pytest.raises(StoreCorrupted) as caught:
            memory.search("giraffe", mode="keyword")
        assert caught.value.code == "storage_corrupted" and caught.value.http_status == 503
        assert memory.store.health.corrupted
        with pytest.raises(StoreCorrupted, match="Restore memoryd.db from a backup"):
            memory.add("a write after the damage")
        intact = memory.store.fetch([1])[1]  # intact rows still read
        assert memory.get(intact.id).content == "entry 0000 about Lisbon"


def test_a_read_meeting_a_malformed_page_raises_store_corrupted(
    closed_store: Settings, embedder: Any
) -> None:
    db = closed_store.db_path
    leaf = pages_of(db, "memories")[-1]
    damaged = set(rowids_on(db, leaf))
    garble_page(db, leaf)
    with Memory(closed_store, embedder=embedder, background=False) as memory:
        assert not memory.store.health.corrupted  # one-shot engines skip the open check
        with pytest.raises(StoreCorrupted, match="database disk image is malformed"):
            memory.list(limit=1000)
        status = memory.stats().integrity
        assert status is not None and status.status == "corrupted" and status.source == "sqlite"
        with pytest.raises(StoreCorrupted):
            memory.kv_set("k", "v")
        rowid = min(set(range(1, 400)) - damaged)
        intact = memory.store.fetch([rowid])[rowid]
        assert memory.get(intact.id).content == intact.content


def test_the_quick_check_at_open_finds_a_malformed_page(
    closed_store: Settings, embedder: Any
) -> None:
    garble_page(closed_store.db_path, pages_of(closed_store.db_path, "vectors")[3])
    memory = _reopen(closed_store, embedder, integrity_open_check_budget_s=120.0)
    try:
        assert memory.store.health.corrupted  # found before the engine was handed out
        status = memory.stats().integrity
        assert status is not None and status.source == "quick_check" and status.check == "quick"
        with pytest.raises(StoreCorrupted):
            memory.add("refused")
    finally:
        memory.close()


def test_the_background_check_finds_payload_damage(closed_store: Settings, embedder: Any) -> None:
    blob = np.asarray(_unit(7), dtype="<f4").tobytes()
    flip_text(closed_store.db_path, blob[:16], table="vectors", mask=0x80)
    memory = _reopen(
        closed_store, embedder, integrity_check_delay_s=0.0, integrity_check_interval_s=3600.0
    )
    try:
        deadline = time.monotonic() + 120
        while not memory.store.health.corrupted and time.monotonic() < deadline:
            time.sleep(0.05)
        status = memory.stats().integrity
        assert status is not None and status.status == "corrupted", status
        assert status.source == "checksum" and "vectors rowid 8" in (status.detail or "")
    finally:
        memory.close()


def test_export_refuses_an_entry_without_its_vector(closed_store: Settings, embedder: Any) -> None:
    conn = sqlite3.connect(str(closed_store.db_path), isolation_level=None)
    conn.execute("DELETE FROM vectors WHERE rowid = 5")  # no queue entry either
    conn.close()
    with (
        Memory(closed_store, embedder=embedder, background=False) as memory,
        pytest.raises(StoreCorrupted, match="rowid 5 has no vector and none is queued"),
    ):
        list(memory.export())


def _with_wal(settings: Settings, embedder: Any, target: Path) -> str:
    """Copy the store while an engine holds it open after one write: the copy has a ``-wal``."""
    with Memory(settings, embedder=embedder, background=False) as memory:
        entry = memory.add("a commit that lives only in the -wal file", vector=_unit(5000))
        target.mkdir()
        for name in ("memoryd.db", "memoryd.db-wal"):
            shutil.copy(settings.data_dir / name, target / name)
    return str(entry.id)


def test_a_damaged_wal_header_is_found_and_the_wal_kept(
    closed_store: Settings, embedder: Any, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    entry_id = _with_wal(closed_store, embedder, copy)
    db = copy / "memoryd.db"
    assert wal_header_damage(db) is None
    wal = copy / "memoryd.db-wal"
    data = bytearray(wal.read_bytes())
    data[20] ^= 0x10  # salt-2
    wal.write_bytes(bytes(data))
    assert "header checksum mismatch" in (wal_header_damage(db) or "")
    settings = closed_store.model_copy(update={"data_dir": copy})
    with Memory(settings, embedder=embedder) as memory:
        assert memory.store.health.corrupted and memory.store.pool.read_only_file
        assert memory.stats().integrity.source == "wal_header"  # type: ignore[union-attr]
        with pytest.raises(StoreCorrupted, match="-wal header is damaged"):
            memory.add("refused")
        assert len(memory.list(limit=1000).items) == 401  # the file's rows still read
        assert entry_id not in {str(e.id) for e in memory.list(limit=1000).items}
    assert wal.read_bytes() == bytes(data)  # nothing rewrote or deleted the WAL
    assert not verify_path(db).ok  # so the damage is still reported after a restart


def test_corruption_errors_are_recognised() -> None:
    def error(text: str, code: int | None = None) -> sqlite3.DatabaseError:
        exc = sqlite3.DatabaseError(text)
        if code is not None:
            exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    assert is_corruption(error("database disk image is malformed", 11))
    assert is_corruption(error("database disk image is malformed", 267))  # SQLITE_CORRUPT_VTAB
    assert is_corruption(error("file is not a database", 26))
    assert is_corruption(error("invalid fts5 file format (found 7, expected 4) - run 'rebuild'"))
    assert is_corruption(error("Could not decode to UTF-8 column 'content' with text 'x'"))
    assert not is_corruption(error("database is locked", 5))
    assert not is_corruption(error("UNIQUE constraint failed: memories.id", 2067))
    assert not is_corruption(ValueError("database disk image is malformed"))


def test_verify_of_a_store_locked_by_a_writer_is_unavailable(closed_store: Settings) -> None:
    writer = sqlite3.connect(str(closed_store.db_path), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        with pytest.raises(BackendUnavailable, match="database is locked"):
            verify_path(closed_store.db_path, busy_timeout_s=0.1)  # expected to run out
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert verify_path(closed_store.db_path).ok

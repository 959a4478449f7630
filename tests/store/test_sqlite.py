"""The SQLite store: migrations, PRAGMAs, atomic writes, index checkpoints and replay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from memoryd import DimensionMismatch, Memory
from memoryd.store.connection import Pragmas, verify_pragmas
from memoryd.store.maintenance import consistency_report
from memoryd.store.migrations import MIGRATIONS, applied_versions, pending


def test_migrations_recorded_and_idempotent(memory: Memory) -> None:
    conn = memory.store.pool.writer
    assert applied_versions(conn) == [m.version for m in MIGRATIONS] == list(range(1, 11))
    assert pending(conn) == []
    assert memory.store.schema_version == MIGRATIONS[-1].version


def test_effective_pragmas_read_back(memory: Memory) -> None:
    eff = memory.store.pool.effective
    assert eff == {
        "journal_mode": "wal",
        "synchronous": "FULL",
        "busy_timeout": 10_000,
        "foreign_keys": True,
    }


def test_synchronous_normal_when_configured(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    with Memory(
        settings.model_copy(update={"sqlite_synchronous": "NORMAL"}), embedder=embedder
    ) as mem:
        assert mem.store.pool.effective["synchronous"] == "NORMAL"


def test_verify_pragmas_rejects_mismatch(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "x.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    from memoryd import ConfigError

    with pytest.raises(ConfigError) as info:
        verify_pragmas(conn, Pragmas())
    assert "journal_mode" in info.value.message and "synchronous" in info.value.message


def test_write_parts_are_consistent(memory: Memory) -> None:
    for i in range(20):
        memory.add(f"fact number {i} about tea and cakes", tags=["t"])
    memory.append("s", "hello there")
    memory.kv_set("k", {"a": 1})
    report = consistency_report(memory.store)
    assert report["ok"], report
    assert report["rows"] == 22 and report["indexed"] == 22


def test_wrong_dimension_is_rejected_and_nothing_written(memory: Memory) -> None:
    memory.add("kept")
    with pytest.raises(DimensionMismatch) as info:
        memory.add("bad vector", vector=[0.1] * 10)
    assert info.value.details == {"expected": 384, "got": 10, "model": "all-MiniLM-L6-v2"}
    assert memory.stats().total == 1


def test_precomputed_vector_is_stored_normalised(memory: Memory) -> None:
    vec = np.zeros(384, dtype=np.float32)
    vec[3] = 2.0
    entry = memory.add("custom vector", vector=vec.tolist())
    exported = next(e for e in memory.export() if e.id == entry.id)
    assert exported.vector is not None
    assert exported.vector[3] == pytest.approx(1.0)
    hits = memory.search("anything", mode="vector", limit=1).hits
    assert hits[0].entry.id == entry.id


def test_index_checkpoint_then_replay_after_reopen(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    mem = Memory(settings, embedder=embedder, background=False)
    first = mem.add("the lighthouse keeper painted the door blue")
    seq = mem.store.vectors.checkpoint()
    assert seq > 0
    # Written after the checkpoint: must be replayed from index_log on reopen.
    second = mem.add("a violin concert on saturday night")
    mem.store.pool.close()  # like a crash: connections gone, no final checkpoint
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "checkpoint"
        ids = [h.entry.id for h in mem.search("violin concert", mode="vector", limit=1).hits]
        assert ids == [second.id]
        ids = [h.entry.id for h in mem.search("painted door", mode="vector", limit=1).hits]
        assert ids == [first.id]
        assert consistency_report(mem.store)["ok"]


def test_missing_index_is_rebuilt_from_table(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    with Memory(settings, embedder=embedder, background=False) as mem:
        entry = mem.add("penguins live in the southern hemisphere")
    for path in settings.index_dir.iterdir():
        path.unlink()
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "rebuilt"
        assert mem.search("where do penguins live", mode="vector").hits[0].entry.id == entry.id


def test_corrupt_manifest_is_rebuilt(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    with Memory(settings, embedder=embedder, background=False) as mem:
        entry = mem.add("rebuild me from the table")
    (settings.index_dir / "manifest.json").write_text('{"version": 1, "model": "other"}')
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "rebuilt"
        assert mem.get(entry.id).content == "rebuild me from the table"
        assert consistency_report(mem.store)["ok"]


def test_float32_checkpoint_is_rebuilt_as_float16(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    """A format-1 (float32) checkpoint from an older memoryd is rebuilt once, then loaded."""
    import json

    import numpy as np

    from memoryd.store.rows import decode_vector
    from memoryd.store.vector_index import INDEX_FORMAT, VECTOR_ATOL

    with Memory(settings, embedder=embedder) as mem:  # close() writes the checkpoint
        entry = mem.add("the lighthouse keeper logs every passing ship")
    manifest_path = settings.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["version"] == INDEX_FORMAT == 2
    manifest_path.write_text(json.dumps(manifest | {"version": 1}))
    with Memory(settings, embedder=embedder) as mem:
        assert mem.index_source == "rebuilt"
        hit = mem.search("who records ships", mode="vector").hits[0]
        assert hit.entry.id == entry.id
        rowid, blob = (
            mem.store.pool.reader().execute("SELECT rowid, vector FROM vectors").fetchone()
        )
        stored = decode_vector(blob)
        indexed = mem.store.vectors.index.vectors("default", [rowid])[0]
        assert np.abs(indexed - stored).max() <= VECTOR_ATOL  # a float16 copy of the truth
        assert consistency_report(mem.store)["ok"]
        mem.store.vectors.checkpoint()
    assert json.loads(manifest_path.read_text())["version"] == INDEX_FORMAT
    with Memory(settings, embedder=embedder, background=False) as mem:
        assert mem.index_source == "checkpoint"


def test_second_process_view_catches_up_through_index_log(settings, embedder) -> None:  # type: ignore[no-untyped-def]
    a = Memory(settings, embedder=embedder, background=False)
    b = Memory(settings, embedder=embedder, background=False)
    try:
        written = b.add("quantum entanglement lecture notes")
        hits = a.search("quantum lecture", mode="vector", limit=1).hits
        assert hits and hits[0].entry.id == written.id
        # A checkpoint by one compacts the log; the other reloads and stays correct.
        b.store.vectors.checkpoint()
        again = b.add("second note about photons")
        hits = a.search("photons", mode="vector", limit=1).hits
        assert hits[0].entry.id == again.id
    finally:
        a.close()
        b.close()


def test_migration_2_moves_fts_rows_with_namespace_tokens(tmp_path: Path) -> None:
    from memoryd.store.fts import build_match_query
    from memoryd.store.migrations import MIGRATIONS, migrate

    conn = sqlite3.connect(str(tmp_path / "m.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
    )
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial', 0)")
    conn.execute(
        "INSERT INTO memories(rowid, id, namespace, kind, content, content_hash, created_at, "
        "updated_at, text_hash) VALUES (7, 'x', 'team/a', 'memory', 'tea time', 'h', 0, 0, 'h')"
    )
    conn.execute("INSERT INTO memories_fts(rowid, body, context) VALUES (7, 'tea time', '')")
    assert migrate(conn) == MIGRATIONS[-1].version
    match = build_match_query("tea", "team/a")
    assert conn.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?", (match,)
    ).fetchall() == [(7,)]
    other = build_match_query("tea", "team/b")
    assert (
        conn.execute(
            "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?", (other,)
        ).fetchall()
        == []
    )


def test_migration_5_keeps_queued_rows_free_to_lease(tmp_path: Path) -> None:
    from memoryd.store.migrations import migrate

    conn = sqlite3.connect(str(tmp_path / "m.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
    )
    assert migrate(conn, target=4) == 4
    conn.execute(
        "INSERT INTO embedding_queue(rowid, text, enqueued_at, attempts) VALUES (3, 'tea', 1, 2)"
    )
    assert migrate(conn, target=5) == 5
    assert conn.execute(
        "SELECT rowid, text, attempts, leased_until FROM embedding_queue"
    ).fetchall() == [(3, "tea", 2, 0.0)]
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM embedding_queue WHERE leased_until <= 1 "
        "ORDER BY attempts, enqueued_at LIMIT 64"
    ).fetchall()
    assert "embedding_queue_order" in plan[0][3]  # the queue's order comes from the index
    conn.close()

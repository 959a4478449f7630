"""Migration 6 (``memories`` ids unique per namespace) on a store made at version 5.

The version-5 store is written by the real engine with the schema stopped at
version 5, with data in every table; migration 6 then runs when the engine
opens it normally. Every table keeps its rows exactly, ``memories`` keeps its
rowids (the FTS and vector key), its indexes and the ``keyword_log``
triggers, and search, history and the vector-index checkpoint still work.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

import memoryd.store.sqlite as sqlite_store
from memoryd import IdConflict, Memory, Settings
from memoryd.records import record_from_input
from memoryd.store.maintenance import consistency_report
from memoryd.store.migrations import MIGRATIONS, applied_versions, migrate
from memoryd.types import MemoryInput

_STEPS = [
    {"tool": "read_file", "action": "open", "result": {"status": "success"}},
    {"tool": "run_tests", "action": "pytest", "result": {"status": "error", "message": "E1"}},
    {"tool": "edit_file", "action": "fix", "result": {"status": "success"}},
    {"tool": "run_tests", "action": "pytest", "result": {"status": "success"}},
]


def _fill_version_5(memory: Memory) -> dict[str, Any]:
    """Rows in every table of a version-5 store; returns what to look for afterwards."""
    kept = memory.add("Ann prefers green tea", tags=["prefs"], namespace="team/a")
    old = memory.add("the meeting is on monday", namespace="team/a")
    new = memory.supersede(old.id, "the meeting moved to thursday", namespace="team/a")
    memory.add("the sky is blue", namespace="team/b", ttl_seconds=3600)
    memory.append("s1", "hi, I went to Kyoto", namespace="team/b")
    memory.append("s1", "when was that?", role="assistant", namespace="team/b")
    memory.kv_set("theme", "dark", namespace="team/a")
    memory.set_state("s1", "mode", {"fast": True}, namespace="team/b")
    gone = memory.add("to be deleted", namespace="team/a")
    memory.delete(gone.id, namespace="team/a")
    # a row acknowledged with a queue entry instead of its vector
    queued = record_from_input(MemoryInput(content="waiting for its vector", namespace="team/a"))
    memory.store.insert([queued])
    for n in range(2):  # one episode extracted into patterns, one left in the queue
        episode = memory.start_episode(f"fix the failing test {n}", domain="code")
        memory.log_steps(episode.id, _STEPS)
        memory.checkpoint_episode(episode.id, note=f"half way {n}")
        memory.complete_episode(episode.id, {"type": "success", "verdict": "tests pass"})
        if n == 0:
            memory.extract_patterns()
    pattern = memory.list_patterns()[0]
    memory.record_feedback(pattern.id, success=True, reward=0.8)
    memory.store.checkpoint_index()  # index checkpoint on disk, as a daemon leaves it
    return {"kept": kept, "old": old, "new": new, "queued_id": queued.id}


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS shadow tables included), rowids first where they exist."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
    ]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name in names:
        without_rowid = (
            "WITHOUT ROWID"
            in conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (name,))
            .fetchone()[0]
            .upper()
        )
        select = f"SELECT * FROM {name}" if without_rowid else f"SELECT rowid, * FROM {name}"
        out[name] = sorted(tuple(r) for r in conn.execute(select))
    return out


def _schema(conn: sqlite3.Connection, table: str) -> set[tuple[str, str]]:
    return {
        (r[0], " ".join(str(r[1]).split()))
        for r in conn.execute(
            "SELECT type, sql FROM sqlite_schema WHERE tbl_name = ? "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL",
            (table,),
        )
    }


def _full_schema(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute("SELECT * FROM sqlite_schema ORDER BY type, name")]


@pytest.fixture
def version_5_store(
    settings: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, dict[str, Any]]:
    def version_5(conn: sqlite3.Connection) -> int:
        # The engine reads its store id at open; migration 7 keeps an id already set.
        version = migrate(conn, target=5)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', 'version-5-store')")
        return version

    monkeypatch.setattr(sqlite_store, "migrate", version_5)
    with Memory(settings, embedder=embedder, background=False) as memory:
        assert memory.store.schema_version == 5
        found = _fill_version_5(memory)
    monkeypatch.undo()
    return settings, found


def test_migration_6_keeps_every_row_rowid_index_and_trigger(
    version_5_store: tuple[Settings, dict[str, Any]], embedder: Any, tmp_path: Path
) -> None:
    settings, found = version_5_store
    conn = sqlite3.connect(str(settings.db_path))
    before = _tables(conn)
    memories_schema_v5 = _schema(conn, "memories")
    conn.close()
    assert all(before[t] for t in before if t != "schema_migrations"), [
        t for t, rows in before.items() if not rows
    ]
    with Memory(settings, embedder=embedder, background=False) as memory:
        writer = memory.store.pool.writer
        assert applied_versions(writer)[-1] == MIGRATIONS[-1].version >= 6
        after = _tables(memory.store.pool.reader())
        assert {t: rows for t, rows in after.items() if t != "schema_migrations"} == {
            t: rows for t, rows in before.items() if t != "schema_migrations"
        }
        schema = _schema(writer, "memories")
        assert memories_schema_v5 <= schema  # every index and trigger of version 5, recreated
        assert sum(1 for kind, _ in schema if kind == "trigger") == 3
        unique = [
            r
            for r in writer.execute("PRAGMA index_list(memories)")
            if r["unique"] and r["origin"] == "u"
        ]
        assert len(unique) == 1
        columns = [r["name"] for r in writer.execute(f"PRAGMA index_info({unique[0]['name']})")]
        assert columns == ["namespace", "id"]
        assert writer.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        writer.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        # the saved vector index (keyed by rowid) is loaded, not rebuilt, and still right
        assert memory.index_source == "checkpoint"
        hit = memory.search("what does Ann drink?", mode="vector", namespace="team/a").hits[0]
        assert hit.entry.id == found["kept"].id
        memory.workers.backfill()
        assert consistency_report(memory.store)["ok"]
        history = memory.history(found["old"].id, namespace="team/a")
        assert [e.id for e in history] == [found["old"].id, found["new"].id]
        seq = writer.execute("SELECT max(seq) FROM keyword_log").fetchone()[0]
        same_id = memory.add("tea in team b", id=found["kept"].id, namespace="team/b")
        assert same_id.id == found["kept"].id
        assert writer.execute("SELECT max(seq) FROM keyword_log").fetchone()[0] == seq + 1
        assert memory.search("tea", mode="keyword", namespace="team/b").hits[0].entry.id == (
            same_id.id
        )
        with pytest.raises(IdConflict):
            memory.add("again", id=found["kept"].id, namespace="team/a")
        assert memory.kv_get("theme", namespace="team/a") == "dark"
        assert memory.get_state("s1", "mode", namespace="team/b") == {"fast": True}
        assert memory.get(found["queued_id"], namespace="team/a").dim == 384


def test_migration_6_rolls_back_whole(
    version_5_store: tuple[Settings, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the rebuild leaves version 5 exactly as it was."""
    import memoryd.store.table_rebuild as table_rebuild

    settings, _ = version_5_store
    conn = sqlite3.connect(str(settings.db_path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    before, schema = _tables(conn), _full_schema(conn)
    real_rebuild = table_rebuild.rebuild_table

    def rebuild_then_fail(c: sqlite3.Connection, *args: Any) -> int:
        copied = real_rebuild(c, *args)
        c.execute("CREATE INDEX broken ON no_such_table(x)")  # after the drop and the rename
        return copied

    monkeypatch.setattr("memoryd.store.migrations.rebuild_table", rebuild_then_fail)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn)
    assert applied_versions(conn)[-1] == 5
    assert _tables(conn) == before and _full_schema(conn) == schema
    monkeypatch.undo()
    assert migrate(conn) == MIGRATIONS[-1].version
    after = _tables(conn)
    assert {t: r for t, r in after.items() if t != "schema_migrations"} == {
        t: r for t, r in before.items() if t != "schema_migrations"
    }
    conn.close()


def test_two_namespaces_may_share_an_id_only_after_migration_6(tmp_path: Path) -> None:
    conn = sqlite3.connect(str(tmp_path / "m.db"), isolation_level=None)
    migrate(conn, target=5)
    insert = (
        "INSERT INTO memories(id, namespace, kind, content, content_hash, created_at, "
        "updated_at, text_hash) VALUES (?, ?, 'memory', 'x', 'h', 0, 0, 'h')"
    )
    shared = str(uuid.uuid4())
    conn.execute(insert, (shared, "a"))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (shared, "b"))
    migrate(conn)
    conn.execute(insert, (shared, "b"))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (shared, "b"))
    assert conn.execute("SELECT count(*) FROM memories WHERE id = ?", (shared,)).fetchone()[0] == 2
    conn.close()

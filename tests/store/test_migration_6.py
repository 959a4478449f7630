"""Migration 6 (``memories`` ids unique per namespace) on a store made at version 5.

The version-5 store holds data the real engine wrote in every table: the
engine fills a store of the current schema, and its rows are copied, column
by column, into a database migrated only up to version 5 (the engine itself
writes columns of later migrations, such as the checksums of migration 8).
Migration 6 alone keeps every row of every table exactly, ``memories`` keeps
its rowids (the FTS and vector key), its indexes and the ``keyword_log``
triggers; after the remaining migrations, search, history and the
vector-index checkpoint still work.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from memoryd import IdConflict, Memory, Settings
from memoryd.records import record_from_input
from memoryd.store.connection import Pragmas
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
    memory.store.writes.insert([queued])
    for n in range(2):  # one episode extracted into patterns, one left in the queue
        episode = memory.start_episode(f"fix the failing test {n}", domain="code")
        memory.log_steps(episode.id, _STEPS)
        memory.checkpoint_episode(episode.id, note=f"half way {n}")
        memory.complete_episode(episode.id, {"type": "success", "verdict": "tests pass"})
        if n == 0:
            memory.extract_patterns()
    pattern = memory.list_patterns()[0]
    memory.record_feedback(pattern.id, success=True, reward=0.8)
    memory.store.vectors.checkpoint()  # index checkpoint on disk, as a daemon leaves it
    return {"kept": kept, "old": old, "new": new, "queued_id": queued.id}


def _without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute("SELECT sql FROM main.sqlite_schema WHERE name = ?", (table,)).fetchone()
    return "WITHOUT ROWID" in str(sql[0]).upper()


def _plain_tables(conn: sqlite3.Connection) -> list[tuple[str, bool]]:
    """``(name, without rowid)`` of every table but SQLite's own and the FTS5 virtual table
    (its shadow tables are included)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM main.sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
    ]
    return [(name, _without_rowid(conn, name)) for name in names]


def _tables(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS shadow tables included), rowids first where they exist."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name, without_rowid in _plain_tables(conn):
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


def _copy_into_version_5(source: Path, target: Path) -> None:
    """Copy every table of ``source`` into a new database at ``target`` migrated to version 5.

    Only the columns version 5 has are copied, the FTS5 index as its shadow
    tables; ``keyword_log`` first, so that the rows its triggers add for the
    copied ``memories`` come after its own.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(target), isolation_level=None)
    Pragmas().apply(conn)
    assert migrate(conn, target=5) == 5
    conn.execute("ATTACH DATABASE ? AS source", (str(source),))
    tables = [name for name, _ in _plain_tables(conn) if name != "schema_migrations"]
    conn.execute("BEGIN")
    for table in sorted(tables, key=lambda name: name != "keyword_log"):
        columns = ", ".join(r[1] for r in conn.execute(f"PRAGMA main.table_info({table})"))
        rowid = "" if _without_rowid(conn, table) else "rowid, "
        conn.execute(  # OR REPLACE: the new FTS5 shadow tables hold their initial rows
            f"INSERT OR REPLACE INTO main.{table}({rowid}{columns}) "
            f"SELECT {rowid}{columns} FROM source.{table}"
        )
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE source")
    conn.close()


@pytest.fixture
def version_5_store(
    settings: Settings, embedder: Any, tmp_path: Path
) -> tuple[Settings, dict[str, Any]]:
    current = settings.model_copy(update={"data_dir": tmp_path / "current"})
    with Memory(current, embedder=embedder, background=False) as memory:
        found = _fill_version_5(memory)
    _copy_into_version_5(current.db_path, settings.db_path)
    shutil.copytree(current.index_dir, settings.index_dir)
    return settings, found


def test_migration_6_keeps_every_row_rowid_index_and_trigger(
    version_5_store: tuple[Settings, dict[str, Any]], embedder: Any, tmp_path: Path
) -> None:
    settings, found = version_5_store
    conn = sqlite3.connect(str(settings.db_path), isolation_level=None)
    before = _tables(conn)
    memories_schema_v5 = _schema(conn, "memories")
    assert all(before[t] for t in before if t != "schema_migrations"), [
        t for t, rows in before.items() if not rows
    ]
    assert migrate(conn, target=6) == 6
    after = _tables(conn)
    assert {t: rows for t, rows in after.items() if t != "schema_migrations"} == {
        t: rows for t, rows in before.items() if t != "schema_migrations"
    }
    schema = _schema(conn, "memories")
    assert memories_schema_v5 <= schema  # every index and trigger of version 5, recreated
    assert sum(1 for kind, _ in schema if kind == "trigger") == 3
    conn.close()
    with Memory(settings, embedder=embedder, background=False) as memory:
        writer = memory.store.pool.writer
        assert applied_versions(writer)[-1] == MIGRATIONS[-1].version >= 6
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
    assert migrate(conn, target=6) == 6
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

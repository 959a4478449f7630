"""R3: the effective SQLite settings are read back at start; any mismatch refuses to start.

Everything here uses real SQLite connections on real files: a normal store
reports ``journal_mode=wal``, the configured ``synchronous`` (FULL or NORMAL),
``busy_timeout`` and ``foreign_keys=on``; ``verify_pragmas`` names each value
that differs; and ``Memory`` refuses, with a ``ConfigError`` that says why,
a store where SQLite does not honour the settings (a busy timeout SQLite
silently drops, a database that cannot be switched to WAL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from memoryd import ConfigError, Memory, Settings
from memoryd.embeddings import Embedder
from memoryd.store.connection import ConnectionPool, Pragmas, verify_pragmas


def _pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    return {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "query_only")
    }


@pytest.mark.parametrize(
    ("synchronous", "busy_timeout_ms", "sync_code"),
    [("FULL", 10_000, 2), ("NORMAL", 2_500, 1)],
)
def test_store_reports_and_uses_the_configured_settings(
    tmp_path: Path,
    embedder: Embedder,
    make_settings: Callable[..., Settings],
    synchronous: str,
    busy_timeout_ms: int,
    sync_code: int,
) -> None:
    settings = make_settings(
        tmp_path / "store", sqlite_synchronous=synchronous, busy_timeout_ms=busy_timeout_ms
    )
    with Memory(settings=settings, embedder=embedder, background=False) as memory:
        assert memory.store.pool.effective == {
            "journal_mode": "wal",
            "synchronous": synchronous,
            "busy_timeout": busy_timeout_ms,
            "foreign_keys": True,
        }
        memory.add("settings probe")
        # The values are live on every connection, not only reported.
        writer = _pragmas(memory.store.pool.writer)
        reader = _pragmas(memory.store.pool.reader())
        for conn, query_only in ((writer, 0), (reader, 1)):
            assert conn == {
                "journal_mode": "wal",
                "synchronous": sync_code,
                "busy_timeout": busy_timeout_ms,
                "foreign_keys": 1,
                "query_only": query_only,
            }
    raw = sqlite3.connect(settings.db_path)
    try:  # WAL is a property of the file: a plain connection sees it too
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("statement", "key", "effective"),
    [
        ("PRAGMA synchronous=OFF", "synchronous", "OFF"),
        ("PRAGMA synchronous=NORMAL", "synchronous", "NORMAL"),
        ("PRAGMA synchronous=EXTRA", "synchronous", "EXTRA"),
        ("PRAGMA journal_mode=DELETE", "journal_mode", "delete"),
        ("PRAGMA journal_mode=TRUNCATE", "journal_mode", "truncate"),
        ("PRAGMA busy_timeout=0", "busy_timeout", 0),
        ("PRAGMA foreign_keys=OFF", "foreign_keys", False),
    ],
)
def test_verify_pragmas_rejects_each_real_mismatch(
    tmp_path: Path, statement: str, key: str, effective: object
) -> None:
    conn = sqlite3.connect(tmp_path / "probe.db", isolation_level=None)
    try:
        Pragmas().apply(conn)
        verify_pragmas(conn, Pragmas())  # as applied: accepted
        conn.execute(statement)
        with pytest.raises(ConfigError, match=f"{key}=") as caught:
            verify_pragmas(conn, Pragmas())
        assert caught.value.details[key] == effective
        assert caught.value.code == "config_error"
    finally:
        conn.close()


def test_in_memory_database_cannot_do_wal_and_is_refused() -> None:
    """SQLite keeps ``journal_mode=memory`` for an in-memory database whatever we ask."""
    with pytest.raises(ConfigError, match="journal_mode='memory'"):
        ConnectionPool(Path(":memory:"), Pragmas())


def test_memory_refuses_a_busy_timeout_sqlite_drops(
    tmp_path: Path, embedder: Embedder, make_settings: Callable[..., Settings]
) -> None:
    """SQLite stores busy_timeout as a C int: 2**31 ms silently becomes 0 (fail-fast on locks)."""
    settings = make_settings(tmp_path / "store", busy_timeout_ms=2**31)
    with pytest.raises(ConfigError, match=r"busy_timeout=0 \(wanted 2147483648\)") as caught:
        Memory(settings=settings, embedder=embedder, background=False)
    assert caught.value.details["busy_timeout"] == 0


def test_memory_refuses_a_store_it_cannot_switch_to_wal(
    tmp_path: Path, embedder: Embedder, make_settings: Callable[..., Settings]
) -> None:
    """A rollback-journal database held open by another reader cannot become WAL."""
    settings = make_settings(tmp_path / "store", busy_timeout_ms=300)
    settings.data_dir.mkdir()
    other = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        other.execute("CREATE TABLE note(x)")
        other.execute("INSERT INTO note VALUES (1)")
        other.execute("BEGIN")
        other.execute("SELECT * FROM note").fetchall()  # holds a SHARED lock
        started = time.monotonic()
        with pytest.raises(ConfigError, match="database is locked") as caught:
            Memory(settings=settings, embedder=embedder, background=False)
        assert time.monotonic() - started < 5.0
        assert caught.value.details["path"] == str(settings.db_path)
        other.execute("COMMIT")
    finally:
        other.close()
    # Once the other reader is gone the same store starts normally, in WAL mode.
    with Memory(settings=settings, embedder=embedder, background=False) as memory:
        assert memory.store.pool.effective["journal_mode"] == "wal"
        assert memory.add("after the lock").content == "after the lock"

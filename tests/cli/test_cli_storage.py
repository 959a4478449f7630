"""``memoryd storage verify`` and ``memoryd export`` on a sound and on a damaged store (R7)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _damage import garble_page, pages_of
from memoryd import Memory, Settings

if TYPE_CHECKING:
    from conftest import Invoke  # the fixture's type only


def _store(data_dir: Path, embedder: Any, rows: int = 300) -> Path:
    settings = Settings(data_dir=data_dir)
    with Memory(settings, embedder=embedder, background=False) as memory:
        memory.add_many([{"content": f"entry {i:04d} about Porto"} for i in range(rows)])
    return settings.db_path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_passes_on_a_sound_store_and_changes_nothing(
    cli: Invoke, data_dir: Path, embedder: Any
) -> None:
    db = _store(data_dir, embedder)
    before = _digest(db)
    result = cli("storage", "verify", "--json")
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["rows"]["memories"] == 300
    assert set(report["checks"].values()) == {"ok"}
    assert result.stderr == ""
    assert _digest(db) == before
    wal = data_dir / "memoryd.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # no commit, no checkpoint
    table = cli("storage", "verify")
    assert "ok" in table.stdout and "fts_integrity_check" in table.stdout


def test_verify_fails_with_storage_corrupted_on_a_damaged_store(
    cli: Invoke, data_dir: Path, embedder: Any
) -> None:
    db = _store(data_dir, embedder)
    garble_page(db, pages_of(db, "memories")[-1])
    before = _digest(db)
    result = cli("storage", "verify", "--json", code=1)
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["checks"]["integrity_check"] == "failed"
    (line,) = result.stderr.splitlines()
    assert line.startswith("error[storage_corrupted]: the store is damaged (")
    assert "Restore memoryd.db from a backup" in line
    assert _digest(db) == before  # read-only even when damaged


def test_verify_of_a_missing_store_is_not_found(cli: Invoke, data_dir: Path) -> None:
    result = cli("storage", "verify", code=1)
    assert result.stderr.startswith("error[not_found]: no store at ")


def test_export_of_a_damaged_store_writes_nothing(
    cli: Invoke, data_dir: Path, embedder: Any, tmp_path: Path
) -> None:
    db = _store(data_dir, embedder)
    garble_page(db, pages_of(db, "memories")[-1])
    target = tmp_path / "out.jsonl"
    failed = cli("export", str(target), code=1)
    assert failed.stderr.startswith("error[storage_corrupted]: ")
    assert not target.exists() and not list(tmp_path.glob(".out.jsonl*"))
    to_stdout = cli("export", code=1)
    assert to_stdout.stdout == ""  # nothing before the error, not a truncated stream

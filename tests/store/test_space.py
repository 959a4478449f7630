"""memoryd.store.space: telling a full disk apart, the space reserve, atomic small files (R5).

The full filesystems are real (``small_disk``: a tmpfs, or a loop-mounted
ext4 image); the SQLite errors are the ones SQLite raises there.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memoryd import StorageError, StorageFull
from memoryd.store.connection import translate_sqlite_error
from memoryd.store.space import SpaceReserve, out_of_space, write_atomic

RESERVE = 256 * 1024


def _wal_db(path: Path) -> None:
    """A WAL database with one table, closed cleanly (so no -wal/-shm file is left)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    assert not Path(f"{path}-shm").exists()


def test_sqlite_full_at_the_page_limit_is_storage_full(tmp_path: Path) -> None:
    db = tmp_path / "limited.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE t(x)")
    conn.execute("PRAGMA max_page_count=3")
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    assert info.value.sqlite_errorname == "SQLITE_FULL"
    assert out_of_space(info.value, db)
    translated = translate_sqlite_error(info.value, db)
    assert isinstance(translated, StorageFull) and translated.http_status == 507
    assert translated.code == "storage_full"


def test_a_shm_that_cannot_grow_on_a_full_disk_is_storage_full(
    small_disk: Callable[[int], Any],
) -> None:
    disk = small_disk(1 << 20)
    db = disk.path / "wal.db"
    _wal_db(db)
    disk.fill()
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("SELECT COUNT(*) FROM t").fetchone()
    conn.close()
    assert info.value.sqlite_errorname == "SQLITE_IOERR_SHMSIZE"
    assert isinstance(translate_sqlite_error(info.value, db), StorageFull)


def test_an_io_error_with_room_on_the_disk_is_not_storage_full(tmp_path: Path) -> None:
    # The same extended code SQLite gives a short write, on a disk with plenty of
    # room: a failing device, not a full disk (faultvfs makes it fail-stop).
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorname = "SQLITE_IOERR_WRITE"
    assert not out_of_space(exc, tmp_path)
    translated = translate_sqlite_error(exc, tmp_path / "x.db")
    assert type(translated) is StorageError and translated.http_status == 500


def test_os_errors_and_chains(tmp_path: Path) -> None:
    assert out_of_space(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert out_of_space(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path)
    assert not out_of_space(OSError(errno.EIO, "Input/output error"), tmp_path)
    assert not out_of_space(RuntimeError("Failed to serialize into stream"), tmp_path)
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert out_of_space(outer, tmp_path)


def test_write_atomic_leaves_no_temporary_file_when_the_disk_is_full(
    small_disk: Callable[[int], Any],
) -> None:
    disk = small_disk(1 << 20)
    target = disk.path / "daemon.json"
    assert write_atomic(target, b'{"old": true}')
    disk.fill()
    with pytest.raises(OSError) as info:
        write_atomic(target, b"x" * 200_000)
    assert info.value.errno == errno.ENOSPC
    assert sorted(p.name for p in disk.path.iterdir()) == ["daemon.json", "filler"]
    assert target.read_bytes() == b'{"old": true}'  # the old content is intact
    disk.empty()
    assert not write_atomic(target, b"theirs", replace=False)  # link: the existing file wins
    assert target.read_bytes() == b'{"old": true}'
    assert target.stat().st_mode & 0o777 == 0o600


def test_the_reserve_is_given_up_for_a_start_up_step_and_remade_when_space_returns(
    small_disk: Callable[[int], Any],
) -> None:
    disk = small_disk(2 << 20)
    reserve = SpaceReserve(disk.path / "space-reserve", RESERVE)
    assert reserve.state == "absent"
    assert reserve.ensure() and reserve.state == "held"
    reserve.check_writable()  # held: writes go on
    disk.fill()
    target = disk.path / "daemon.json"
    assert reserve.call(lambda: write_atomic(target, b"{}"), target)  # needed the reserve
    assert target.read_bytes() == b"{}"
    assert reserve.state == "released" and reserve.path.stat().st_size == 0
    with pytest.raises(StorageFull) as info:
        reserve.check_writable()  # released and no room to remake it
    assert info.value.details["free_bytes"] < 2 * RESERVE
    assert SpaceReserve(reserve.path, RESERVE).state == "released"  # every process sees it
    disk.empty()
    reserve.check_writable()  # remade on the way: writes resume
    assert reserve.state == "held" and reserve.path.stat().st_size == RESERVE


def test_the_reserve_never_takes_the_last_space(small_disk: Callable[[int], Any]) -> None:
    disk = small_disk(1 << 20)
    disk.fill()
    reserve = SpaceReserve(disk.path / "space-reserve", RESERVE)
    assert not reserve.ensure()
    assert reserve.state == "absent"  # never made: writes are not held back
    reserve.check_writable()
    assert not reserve.release()
    failing = OSError(errno.ENOSPC, "No space left on device")

    def step() -> None:
        raise failing

    with pytest.raises(OSError) as info:
        reserve.call(step, disk.path)
    assert info.value is failing
    assert SpaceReserve(reserve.path, 0).state == "off"

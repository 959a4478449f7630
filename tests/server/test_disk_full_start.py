"""What the daemon writes at start, on a full disk (RELIABILITY.md R5).

``daemon.json``, the token, the log file and the model export each either
succeed through the space reserve or fail cleanly: a clear error (or a
degraded start), never a crash in the middle, never a temporary file left.
Real filesystems (``small_disk``), real files.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import BackendUnavailable, Settings, StorageFull
from memoryd.embeddings.onnx_export import MODEL_NAME, ensure_exported
from memoryd.lifecycle.runtime import RuntimeInfo, read_runtime, write_runtime
from memoryd.logs import configure_logging
from memoryd.server.security import load_tokens

RESERVE = 256 * 1024


def _temporary_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp" in p.name)


def _settings(data_dir: Path, reserve: int) -> Settings:
    return Settings(data_dir=data_dir, disk_reserve_bytes=reserve)


def _full_data_dir(small_disk: Callable[[int], Any], reserve: int) -> tuple[Any, Settings]:
    disk = small_disk(1 << 20)
    settings = _settings(disk.path / "data", reserve)
    settings.data_dir.mkdir()
    from memoryd.store.space import SpaceReserve

    SpaceReserve.for_settings(settings).ensure()
    disk.fill()
    return disk, settings


def test_daemon_json_and_token_use_the_reserve_on_a_full_disk(
    small_disk: Callable[[int], Any],
) -> None:
    disk, settings = _full_data_dir(small_disk, RESERVE)
    token = load_tokens(settings).first.secret
    write_runtime(settings, RuntimeInfo(pid=1234, host="127.0.0.1", port=7077))
    assert read_runtime(settings) is not None and read_runtime(settings).pid == 1234  # type: ignore[union-attr]
    assert load_tokens(settings).first.secret == token  # read back, not made twice
    assert settings.reserve_file.stat().st_size == 0  # given up for them
    assert _temporary_files(disk.path) == []


def test_without_a_reserve_they_fail_cleanly_and_leave_no_temporary_file(
    small_disk: Callable[[int], Any],
) -> None:
    disk, settings = _full_data_dir(small_disk, 0)
    with pytest.raises(StorageFull) as info:
        load_tokens(settings)
    assert "token file" in info.value.message
    with pytest.raises(OSError):
        write_runtime(settings, RuntimeInfo(pid=1234, host="127.0.0.1", port=7077))
    assert _temporary_files(disk.path) == []
    assert not settings.resolved_token_file.exists()
    assert not settings.runtime_file.exists()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_log_lines_that_meet_a_full_disk_are_counted_never_raised(
    small_disk: Callable[[int], Any], restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_disk(1 << 20)
    log_file = disk.path / "logs" / "memoryd.log"
    stderr = io.StringIO()
    configure_logging("info", "json", stream=stderr, file=log_file, console=False)
    log = logging.getLogger("memoryd.test")
    log.info("before the disk filled")
    disk.fill()
    for i in range(200):  # enough to overflow the file's buffer many times
        log.info("a line while the disk is full %d %s", i, "x" * 200)
    assert capsys.readouterr().err.count("the disk is full; dropping log lines") == 1
    disk.empty()
    log.info("after space returned")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "before the disk filled" and events[-2] == "after space returned"
    notices = [e for e in events if "log lines met a full disk" in e]
    assert notices == [events[-1]]  # once, right after the first line written again
    assert lines[-1]["level"] == "warning"
    dropped = int(notices[0].split()[0])
    assert 0 < dropped <= 200
    assert len(events) >= 2 + 1 + (200 - dropped)  # what was not written late is counted


def test_a_log_file_that_cannot_be_created_falls_back_to_stderr(
    small_disk: Callable[[int], Any], restore_logging: None
) -> None:
    disk = small_disk(1 << 20)
    (disk.path / "logs").write_text("a file where the log folder should be")
    stderr = io.StringIO()
    configure_logging("info", "json", stream=stderr, file=disk.path / "logs" / "memoryd.log")
    logging.getLogger("memoryd.test").info("still logged")
    text = stderr.getvalue()
    assert "cannot open the log file" in text and "still logged" in text


def test_the_model_export_on_a_full_disk_is_backend_unavailable_with_no_leftovers(
    small_disk: Callable[[int], Any],
) -> None:
    disk = small_disk(1 << 20)
    models = disk.path / "models"
    disk.fill()
    with pytest.raises(BackendUnavailable) as info:
        ensure_exported(models / MODEL_NAME)
    assert "not enough free disk space" in info.value.message
    assert info.value.details["free_bytes"] < info.value.details["needed_bytes"]
    assert [p.name for p in models.iterdir() if ".tmp-" in p.name] == []

"""Shared fixtures: one real embedding model per test session, real stores in tmp dirs.

The ONNX export of all-MiniLM-L6-v2 happens once per session into a shared
model cache (``MEMORYD_MODEL_CACHE_DIR``, inherited by child processes).
A user's own config file never leaks into tests (``MEMORYD_CONFIG`` points
to an empty one; a missing file it names is an error). ``small_disk`` mounts a real small filesystem
for the full-disk tests (RELIABILITY.md R5).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import waits
from waits import stop_daemon

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("memoryd-env")
    cache = Path(os.environ.get("MEMORYD_TEST_MODEL_CACHE", str(root / "models")))
    saved = {k: os.environ.get(k) for k in ("MEMORYD_CONFIG", "MEMORYD_MODEL_CACHE_DIR")}
    empty_config = root / "empty-config.toml"
    empty_config.write_text("")
    empty_config.chmod(0o600)
    os.environ["MEMORYD_CONFIG"] = str(empty_config)
    os.environ["MEMORYD_MODEL_CACHE_DIR"] = str(cache)
    yield cache
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def model_cache_dir(_isolated_env: Path) -> Path:
    """Folder holding the session's exported ONNX model."""
    return _isolated_env


@pytest.fixture(scope="session")
def embedder(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 ONNX embedder, exported and loaded once per session."""
    from memoryd.config import Settings
    from memoryd.embeddings import OnnxEmbedder

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("embedder"), model_cache_dir=model_cache_dir
    )
    model = OnnxEmbedder(settings)
    model.warmup()
    yield model
    model.close()


@pytest.fixture
def settings(tmp_path: Path, model_cache_dir: Path):  # type: ignore[no-untyped-def]
    """Settings for a fresh store in this test's tmp dir."""
    from memoryd.config import Settings

    return Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir)


@pytest.fixture
def memory(settings, embedder):  # type: ignore[no-untyped-def]
    """A real in-process ``Memory`` on a fresh SQLite file, closed after the test."""
    from memoryd import Memory

    mem = Memory(settings, embedder=embedder)
    yield mem
    mem.close()


@pytest.fixture
def lifecycle_settings(tmp_path: Path, model_cache_dir: Path):  # type: ignore[no-untyped-def]
    """Settings for daemons started on demand in this test (port 0); they are stopped after it.

    Start, call and probe budgets are sized for a loaded machine (``tests/waits.py``).
    """
    from memoryd.config import Settings

    settings = Settings(
        data_dir=tmp_path / "data",
        model_cache_dir=model_cache_dir,
        port=0,
        start_timeout_s=waits.budget(90),
        daemon_timeout_s=waits.budget(30),
        probe_timeout_s=waits.budget(30),
        idle_timeout_s=600,
    )
    yield settings
    stop_daemon(settings)


# --- a real small filesystem (RELIABILITY.md R5) -------------------------------
class SmallDisk:
    """A small filesystem mounted for one test: tmpfs, else a loop-mounted ext4 image.

    ``fill()`` writes a filler file until the filesystem is full (``ENOSPC``
    even for one byte); ``empty()`` deletes it, which is "space returns".
    """

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.filler = path / "filler"

    def free(self) -> int:
        """Bytes free for root (``f_bfree``)."""
        st = os.statvfs(self.path)
        return st.f_bfree * st.f_frsize

    def fill(self) -> int:
        """Append to the filler until not one byte fits; returns the filler's size in bytes."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = 1 << 20
            while chunk:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == 28, exc  # ENOSPC, nothing else
                    chunk //= 2
        finally:
            os.close(fd)
        return self.filler.stat().st_size

    def empty(self) -> None:
        """Delete the filler: the space comes back."""
        self.filler.unlink(missing_ok=True)


def _try(cmd: list[str]) -> str | None:
    """Run ``cmd``; ``None`` on success, else its error output."""
    import subprocess

    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr or done.stdout).strip()


def _mount_small_disk(mountpoint: Path, size: int) -> tuple[str, list[str]]:
    """Mount a tmpfs (or a loop ext4 image) of ``size`` bytes; ``(kind, reasons it could not)``."""
    mountpoint.mkdir()
    reasons: list[str] = []
    error = _try(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "memoryd-test", str(mountpoint)]
    )
    if error is None:
        return "tmpfs", reasons
    reasons.append(f"tmpfs: {error}")
    image = mountpoint.with_suffix(".img")
    with image.open("wb") as fh:
        fh.truncate(max(size, 2 << 20))  # ext4 needs a little room of its own
    for cmd in (
        ["mkfs.ext4", "-q", "-F", "-m", "0", str(image)],
        ["mount", "-o", "loop", str(image), str(mountpoint)],
    ):
        error = _try(cmd)
        if error is not None:
            reasons.append(f"loop ext4 ({cmd[0]}): {error}")
            return "", reasons
    return "ext4", reasons


@pytest.fixture
def small_disk(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[int], SmallDisk]]:
    """``small_disk(size_bytes)``: mount a real small filesystem under ``tmp_path``.

    Skips with the reasons when this machine can mount neither a tmpfs nor a
    loop device (not root, no ``CAP_SYS_ADMIN``), unless
    ``MEMORYD_REQUIRE_SMALL_DISK=1`` (set by ``make unit``): then it fails.
    Unmounted after the test.
    """
    mounted: list[Path] = []

    def make(size: int) -> SmallDisk:
        mountpoint = tmp_path / f"disk{len(mounted)}"
        kind, reasons = _mount_small_disk(mountpoint, size)
        if not kind:
            message = "cannot mount a small filesystem: " + "; ".join(reasons)
            if os.environ.get("MEMORYD_REQUIRE_SMALL_DISK") == "1":
                pytest.fail(message)
            pytest.skip(message)
        mounted.append(mountpoint)
        return SmallDisk(mountpoint, kind)

    yield make
    for mountpoint in reversed(mounted):
        if _try(["umount", str(mountpoint)]) is not None:
            _try(["umount", "-l", str(mountpoint)])  # a process still holds a file: detach

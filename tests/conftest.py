"""Shared fixtures: one real embedding model per test session, real stores in tmp dirs.

The ONNX export of all-MiniLM-L6-v2 happens once per session into a shared
model cache (``MEMORYD_MODEL_CACHE_DIR``, inherited by child processes).
A user's own config file never leaks into tests (``MEMORYD_CONFIG`` points
to a file that does not exist).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    os.environ["MEMORYD_CONFIG"] = str(root / "no-such-config.toml")
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

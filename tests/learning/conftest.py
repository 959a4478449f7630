"""Fixtures of the self-learning tests: a real store on disk, extraction driven by the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memoryd import Memory, Settings


@pytest.fixture
def learning_memory(tmp_path: Path, model_cache_dir: Path, embedder: Any) -> Iterator[Memory]:
    """A ``Memory`` on a fresh SQLite file without background threads (tests drive extraction)."""
    settings = Settings(data_dir=tmp_path / "data", model_cache_dir=model_cache_dir)
    memory = Memory(settings, embedder=embedder, background=False)
    yield memory
    memory.close()

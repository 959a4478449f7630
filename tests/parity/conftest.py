"""Two backends for one scenario suite: ``Memory`` in-process and ``Client`` over HTTP.

The HTTP backend is a real uvicorn server on a free loopback port, started in
a thread for the whole session, serving its own ``Memory`` on its own SQLite
file. Both use the session's real all-MiniLM-L6-v2 embedder. Each test gets a
fresh namespace, so tests never see each other's data. ``fts5_backend`` is a
third ``Memory`` whose keyword leg is FTS5's ``bm25()`` (``keyword_index =
"fts5"``), for scenarios that must hold on both keyword paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import waits
from memoryd import Client, Memory, Settings
from memoryd.server import create_app
from memoryd.server.testing import serve_in_thread

Backend = Memory | Client


def _settings(root: Path, model_cache_dir: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=root, model_cache_dir=model_cache_dir, ttl_purge_interval_s=3600, **overrides
    )


@pytest.fixture(scope="session")
def memory_backend(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> Iterator[Memory]:
    memory = Memory(
        _settings(tmp_path_factory.mktemp("parity-memory"), model_cache_dir), embedder=embedder
    )
    yield memory
    memory.close()


@pytest.fixture(scope="session")
def fts5_backend(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> Iterator[Memory]:
    """An in-process ``Memory`` that ranks keywords with FTS5 (no in-memory BM25 index)."""
    settings = _settings(
        tmp_path_factory.mktemp("parity-fts5"), model_cache_dir, keyword_index="fts5"
    )
    memory = Memory(settings, embedder=embedder)
    yield memory
    memory.close()


@pytest.fixture(scope="session")
def client_backend(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, embedder: Any
) -> Iterator[Client]:
    settings = _settings(tmp_path_factory.mktemp("parity-server"), model_cache_dir)
    memory = Memory(settings, embedder=embedder)
    with serve_in_thread(create_app(settings, memory)) as base_url:
        client = Client(settings, base_url=base_url, timeout_s=waits.budget(30.0))
        yield client
        client.close()
    memory.close()


@pytest.fixture(params=["memory", "client"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend under test: ``Memory`` or ``Client`` (same methods, same results)."""
    fixture = "memory_backend" if request.param == "memory" else "client_backend"
    result: Backend = request.getfixturevalue(fixture)
    return result


@pytest.fixture
def ns() -> str:
    """A namespace of this test only."""
    return f"t-{uuid.uuid4().hex[:12]}"
